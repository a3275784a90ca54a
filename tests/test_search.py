"""Search on the fixture notebook: Korean particles, syntax, fallback, snippets, limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.config import Notebook
from kb.core import resolve_note
from kb.index.sync import open_index
from kb.search import parse_query, search
from kb.snippets import make_snippet


def paths(nb: Notebook, q: str, **kw) -> list[str]:
    return [h.path for h in search(nb, q, **kw).hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("파드", {"airflow.md", "k8s/rbac.md", "k8s/serviceaccount.md"}),  # 파드를/파드가/파드에
        ("서비스어카운트", {"k8s/rbac.md", "k8s/serviceaccount.md"}),  # only 서비스어카운트를
        ("api", {"k8s/rbac.md"}),  # API를
        ("executor", {"airflow.md"}),  # CeleryExecutor, KubernetesExecutor
        ("reader", {"k8s/rbac.md"}),  # pod-reader, inside a code block
        ("runs", {"airflow.md"}),  # max_active_runs
        ("정족수", {"broken.md"}),  # a note whose frontmatter does not parse
        ("교착상태", {"euckr.md"}),  # CP949 file
        ("crlf", {"windows.md"}),
        ("워크플로", {"airflow.md"}),
    ],
)
def test_korean_and_identifier_queries_find_notes(nb: Notebook, query: str, expected: set[str]) -> None:
    assert set(paths(nb, query)) == expected


def test_hidden_folder_is_not_searched(nb: Notebook) -> None:
    assert paths(nb, "비밀단어") == []


def test_title_match_ranks_first(nb: Notebook) -> None:
    assert paths(nb, "rag")[0] == "rag.md"
    assert paths(nb, "rbac")[0] == "k8s/rbac.md"


def test_all_words_must_match_then_fallback(nb: Notebook) -> None:
    r = search(nb, "파드 토큰")
    assert {h.path for h in r.hits} == {"k8s/rbac.md", "k8s/serviceaccount.md"} and not r.notice
    r = search(nb, "celeryexecutor 서비스어카운트")
    assert r.notice.startswith("no note has every word")
    assert {h.path for h in r.hits} == {"airflow.md", "k8s/rbac.md", "k8s/serviceaccount.md"}


def test_phrase(nb: Notebook) -> None:
    assert paths(nb, '"kubectl create serviceaccount"') == ["k8s/serviceaccount.md"]
    assert paths(nb, '"serviceaccount create kubectl"') == []


def test_prefix_not_or(nb: Notebook) -> None:
    assert set(paths(nb, "retriev*")) == {"rag.md"}
    assert set(paths(nb, "파드 -토큰")) == {"airflow.md"}
    assert set(paths(nb, "파드 NOT 토큰")) == {"airflow.md"}
    assert set(paths(nb, "celeryexecutor OR 청크")) == {"airflow.md", "rag.md"}


def test_field_filters(nb: Notebook) -> None:
    assert set(paths(nb, "tag:rbac")) == {"k8s/rbac.md"}
    assert set(paths(nb, "파드", tags=["cka"])) == {"k8s/serviceaccount.md"}
    assert set(paths(nb, "title:rag")) == {"rag.md"}
    assert set(paths(nb, "tag:데이터엔지니어링")) == {"airflow.md"}  # an inline hashtag


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "(((",
        "AND",
        "-",
        "*",
        "tag:",
        "OR OR",
        "을",
        "a" * 10_000,
        "\x00\x07",
        "[a-z]+.*?",
        "🙂 🚀",
        "title:",
        "NOT",
        "--",
        '""',
        "-파드",
    ],
)
def test_odd_queries_never_raise(nb: Notebook, query: str) -> None:
    start = time.perf_counter()
    result = search(nb, query)
    assert time.perf_counter() - start < 5
    assert isinstance(result.hits, list)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_query_parser_is_total(text: str) -> None:
    parse_query(text)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('파드가 api"*-:()OR tag rbac\x00🙂')), max_size=30))
def test_search_is_total(nb_once: Notebook, text: str) -> None:
    search(nb_once, text)


@pytest.fixture(scope="module")
def nb_once(tmp_path_factory: pytest.TempPathFactory) -> Notebook:
    import shutil

    from conftest import FIXTURE

    root = tmp_path_factory.mktemp("nb") / "notebook"
    shutil.copytree(FIXTURE, root)
    time.sleep(0.025)  # settled (see conftest.settled): once for the module
    return Notebook(root, root.parent / "index", "test")


def test_limit_does_not_change_the_order(nb: Notebook) -> None:
    ix, _ = open_index(nb)
    for q in ["파드", "rag", "토큰 파드", "api", "executor"]:
        full = [h.path for h in search(nb, q, limit=100, ix=ix).hits]
        for n in (1, 2, 3):
            assert [h.path for h in search(nb, q, limit=n, ix=ix).hits] == full[:n], q


def test_snippet_highlights_surface_forms(nb: Notebook) -> None:
    hit = search(nb, "서비스어카운트").hits[0]
    marked = [hit.snippet[s:e] for s, e in hit.highlights]
    assert "서비스어카운트를" in marked  # the surface form, particle included
    # Everything marked is the word or its alias (ServiceAccount), nothing else.
    assert all(m.startswith("서비스어카운트") or m.lower() == "serviceaccount" for m in marked), marked


def test_make_snippet_window_and_spans() -> None:
    text = "앞부분 " * 100 + "여기서 파드가 뜨고 토큰을 받는다" + " 뒷부분" * 100
    snippet, spans = make_snippet(text, {"파드", "토큰"}, width=60)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert [snippet[s:e] for s, e in spans] == ["파드가", "토큰을"]


def test_resolve_note(nb: Notebook) -> None:
    from kb.errors import AmbiguousSlug, NoteNotFound
    from kb.index.sync import stored_notes

    ix, _ = open_index(nb)
    docs = stored_notes(ix)
    assert resolve_note(docs, "k8s/rbac").path == "k8s/rbac.md"
    assert resolve_note(docs, "k8s/rbac.md").path == "k8s/rbac.md"
    assert resolve_note(docs, "serviceacc").path == "k8s/serviceaccount.md"
    assert resolve_note(docs, "RAG 파이프라인").path == "rag.md"
    assert resolve_note(docs, "rbac").path == "k8s/rbac.md"
    with pytest.raises(AmbiguousSlug) as amb:
        resolve_note(docs, "k8s/")
    assert amb.value.candidates == ["k8s/rbac", "k8s/serviceaccount"]
    with pytest.raises(NoteNotFound) as nf:
        resolve_note(docs, "airflw")
    assert "airflow" in nf.value.candidates


def test_typos_are_searched_as_fixed_and_said_so(nb: Notebook) -> None:
    r = search(nb, "쿠버네티즈")  # typo in the last syllable: matches nothing as typed
    assert r.hits and "showing results for 쿠버네티스" in r.notice and r.suggestions == []
    r = search(nb, "워크플로 celeryexecuter")
    assert "showing results for 워크플로 celeryexecutor" in r.notice
    assert [h.path for h in r.hits] == ["airflow.md"]
    assert search(nb, "파드").suggestions == []  # found: nothing to suggest


def test_related_notes(nb: Notebook) -> None:
    from kb.search import related

    hits = related(nb, "k8s/serviceaccount.md")
    paths_ = [h.path for h in hits]
    assert "k8s/serviceaccount.md" not in paths_
    assert paths_[0] == "k8s/rbac.md"  # shares 서비스어카운트, 파드, 토큰, serviceaccount


def test_frontmatter_fields_are_searchable(nb: Notebook, notebook_dir: Path) -> None:
    (notebook_dir / "concept.md").write_text(
        "---\ntitle: 개념 노트\ncategory: 핵심 개념을\nstatus: draft\n"
        "level: 3\nauthors: [kim, lee]\n---\n본문\n"
    )
    assert paths(nb, "category:개념") == ["concept.md"]
    assert paths(nb, "category:핵심개념") == []  # the field holds 핵심 and 개념, not a compound
    assert paths(nb, "status:draft") == ["concept.md"]
    assert paths(nb, "level:3") == ["concept.md"]
    assert paths(nb, "authors:lee") == ["concept.md"]
    assert paths(nb, "status:done") == []
    assert "concept.md" not in paths(nb, "파드 OR 본문 -status:draft")
    # A key no note has is not a field: the text is searched as words (both must match).
    assert paths(nb, "nosuchkey:파드") == []
    assert set(paths(nb, "airflow:파드")) == {"airflow.md"}


def test_snippet_text_reads_like_prose() -> None:
    from kb.snippets import snippet_text

    body = "# RAG 정리\n\nRAG는 **검색**을 쓴다. [[vector-database|벡터 DB]]와 [[rag]] 참고.\n## 평가\n지표"
    assert snippet_text(body, "RAG 정리") == "RAG는 검색을 쓴다. 벡터 DB와 rag 참고.\n평가:\n지표"
    assert snippet_text("# 다른 제목\n본문", "RAG 정리") == "다른 제목:\n본문"


def _answer(result):
    return (result.total, result.notice, sorted(result.terms), result.suggestions,
            [(h.slug, h.score, h.snippet, h.highlights, h.line) for h in result.hits])


def test_kept_tables_answer_as_one_search_and_follow_the_index(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A long-lived caller (kb find, kb lsp, the server: core.Notebook.search) keeps the
    words' plans, note counts, prefix expansions, each term's scores and postings blocks and
    the notes' snippet text across searches: every answer is the one a single search gives,
    and after a note changes the kept tables follow the new index."""
    import shutil

    from test_quality import ALL_QUERIES, NOTES

    from kb.core import Notebook as Core

    root = tmp_path / "eval"
    shutil.copytree(NOTES, root)
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "eval-index"))
    core = Core.open(root)
    texts = [q.text for q in ALL_QUERIES] + ['"교착 상태"', "교착 상태 정렬 알고리즘", "정렬 -퀵정렬"]
    once = [_answer(search(core.place, t, ix=core.ix)) for t in texts]
    for _ in range(2):  # the second round answers from what the first one kept
        assert [_answer(core.search(t)) for t in texts] == once
    assert "#postings" in core._plans and "#lines" in core._plans  # kept, not read again

    before = {h.path for h in core.search("정렬", limit=100).hits}
    note = next(p for p in sorted(root.rglob("*.md")) if p.relative_to(root).as_posix() not in before)
    note.write_text(note.read_text(encoding="utf-8") + "\n정렬 정렬 정렬 정렬\n", encoding="utf-8")
    time.sleep(0.01)
    assert core.fresh() is True
    after = core.search("정렬", limit=100)
    assert note.relative_to(root).as_posix() in {h.path for h in after.hits}
    assert _answer(after) == _answer(search(core.place, "정렬", limit=100, ix=core.ix))


def test_two_words_few_full_matches_then_the_rarer_word(tmp_path: Path) -> None:
    """A two-word query that fewer notes than a page match in full lists those first, then
    the notes holding the rarer word (a typo'd or half-remembered second word costs the
    note only its place, not its presence); notes with only the common word stay out."""
    from indexed import indexed

    notes = {"both.md": "# Both\n\nzeta and common together.\n",
             "rare.md": "# Zeta guide\n\nzeta explained at length.\n"}
    notes |= {f"c{i}.md": f"# Note {i}\n\ncommon words only.\n" for i in range(6)}
    nb, _ = indexed(tmp_path, notes)
    r = search(nb, "zeta common")
    assert [h.path for h in r.hits] == ["both.md", "rare.md"]
    assert "both words" in r.notice
    r = search(nb, "zeta common", limit=1)  # a full page of full matches: nothing added
    assert [h.path for h in r.hits] == ["both.md"] and "both words" not in r.notice
