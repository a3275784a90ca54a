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

from collections.abc import Iterable, Iterator
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

    def __init__(self, top: Any, sub: Any, kept: dict[str, Any] | None = None) -> None:
        self.top = top
        self.sub = sub
        self.reader = sub.reader()
        kept = {} if kept is None else kept
        self._lengths: dict[str, bytes] = kept.setdefault("lengths", {})
        #: Each term's scores (unboosted), read once a search (a word's terms come back in
        #: its phrases and in the phrase of the whole query), or once an index version for
        #: a long-lived caller (``kept``, see :func:`top_docs`)...
        self.terms: dict[tuple[str, bytes], dict[int, float]] = kept.setdefault("terms", {})
        #: ...and its postings blocks as read (ids, and the data that holds the positions).
        self.blocks: dict[tuple[str, bytes], list[tuple[Any, Any]]] = kept.setdefault("blocks", {})
        #: How many postings' scores ``terms`` holds (kept up to date as terms are added).
        self._count: list[int] = kept.setdefault("count", [0])
        self._norms: dict[tuple[str, float, float, float], list[float]] = kept.setdefault("norms", {})
        #: The ``(field, word)`` pairs of the query's phrases (see :func:`phrase_words`): only
        #: their postings are read with positions; None: every term's are.
        self.phrased: set[tuple[str, str]] | None = None

    def postings(self) -> int:
        """How many postings' scores are kept."""
        return self._count[0]

    def keep(self, key: tuple[str, bytes], scores: dict[int, float]) -> None:
        self.terms[key] = scores
        self._count[0] += len(scores)

    def evict(self, most: int) -> None:
        """Drop the terms used least lately (and their blocks) until at most ``most``
        postings' scores are kept: the terms a notebook's searches share stay."""
        terms = self.terms
        while terms and self._count[0] > most:
            key = next(iter(terms))
            self._count[0] -= len(terms.pop(key))
            self.blocks.pop(key, None)

    def norms(self, field: str, K1: float, B: float, avgfl: float) -> list[float]:
        """BM25's length part of the denominator for each of the 256 length bytes (the
        expression of ``whoosh.scoring.bm25``, so the very same floats)."""
        key = (field, K1, B, avgfl)
        got = self._norms.get(key)
        if got is None:
            b2l = _byte_to_length()
            k1b = 1 - B
            got = self._norms[key] = [K1 * (k1b + B * b2l[lb] / avgfl) for lb in range(256)]
        return got

    def lengths(self, field: str) -> bytes:
        raw = self._lengths.get(field)
        if raw is None:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

            column = self.reader._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            raw = b"" if column is None else bytes(column._dbfile.get(column._basepos, column._count))
            self._lengths[field] = raw
        return raw


def _term(seg: _Segment, field: str, text: Any, boost: float, positions: bool = True) -> dict[int, float]:
    """The term's scores at every note that holds it (times ``boost``), kept on the
    segment; its postings blocks kept too, for a phrase's positions (``positions=False``:
    a caller that needs none, :func:`top_terms`; the blocks read without them)."""
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
    kept = seg.terms.pop(key, None)
    if kept is not None:
        seg.terms[key] = kept  # the most recently used last (see _Segment.evict)
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
        idf, K1 = scorer.idf, scorer.K1
        k1p1 = K1 + 1
        norm = seg.norms(field, K1, scorer.B, scorer.avgfl)
        blocks: list[tuple[Any, Any]] | None = [] if m._fixedsize is None and positions else None
        while not m._atend:
            if not positions and m._data is None:
                m._data = _ids_and_weights(m)
            if m._ids is None:
                m._read_ids()
            if m._weights is None:
                m._read_weights()
            ids = m._ids
            # whoosh.scoring.bm25, term for term (the same floating-point steps)
            if ids and ids[-1] < n:
                out.update({doc: idf * ((w * k1p1) / (w + norm[lengths[doc]]))
                            for doc, w in zip(ids, m._weights, strict=True)})
            else:
                for doc, w in zip(ids, m._weights, strict=True):
                    out[doc] = idf * ((w * k1p1) / (w + norm[lengths[doc] if doc < n else 0]))
            if blocks is not None and len(ids):
                blocks.append((ids, m._data))
            m._i = m._blocklength
            m._next_block()
        seg.keep(key, out)
        if blocks is not None:
            seg.blocks[key] = blocks
        return out if boost == 1.0 else {d: s * boost for d, s in out.items()}
    return _matched(m, boost)  # other scorers (unscorable keyword fields): Whoosh's own


def segments(reader: Any) -> list[tuple[Any, int]]:
    """The segment readers of an index reader and the top-level number of each one's first
    note (one segment: the reader itself, from 0)."""
    if reader.is_atomic():
        return [(reader, 0)]
    return list(zip(reader.readers, reader.doc_offsets, strict=True))


def segment_docs(leaves: list[tuple[Any, int]], docs: list[int]) -> Iterator[tuple[Any, int, list[int]]]:
    """For sorted top-level note numbers ``docs``: each segment (of :func:`segments`) that
    holds some of them, its first number, and those notes as numbers within it."""
    import bisect

    for k, (leaf, offset) in enumerate(leaves):
        end = leaves[k + 1][1] if k + 1 < len(leaves) else None
        lo = bisect.bisect_left(docs, offset)
        hi = len(docs) if end is None else bisect.bisect_left(docs, end)
        if lo < hi:
            yield leaf, offset, [d - offset for d in docs[lo:hi]]


def docs_holding(m: Any, docs: Iterable[int]) -> set[int]:
    """Those of the sorted ``docs`` a postings matcher holds, skipping through to each. A
    matcher may be inactive from the start: a segment's filter of deleted notes, when the
    segment holds the term only in deleted copies (the old copies of notes a sync rewrote)."""
    found: set[int] = set()
    for d in docs:
        if not m.is_active():
            break
        if m.id() < d:
            m.skip_to(d)
            if not m.is_active():
                break
        if m.id() == d:
            found.add(d)
    return found


def leaf_postings(reader: Any, field: str, btext: bytes) -> Any:
    """A segment reader's postings of a term as Whoosh's block matcher, which can be read
    block by block (through a filter of deleted notes: the notes asked about are live);
    None when they are another kind of matcher."""
    m = reader.postings(field, btext)
    while not hasattr(m, "_atend") and hasattr(m, "child"):
        m = m.child
    return m if hasattr(m, "_read_values") and hasattr(m, "_read_ids") else None


def positions_in(m: Any, docs: list[int], cap: int | None = None) -> dict[int, list[int]]:
    """The term's positions (the first ``cap`` of them) in each of the sorted ``docs``
    (numbers within the matcher's segment) that holds it. A block none of them falls in
    is passed on its header, one that some do has its ids read, and its positions only
    when it holds one; the walk ends after the last of them."""
    import bisect

    decode = m.format.decode_positions
    out: dict[int, list[int]] = {}
    k = 0  # the first wanted note not yet passed
    while not m._atend and k < len(docs):
        if m._maxid >= docs[k]:
            if m._ids is None:
                m._read_ids()
            ids = m._ids
            last = bisect.bisect_right(docs, m._maxid, k)
            for d in docs[k:last]:
                at = bisect.bisect_left(ids, d)
                if at < len(ids) and ids[at] == d:
                    if m._values is None:
                        m._read_values()
                    ps = decode(m._values[at])
                    out[d] = ps if cap is None else ps[:cap]
            k = last
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
    import bisect

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
    where: dict[bytes, dict[int, list[int]]] = {}
    decode = field.format.decode_positions
    for w in unique:
        blocks = seg.blocks.get((field_name, w))
        if blocks is not None:  # read by _term just now: no need to read them again
            found: dict[int, list[int]] = {}
            tops = [ids[-1] for ids, _ in blocks]
            for d in docs:
                k = bisect.bisect_left(tops, d)
                if k < len(blocks):
                    ids, data = blocks[k]
                    i = bisect.bisect_left(ids, d)
                    if i < len(ids) and ids[i] == d:
                        found[d] = decode(data[2][i])
            where[w] = found
            continue
        m = leaf_postings(seg.reader, field_name, w)
        if m is None:
            return _generic(seg, q)
        where[w] = positions_in(m, sorted(docs))
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
#: ...in a query written all in Latin letters: its words are the notes' own words in some
#: form (stems join inflections), so a note missing one is likelier about something else
#: (FTS5 with Porter, as zk uses it, asks for every word).
LATIN_COORD_POWER = 5.0
#: How much more a note whose title (or path, tags, aliases) holds all of a soft query's
#: words scores than one whose body alone holds them; in between by their weight.
TITLE_BONUS = 1.0
#: The share of a word's weight a note holds when it matches the word only through a
#: guessed translation (see SoftAnd.sure): ``base`` typed in a question is not held by a
#: note that says only ``기본``, which some note once glossed as base.
GUESS_CREDIT = 0.1


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
            to the power ``coord`` (squared, or LATIN_COORD_POWER; a word's weight is its
            idf: missing ``어떻게`` costs little, missing ``파드`` a lot). Notes holding less
            than ``min_share`` of the weight are left out. ``complete`` counts, after a
            search, the notes that hold every word. ``focused``: a long note scores less
            (see LONG_NOTE_POWER)."""

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
                #: Per word, None, or the part of its query without its guessed translations:
                #: a note outside it holds the word at GUESS_CREDIT of its weight.
                self.sure: list[Any] = [None] * len(subqueries)
                #: Whether a note held enough only through such forms still passes min_share
                #: (ranked by the lesser share): an English query's Korean note is ranked
                #: below the English ones, not left out.
                self.sure_keeps = False
                #: How steeply a note missing words ranks down (COORD_POWER, LATIN_COORD_POWER).
                self.coord = COORD_POWER

            def __eq__(self, other: object) -> bool:
                return (type(other) is type(self) and self.subqueries == other.subqueries  # type: ignore[attr-defined]
                        and self.weights == other.weights and self.min_share == other.min_share  # type: ignore[attr-defined]
                        and self.focused == other.focused and self.sure == other.sure  # type: ignore[attr-defined]
                        and self.sure_keeps == other.sure_keeps and self.coord == other.coord)  # type: ignore[attr-defined]

            __hash__ = Or.__hash__

            def normalize(self) -> Any:
                return self

            def combine(self, parts: list[dict[int, float]], titles: list[Any],
                        long_factor: Any = None, sure: list[Any] | None = None) -> dict[int, float]:
                total = sum(self.weights) or 1.0
                held: dict[int, float] = {}
                full: dict[int, float] = {}  # held, each guess counted in full (sure_keeps)
                in_title: dict[int, float] = {}
                acc: dict[int, float] = {}
                needs: dict[int, int] = {}
                sure = sure if sure is not None else [None] * len(parts)
                for part, title, w, need, firm in zip(parts, titles, self.weights, self.needed, sure,
                                                      strict=True):
                    for d, sc in part.items():
                        old = acc.get(d)
                        acc[d] = sc if old is None else old + sc
                        held[d] = held.get(d, 0.0) + w
                        if need:
                            needs[d] = needs.get(d, 0) + 1
                    if firm is not None:  # a question's English word: a guess holds less of it
                        less = w * (1.0 - GUESS_CREDIT)
                        for d in part.keys() - firm:
                            if self.sure_keeps:
                                full[d] = full.get(d, 0.0) + less
                            held[d] -= less
                    for d in title:
                        if d in part:
                            in_title[d] = in_title.get(d, 0.0) + w
                out: dict[int, float] = {}
                boost = self.boost
                n_needed = sum(self.needed)
                for d, sc in acc.items():
                    share = held[d] / total
                    if share + full.get(d, 0.0) / total + 1e-9 < self.min_share:
                        continue
                    if needs.get(d, 0) == n_needed:
                        self.complete += 1
                    sc = sc * share**self.coord * (1.0 + TITLE_BONUS * in_title.get(d, 0.0) / total)
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
                sure = [None if t is None else set(_matched(t.matcher(searcher, context)))
                        for t in self.sure]
                top = searcher.get_parent() if searcher.has_parent() else searcher
                avg = top.avg_field_length("body") or 1.0
                reader = searcher.reader()
                out = self.combine(parts, titles,
                                   lambda d: _long_note_factor(reader.doc_field_length(d, "body", 0), avg),
                                   sure)
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
        phrased = seg.phrased
        return _term(seg, q.fieldname, q.text, q.boost,
                     positions=phrased is None or (q.fieldname, q.text) in phrased)
    if kind is Q.Phrase:
        return _phrase(seg, q, within)
    if kind is _SOFT_AND:
        lengths = seg.lengths("body")
        n = len(lengths)
        b2l = _byte_to_length()
        avg = seg.top.avg_field_length("body") or 1.0
        return q.combine([evaluate(seg, sub) for sub in q.subqueries],
                         [() if t is None else evaluate(seg, t).keys() for t in q.titles],
                         lambda d: _long_note_factor(b2l[lengths[d]] if d < n else 0, avg),
                         [None if t is None else evaluate(seg, t).keys() for t in q.sure])
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


def _quick_stored_offsets() -> None:
    """Whoosh derives where each note's stored fields start from their lengths in a Python
    loop, for every segment at every searcher (~4 ms per 20,000 notes, a search opens one):
    the same offsets from ``itertools.accumulate``. The rest is Whoosh's reading as it is."""
    from whoosh.columns import VarBytesColumn

    reader = VarBytesColumn.Reader
    if getattr(reader, "_kb_quick", False):
        return

    def read_offsets_and_lengths(self: Any) -> None:
        import struct
        from array import array
        from itertools import accumulate

        dbfile, doccount = self._dbfile, self._doccount
        lastbyte = self._basepos + self._length - 1
        lens_code = chr(dbfile.get_byte(lastbyte))
        offsets = None
        if lens_code == "X":
            self.had_stored_offsets = True
            lens_code = chr(dbfile.get_byte(lastbyte - 2))
            offsets_code = chr(dbfile.get_byte(lastbyte - 1))
            offsetstart = (lastbyte - 2) - doccount * struct.calcsize(offsets_code)
            offsets = dbfile.get_array(offsetstart, offsets_code, doccount)
            lastbyte = offsetstart
        lenstart = lastbyte - (struct.calcsize(lens_code) * doccount)
        lengths = dbfile.get_array(lenstart, lens_code, doccount)
        if offsets is None:
            offsets = array("L", accumulate(lengths, initial=0))
            offsets.pop()
        self._offsets = offsets
        self._lengths = lengths

    reader._read_offsets_and_lengths = read_offsets_and_lengths
    reader._kb_quick = True


#: Most postings whose scores (and blocks) a long-lived caller keeps (tens of MB).
MAX_KEPT_POSTINGS = 300_000


def _segments(searcher: Any, kept: dict[Any, Any] | None) -> Any:
    """Each segment (a :class:`_Segment`, with what ``kept`` holds for it) and its first
    document number."""
    subs = [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
    for sub, offset in subs:
        store = None
        if kept is not None:
            segment = getattr(sub.reader(), "segment", None)
            key = (offset, segment().segment_id() if callable(segment) else None)
            store = kept.setdefault(key, {})
        seg = _Segment(searcher, sub, store)
        if store is not None and seg.postings() > MAX_KEPT_POSTINGS:
            seg.evict(MAX_KEPT_POSTINGS * 3 // 4)
        yield seg, offset


def phrase_words(q: Any) -> set[tuple[str, str]]:
    """The ``(field, word)`` pairs of every phrase in a query: the only terms whose
    postings need their positions (reading a block's positions is most of its cost;
    a term read without them is read again with them if a later phrase wants them)."""
    from whoosh import query as Q

    out: set[tuple[str, str]] = set()
    stack = [q]
    while stack:
        node = stack.pop()
        if isinstance(node, Q.Phrase):
            out.update((node.fieldname, w) for w in node.words)
            continue
        if isinstance(node, Q.CompoundQuery):
            stack.extend(node.subqueries)
        elif isinstance(node, Q.BinaryQuery):
            stack.extend((node.a, node.b))
        elif isinstance(node, Q.WrappingQuery):
            stack.append(node.child)
        stack.extend(t for t in (*getattr(node, "titles", ()), *getattr(node, "sure", ())) if t is not None)
    return out


def top_docs(searcher: Any, q: Any, limit: int, allow: Any = None,
             kept: dict[Any, Any] | None = None) -> Results:
    """The ``limit`` best notes for ``q`` (only those ``allow`` matches, if given).
    ``kept``: what a long-lived caller keeps across searches of one index version (each
    term's scores and postings blocks per segment, up to MAX_KEPT_POSTINGS: past it, the
    terms used least lately are dropped)."""
    import heapq

    _quick_stored_offsets()
    scored: list[tuple[float, int]] = []
    phrased = phrase_words(q)
    for seg, offset in _segments(searcher, kept):
        seg.phrased = phrased
        allowed = evaluate(seg, allow) if allow is not None else None
        scores = evaluate(seg, q, allowed)
        if not scores:
            continue
        if allowed is not None:
            scores = {d: s for d, s in scores.items() if d in allowed}
        reader = seg.reader
        deleted = reader.has_deletions()
        for d, s in scores.items():
            if deleted and reader.is_deleted(d):
                continue
            scored.append((-s, offset + d))
    best = heapq.nsmallest(max(limit, 1), scored)
    return Results([Scored(searcher, d, -s) for s, d in best], len(scored))


#: Relative slack on the upper bounds of :func:`top_terms` (float rounding of bounds and sums).
_BOUND_SLACK = 1e-6


def _term_bound(seg: _Segment, field: str, btext: bytes) -> tuple[float, Any] | None:
    """An upper bound of the term's (unboosted) BM25 score in this segment (Whoosh's
    ``max_quality``: its highest weight at its shortest length, from the term info), and
    its scorer; None when the segment has no such term or another scorer."""
    from whoosh.scoring import BM25FScorer

    reader = seg.reader
    if (field, btext) not in reader:
        return None
    scorer = seg.top.weighting.scorer(seg.sub, field, btext)
    if type(scorer) is not BM25FScorer:
        return None
    bound = scorer.max_quality()
    if len(seg.lengths(field)) < reader.doc_count_all():  # a note without a length: norm[0]
        w = reader.term_info(field, btext).max_weight()
        norm0 = seg.norms(field, scorer.K1, scorer.B, scorer.avgfl)[0]
        bound = max(bound, scorer.idf * ((w * (scorer.K1 + 1)) / (w + norm0)))
    return bound * (1 + _BOUND_SLACK), scorer


def _term_at(seg: _Segment, field: str, btext: bytes, scorer: Any, docs: list[int]) -> dict[int, float]:
    """The term's (unboosted) scores for the sorted ``docs`` only, the very floats of
    :func:`_term`: blocks whose ids all lie between two wanted notes are skipped unread."""
    import bisect

    full = seg.terms.get((field, btext))
    if full is not None:
        return {d: full[d] for d in docs if d in full}
    if not docs:
        return {}
    m = leaf_postings(seg.reader, field, btext)
    if m is None:
        part = _term(seg, field, btext, 1.0, positions=False)
        return {d: part[d] for d in docs if d in part}
    lengths = seg.lengths(field)
    n = len(lengths)
    idf, K1 = scorer.idf, scorer.K1
    k1p1 = K1 + 1
    norm = seg.norms(field, K1, scorer.B, scorer.avgfl)
    out: dict[int, float] = {}
    k = 0  # the first wanted note not yet passed
    while not m._atend and k < len(docs):
        if m._maxid >= docs[k]:
            if m._data is None:
                m._data = _ids_and_weights(m)
            if m._ids is None:
                m._read_ids()
            ids = m._ids
            hi = bisect.bisect_right(docs, m._maxid, k)
            weights = None
            for d in docs[k:hi]:
                i = bisect.bisect_left(ids, d)
                if i < len(ids) and ids[i] == d:
                    if weights is None:
                        if m._weights is None:
                            m._read_weights()
                        weights = m._weights
                    w = weights[i]
                    out[d] = idf * ((w * k1p1) / (w + norm[lengths[d] if d < n else 0]))
            k = hi
        m._i = m._blocklength
        m._next_block()
    return out


#: Where Whoosh 3's pickle of a postings block (protocol 2: ``(ids, weights, values)``)
#: starts its values, the positions of each posting: the values' tuple opened (MARK), its
#: first ``bytes`` made by ``_codecs.encode`` (GLOBAL). The ids and weights before it are
#: ints, floats or None, whose opcodes cannot spell it.
_VALUES_START = b"(c_codecs\nencode\n"


def _ids_and_weights(m: Any) -> tuple[Any, Any, tuple[()]]:
    """A postings block's data as Whoosh's ``_read_data`` reads it, ``(ids, weights,
    values)``, but its values (positions: each a ``bytes`` rebuilt by a call, most of
    the time of a block) left out: ``()``. The pickle is cut where the values start and
    closed there, so the ids and weights are what the whole pickle gives; a block pickled
    otherwise is read whole."""
    import zlib
    from pickle import loads

    raw = m._postfile.get(m._dataoffset, m._nextoffset - m._dataoffset)
    if m._compression:
        raw = zlib.decompress(raw)
    at = raw.find(_VALUES_START)
    if at < 0:
        return loads(raw)  # type: ignore[no-any-return]
    return loads(raw[:at] + b")\x87.")  # type: ignore[no-any-return]  # (), TUPLE3, STOP


def top_terms(searcher: Any, terms: list[tuple[str, str, float]], limit: int,
              kept: dict[Any, Any] | None = None) -> list[tuple[float, int]]:
    """The ``limit`` best notes for an OR of weighted terms ``(field, text, boost)``, as
    :func:`top_docs` ranks ``Or([Term(field, text, boost=boost), ...])``: the same notes,
    order and scores (each note's sum taken in the query's order), as ``(score, docnum)``
    best first, without scoring every posting (MaxScore): terms are read whole from the
    highest upper bound down (the rare, distinctive ones, with short postings) until the
    terms left could not lift a note that none of them holds into the top ``limit``
    together; those are then read only at the notes that still can, skipping their
    other blocks. ``kept``: as for :func:`top_docs`."""
    import heapq

    _quick_stored_offsets()
    limit = max(limit, 1)
    best: list[tuple[float, int]] = []  # (-score, docnum): the exact scores so far
    for seg, offset in _segments(searcher, kept):
        schema = searcher.schema
        bounded: list[tuple[float, int, bytes, Any]] = []  # (bound, query position, btext, scorer)
        for i, (field, text, boost) in enumerate(terms):
            if field not in schema:
                continue
            try:
                btext = schema[field].to_bytes(text)
            except ValueError:
                continue
            got = _term_bound(seg, field, btext)
            if got is None:
                if (field, btext) in seg.reader:  # not BM25: no bound, read it whole
                    bounded.append((float("inf"), i, btext, None))
                continue
            bounded.append((got[0] * boost, i, btext, got[1]))
        bounded.sort(key=lambda b: -b[0])
        reader = seg.reader
        deleted = reader.has_deletions()
        # Terms read whole, highest bound first, while the rest could still lift an unseen note.
        rest = sum(b[0] for b in bounded)
        full: dict[int, dict[int, float]] = {}
        lower: dict[int, float] = {}
        j = 0
        while j < len(bounded):
            theta = _kth(best, lower, limit, offset, reader if deleted else None)
            if theta is not None and rest < theta:
                break
            bound, i, btext, _ = bounded[j]
            field, _, boost = terms[i]
            part = _term(seg, field, btext, boost, positions=False)
            full[i] = part
            get = lower.get
            for d, s in part.items():
                lower[d] = get(d, 0.0) + s
            rest -= bound
            j += 1
        # The rest, lowest bound last, only at the notes that can still make the top; after
        # each term the notes that no longer can are dropped.
        notes = lower
        parts: dict[int, dict[int, float]] = dict(full)
        for bound, i, btext, scorer in bounded[j:]:
            theta = _kth(best, notes, limit, offset, reader if deleted else None)
            if theta is not None:
                notes = {d: s for d, s in notes.items() if s + rest >= theta}
            field, _, boost = terms[i]
            at = _term_at(seg, field, btext, scorer, sorted(notes))
            if boost != 1.0:
                at = {d: s * boost for d, s in at.items()}
            parts[i] = at
            for d, s in at.items():
                notes[d] += s
            rest -= bound
        order = sorted(parts)
        for d in notes:
            if deleted and reader.is_deleted(d):
                continue
            acc: float | None = None
            for i in order:
                s = parts[i].get(d)
                if s is not None:
                    acc = s if acc is None else acc + s
            if acc is not None:
                best.append((-acc, offset + d))
        best = heapq.nsmallest(limit, best)
    return [(-s, d) for s, d in best]


def _kth(best: list[tuple[float, int]], lower: dict[int, float], limit: int, offset: int,
         reader: Any) -> float | None:
    """The ``limit``-th highest score a note is sure to reach (exact scores of earlier
    segments, lower bounds of this one), shaded down by the slack; None: fewer notes."""
    import heapq

    scores = [-s for s, _ in best]
    if reader is None:
        scores.extend(lower.values())
    else:
        scores.extend(s for d, s in lower.items() if not reader.is_deleted(d))
    if len(scores) < limit:
        return None
    return heapq.nlargest(limit, scores)[-1] * (1 - _BOUND_SLACK)
