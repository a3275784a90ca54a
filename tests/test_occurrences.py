"""``kb.snippets._occurrences`` (where a search's terms occur in a note: the snippet's window and
the language server's symbol lines come from it) looks for a longer term only where a shorter
term it holds was found. It must answer exactly as the plain per-term scan it replaced, kept
here as the reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kb import snippets
from kb.snippets import SNIPPET_SCAN_CHARS, _occurrence_plan, _occurrences


def reference(text: str, terms: set[str]) -> list[tuple[int, int, str]]:
    """The scan before (kb 5c54b1e..fe1357c), verbatim but for empty terms (it listed
    1,000 empty matches at 0 for one; no analyzer makes an empty term)."""
    low = text[:SNIPPET_SCAN_CHARS].lower()
    out: list[tuple[int, int, str]] = []
    for t in terms:
        if not t:
            continue
        i = low.find(t)
        n = 0
        while i >= 0 and n < 1000:
            if i == 0 or not low[i - 1].isalnum() or "\uac00" <= t[:1] <= "\ud7a3":
                out.append((i, i + len(t), t))
                n += 1
            i = low.find(t, i + len(t))
    out.sort()
    return out


# Few letters, so that terms overlap, hold each other and repeat; Hangul and Latin, word
# characters and not (the word-start rule), terms with borders (``abab``, ``상상``).
LETTERS = st.sampled_from(list("ab상태값 -_.A") + ["상태", "ab", "Ab"])
TEXT = st.lists(LETTERS, max_size=60).map("".join)
TERM = st.lists(st.sampled_from(list("ab상태값-_")), min_size=1, max_size=5).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=TEXT, terms=st.sets(TERM, max_size=8),
       picks=st.lists(st.tuples(st.integers(0, 59), st.integers(1, 6)), max_size=4))
def test_same_occurrences_as_the_plain_scan(text: str, terms: set[str], picks: list[tuple[int, int]]) -> None:
    low = text.lower()
    for start, size in picks:  # and terms that do occur: pieces of the text
        if low[start:start + size]:
            terms.add(low[start:start + size])
    snippets._PLANS.clear()
    assert _occurrences(text, terms) == reference(text, terms)


def test_a_longer_term_is_looked_for_where_its_base_is() -> None:
    plan = {t: (after, before, n) for t, after, before, n in _occurrence_plan(frozenset(
        {"상태", "상태관리", "상태값", "교착상태", "abab", "ababc", "type", "types", "ab"}))}
    # by the character next to the base in them: after it, or before it with where it is
    assert plan["상태"] == ({"관": [("상태관리", 0)], "값": [("상태값", 0)]}, {"착": [("교착상태", 2)]}, 3)
    assert plan["type"] == ({"s": [("types", 0)]}, {}, 1)
    # abab overlaps itself (twice in ababab): no base; ababc and abab go by ab
    assert plan["abab"] == ({}, {}, 0)
    assert plan["ab"] == ({"a": [("abab", 0), ("ababc", 0)]}, {}, 2)


def test_many_occurrences_keep_the_caps() -> None:
    """At most 1,000 occurrences a term; a base found more than MAX_BASE_OCCURRENCES times
    leaves its longer terms to a scan of their own, with the same answer."""
    text = ("상태 " * 7000) + "상태관리 " + ("xab " * 3000) + "ab"
    terms = {"상태", "상태관리", "ab", "abc"}
    got = _occurrences(text, terms)
    assert got == reference(text, terms)
    assert sum(1 for o in got if o[2] == "상태") == 1000
    assert ("상태관리" in {o[2] for o in got})
