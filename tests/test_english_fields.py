"""In a query written all in Latin letters, a word a note holds in several fields (its
title, the path that repeats the title, its body) scores as its best field plus a share of
the others (``FIELDS_TIEBREAK``), not their sum, as BM25F and SQLite FTS5's bm25 over
weighted columns saturate a word's evidence across fields. A sibling whose title *and* path
both name the commoner word no longer outranks the note that holds the rarer word
throughout (the corpus's ``authenticating users``: *Spring Security - Authentication and
Authorization* over the note *Authentication & Access Control* about users)."""

from __future__ import annotations

from pathlib import Path

from indexed import found, indexed

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


def test_a_word_in_title_and_path_counts_once_against_a_rarer_word_held_throughout(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    got = found(nb, ix, "authentication users")
    assert got[:2] == ["access.md", "spring-security-authentication.md"]


def test_a_one_word_query_still_ranks_the_title_first(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    assert found(nb, ix, "authentication")[:1] == ["spring-security-authentication.md"]


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


PROVENANCE = {
    "provenance.md": ("# Provenance and integrity\n\n"
                      "A provenance file records where a package came from; a user can verify the "
                      "package with it, and the provenance holds its signature.\n"),
    "verify.md": "# verify\n\nverify checks a package against its provenance file.\n",
    "sign.md": "# Signing\n\nSign the package, then verify it.\n",
    "keys.md": "# Keys\n\nA public key can verify a signature.\n",
    "checksum.md": "# Checksums\n\nDownload the file and verify the checksum.\n",
    "old.md": "# Old releases\n\nThe old download was verified by hand.\n",
    "other.md": "# Other\n\nNothing about it here.\n",
}


def test_a_rare_inflection_weighs_as_the_words_commonest_form(tmp_path: Path) -> None:
    # `verified` is rarer than `verify`: typed, it weighs as `verify` (Porter's one term), so
    # the note titled with the rarer word `provenance` ranks above the one titled `verify`.
    nb, ix = indexed(tmp_path, PROVENANCE)
    assert found(nb, ix, "verified provenance")[:2] == ["provenance.md", "verify.md"]
    r = search(nb, "verified provenance", limit=5, ix=ix, explain=True)
    assert r.explanation is not None
    weights = dict(w.split() for w in r.explanation.combined.split(": ", 1)[1].split(", "))
    assert float(weights["verified"]) < float(weights["provenance"])
