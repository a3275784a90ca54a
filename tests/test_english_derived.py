"""English words a Porter stemmer joins and kb's light stemmer files apart (issue 10,
English inflections): an ``-ate`` verb and its ``-ation`` noun, a noun and its ``-al``
adjective. SQLite FTS5 (Porter) finds ``Conditionals`` for ``conditions``; kb must too."""

from __future__ import annotations

from pathlib import Path

from indexed import found, indexed

from kb.english import derived_lookups
from kb.search import search


def _forms(nb, ix, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    r = search(nb, query, limit=5, ix=ix, explain=True)
    assert r.explanation is not None
    return {v.terms[0] for w in r.explanation.words for v in w.variants if v.kind == "stem"}


NOTES = {
    # the target of each query says the word only in its derived form
    "auth.md": "# Authentication\n\nHow the server checks who sends a request: tokens and sessions.\n",
    "cond.md": "# Conditionals\n\nA step runs only when its conditional expression holds.\n",
    "encap.md": "# Objects\n\n## Encapsulation that hides details\n\nPrivate fields.\n",
    # siblings holding the other words as typed
    "users.md": "# Users\n\nUsers log in. Every user has a role; users see their own data.\n",
    "steps.md": "# Steps\n\nA workflow runs its steps in order; each step runs a container.\n",
    "oop.md": "# Details\n\nImplementation details of objects, and the fields they hold.\n",
}


def test_an_ate_verb_finds_its_ation_noun_and_back(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    assert "authentication" in _forms(nb, ix, "authenticating")
    assert found(nb, ix, "authenticating")[:1] == ["auth.md"]
    assert "encapsulation" in _forms(nb, ix, "encapsulating")
    assert "encapsulates" not in _forms(nb, ix, "encapsulating")  # no such word in the notes
    assert found(nb, ix, "encapsulating details")[:1] == ["encap.md"]


def test_a_noun_finds_its_al_adjective_and_back(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, {**NOTES, "more.md": "# More\n\nOne condition, two conditions.\n"})
    assert {"conditional", "conditionals"} <= _forms(nb, ix, "conditions")
    assert found(nb, ix, "conditions step")[:1] == ["cond.md"]
    assert {"condition", "conditions"} <= _forms(nb, ix, "conditionals")


def test_derived_lookups_rules() -> None:
    assert derived_lookups("authenticating") == [("authentic", "", ("ation", "ations"))]
    assert derived_lookups("migration") == [("migrat", "", ("ate", "ated", "ates", "ating")),
                                            ("migrational", "migrational", ())]
    assert derived_lookups("operational") == [("oper", "operation", ())]
    assert derived_lookups("conditions") == [("conditional", "conditional", ())]
    # words light_stem already joins, or that have no such relative, look nowhere else
    for word in ("creating", "created", "states", "updates", "useEffect", "max_active_runs",
                 "파드", "ab"):
        assert derived_lookups(word) == [], word
    assert derived_lookups("creation") == [("creational", "creational", ())]
    # as Porter: format ~ formation (its -ation noun, if the notes have one)
    assert derived_lookups("format") == [("form", "", ("ation", "ations"))]
