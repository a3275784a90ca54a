"""Snippets: the passage of a note that shows a search hit, the words to highlight in it,
and the offset of its first match (the line ``kb search`` prints, ``kb find`` opens the
editor at and ``kb lsp`` gives a workspace symbol).

Plain text in, plain data out: the text is a note as :func:`kb.plain.snippet_lines` lays it
out, the terms a search's analyzed terms (:attr:`kb.search.SearchResult.terms`). The window
is found by substring search (:func:`_occurrences`) and only it is analyzed, so that the
highlights are whole words as the analyzer reads them.
"""

from __future__ import annotations

from .analysis import iter_terms
from .plain import SNIPPET_SCAN_CHARS, snippet_lines

#: Characters a snippet shows (about two lines of a terminal).
SNIPPET_CHARS = 180


def starts_hangul(text: str) -> bool:
    """Whether ``text`` starts with a Hangul syllable (a comparison: a regex class over
    the Hangul block takes ~1 ms to compile, at every start)."""
    return "\uac00" <= text[:1] <= "\ud7a3"


#: Occurrences of one term :func:`_occurrences` keeps at most.
MAX_OCCURRENCES = 1000
#: Occurrences of a term it keeps to find the longer terms that hold it without scanning
#: the text again for them (see :func:`_occurrence_plan`).
MAX_BASE_OCCURRENCES = 5000
#: Characters ``str.find`` scans in the time Python takes to look at one occurrence of a
#: base for its longer terms (about 1.5 ns a character against 150 ns, measured): where a
#: base is commoner than that, its longer terms are scanned for instead.
SCAN_PER_LOOK = 100


def _occurrences(text: str, terms: set[str] | frozenset[str]) -> list[tuple[int, int, str]]:
    """Where each term occurs as a substring of the lowercased text, in order: for each
    term, its occurrences left to right, none overlapping the one before (as repeated
    ``str.find`` finds them), only those at a word's start for a term that does not start
    with Hangul (an occurrence inside a longer word counts once per word), at most
    :data:`MAX_OCCURRENCES` of them. (An empty term occurs nowhere.)

    A substring search in C is far cheaper than analyzing a whole note; the window it
    picks is then analyzed exactly. A query's terms are mostly a few words and their longer
    forms (``상태``, ``상태관리``, ``상태였다``...): the longer forms are looked for where a
    shorter term they hold was found (:func:`_occurrence_plan`), not in the whole text again.
    """
    low = text[:SNIPPET_SCAN_CHARS].lower()
    plan = _occurrence_plan(frozenset(terms))
    derived: dict[str, list[int]] = {}  # a longer term's occurrences, found at its base's
    out: list[tuple[int, int, str]] = []
    for t, after, before, n_longer in plan:
        size = len(t)
        hangul = starts_hangul(t)
        at = derived.pop(t, None)
        if at is None:
            at, ok = [], 0
            i = low.find(t)
            while i >= 0:
                at.append(i)
                if hangul or i == 0 or not low[i - 1].isalnum():
                    ok += 1
                if ok >= MAX_OCCURRENCES and (not n_longer or len(at) >= MAX_BASE_OCCURRENCES):
                    break
                i = low.find(t, i + size)
            complete = i < 0
        else:
            complete = True
        if n_longer and complete and len(at) * SCAN_PER_LOOK < len(low) * n_longer:
            # t occurs nowhere else: its longer terms are where t is, with the character
            # next to it (after it, or before it for a term that holds t further in)
            for lt in (*after.values(), *before.values()):
                for longer, _ in lt:
                    derived[longer] = []
            for p in at:
                if after:
                    for longer, _ in after.get(low[p + size: p + size + 1], ()):
                        if low.startswith(longer, p):
                            derived[longer].append(p)
                if before and p:
                    for longer, k in before.get(low[p - 1], ()):
                        if p >= k and low.startswith(longer, p - k):
                            derived[longer].append(p - k)
        n = 0
        end = -1
        for i in at:
            if i < end:  # overlaps the occurrence before (str.find, from its end, skips it)
                continue
            end = i + size
            if hangul or i == 0 or not low[i - 1].isalnum():
                out.append((i, end, t))
                n += 1
                if n >= MAX_OCCURRENCES:
                    break
    out.sort()
    return out


Plan = list[tuple[str, dict[str, list[tuple[str, int]]], dict[str, list[tuple[str, int]]], int]]
_PLANS: dict[frozenset[str], Plan] = {}


def _occurrence_plan(terms: frozenset[str]) -> Plan:
    """How :func:`_occurrences` looks for each (non-empty) term, shortest first:
    ``(term, after, before, n_longer)``. A term that is the base of longer ones (the
    longest other term each holds) lists them by the character next to the base in them:
    ``after`` (the longer term starts with the base) or ``before`` (it holds the base at
    ``k`` > 0), as ``(longer term, k)``; ``n_longer`` counts them. A base is a term no
    proper prefix of which is also its suffix (``상태``, not ``abab``): its occurrences never
    overlap, so the search left to right finds all of them, and a longer term occurs only
    where its base does. Kept for the last queries' term sets (a search's hits share one)."""
    plan = _PLANS.get(terms)
    if plan is not None:
        return plan
    ordered = sorted((t for t in terms if t), key=lambda t: (len(t), t))
    candidates = [t for t in ordered if not any(t[:i] == t[-i:] for i in range(1, len(t)))]
    after: dict[str, dict[str, list[tuple[str, int]]]] = {t: {} for t in ordered}
    before: dict[str, dict[str, list[tuple[str, int]]]] = {t: {} for t in ordered}
    for t in ordered:
        base = None
        for b in candidates:
            if len(b) >= len(t):
                break
            if b in t:
                base = b  # (the candidates go by length: the last one held is the longest)
        if base is not None:
            k = t.index(base)
            if k == 0:
                after[base].setdefault(t[len(base)], []).append((t, 0))
            else:
                before[base].setdefault(t[k - 1], []).append((t, k))
    plan = [(t, after[t], before[t], sum(map(len, after[t].values())) + sum(map(len, before[t].values())))
            for t in ordered]
    if len(_PLANS) >= 64:
        _PLANS.clear()
    _PLANS[terms] = plan
    return plan


def make_snippet(text: str, terms: set[str], width: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """The passage of ``text`` with most distinct matched terms, and the spans to highlight.

    Whitespace is folded to single spaces; spans index into the returned string.
    """
    snippet, spans, _ = snippet_and_first(text, terms, width)
    return snippet, spans


def snippet_and_first(text: str, terms: set[str],
                      width: int) -> tuple[str, list[tuple[int, int]], int | None]:
    """:func:`make_snippet`, and the offset in ``text`` of the snippet's first match (None: no match)."""
    start, end, spans, first_match = _window(text, terms, width)
    # Fold whitespace, keeping span offsets in step.
    out: list[str] = []
    mapped: list[tuple[int, int]] = []
    pos_map: dict[int, int] = {}
    n = 0
    prev_space = True
    for i in range(start, end):
        pos_map[i] = n
        ch = text[i]
        if ch.isspace():
            if prev_space:
                continue
            out.append(" ")
            prev_space = True
        else:
            out.append(ch)
            prev_space = False
        n += 1
    pos_map[end] = n
    for s, e in spans:
        mapped.append((pos_map.get(s, 0), pos_map.get(e, n)))
    snippet = "".join(out).rstrip()
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix)
    mapped = [(s + shift, min(e, len(snippet)) + shift) for s, e in mapped if s < len(snippet)]
    return prefix + snippet + suffix, mapped, first_match


def first_match(text: str, terms: set[str], width: int = SNIPPET_CHARS) -> int | None:
    """The offset in ``text`` of the first match of the snippet :func:`make_snippet` would
    make (the line ``kb search`` shows a hit at), without laying the snippet out: the
    window is analyzed only up to its first matched word (:func:`iter_terms` yields the
    terms in the order of their first characters, so that one starts the first span)."""
    start, end, occurrences = _bounds(text, terms, width)
    for term, _, a, _ in iter_terms(text[start:end]):
        if term in terms:
            return start + a
    return occurrences[0][0] if occurrences else None


def _window(text: str, terms: set[str], width: int) -> tuple[int, int, list[tuple[int, int]], int | None]:
    """The snippet's window ``text[start:end]``, the spans of its matched words and the offset
    of its first match (see :func:`snippet_and_first`)."""
    start, end, occurrences = _bounds(text, terms, width)
    # Exact spans: analyze only the window, so highlights are whole surface words.
    spans = sorted({(start + a, start + b) for t, _, a, b in iter_terms(text[start:end]) if t in terms})
    first_match = spans[0][0] if spans else (occurrences[0][0] if occurrences else None)
    return start, end, spans, first_match


def _bounds(text: str, terms: set[str], width: int) -> tuple[int, int, list[tuple[int, int, str]]]:
    """The snippet's window ``text[start:end]`` (the ``width`` characters with most distinct
    terms, then most hits) and the terms' occurrences (:func:`_occurrences`)."""
    occurrences = _occurrences(text, terms)
    if not occurrences:
        start, end = 0, min(len(text), width)
    else:
        # Two pointers: the window of `width` chars with most distinct terms, then most hits.
        best, first, j = (-1, -1), 0, 0
        counts: dict[str, int] = {}
        for i, (s0, _, _) in enumerate(occurrences):
            while j < len(occurrences) and occurrences[j][1] - s0 <= width:
                counts[occurrences[j][2]] = counts.get(occurrences[j][2], 0) + 1
                j += 1
            score = (len(counts), j - i)
            if score > best:
                best, first = score, i
            t = occurrences[i][2]
            counts[t] -= 1
            if not counts[t]:
                del counts[t]
        s0 = occurrences[first][0]
        # Start a little before the first match, at a word boundary.
        start = max(0, s0 - width // 4)
        if start > 0:
            sp = text.rfind(" ", 0, start + 1)
            nl = text.rfind("\n", 0, s0)
            start = max(start if sp < 0 else sp + 1, nl + 1 if nl >= 0 and nl < s0 else 0)
        end = min(len(text), start + width)
        if end < len(text):
            sp = text.find(" ", end)
            if 0 <= sp < end + 20:
                end = sp
    return start, end, occurrences


def snippet_text(body: str, title: str) -> str:
    """A note's text as a snippet shows it (see :func:`snippet_lines`)."""
    return snippet_lines(body, title)[0]
