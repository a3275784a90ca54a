"""What ``kb lsp`` keeps between requests to answer quickly (issue 12's latency), and that
the answers stay those of ``kb search``: in-process, on a small notebook."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from indexed import without_kept_lines  # noqa: E402

NOTES = {
    "k8s.md": "---\ntitle: 쿠버네티스\ntags: [k8s]\n---\n# 쿠버네티스\n\n"
              "파드가 모여 클러스터를 이룬다.\n\n## 파드 생성\n\nkubectl run 으로 만든다.\n",
    "copy.md": "---\ntitle: 쿠버네티스\n---\n# 쿠버네티스\n\n"
               "파드가 모여 클러스터를 이룬다.\n\n## 파드 생성\n\nkubectl run 으로 만든다.\n",
    "git.md": "# Git\n\nrebase 와 merge 의 차이. 클러스터 아님.\n",
}


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    root = tmp_path / "speednb"
    root.mkdir()
    for rel, text in NOTES.items():
        (root / rel).write_text(text, encoding="utf-8")
    time.sleep(0.03)  # past kb's racy window
    return root


def test_a_notebook_keeps_one_searcher_until_the_index_changes(notebook: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a Whoosh searcher reads every segment's tables: one is kept for the searches
    (and related notes) of an index version, closed and opened anew when notes change."""
    from kb.core import Notebook

    nb = Notebook.open(notebook)
    opened: list[Any] = []
    real = type(nb.ix).searcher

    def counted(self: Any, **kwargs: Any) -> Any:
        opened.append(real(self, **kwargs))
        return opened[-1]

    monkeypatch.setattr(type(nb.ix), "searcher", counted)
    assert [h.slug for h in nb.search("rebase").hits] == ["git"]
    assert [h.slug for h in nb.search("클러스터").hits] != []
    nb.related(nb.note("k8s"))
    assert len(opened) == 1
    (notebook / "new.md").write_text("# 새 노트\n\nrebase 다시.\n", encoding="utf-8")
    time.sleep(0.03)
    assert nb.fresh()
    assert opened[0].is_closed
    assert sorted(h.slug for h in nb.search("rebase").hits) == ["git", "new"]
    assert len(opened) == 2
    nb.close()
    assert opened[1].is_closed


def test_the_synonyms_file_counts_at_once_though_the_alias_table_is_kept(notebook: Path) -> None:
    from kb.core import Notebook

    nb = Notebook.open(notebook)
    assert nb.search("깃리베이스").hits == []
    (notebook / ".kb").mkdir()
    (notebook / ".kb" / "synonyms.txt").write_text("깃리베이스, rebase\n", encoding="utf-8")
    assert [h.slug for h in nb.search("깃리베이스").hits] == ["git"]
    kept = nb._plans["#aliases"][1]
    nb.search("깃리베이스 merge")
    assert nb._plans["#aliases"][1] is kept  # not built again for the same groups


def test_first_match_is_the_snippets_first_match() -> None:
    """The symbol line comes from :func:`kb.snippets.first_match`, which must agree with the
    snippet ``kb search`` lays out (the line it prints)."""
    from kb.snippets import SNIPPET_CHARS, first_match, snippet_and_first

    text = ("서론 문장.\n" + "채움 " * 60 + "\n파드 가 여기.\n" + "채움 " * 80
            + "\n파드 와 클러스터 가 함께.\nkubectl 도.\n" + "끝 " * 40)
    for terms in ({"파드"}, {"파드", "클러스터"}, {"kubectl", "파드"}, {"없음"}, {"채움", "끝"}):
        assert first_match(text, terms) == snippet_and_first(text, terms, SNIPPET_CHARS)[2]
    assert first_match(text, {"파드", "클러스터"}) == text.index("파드 와 클러스터")


def test_symbol_lines_read_a_note_once_and_share_the_lines_of_the_same_text(
    notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note found again is not read again (its file signature is the same); two notes with
    the same text are made into plain lines once; a note changed on disk is read anew; the
    lines are those ``kb search`` prints."""
    from kb import notes as kbnotes
    from kb import search
    from kb.core import Notebook
    from kb.lsp import notebook as lspnb

    reads: list[str] = []
    made: list[str] = []
    real_read, real_lines = kbnotes.read_body_at, search.snippet_lines

    def read(root: Path, rel: str) -> Any:
        reads.append(rel)
        return real_read(root, rel)

    def lines(body: str, title: str) -> Any:
        made.append(title)
        return real_lines(body, title)

    monkeypatch.setattr(kbnotes, "read_body_at", read)
    monkeypatch.setattr(search, "snippet_lines", lines)
    session = without_kept_lines(lspnb.Session(lspnb.Notes(notebook)))  # (see the next test)
    first = {c.path: line for c, line in session.symbols("클러스터")}
    assert first == {"k8s.md": 7, "copy.md": 6, "git.md": 3}  # (copy.md: a line less of frontmatter)
    assert sorted(reads) == ["copy.md", "git.md", "k8s.md"] and made.count("쿠버네티스") == 1
    reads.clear()
    assert {c.path: line for c, line in session.symbols("kubectl")} == {"k8s.md": 11, "copy.md": 10}
    assert reads == []
    (notebook / "k8s.md").write_text(NOTES["k8s.md"].replace("kubectl", "앞줄\n\nkubectl"), encoding="utf-8")
    assert {c.path: line for c, line in session.symbols("kubectl run")}["k8s.md"] == 13
    assert reads == ["k8s.md"]
    monkeypatch.setattr(kbnotes, "read_body_at", real_read)
    monkeypatch.setattr(search, "snippet_lines", real_lines)
    nb = Notebook.open(notebook)
    for query in ("클러스터", "kubectl run", "파드 생성"):
        printed = {h.path: h.line for h in nb.search(query, limit=25).hits}
        assert {c.path: line for c, line in session.symbols(query)} == printed


def _graph_answers(graph: Any, targets: list[str], sources: list[str]) -> Any:
    graph._fill_maps()
    maps = [{k: sorted(v) for k, v in table.items() if v}
            for table in (graph._nocase, graph._titles, graph._suffixes)]
    resolved = [(t, s, graph.resolve(t, s)) for t in targets for s in sources]
    return list(graph.notes.items()), maps, resolved, [graph.suggest(t) for t in targets]


def test_the_graph_with_open_notes_is_the_graph_of_all_their_rows() -> None:
    """An open note's new title (or a new note) gives a graph made from the index's one
    (LinkGraph.with_rows: no pass over every note), which must resolve and suggest exactly
    as a graph built from all the rows; the index's graph stays as it was."""
    from kb.links import LinkGraph
    from kb.noterow import NoteRow

    rows = [NoteRow.of("k8s.md", title="쿠버네티스", tags=[], links=["pod"]),
            NoteRow.of("wiki/k8s/pod.md", title="Pod", tags=[], links=[]),
            NoteRow.of("notes/pod.md", title="파드", tags=[], links=["k8s"]),
            NoteRow.of("git/rebase.md", title="Rebase", tags=[], links=[]),
            NoteRow.of("old.md", title="Rebase", tags=[], links=[]),
            NoteRow.of("untitled.md", title="", tags=[], links=[])]
    changed = [NoteRow.of("old.md", title="옛 노트", tags=[], links=[]),  # no longer a second Rebase
               NoteRow.of("untitled.md", title="Pod", tags=[], links=[]),  # a second Pod
               NoteRow.of("k8s.md", title="쿠버네티스", tags=[], links=["git/rebase"]),  # same title
               NoteRow.of("drafts/pods.md", title="파드 모음", tags=[], links=[]),  # a new note
               NoteRow.of("drafts/new/pod.md", title="", tags=[], links=[])]  # a new pod: suffixes
    targets = ["pod", "Pod", "rebase", "Rebase", "옛 노트", "파드 모음", "pods", "new/pod", "k8s/pod",
               "POD", "untitled", "drafts/pods", "podz", "rebas", "파드"]
    sources = ["", "k8s", "drafts/x", "wiki/k8s/x"]
    base = LinkGraph(rows)
    base.suggest("podz")  # suggest()'s name tables built: with_rows carries them over
    before = _graph_answers(LinkGraph(rows), targets, sources)
    merged = {r.path: r for r in rows}
    merged.update((r.path, r) for r in changed)
    assert _graph_answers(base.with_rows(changed), targets, sources) == _graph_answers(
        LinkGraph(merged.values()), targets, sources)
    assert _graph_answers(base, targets, sources) == before
    fresh = LinkGraph(rows)  # maps not filled yet, no suggest tables
    assert _graph_answers(fresh.with_rows(changed), targets, sources) == _graph_answers(
        LinkGraph(merged.values()), targets, sources)


def test_typing_a_new_notes_title_does_not_rebuild_the_graph(notebook: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each keystroke in the title of a new note changes what ``[[Title]]`` names: the graph
    is made from the index's, never built from every row again, and resolves as one would."""
    from kb import links
    from kb.lsp import notebook as lspnb

    session = lspnb.Session(lspnb.Notes(notebook))
    session.graph()
    built: list[int] = []
    real = links.LinkGraph.__init__

    def counted(self: Any, notes: Any) -> None:
        notes = list(notes)
        built.append(len(notes))
        real(self, notes)

    monkeypatch.setattr(links.LinkGraph, "__init__", counted)
    for title in ("ㄱ", "기", "깃", "깃 메모"):
        session.change("drafts/memo.md", f"# {title}\n\n[[쿠버네티스]]\n", 1)
        graph = session.graph()
        assert graph.resolve(title).slug == "drafts/memo"
        assert graph.resolve("쿠버네티스").reason.startswith("ambiguous")
        assert graph.resolve("git").slug == "git"
    assert built and max(built) == 0  # only empty graphs, filled from the index's maps


class _Outdated(Exception):
    pass


def test_a_completion_is_abandoned_between_its_steps_and_nothing_half_made_is_kept(notebook: Path) -> None:
    """``stop`` is asked between a completion's steps and inside its search (before a word's
    plan); when it raises, the completion is abandoned, and the next one answers as a
    server that never saw it would."""
    from kb.lsp import notebook as lspnb

    session = lspnb.Session(lspnb.Notes(notebook))
    calls: list[int] = []

    def stop() -> None:
        calls.append(1)
        if len(calls) == 2:  # the first call is before the search: this one is in it
            raise _Outdated

    with pytest.raises(_Outdated):
        session.complete_notes("클러스", "new.md", stop=stop)
    assert not any(isinstance(k, tuple) and k[:1] == ("클러스",) for k in session.notes.nb._plans)
    again = session.complete_notes("클러스", "new.md", stop=stop)
    assert len(calls) > 2  # asked again through the whole search, never raising
    fresh = lspnb.Session(lspnb.Notes(notebook)).complete_notes("클러스", "new.md")
    assert again == fresh and {c.slug for c in fresh} == {"k8s", "copy", "git"}


def test_a_running_completion_stops_when_the_next_keystroke_is_read(notebook: Path) -> None:
    """The server's completion asks the messages read but not handled yet: a change of its
    document (or its cancel) behind it ends it with ContentModified; without one, it answers."""
    import asyncio

    from lsprotocol import types as lsp
    from pygls.exceptions import JsonRpcContentModified

    from kb.lsp import stdio
    from kb.lsp.notebook import Notes, Session
    from kb.lsp.server import make_server

    server = make_server(str(notebook))
    init = server.protocol.lsp_initialize(lsp.InitializeParams(lsp.ClientCapabilities(),
                                                               root_uri=notebook.as_uri()))
    for _ in init:  # (the workspace is made before the handler's turn)
        break
    server.session = Session(Notes(notebook))
    server.ready.set()
    loop = asyncio.new_event_loop()
    server.inbox = stdio.Inbox(loop, lambda batch: None)
    uri = (notebook / "new.md").as_uri()
    server.session.open("new.md", "# t\n\n[[클러스", 1)
    handler = server.protocol.fm.features[lsp.TEXT_DOCUMENT_COMPLETION]
    params = lsp.CompletionParams(lsp.TextDocumentIdentifier(uri), lsp.Position(2, 5))
    change = {"jsonrpc": "2.0", "method": "textDocument/didChange",
              "params": {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "x"}]}}
    other = {**change, "params": {**change["params"], "textDocument": {"uri": uri + "x.md", "version": 2}}}
    try:
        server.inbox.pending.append(change)
        with pytest.raises(JsonRpcContentModified):
            loop.run_until_complete(handler(params))
        assert server.inbox.outdated(uri, 3) and not server.inbox.outdated(uri + "x.md", 3)
        server.inbox.pending.clear()
        server.inbox.pending.append(other)  # another document's change: no matter
        server.inbox.pending.append({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 9}})
        assert server.inbox.outdated(uri, 9) and not server.inbox.outdated(uri, 8)
        result = loop.run_until_complete(handler(params))
        assert result is not None and {i.detail for i in result.items} == {"k8s", "copy", "git"}
    finally:
        loop.close()


def test_kept_postings_past_their_bound_drop_the_terms_used_least_lately(
    notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived notebook keeps each term's scores for the next searches; past the bound
    the terms used least lately go (not all of them at once), and the hits stay those of a
    notebook that keeps nothing."""
    from kb import scoring
    from kb.core import Notebook

    for i in range(12):
        (notebook / f"n{i}.md").write_text(f"# 노트 {i}\n\n클러스터 rebase 파드 {'kubectl ' * i}\n",
                                           encoding="utf-8")
    time.sleep(0.03)
    monkeypatch.setattr(scoring, "MAX_KEPT_POSTINGS", 40)
    nb, plain = Notebook.open(notebook), Notebook.open(notebook)
    queries = ["클러스터", "rebase", "kubectl", "클러스터", "파드 rebase", "노트", "kubectl 클러스터"]
    for query in queries:
        kept = [(h.slug, h.score) for h in nb.search(query, limit=25).hits]
        plain._plans = {}  # keeps nothing between searches
        assert kept == [(h.slug, h.score) for h in plain.search(query, limit=25).hits]
        stores = [v for v in nb._plans["#postings"].values()]
        for store in stores:
            assert store["count"][0] == sum(len(t) for t in store["terms"].values())
            assert set(store["blocks"]) <= set(store["terms"])
    assert any(store["terms"] for store in stores)  # not emptied: the latest terms stay
    assert all(store["count"][0] <= 40 + 25 for store in stores)


def test_first_match_stops_at_the_first_matched_word_yet_agrees_with_the_snippet() -> None:
    """:func:`kb.snippets.first_match` reads the window only up to its first matched word; on
    random text of every kind of word (Korean with particles and verb endings, identifiers
    and their parts, C#, .NET, C++) it is the snippet's first span."""
    import random

    from kb.analysis import iter_terms
    from kb.snippets import SNIPPET_CHARS, first_match, snippet_and_first

    words = ["파드가", "파드", "클러스터를", "늘리고", "늘려", "kubectl", "kubectl-run", "max_active_runs",
             "getUserName", "C#", "C#을", ".NET", "C++", "g++", "rebase", "Rebase의", "don't", "v1.2",
             "x", "-", "*", "(", "쿠버네티스", "user_name을", "API를", "Airflow의", "deploy한다", "\n"]
    rng = random.Random(7)
    for _ in range(400):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 120)))
        found = [t for t, _, _, _ in iter_terms(text)]
        for _ in range(3):
            terms = set(rng.sample(found, min(len(found), rng.randint(1, 3)))) if found else {"없음"}
            assert first_match(text, terms) == snippet_and_first(text, terms, SNIPPET_CHARS)[2], (text, terms)


def test_posting_ids_read_by_blocks_are_whooshs_all_ids(notebook: Path) -> None:
    """The co-occurrence checks of sound-alikes read a term's notes a block at a time: the
    same ids as Whoosh's ``all_ids()``, on an index of several segments with deleted
    documents (notes changed after the build) and terms in more notes than a block holds."""
    from kb.core import Notebook
    from kb.expand import posting_ids

    for i in range(300):
        (notebook / f"n{i}.md").write_text(f"# 노트 {i}\n\n공통 common 파드 word{i % 7}\n", encoding="utf-8")
    time.sleep(0.03)
    nb = Notebook.open(notebook)
    for i in range(0, 300, 7):  # changed: deleted from the first segment, added in another
        (notebook / f"n{i}.md").write_text(f"# 노트 {i}\n\n바뀐 common word{i % 5}\n", encoding="utf-8")
    time.sleep(0.03)
    assert nb.fresh()
    with nb.ix.searcher() as searcher:
        reader = searcher.reader()
        assert not reader.is_atomic() and any(r.has_deletions() for r, _ in reader.leaf_readers())
        terms = list(reader.lexicon("body"))
        assert len(terms) > 20
        for term in terms:
            want = list(reader.postings("body", term).all_ids())
            assert posting_ids(reader.postings("body", term)) == want, term
        from kb.expand import _leaves

        common = reader.postings("body", "common")
        assert _leaves(common, 0) is not None and len(_leaves(common, 0)) > 1  # not Whoosh's way
        assert max(len(list(reader.postings("body", t).all_ids())) for t in terms) > 200


def test_garbage_is_collected_when_the_server_is_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index's objects are frozen out of the collector's sight once it is open, the
    automatic collections wait for far more allocations, and the young objects are
    collected after a batch once nothing waits; everything only after a pause."""
    import asyncio
    import gc

    from kb.lsp import server as lspserver

    calls: list[Any] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: calls.append(("collect", generation)))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: calls.append(("threshold", t)))

    class Protocol:
        _request_futures: dict[int, Any] = {}

    class Server:
        inbox = None
        protocol = Protocol()

    ls: Any = Server()
    collector = lspserver._Collector(ls)
    collector.start()
    assert calls == [("collect", 2), "freeze", ("threshold", lspserver._Collector.THRESHOLDS)]
    assert lspserver._Collector.THRESHOLDS[0] >= 10_000
    calls.clear()

    async def batches() -> None:
        Protocol._request_futures = {7: None}  # a request still running: not now
        collector.batch()
        collector.batch()  # one collection for both
        await asyncio.sleep(collector.IDLE * 3)
        assert calls == []
        Protocol._request_futures = {}
        await asyncio.sleep(collector.IDLE * 3)
        assert calls == [("collect", 1)]

    asyncio.run(batches())
    calls.clear()
    collector.idle()  # a batch just now: no full collection yet
    assert calls == []
    collector.last_batch -= collector.FULL_IDLE
    collector.last_full -= collector.FULL_EVERY
    collector.idle()
    assert calls == ["unfreeze", ("collect", 2), "freeze"]
