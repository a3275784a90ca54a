"""Term proximity: a note where the query's words stand close together ranks higher.

``defaulting generic parameters``: the note with the heading *Generic parameter defaults*
answers it, a note with ``parameters`` in its title and ``generic`` and ``default`` far
apart in a long body does not. kb's scores count where each word is (title, body), not
how near the words are to each other; the query's words in a row are rewarded
(``search.PHRASE_BOOST``) only as typed, in order, each in its typed form.

Here, for the first :data:`POOL` hits of a query of :data:`MIN_WORDS` content words or
more (a :class:`kb.scoring.SoftAnd`: question words out), the body positions of each word's
forms (its terms and the other forms it searched: stems, aliases, glosses...) are read
from the index for those notes only, and for every pair of words the nearest two
occurrences are found in one sweep. A pair at distance ``d`` tokens is worth
``max(0, 1 - (d - 1) / WINDOW)`` (1 when adjacent), times the smaller of the two words'
weights; ``share`` is what the pairs a note holds close are worth against all pairs of
the query. The note's score is multiplied by ``1 + BONUS * share``: bounded, it reorders
near-ties (a note that misses a word scores ``share ** 2`` less for it, see
``scoring.COORD_POWER``, and stays below one that holds every word unless nearly tied).

Measured on the study sets (benchmarks/EXPERIMENTS.md, session 8): two-word queries lost
more than they gained (the typed words in a row are rewarded already, and a typo's
correction counts below the typed form), a wider window or a larger bonus lost questions,
and counting only nearness beyond chance (two words filling a note are near anyway) lost
English queries; hence three words or more, a window of four.

Cost is linear: each word's positions in a note are capped at :data:`MAX_POSITIONS`, the
forms of a word at :data:`MAX_FORMS`, the words at the query's own limit.
"""

from __future__ import annotations

from typing import Any

#: Hits of a query whose positions are read and re-ranked.
POOL = 20
#: A note whose words all stand adjacent scores this much more (in between by ``share``).
BONUS = 0.3
#: Tokens apart at which two words stop counting as near.
WINDOW = 4
#: Occurrences of a word read per note (a hostile note costs no more than a long one).
MAX_POSITIONS = 500
#: Occurrences of all the words read per note, and looked back at from each.
MAX_OCCURRENCES = 4_000
#: Occurrences within the window looked back at from each (words at one position aside).
MAX_RECENT = 32
#: Forms of a word whose positions are read (the heaviest first).
MAX_FORMS = 8
#: Content words a query needs for proximity to count.
MIN_WORDS = 3
#: The field whose positions count.
FIELD = "body"


def word_forms(q: Any) -> dict[str, float]:
    """The body terms one word of a query matches, each with its weight (the leaf's boost,
    at most 1): the typed terms 1, other forms their variant weight. A phrase's words
    (a split compound, a multi-word alias) count each as the word."""
    out: dict[str, float] = {}
    leaves = [q] if q.is_leaf() else list(q.leaves())
    for leaf in leaves:
        if getattr(leaf, "fieldname", None) != FIELD:
            continue
        words = getattr(leaf, "words", None)
        text = getattr(leaf, "text", None)
        texts = list(words) if words else [text] if isinstance(text, str) else []
        w = min(1.0, float(getattr(leaf, "boost", 1.0)))
        for t in texts:
            if w > out.get(t, 0.0):
                out[t] = w
    best = sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FORMS]
    return dict(best)


def _positions(leaves: list[tuple[Any, int]], term: str, docs: list[int]) -> dict[int, list[int]]:
    """The term's body positions (the first MAX_POSITIONS) in each of the sorted ``docs``
    (top-level numbers) that holds it, read as :func:`kb.scoring.positions_in` reads them."""
    from .scoring import leaf_postings, positions_in, segment_docs

    btext = term.encode("utf-8")
    out: dict[int, list[int]] = {}
    for reader, offset, local in segment_docs(leaves, docs):
        try:
            if (FIELD, btext) not in reader:
                continue
            m = leaf_postings(reader, FIELD, btext)
        except (KeyError, ValueError):
            continue
        if m is None:
            return {}  # another postings format: no positions read here
        found = positions_in(m, local, MAX_POSITIONS)
        out.update((d + offset, ps) for d, ps in found.items())
    return out


def near_pairs(occurrences: list[tuple[int, int, float]], window: int = WINDOW
               ) -> dict[tuple[int, int], float]:
    """For ``(position, word, form weight)`` occurrences sorted by position, the best
    closeness of each pair of words ``(i, j)``, ``i < j``: ``max(0, 1 - (d - 1) / window)``
    times the two forms' weights, for the nearest two. One sweep, each occurrence looked
    at against the occurrences less than ``window`` positions before it: linear in the
    occurrences (times the window)."""
    from collections import deque

    recent: deque[tuple[int, int, float]] = deque()
    best: dict[tuple[int, int], float] = {}
    for p, i, w in occurrences:
        while recent and p - recent[0][0] > window:
            recent.popleft()
        for q, j, v in recent:
            d = p - q
            if j == i or d < 1:
                continue
            value = (1.0 - (d - 1) / window) * w * v
            key = (i, j) if i < j else (j, i)
            if value > best.get(key, 0.0):
                best[key] = value
        recent.append((p, i, w))
        if len(recent) > MAX_RECENT:
            recent.popleft()
    return best


def proximity(reader: Any, docs: list[int], subqueries: list[Any], weights: list[float],
              needed: list[bool]) -> dict[int, tuple[float, list[tuple[int, int]]]]:
    """For each of ``docs`` (top-level document numbers) whose content words stand near
    each other: the share of the query's pair weight held close (0..1) and the pairs, as
    places of the words in the query (question words, ``needed`` False, left out)."""
    words: list[tuple[dict[str, float], float]] = []
    index: list[int] = []  # each word's place in the query
    for k, (q, w, need) in enumerate(zip(subqueries, weights, needed, strict=True)):
        forms = word_forms(q) if need and w > 0 else {}
        if forms:
            words.append((forms, w))
            index.append(k)
    n = len(words)
    if n < max(2, MIN_WORDS) or not docs:
        return {}
    total = sum(min(words[i][1], words[j][1]) for i in range(n) for j in range(i + 1, n))
    if total <= 0:
        return {}
    order = sorted(set(docs))
    from .scoring import segments

    leaves = segments(reader)
    at: dict[int, list[tuple[int, int, float]]] = {}
    for i, (forms, _) in enumerate(words):
        per_doc: dict[int, dict[int, float]] = {}
        for term, fw in forms.items():
            for d, ps in _positions(leaves, term, order).items():
                got = per_doc.setdefault(d, {})
                for p in ps:
                    if fw > got.get(p, 0.0):
                        got[p] = fw
        for d, got in per_doc.items():
            ps = sorted(got)[:MAX_POSITIONS]
            at.setdefault(d, []).extend((p, i, got[p]) for p in ps)
    out: dict[int, tuple[float, list[tuple[int, int]]]] = {}
    for d, occ in at.items():
        occ.sort()
        best = near_pairs(occ[:MAX_OCCURRENCES])
        if not best:
            continue
        held = sum(v * min(words[i][1], words[j][1]) for (i, j), v in best.items())
        out[d] = (held / total, [(index[i], index[j]) for i, j in sorted(best)])
    return out
