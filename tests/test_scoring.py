"""kb.scoring ranks exactly like Whoosh's own (unpruned) collector, only faster.

Every query of the fixture eval, every query shape kb builds (AND, the OR fallback,
phrases, prefixes, negation, tag filters), on an index with several segments and
deleted documents, is run both ways and compared: same total, same documents in the
same order, scores equal to 1e-9.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_quality import NOTES, load_queries

from kb import scoring
from kb.config import Notebook
from kb.index.sync import open_index, sync_index
from kb.search import AliasTable, _Builder, _combine, _run, load_groups, parse_query

SHAPES = [
    "쿠버네티스",
    "파드 스케줄링",
    '"교착 상태"',
    "정렬*",
    "데이터베이스 -정규화",
    "deadlock OR 교착상태",
    "title:정렬",
    "tag:algorithm",
    "없는단어 정렬",
    "-정렬",
    "파드 스케줄링 정렬 교착 상태",  # a longer query: softly ANDed (kb.scoring.SoftAnd)
    "정렬은 어떻게 하나요",  # a question: question words weigh little
    '"정렬 정렬"',  # a phrase of one word twice (kb.scoring reads phrases itself)
    '"교착 상태 정렬"',
    "교착 상태 데이터베이스",  # its words as a phrase with a slop, and by pairs
]


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> tuple[Notebook, object]:
    """The eval notes indexed in three commits, with notes changed and removed on the
    way: several segments and deleted documents, as a real index has."""
    base = tmp_path_factory.mktemp("scoring")
    with pytest.MonkeyPatch.context() as mp:
        # a sync rewriting a fifth of these few notes would merge the deleted copies away
        mp.setattr("kb.index.sync.STALE_SHARE", 1.0)
        return _segmented(base)


def _segmented(base: Path) -> tuple[Notebook, object]:
    root = base / "notes"
    shutil.copytree(NOTES, root)
    nb = Notebook(root=root, index_dir=base / "index", source="test")
    moved = sorted(root.rglob("*.md"))[:8]
    keep = {p: p.read_bytes() for p in moved}
    for p in moved:
        p.unlink()
    sync_index(nb)
    for p, data in keep.items():
        p.write_bytes(data)
    sync_index(nb)
    victim = sorted(root.rglob("*.md"))[-1]
    victim.write_text(victim.read_text(encoding="utf-8") + "\n정렬 교착 상태 추가\n", encoding="utf-8")
    (sorted(root.rglob("*.md"))[-2]).unlink()
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    with ix.searcher() as s:
        assert not s.is_atomic() and len(s.leaf_searchers()) >= 2
        assert any(sub.reader().has_deletions() for sub, _ in s.leaf_searchers())
    return nb, ix


def _both(nb: Notebook, ix: object, text: str, any_word: bool, limit: int = 10, tags: tuple[str, ...] = ()):
    from whoosh.query import Term

    monkey = pytest.MonkeyPatch()
    with ix.searcher() as s:  # type: ignore[attr-defined]
        q = _combine(_Builder(s, AliasTable(load_groups(nb.root))), parse_query(text), any_word=any_word)
        flt = [Term("tags", t) for t in tags]
        monkey.setenv("KB_WHOOSH_COLLECTOR", "1")
        whoosh = _run(s, q, flt, limit)
        monkey.delenv("KB_WHOOSH_COLLECTOR")
        mine = _run(s, q, flt, limit)
        assert isinstance(mine, scoring.Results) or mine is None  # the fast path ran
        if whoosh is None:
            assert mine is None
            return None
        a = [(r.docnum, r.score, r["path"]) for r in whoosh[:limit]]
        b = [(r.docnum, r.score, r["path"]) for r in mine[:limit]]
        return len(whoosh), len(mine), a, b


def _assert_same(result) -> None:
    if result is None:
        return
    n_whoosh, n_mine, a, b = result
    assert n_mine == n_whoosh
    assert [x[2] for x in b] == [x[2] for x in a]
    for (_, sa, _), (_, sb, _) in zip(a, b, strict=True):
        assert sb == pytest.approx(sa, rel=1e-9)


@pytest.mark.parametrize("any_word", [False, True])
def test_every_eval_query_ranks_as_whoosh(segmented, any_word: bool) -> None:
    nb, ix = segmented
    for q in load_queries():
        if "-" in q.text.split()[0][:1]:
            continue
        _assert_same(_both(nb, ix, q.text, any_word))


@pytest.mark.parametrize("text", [s for s in SHAPES if "-" not in s])
def test_query_shapes_rank_as_whoosh(segmented, text: str) -> None:
    nb, ix = segmented
    for limit in (1, 3, 50):
        _assert_same(_both(nb, ix, text, any_word=False, limit=limit))


def test_tag_filter_as_whoosh(segmented) -> None:
    nb, ix = segmented
    with ix.searcher() as s:
        tags = sorted({t for d in s.all_stored_fields() for t in (d.get("tags") or "").split(",") if t})
    assert tags
    for tag in tags[:5]:
        _assert_same(_both(nb, ix, "정렬", any_word=True, tags=(tag,)))


def test_negation_excludes_every_note_with_the_word(segmented) -> None:
    """Checked against what the word alone matches, not against Whoosh (whose
    AndNotMatcher can let a note through)."""
    nb, ix = segmented
    with ix.searcher() as s:
        builder = _Builder(s, AliasTable(load_groups(nb.root)))
        # An excluded word is excluded as written (no typo fixes or other guesses).
        as_written = _Builder(s, AliasTable(load_groups(nb.root)), expand=False)
        tried = 0
        for word in WORDS:
            for other in WORDS:
                if word == other:
                    continue
                pos = _run(s, _combine(builder, parse_query(word), False), [], 1000)
                neg = _run(s, _combine(as_written, parse_query(other), False), [], 1000)
                both = _run(s, _combine(builder, parse_query(f"{word} -{other}"), False), [], 1000)
                if pos is None or neg is None or both is None:
                    continue
                pos_ids, neg_ids = {h.docnum for h in pos}, {h.docnum for h in neg}
                assert {h.docnum for h in both} == pos_ids - neg_ids
                tried += bool(pos_ids & neg_ids and pos_ids - neg_ids)
        assert tried >= 5  # pairs where the negation really removed some notes and kept others


def test_search_does_not_use_whoosh_collector(nb: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    from whoosh import collectors

    from kb.search import search

    sync_index(nb)

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("Whoosh's collector was used")

    monkeypatch.setattr(collectors, "TopCollector", boom)
    assert search(nb, "airflow").hits


WORDS = [
    "정렬", "교착", "상태", "데이터베이스", "정규화", "쿠버네티스", "파드", "deadlock", "sort", "algorithm",
    "트랜잭션", "인덱스", "퀵정렬", "브룩스", "법칙", "없는말",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
       quoted=st.booleans(), prefix=st.booleans(), any_word=st.booleans())
def test_random_queries_rank_as_whoosh(segmented, words, quoted, prefix, any_word) -> None:
    nb, ix = segmented
    text = " ".join(words)
    if quoted:
        text = f'"{text}"'
    elif prefix:
        text += "*"
    _assert_same(_both(nb, ix, text, any_word))


def test_only_phrase_words_are_read_with_positions(segmented) -> None:
    """A term no phrase of the query holds is read without its positions (most of a
    postings block's cost) and its blocks are not kept; a phrase's words keep theirs."""
    from whoosh.query import Or, Phrase, Term

    _, ix = segmented
    kept: dict = {}
    with ix.searcher() as s:  # type: ignore[attr-defined]
        scoring.top_docs(s, Or([Term("body", "정렬"), Phrase("body", ["교착", "상태"])]), 10, kept=kept)
        blocks = {key for store in kept.values() for key in store["blocks"]}
        terms = {key for store in kept.values() for key in store["terms"]}
    assert ("body", "정렬".encode()) in terms
    assert ("body", "정렬".encode()) not in blocks
    assert ("body", "교착".encode()) in blocks and ("body", "상태".encode()) in blocks


def test_a_word_read_without_positions_then_in_a_phrase_ranks_as_whoosh(segmented) -> None:
    """A term kept from a query that needed no positions, then asked for in a phrase by
    the next query (kb lsp keeps postings across searches): its positions are read then,
    the phrase scores as Whoosh's."""
    from whoosh.query import Phrase, Term

    _, ix = segmented
    kept: dict = {}
    phrase = Phrase("body", ["교착", "상태"])
    with ix.searcher() as s:  # type: ignore[attr-defined]
        scoring.top_docs(s, Term("body", "교착"), 10, kept=kept)
        scoring.top_docs(s, Term("body", "상태"), 10, kept=kept)
        mine = scoring.top_docs(s, phrase, 10, kept=kept)
        whoosh = s.search(phrase, limit=10)
        assert len(mine) == len(whoosh) > 0
        assert [r.docnum for r in mine] == [r.docnum for r in whoosh]
        assert [r.score for r in mine] == pytest.approx([r.score for r in whoosh], rel=1e-9)
