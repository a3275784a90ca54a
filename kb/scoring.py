"""Scoring a query term at a time: Whoosh's BM25F scores, without Whoosh's matcher tree.

Whoosh evaluates a query document at a time through a tree of matcher objects
(``UnionMatcher.is_active()``, ``id()``, ``next()``, ``score()`` for every posting
at every level). kb never lets it prune (see ``search._run``), so every match is
visited anyway, and the tree walking is most of a search's time: ~80 ms for
``kubernetes`` on a 38,580-note notebook, ~340 ms for a two-word Korean query.

Here each term's postings are read block by block straight from the segment (ids
and weights arrays) and scored with the very scorer Whoosh would use (its idf,
average field length, B and K1; field lengths from the segment's length column),
then combined with plain dicts: ``Or`` sums, ``And`` sums where all match,
``AndMaybe`` adds the optional part where it matches, ``AndNot`` drops. Anything
else (phrases, ranges...) is scored by Whoosh's own matcher for that node only. The
order is Whoosh's: score, then document number. Only the summation order of an
``Or`` can differ from Whoosh's tree, so scores agree to ~1e-15 (tests compare
every query of the evals).

It also fixes a Whoosh bug: its ``AndNotMatcher`` can let a note through that
does contain the excluded word (seen on the 10x notebook for ``-java spring``).
"""

from __future__ import annotations

from typing import Any

_B2L: list[int] | None = None


def _byte_to_length() -> list[int]:
    global _B2L
    if _B2L is None:
        from whoosh.util.numeric import byte_to_length

        _B2L = [byte_to_length(i) for i in range(256)]
    return _B2L


class _Segment:
    """One segment's reader, with its field-length columns read once as bytes."""

    def __init__(self, top: Any, sub: Any) -> None:
        self.top = top
        self.sub = sub
        self.reader = sub.reader()
        self._lengths: dict[str, bytes] = {}
        #: Each term's scores (unboosted), read once a search: a word's terms come back in
        #: its phrases and in the phrase of the whole query.
        self.terms: dict[tuple[str, bytes], dict[int, float]] = {}

    def lengths(self, field: str) -> bytes:
        raw = self._lengths.get(field)
        if raw is None:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

            column = self.reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            raw = b"" if column is None else bytes(column._dbfile.get(column._basepos, column._count))
            self._lengths[field] = raw
        return raw


def _term(seg: _Segment, field: str, text: Any, boost: float) -> dict[int, float]:
    from whoosh.scoring import BM25FScorer

    if field not in seg.top.schema:
        return {}
    if isinstance(text, bytes):
        btext = text
    else:
        try:
            btext = seg.top.schema[field].to_bytes(text)
        except ValueError:
            return {}
    key = (field, btext)
    kept = seg.terms.get(key)
    if kept is not None:
        return kept if boost == 1.0 else {d: s * boost for d, s in kept.items()}
    reader = seg.reader
    if key not in reader:
        return {}
    scorer = seg.top.weighting.scorer(seg.sub, field, btext)
    m = reader.postings(field, btext, scorer=scorer)
    while not hasattr(m, "_atend") and hasattr(m, "child"):
        m = m.child  # a filter of deleted documents: the caller drops those
    out: dict[int, float] = {}
    if type(scorer) is BM25FScorer and hasattr(m, "_read_ids"):
        lengths = seg.lengths(field)
        n = len(lengths)
        b2l = _byte_to_length()
        idf, avgfl, B, K1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
        k1p1 = K1 + 1
        k1b = 1 - B
        while not m._atend:
            if m._ids is None:
                m._read_ids()
            if m._weights is None:
                m._read_weights()
            for doc, w in zip(m._ids, m._weights, strict=True):
                lb = lengths[doc] if doc < n else 0
                # whoosh.scoring.bm25, term for term (the same floating-point steps)
                out[doc] = idf * ((w * k1p1) / (w + K1 * (k1b + B * b2l[lb] / avgfl)))
            m._i = m._blocklength
            m._next_block()
        seg.terms[key] = out
        return out if boost == 1.0 else {d: s * boost for d, s in out.items()}
    return _matched(m, boost)  # other scorers (unscorable keyword fields): Whoosh's own


def _leaf(seg: _Segment, field: str, btext: bytes) -> Any:
    """The postings matcher of a term, read block by block (None: not such a matcher)."""
    m = seg.reader.postings(field, btext)
    while not hasattr(m, "_atend") and hasattr(m, "child"):
        m = m.child
    return m if hasattr(m, "_read_values") and hasattr(m, "_read_ids") else None


def _positions(m: Any, docs: set[int] | frozenset[int]) -> dict[int, list[int]]:
    """The term's positions in each of ``docs`` that holds it."""
    decode = m.format.decode_positions
    low = min(docs)
    out: dict[int, list[int]] = {}
    while not m._atend:
        if m._maxid >= low:
            if m._ids is None:
                m._read_ids()
            ids = m._ids
            wanted = [i for i, d in enumerate(ids) if d in docs]
            if wanted:
                if m._values is None:
                    m._read_values()
                values = m._values
                for i in wanted:
                    out[ids[i]] = decode(values[i])
        m._i = m._blocklength
        m._next_block()
    return out


def _near(first: list[int], rest: list[list[int]], slop: int) -> bool:
    """Whoosh's ``SpanNear2`` (ordered, ``mindist`` 1) on one document: whether the words
    stand in order, each within ``slop`` positions of the span of those before it."""
    import bisect

    aspans = [(p, p) for p in first]
    for bpos in rest:
        if not aspans:
            return False
        spans: set[tuple[int, int]] = set()
        for a0, a1 in aspans:
            j = bisect.bisect_left(bpos, a0)
            while j < len(bpos):
                p = bpos[j]
                j += 1
                if p < a0 - slop or a0 > p:
                    continue
                if p > a1 + slop:
                    break
                # Span.distance_to: 0 when they overlap, else the gap
                if a0 <= p <= a1:
                    dist = 0
                elif a1 < p:
                    dist = p - a1
                else:
                    dist = a0 - p
                if 1 <= dist <= slop:
                    spans.add((min(a0, p), max(a1, p)))
        aspans = sorted(spans)
    return bool(aspans)


def _tree_sum(values: list[float]) -> float:
    """A sum in the order of Whoosh's binary tree of intersection matchers."""
    if len(values) == 1:
        return values[0]
    half = len(values) // 2
    return _tree_sum(values[:half]) + _tree_sum(values[half:])


def _phrase(seg: _Segment, q: Any, within: Any = None) -> dict[int, float]:
    """A phrase, as Whoosh's ``Phrase`` scores it (the sum of its words' scores where they
    stand together, times its boost), from the words' scores and, only for the notes that
    hold every word (and are in ``within``), their positions."""
    field_name = q.fieldname
    schema = seg.top.schema
    if field_name not in schema or not q.words:
        return {}
    field = schema[field_name]
    if not field.format or not field.format.supports("positions"):
        return _generic(seg, q)  # Whoosh raises its own error
    try:
        words = [field.to_bytes(w) for w in q.words]
    except ValueError:
        return {}
    if any((field_name, w) not in seg.reader for w in words):
        return {}
    parts = [_term(seg, field_name, w, 1.0) for w in words]
    docs = set(min(parts, key=len))
    for part in parts:
        docs.intersection_update(part)
    if within is not None:
        docs.intersection_update(within)
    if not docs:
        return {}
    unique = list(dict.fromkeys(words))
    leaves = [_leaf(seg, field_name, w) for w in unique]
    if any(m is None for m in leaves):
        return _generic(seg, q)
    where = dict(zip(unique, (_positions(m, docs) for m in leaves), strict=True))
    slop, boost = q.slop, q.boost
    out: dict[int, float] = {}
    for d in docs:
        if _near(where[words[0]][d], [where[w][d] for w in words[1:]], slop):
            s = _tree_sum([part[d] for part in parts])
            out[d] = s * boost if boost != 1.0 else s
    return out


def _matched(m: Any, boost: float = 1.0) -> dict[int, float]:
    """Every document a Whoosh matcher matches, with its score (times ``boost``)."""
    out: dict[int, float] = {}
    while m.is_active():
        s = m.score()
        out[m.id()] = s * boost if boost != 1.0 else s
        m.next()
    return out


def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
    return scores if boost == 1.0 else {d: s * boost for d, s in scores.items()}


def _generic(seg: _Segment, q: Any) -> dict[int, float]:
    """Whoosh's own matcher for this node (phrases and anything else)."""
    return _matched(q.matcher(seg.sub, seg.sub.context()))


#: How steeply a note missing some of a query's words is ranked down (see :class:`SoftAnd`).
COORD_POWER = 2.0
#: How much more a note whose title (or path, tags, aliases) holds all of a soft query's
#: words scores than one whose body alone holds them; in between by their weight.
TITLE_BONUS = 1.0


#: A soft query (a question) prefers a focused note to a long one that mentions everything:
#: a note ``k`` times longer than the average scores ``k ** -LONG_NOTE_POWER`` times less.
LONG_NOTE_POWER = 0.25


def _long_note_factor(length: float, avg: float) -> float:
    return 1.0 if length <= avg else (avg / length) ** LONG_NOTE_POWER


def soft_and_class() -> type:
    """:class:`SoftAnd`, defined on first use so that importing this module imports no Whoosh."""
    global _SOFT_AND
    if _SOFT_AND is None:
        from whoosh.query import Or

        class SoftAnd(Or):  # type: ignore[misc]
            """The words of a longer query, softly ANDed: a note matches with enough of
            them and its summed score is scaled by the share of the words' weight it holds,
            squared (a word's weight is its idf: missing ``어떻게`` costs little, missing
            ``파드`` a lot). Notes holding less than ``min_share`` of the weight are left
            out. ``complete`` counts, after a search, the notes that hold every word.
            ``focused``: a long note scores less (see LONG_NOTE_POWER)."""

            JOINT = " SOFTAND "

            def __init__(self, subqueries: list[Any], weights: list[float], min_share: float = 0.0,
                         boost: float = 1.0, titles: list[Any] | None = None,
                         needed: list[bool] | None = None, focused: bool = True) -> None:
                Or.__init__(self, subqueries, boost=boost)
                self.weights = list(weights)
                self.min_share = min_share
                #: Which words a note must hold to count as ``complete`` (not question words).
                self.needed = list(needed) if needed is not None else [True] * len(subqueries)
                self.complete = 0
                #: Prefer a focused note to a long one (see LONG_NOTE_POWER).
                self.focused = focused
                self.labels: list[str] = []  # the words, for kb search --explain
                #: Per word, the part of its query on titles and paths (or None): a note whose
                #: title holds the words ranks higher (see TITLE_BONUS).
                self.titles = list(titles) if titles is not None else [None] * len(subqueries)

            def __eq__(self, other: object) -> bool:
                return (type(other) is type(self) and self.subqueries == other.subqueries  # type: ignore[attr-defined]
                        and self.weights == other.weights and self.min_share == other.min_share  # type: ignore[attr-defined]
                        and self.focused == other.focused)  # type: ignore[attr-defined]

            __hash__ = Or.__hash__

            def normalize(self) -> Any:
                return self

            def combine(self, parts: list[dict[int, float]], titles: list[Any],
                        long_factor: Any = None) -> dict[int, float]:
                total = sum(self.weights) or 1.0
                held: dict[int, float] = {}
                in_title: dict[int, float] = {}
                acc: dict[int, float] = {}
                needs: dict[int, int] = {}
                for part, title, w, need in zip(parts, titles, self.weights, self.needed, strict=True):
                    for d, sc in part.items():
                        old = acc.get(d)
                        acc[d] = sc if old is None else old + sc
                        held[d] = held.get(d, 0.0) + w
                        if need:
                            needs[d] = needs.get(d, 0) + 1
                    for d in title:
                        if d in part:
                            in_title[d] = in_title.get(d, 0.0) + w
                out: dict[int, float] = {}
                boost = self.boost
                n_needed = sum(self.needed)
                for d, sc in acc.items():
                    share = held[d] / total
                    if share + 1e-9 < self.min_share:
                        continue
                    if needs.get(d, 0) == n_needed:
                        self.complete += 1
                    sc = sc * share**COORD_POWER * (1.0 + TITLE_BONUS * in_title.get(d, 0.0) / total)
                    if long_factor is not None and self.focused:
                        sc *= long_factor(d)
                    out[d] = sc * boost if boost != 1.0 else sc
                return out

            def matcher(self, searcher: Any, context: Any = None) -> Any:
                """Whoosh's way (``KB_WHOOSH_COLLECTOR=1``): every sub-query's own matcher,
                combined as above."""
                from whoosh.matching import ListMatcher, NullMatcher

                parts = [_matched(sub.matcher(searcher, context)) for sub in self.subqueries]
                titles = [set() if t is None else set(_matched(t.matcher(searcher, context)))
                          for t in self.titles]
                top = searcher.get_parent() if searcher.has_parent() else searcher
                avg = top.avg_field_length("body") or 1.0
                reader = searcher.reader()
                out = self.combine(parts, titles,
                                   lambda d: _long_note_factor(reader.doc_field_length(d, "body", 0), avg))
                if not out:
                    return NullMatcher()
                ids = sorted(out)
                return ListMatcher(ids, [out[d] for d in ids])

        SoftAnd.__module__ = __name__
        _SOFT_AND = SoftAnd
    return _SOFT_AND


_SOFT_AND: type | None = None


def __getattr__(name: str) -> Any:
    if name == "SoftAnd":
        return soft_and_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def evaluate(seg: _Segment, q: Any, within: Any = None) -> dict[int, float]:
    """Segment-local document number -> score, for every document ``q`` matches (or at
    least every one of them in ``within``: the caller looks at no other)."""
    from whoosh import query as Q

    kind = type(q)
    if kind is Q.Term:
        return _term(seg, q.fieldname, q.text, q.boost)
    if kind is Q.Phrase:
        return _phrase(seg, q, within)
    if kind is _SOFT_AND:
        lengths = seg.lengths("body")
        n = len(lengths)
        b2l = _byte_to_length()
        avg = seg.top.avg_field_length("body") or 1.0
        return q.combine([evaluate(seg, sub) for sub in q.subqueries],
                         [() if t is None else evaluate(seg, t).keys() for t in q.titles],
                         lambda d: _long_note_factor(b2l[lengths[d]] if d < n else 0, avg))
    if kind is Q.Or and not q.minmatch and not q.scale:
        acc: dict[int, float] = {}
        for sub in q.subqueries:
            part = evaluate(seg, sub, within)
            if not acc:
                acc = dict(part)
                continue
            get = acc.get
            for d, s in part.items():
                old = get(d)
                acc[d] = s if old is None else old + s
        return _boosted(acc, q.boost) if len(q.subqueries) > 1 else acc
    if kind is Q.DisjunctionMax:
        best: dict[int, float] = {}
        total: dict[int, float] = {}
        for sub in q.subqueries:
            for d, sc in evaluate(seg, sub, within).items():
                total[d] = total.get(d, 0.0) + sc
                if sc > best.get(d, 0.0):
                    best[d] = sc
        tie = q.tiebreak
        if tie:
            best = {d: s + tie * (total[d] - s) for d, s in best.items()}
        return _boosted(best, q.boost)
    if kind is Q.And:
        parts = [evaluate(seg, sub, within) for sub in q.subqueries]
        if not parts or not all(parts):
            return {}
        acc = parts[0]
        for part in parts[1:]:
            acc = {d: s + part[d] for d, s in acc.items() if d in part}
        return _boosted(acc, q.boost) if len(q.subqueries) > 1 else acc
    if kind is Q.AndMaybe:
        a = evaluate(seg, q.a, within)
        if not a:
            return a
        b = evaluate(seg, q.b, a.keys())
        return {d: s + b[d] if d in b else s for d, s in a.items()}
    if kind is Q.AndNot:
        a = evaluate(seg, q.a, within)
        if not a:
            return a
        b = evaluate(seg, q.b, a.keys())
        return {d: s for d, s in a.items() if d not in b}
    if isinstance(q, Q.PatternQuery):  # Prefix, Wildcard: as MultiTerm.matcher expands them
        words = [w for w in q._btexts(seg.reader) if w]
        if not words:
            return {}
        if len(words) == 1:
            return _term(seg, q.fieldname, words[0], 1.0)
        return evaluate(seg, Q.Or([Q.Term(q.fieldname, w) for w in words], boost=q.boost))
    if kind is Q.NullQuery.__class__:
        return {}
    return _generic(seg, q)


class Scored:
    """One scored note, read like a Whoosh hit: ``r.fields()``, ``r.score``, ``r.docnum``."""

    __slots__ = ("docnum", "score", "_searcher", "_fields")

    def __init__(self, searcher: Any, docnum: int, score: float) -> None:
        self._searcher = searcher
        self.docnum = docnum
        self.score = score
        self._fields: dict[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        if self._fields is None:
            self._fields = self._searcher.stored_fields(self.docnum)
        return self._fields

    def __getitem__(self, key: str) -> Any:
        return self.fields()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields().get(key, default)


class Results:
    """The best ``limit`` hits; ``len()`` is how many notes matched in all."""

    def __init__(self, top: list[Scored], total: int) -> None:
        self.top = top
        self.total = total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: Any) -> Any:
        return self.top[index]

    def __iter__(self) -> Any:
        return iter(self.top)


def top_docs(searcher: Any, q: Any, limit: int, allow: Any = None) -> Results:
    """The ``limit`` best notes for ``q`` (only those ``allow`` matches, if given)."""
    import heapq

    subs = [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
    scored: list[tuple[float, int]] = []
    for sub, offset in subs:
        seg = _Segment(searcher, sub)
        scores = evaluate(seg, q)
        if not scores:
            continue
        if allow is not None:
            allowed = evaluate(seg, allow)
            scores = {d: s for d, s in scores.items() if d in allowed}
        reader = seg.reader
        deleted = reader.has_deletions()
        for d, s in scores.items():
            if deleted and reader.is_deleted(d):
                continue
            scored.append((-s, offset + d))
    best = heapq.nsmallest(max(limit, 1), scored)
    return Results([Scored(searcher, d, -s) for s, d in best], len(scored))
