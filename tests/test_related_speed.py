"""kb related's quick paths give Whoosh's answers exactly (issue 17).

``search._key_terms`` must pick the terms and weights of ``key_terms_from_text`` (Bo1), and
``scoring.top_terms`` (MaxScore pruning) the notes, order and scores of ``top_docs`` on the
whole OR query, on an index of several segments with deleted notes and duplicate notes
(ties, broken by document number).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kb.core import Notebook

ENGLISH = ("kubernetes pod service deployment ingress volume secret rbac helm chart airflow dag "
           "executor scheduler retrieval vector embedding index transformer attention token "
           "cache latency queue lock thread process memory kernel socket").split()
KOREAN = ("파드 서비스 배포 볼륨 권한 스케줄러 검색 벡터 임베딩 색인 트랜스포머 어텐션 토큰 캐시 "
          "지연 큐 잠금 스레드 프로세스 메모리 커널 소켓 교착 상태 설정 생성 삭제 조회").split()
PARTICLES = ("", "", "", "를", "가", "는", "에서", "의")


def _text(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(words):
        # Zipf-like: the first words of each list are common, the last ones rare.
        pool = ENGLISH if rng.random() < 0.5 else KOREAN
        word = pool[min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)]
        if pool is KOREAN:
            word += rng.choice(PARTICLES)
        out.append(word)
    return " ".join(out)


def _write(root: Path, rng: random.Random, name: str) -> None:
    title = _text(rng, rng.randint(1, 4))
    tags = ", ".join(sorted({rng.choice(ENGLISH) for _ in range(rng.randint(0, 3))}))
    body = "\n\n".join(_text(rng, rng.randint(3, 60)) for _ in range(rng.randint(1, 6)))
    (root / name).write_text(f"---\ntitle: {title}\ntags: [{tags}]\n---\n{body}\n", encoding="utf-8")


@pytest.fixture
def generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Notebook:
    """~150 notes indexed in three syncs (several segments), some deleted and changed, and
    exact copies of some notes (equal scores)."""
    import time

    root = tmp_path / "gen"
    root.mkdir()
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "gen-index"))
    # the syncs below rewrite more than a fifth of the notes: keep the deleted copies anyway
    monkeypatch.setattr("kb.index.sync.STALE_SHARE", 1.0)
    rng = random.Random(17)
    for i in range(90):
        _write(root, rng, f"n{i:03d}.md")
    for i in range(0, 90, 9):
        (root / f"copy{i:03d}.md").write_bytes((root / f"n{i:03d}.md").read_bytes())
    Notebook.open(root).close()
    time.sleep(0.05)
    for i in range(90, 140):
        _write(root, rng, f"n{i:03d}.md")
    for i in range(0, 90, 7):
        (root / f"n{i:03d}.md").unlink()
    Notebook.open(root).close()
    for i in range(3, 90, 11):
        if (root / f"n{i:03d}.md").exists():
            _write(root, rng, f"n{i:03d}.md")
    nb = Notebook.open(root)
    return nb


def _texts(nb: Notebook) -> list[str]:
    out = []
    for row in nb.rows():
        note = nb.read(row)
        out.append("\n".join([note.title, note.title, " ".join(note.tags), note.body]))
    return out


def test_the_generated_index_has_segments_and_deletions(generated: Notebook) -> None:
    with generated.ix.searcher() as s:
        assert not s.is_atomic() and len(s.leaf_searchers()) >= 2
        assert any(sub.reader().has_deletions() for sub, _ in s.leaf_searchers())


def test_key_terms_are_whooshs(generated: Notebook) -> None:
    from kb.search import _key_terms

    texts = _texts(generated)
    texts += ["", "zzz 없는말", "kubernetes " * 50 + "rbac", "단 하나의 희귀어 socket"]
    cfs: dict[str, int | None] = {}
    with generated.ix.searcher() as s:
        for text in texts:
            for number in (1, 5, 20):
                try:
                    expected = s.key_terms_from_text("body", text, numterms=number)
                except ZeroDivisionError:  # no term of the text in the index: Whoosh fails
                    expected = []
                assert _key_terms(s, "body", text, number, {}) == expected
                assert _key_terms(s, "body", text, number, cfs) == expected  # kept frequencies


def test_pruned_or_is_the_whole_or(generated: Notebook) -> None:
    from whoosh.query import Or, Term

    from kb.scoring import top_docs, top_terms
    from kb.search import _key_terms

    checked = ties = 0
    kept: dict = {}
    with generated.ix.searcher() as s:
        for text in _texts(generated):
            key = _key_terms(s, "body", text, 20, {})
            if not key:
                continue
            terms = [("body", t, w) for t, w in key] + [("title", t, w) for t, w in key]
            q = Or([Term(f, t, boost=w) for f, t, w in terms])
            for limit in (1, 3, 6, 11, 500):
                expected = [(r.score, r.docnum) for r in top_docs(s, q, limit)]
                assert top_terms(s, terms, limit) == expected
                assert top_terms(s, terms, limit, kept) == expected
                checked += 1
                scores = [sc for sc, _ in expected]
                ties += len(scores) - len(set(scores))
    assert checked > 300 and ties > 0


def _related_before(nb: Notebook, path: str, limit: int) -> list[tuple[str, float]]:
    """kb related as it was before the quick paths: Whoosh's key terms, the whole OR scored."""
    from whoosh.query import Or, Term

    from kb.notes import read_note
    from kb.search import RELATED_MIN_SHARE, Hit, _run

    note = read_note(nb.root, path)
    text = "\n".join([note.title, note.title, " ".join(note.tags), note.body])
    with nb.ix.searcher() as searcher:
        try:
            key_terms = searcher.key_terms_from_text("body", text, numterms=20)
        except ZeroDivisionError:
            return []
        if not key_terms:
            return []
        q = Or([Term("body", t, boost=w) for t, w in key_terms]
               + [Term("title", t, boost=w) for t, w in key_terms])
        results = _run(searcher, q, [], limit + 1)
        hits = [h for h in map(Hit.from_result, results or []) if h.path != path]
    best = hits[0].score if hits else 0.0
    return [(h.path, h.score) for h in hits if h.score >= RELATED_MIN_SHARE * best][:limit]


def test_related_is_what_it_was(generated: Notebook) -> None:
    rows = generated.rows()
    for limit in (1, 5, 10):
        for row in rows:
            got = [(h.path, h.score) for h in generated.related(row, limit=limit)]
            assert got == _related_before(generated, row.path, limit), row.path


def test_related_on_whooshs_collector(generated: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """``KB_WHOOSH_COLLECTOR=1`` (Whoosh's own matchers: sums in another order) finds the
    same scores to rounding."""
    rows = generated.rows()
    fast = {r.path: [(h.path, h.score) for h in generated.related(r, limit=7)] for r in rows}
    monkeypatch.setenv("KB_WHOOSH_COLLECTOR", "1")
    slow = {r.path: [(h.path, h.score) for h in generated.related(r, limit=7)] for r in rows}
    assert fast.keys() == slow.keys()
    for path, hits in fast.items():
        assert [s for _, s in hits] == pytest.approx([s for _, s in slow[path]], rel=1e-12)
    assert sum(len(v) for v in fast.values()) > len(rows)


def test_related_of_the_note_show_read_is_kb_relateds(generated: Notebook) -> None:
    """kb show hands related the note it read (not read again): the same notes, order and
    scores as kb related's; a note of another path is not taken for it."""
    rows = generated.rows()
    other = generated.read(rows[0])
    for row in rows:
        alone = [(h.path, h.score) for h in generated.related(row, limit=5)]
        assert [(h.path, h.score) for h in generated.related(row, limit=5, note=generated.read(row))] == alone
        assert [(h.path, h.score) for h in generated.related(row, limit=5, note=other)] == alone


def test_blocks_read_without_their_positions_give_whooshs_ids_and_weights(generated: Notebook) -> None:
    """scoring._ids_and_weights (related's blocks: the positions not decoded) gives the ids
    and weights Whoosh's own reading of every block gives, and leaves the positions out of
    the blocks of more than three postings (the ones that cost)."""
    import pickle
    import zlib

    from kb.scoring import _ids_and_weights

    checked = cut = 0
    with generated.ix.searcher() as s:
        for sub, _ in s.leaf_searchers():
            r = sub.reader()
            for field in ("body", "title", "tagtext"):
                for text in list(r.lexicon(field)):
                    m = r.postings(field, text)
                    while not hasattr(m, "_atend"):
                        m = m.child
                    while not m._atend:
                        raw = m._postfile.get(m._dataoffset, m._nextoffset - m._dataoffset)
                        whole = pickle.loads(zlib.decompress(raw) if m._compression else raw)
                        got = _ids_and_weights(m)
                        assert got[:2] == whole[:2] and type(got[1]) is type(whole[1]), (field, text)
                        if m._blocklength > 3:
                            assert got[2] == () and whole[2], (field, text)
                            cut += 1
                        checked += 1
                        m._next_block()
    assert checked > 150 and cut > 30, (checked, cut)


def test_a_phrase_after_related_is_what_it_is_alone(generated: Notebook, tmp_path: Path) -> None:
    """related reads its terms' blocks without positions and does not keep those blocks: a
    phrase search on the same open notebook afterwards (its kept scores) finds what a fresh
    one finds."""
    queries = ['"kubernetes pod"', '"파드 서비스"', '"retrieval vector" 검색', '"lock thread"']
    alone = Notebook.open(generated.root)
    expected = [[(h.path, h.score) for h in alone.search(q, limit=20).hits] for q in queries]
    after = Notebook.open(generated.root)
    for row in after.rows():
        after.related(row, limit=5)
    assert [[(h.path, h.score) for h in after.search(q, limit=20).hits] for q in queries] == expected
    assert any(expected)


def test_a_note_named_again_is_found_as_the_first_time(generated: Notebook) -> None:
    """Notebook.note looks a slug up in a table kept from the second note named on (a
    server's notebook): the same row, the same errors, for slugs, prefixes, titles; a
    note added or removed since is seen (the table is dropped with the index version)."""
    import time

    from kb.errors import NoteNotFound

    rows = generated.rows()
    refs = [r.slug for r in rows[:30]] + [r.title for r in rows[:8]]
    refs += ["n00", "n01", "copy0", "zzz-none", "N001", "n001.md", "/n002/", " n003 "]

    def one(nb: Notebook, ref: str) -> object:
        try:
            return nb.note(ref).path
        except NoteNotFound as exc:  # AmbiguousSlug too
            return (type(exc).__name__, str(exc))

    expected = [one(Notebook.open(generated.root), ref) for ref in refs]  # each asked first
    assert [one(generated, ref) for ref in refs] == expected
    assert generated._by_slug is not None  # the table was used
    assert [one(generated, ref) for ref in refs] == expected
    time.sleep(0.05)
    (generated.root / "n-added.md").write_text("# added\n\nnew note\n", encoding="utf-8")
    (generated.root / rows[0].path).unlink()
    generated.open_index()  # as kb.server does before each command
    assert one(generated, "n-added") == "n-added.md"
    assert isinstance(one(generated, rows[0].slug), tuple)  # gone: not found in an old table
