"""In a query written all in Latin letters, a word a note holds in several fields (its
title, the path that repeats the title, its body) scores as its best field plus a share of
the others (``FIELDS_TIEBREAK``), not their sum, as BM25F and SQLite FTS5's bm25 over
weighted columns saturate a word's evidence across fields. A sibling whose title *and* path
both name the commoner word no longer outranks the note that holds the rarer word
throughout (the corpus's ``authenticating users``: *Spring Security - Authentication and
Authorization* over the note *Authentication & Access Control* about users)."""

from __future__ import annotations

from pathlib import Path

from indexed import indexed

from kb.search import search

NOTES = {
    # the title's word again in the path and the body; the other word once
    "spring-security-authentication.md": (
        "# Spring Security Authentication\n\n"
        "Spring Security authentication runs a filter chain. The authentication manager checks "
        "the password of a user against the store, and the filter chain keeps the authentication "
        "in the security context for the request.\n"),
    # the title's word once more; the other word throughout
    "access.md": (
        "# Authentication and access control\n\n"
        "The server decides which users may call it. Users sign in with a token; the users of a "
        "team share its threads, and users of another team see none of them. A handler reads "
        "the users from the token on every request.\n"),
    "users.md": "# Accounts\n\nA user has a name and an email.\n",
    "tokens.md": "# Tokens\n\nA token expires after an hour; a user asks for a new one.\n",
    "other.md": "# Other\n\nNothing about it here.\n",
    "more.md": "# More\n\nNothing about that either.\n",
}


def _paths(nb, ix, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.path for h in search(nb, query, limit=5, ix=ix).hits]


def test_a_word_in_title_and_path_counts_once_against_a_rarer_word_held_throughout(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    got = _paths(nb, ix, "authentication users")
    assert got[:2] == ["access.md", "spring-security-authentication.md"]


def test_a_one_word_query_still_ranks_the_title_first(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    assert _paths(nb, ix, "authentication")[:1] == ["spring-security-authentication.md"]


def test_a_query_with_a_hangul_word_sums_the_fields_as_before(tmp_path: Path) -> None:
    from kb.search import _Builder

    nb, ix = indexed(tmp_path, NOTES)
    with ix.searcher() as searcher:
        b = _Builder(searcher)
        b.latin_query = False
        summed = b.term_query("authentication", ("title", "pathtext", "body"))
        b.latin_query = True
        best = b.term_query("authentication", ("title", "pathtext", "body"))
    assert type(summed).__name__ == "Or"
    assert type(best).__name__ == "DisjunctionMax"
