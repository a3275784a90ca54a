"""Pseudo-relevance feedback for questions: words the best hits share, searched lightly.

A question rarely uses the words of the note that answers it (``같은 요청을 여러 번
보내도 결과가 같은 성질`` for a note on 멱등성). The best few hits of the question are
mostly about its topic, and the words they have in common and the rest of the notebook
lacks (the topic's own vocabulary) are likely in the answer too. RM3 (Lavrenko and
Croft's relevance model, interpolated with the query): each word of the top hits
scores by its share of each hit's words, weighted by the hit's score, times its
rarity; the best few are added to the query, weighted well below the typed words.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

#: Hits read for feedback, words added, and the weight of the best added word against a
#: typed word.
FEEDBACK_DOCS = 3
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.2
#: Best hits of the question re-ranked with the added words (a gain of feedback is an
#: answer lifted among the first hits; re-ranking only these keeps its cost small).
FEEDBACK_POOL = 20
#: Characters of a hit read (a long note's start says what it is about).
FEEDBACK_CHARS = 20_000
#: A word in more than this share of the notes (and more than MIN_COMMON notes) says
#: nothing of a topic.
MAX_SHARE = 0.05
MIN_COMMON = 3


def feedback_terms(root: Any, reader: Any, hits: list[tuple[str, float]], skip: set[str],
                   n_docs: int = FEEDBACK_DOCS, n_terms: int = FEEDBACK_TERMS) -> list[tuple[str, float]]:
    """``(term, weight)`` pairs, the best first (weight 1.0), from the notes at ``hits``
    (``(path, score)``, best first); terms in ``skip`` (the query's own) left out."""
    from .analysis import iter_terms
    from .notes import read_body_at

    top = hits[:n_docs]
    total = sum(s for _, s in top) or 1.0
    n = max(1, reader.doc_count())
    model: Counter[str] = Counter()
    for path, score in top:
        try:
            body, _ = read_body_at(root, path)
        except OSError:
            continue
        counts = Counter(t for t, *_ in iter_terms(body[:FEEDBACK_CHARS]) if len(t) >= 2 and not t.isdigit())
        length = sum(counts.values()) or 1
        for t, c in counts.items():
            model[t] += (c / length) * (score / total)
    scored = []
    for t, p in model.items():
        if t in skip:
            continue
        df = max(reader.doc_frequency("body", t), reader.doc_frequency("title", t))
        if df < 2 or df > max(MAX_SHARE * n, MIN_COMMON):
            continue
        scored.append((p * math.log(n / df), t))
    scored.sort(reverse=True)
    best = scored[:n_terms]
    if not best:
        return []
    top_w = best[0][0]
    return [(t, w / top_w) for w, t in best]


def rerank(searcher: Any, results: Any, extra: Any, limit: int) -> Any:
    """``results`` (kb.scoring.Results, the best first) with each of the first
    :data:`FEEDBACK_POOL` hits scored also by the query ``extra``, re-sorted."""
    from .scoring import Results, Scored, top_docs

    pool = list(results[:FEEDBACK_POOL])
    if len(pool) < 2:
        return results
    found = top_docs(searcher, extra, searcher.doc_count_all())
    more = {r.docnum: r.score for r in found}
    rescored = [Scored(searcher, r.docnum, float(r.score or 0.0) + more.get(r.docnum, 0.0)) for r in pool]
    rescored.sort(key=lambda r: (-r.score, r.docnum))
    rest = list(results[len(pool): max(limit, 1)])
    return Results((rescored + rest)[: max(limit, 1)], len(results))
