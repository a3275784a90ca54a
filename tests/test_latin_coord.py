"""In a query written all in Latin letters, a note missing one of the words ranks far lower
than one holding them all (``scoring.LATIN_COORD_POWER``: the share of the words' weight a
note holds counts to the 5th power, not squared). Its words are the notes' own words in some
form, so the note that lacks one is likelier about something else, however often it says the
others or however its title names them: the corpus's ``case clauses falling through switch
statements`` ranked the page titled *switch* (no falling through) above the release notes
that describe case clause fall-throughs in switch statements. A query with a Hangul word keeps
the square: its words are often not the note's (loanwords, typos, questions)."""

from __future__ import annotations

from pathlib import Path

from indexed import found, indexed

from kb.search import search

SWITCH = (
    "# Switch statements and case clauses\n\n"
    "A switch statement picks one of its case clauses by value. Each case clause holds "
    "statements; the switch compares the value with each case in turn. A default clause runs "
    "when no case matches. Switch statements read better than long chains of if statements.\n")
RELEASE = (
    "# Release notes 1.8\n\n"
    "## Errors in the compiler\n\n"
    "The compiler now reports case clauses falling through to the next one in switch "
    "statements, when the clause is not empty. Falling through is allowed for empty clauses: "
    "a switch statement whose case clauses fall through on purpose marks them, and the "
    "statements of a case clause falling through say so in a comment. "
    "Modules can also be loaded lazily now, and unused labels are reported as errors; the "
    "release adds string literal types and improves the checking of generic functions, "
    "stateless components and the this type in classes.\n")
NOTES = {
    "switch.md": SWITCH,
    "release-1-8.md": RELEASE,
    "loops.md": "# Loops\n\nA loop runs its statements again and again, through every item.\n",
    "lists.md": "# Lists\n\nA list holds items; an empty list is fine.\n",
    "other.md": "# Other\n\nNothing about it here.\n",
    "more.md": "# More\n\nNothing about that either.\n",
}


def test_a_note_holding_every_word_ranks_above_a_titled_note_missing_some(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    assert found(nb, ix, "case clauses falling through switch statements")[:2] == [
        "release-1-8.md", "switch.md"]


def test_explain_says_so_and_a_query_with_a_hangul_word_keeps_the_square(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    latin = search(nb, "case clauses falling through switch statements", ix=ix, explain=True)
    mixed = search(nb, "case clauses 스위치 falling through statements", ix=ix, explain=True)
    assert latin.explanation is not None and mixed.explanation is not None
    assert "a note missing a word ranks far lower (the share held counts to the power 5" in (
        " ".join(latin.explanation.combined.split()))
    assert "power" not in mixed.explanation.combined
