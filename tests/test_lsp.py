"""``kb lsp``: a real ``kb lsp`` process driven over stdio by a plain JSON-RPC client
(tests/lspclient.py), positions in UTF-16 unless a test negotiates otherwise; and the
pure pieces (positions, links under the cursor, completion context, headings)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kb.lsp.text import UTF8, UTF16, UTF32, Lines, completing, headings, link_at, links_in

sys.path.insert(0, str(Path(__file__).parent))
from indexed import without_kept_lines  # noqa: E402
from lspclient import LspClient, uri  # noqa: E402

KB = [sys.executable, "-m", "kb"]

NOTES = {
    "k8s.md": "---\ntitle: 쿠버네티스\ntags: [k8s, 컨테이너]\n---\n# 쿠버네티스\n\n"
              "파드가 모여 클러스터를 이룬다.\n\n## 파드 생성\n\nkubectl run 으로 만든다.\n",
    "daily.md": "# 오늘\n\n오늘 😀 [[k8s]] 공부. [[없는노트]]\n",
    "pods.md": "---\ntitle: Pod 정리\ntags:\n  - k8s\n---\n"
               "[쿠버](k8s.md#파드-생성) 참고. 또 [[k8s|쿠버네티스]]\n",
    "bad.md": "---\ntitle: [broken\n---\n본문\n",
    "one/x.md": "# X one\n",
    "two/x.md": "# X two\n",
    "amb.md": "# 모호\n\n[[x]]\n",
}


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    root = tmp_path / "lspnb"
    for rel, text in NOTES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    time.sleep(0.03)  # past kb's racy window
    return root


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KB_DIR", None)  # the workspace root is the notebook
    env.update(KB_INDEX_DIR=str(tmp_path / "lsp-index"), KB_WATCH="0", PYTHONWARNINGS="ignore")
    return env


@pytest.fixture
def client(notebook: Path, tmp_path: Path) -> Any:
    c = LspClient([*KB, "lsp"], cwd=tmp_path, env=_env(tmp_path))
    yield c
    c.close()


def _pos(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


def _at(doc: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": doc}, "position": _pos(line, character)}


def _change(c: LspClient, doc: str, text: str, version: int) -> None:
    c.notify("textDocument/didChange", {"textDocument": {"uri": doc, "version": version},
                                        "contentChanges": [{"text": text}]})


def _diagnostics(
    c: LspClient, doc: str, version: int | None = None, after: int = 0, timeout: float = 30.0
) -> list[dict[str, Any]]:
    params = c.wait_for("textDocument/publishDiagnostics",
                        lambda p: p["uri"] == doc and (version is None or p.get("version") == version),
                        after=after, timeout=timeout)
    return params["diagnostics"]


# --------------------------------------------------------------------------- Done when


def test_done_when_a_plain_client_gets_every_feature(client: LspClient, notebook: Path) -> None:
    """The issue's "Done when", literally, with default (UTF-16) positions."""
    caps = client.initialize(notebook)["capabilities"]
    assert caps["positionEncoding"] == "utf-16"
    for name in ("completionProvider", "definitionProvider", "hoverProvider", "referencesProvider",
                 "workspaceSymbolProvider"):
        assert caps.get(name), name

    daily = client.open(notebook / "daily.md")
    # a diagnostic names [[없는노트]]
    diags = _diagnostics(client, daily)
    assert [d["message"] for d in diags] == ["broken link [[없는노트]]: no such note"]
    line = "오늘 😀 [[k8s]] 공부. [[없는노트]]"
    start = len(line[: line.index("[[없")].encode("utf-16-le")) // 2
    assert diags[0]["range"] == {"start": _pos(2, start), "end": _pos(2, start + 8)}

    # definition and hover on [[k8s]] after an emoji on the same line (UTF-16: 😀 is 2 units)
    k = len(line[: line.index("k8s")].encode("utf-16-le")) // 2
    assert k == 8  # 오 늘 ␠ 😀(2) ␠ [ [
    found = client.request("textDocument/definition", _at(daily, 2, k))
    assert found["uri"] == uri(notebook / "k8s.md")
    hover = client.request("textDocument/hover", _at(daily, 2, k + 1))
    assert "쿠버네티스" in hover["contents"]["value"]
    assert hover["range"] == {"start": _pos(2, 6), "end": _pos(2, 13)}
    # one unit before the link (the blank after the emoji): no link there
    assert client.request("textDocument/definition", _at(daily, 2, 5)) is None

    # references of k8s.md include the note linking to it, at the link
    k8s = uri(notebook / "k8s.md")
    refs = client.request("textDocument/references",
                          {**_at(k8s, 0, 0), "context": {"includeDeclaration": False}})
    assert {"uri": daily, "range": {"start": _pos(2, 6), "end": _pos(2, 13)}} in refs
    assert {r["uri"] for r in refs} == {daily, uri(notebook / "pods.md")}

    # workspace symbol 파드 finds the note that says 파드가
    symbols = client.request("workspace/symbol", {"query": "파드"})
    found = [{"name": s["name"], "uri": s["location"]["uri"]} for s in symbols]
    assert {"name": "쿠버네티스", "uri": k8s} in found

    # [[쿠버 completes to k8s, titled 쿠버네티스
    _change(client, daily, "# 오늘\n\n😀 [[쿠버", 2)
    items = client.request("textDocument/completion", _at(daily, 2, 7))["items"]
    assert items[0]["label"] == "쿠버네티스"
    assert items[0]["textEdit"] == {"range": {"start": _pos(2, 5), "end": _pos(2, 7)}, "newText": "k8s]]"}

    # a note saved during the session is found at once
    new = notebook / "etcd.md"
    new.write_text("# 이트시디\n\n클러스터 상태를 저장하는 etcd 저장소.\n", encoding="utf-8")
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri(new)}})
    symbols = client.request("workspace/symbol", {"query": "저장소"})
    assert [s["location"]["uri"] for s in symbols] == [uri(new)]

    # a client that did not say it shows progress is sent none
    progress = ("window/workDoneProgress/create", "$/progress")
    assert not [m for m in client.received if m.get("method") in progress]

    # shutdown then exit: code 0, nothing on stderr
    assert client.stop() == 0
    assert "Traceback" not in client.stderr
    assert client.stderr == ""


# --------------------------------------------------------------------------- features


def test_the_first_build_reports_progress_and_does_not_hold_up_the_handshake(
    notebook: Path, tmp_path: Path
) -> None:
    """initialize is answered before the index is built (the build starts after it, in a
    thread); a client that shows work-done progress gets it, on a token the server created;
    a request sent meanwhile waits for the index and gets the right answer. Over 500 notes
    Whoosh forks sub-writers (multiprocessing), which once hung on the editor's stdin."""
    for i in range(520):
        (notebook / "many" / f"n{i:03}.md").parent.mkdir(exist_ok=True)
        (notebook / "many" / f"n{i:03}.md").write_text(f"# 노트 {i}\n\n본문 {i} 이다.\n", encoding="utf-8")
    index = tmp_path / "lsp-index"
    c = LspClient([*KB, "lsp"], cwd=tmp_path, env=_env(tmp_path))
    try:
        c.request("initialize", {"processId": None, "rootUri": uri(notebook),
                                 "capabilities": {"window": {"workDoneProgress": True}}})
        assert not index.exists() or not any(index.iterdir())  # answered before any building
        c.notify("initialized", {})
        symbols = c.request("workspace/symbol", {"query": "kubectl"})  # sent at once: waits, then answers
        assert [s["location"]["uri"] for s in symbols] == [uri(notebook / "k8s.md")]
        end = c.wait_for("$/progress", lambda p: p["value"]["kind"] == "end")
        assert end == {"token": "kb-index", "value": {"kind": "end", "message": "527 notes"}}
        kinds = [(m.get("method"), m.get("params", {}).get("value", {}).get("kind")) for m in c.received
                 if m.get("method") in ("window/workDoneProgress/create", "$/progress")]
        assert kinds[0] == ("window/workDoneProgress/create", None)
        assert kinds[1] == ("$/progress", "begin") and kinds[-1] == ("$/progress", "end")
        assert set(kinds[2:-1]) == {("$/progress", "report")}
        (create,) = [m for m in c.server_requests if m["method"] == "window/workDoneProgress/create"]
        assert create["params"] == {"token": "kb-index"}
        progress = [m["params"] for m in c.received if m.get("method") == "$/progress"]
        assert progress[0]["value"]["title"] == "kb: building the index (first run)"
        assert progress[0]["value"]["message"] == "527 notes"
        assert any(p["value"].get("percentage") == 100 for p in progress)
        # the answer to the symbol request came after the index was open (the end of the progress)
        answered = next(i for i, m in enumerate(c.received) if isinstance(m.get("result"), list))
        ended = next(i for i, m in enumerate(c.received)
                     if m.get("method") == "$/progress" and m["params"]["value"]["kind"] == "end")
        assert answered > ended
        assert c.stop() == 0
        assert c.stderr == ""
    finally:
        c.close()


def test_broken_link_diagnostic_is_cleared_when_fixed(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    daily = client.open(notebook / "daily.md")
    assert len(_diagnostics(client, daily, 1)) == 1
    _change(client, daily, "# 오늘\n\n오늘 😀 [[k8s]] 공부. [[쿠버네티스]]\n", 2)  # by title now
    assert _diagnostics(client, daily, 2) == []
    _change(client, daily, "# 오늘\n\n[[k8x]]\n", 3)
    diags = _diagnostics(client, daily, 3)
    assert diags[0]["message"] == "broken link [[k8x]]: no such note; did you mean k8s?"
    # the note it names appears on disk (created outside the editor): fixed at the next check
    n = len(client.notifications)
    (notebook / "k8x.md").write_text("# k8x\n", encoding="utf-8")
    client.notify("workspace/didChangeWatchedFiles",
                  {"changes": [{"uri": uri(notebook / "k8x.md"), "type": 1}]})
    assert _diagnostics(client, daily, after=n) == []
    assert client.stop() == 0


def test_diagnostics_wait_for_the_typing_to_pause(client: LspClient, notebook: Path) -> None:
    """A keystroke costs storing the text: the diagnostics of a note being typed in are sent
    once it stops changing for a moment, for its last version, not once a keystroke."""
    client.initialize(notebook)
    daily = client.open(notebook / "daily.md")
    assert len(_diagnostics(client, daily, 1)) == 1
    n = len(client.notifications)
    text = "# 오늘\n\n"
    for i, ch in enumerate("[[없는노트]] [[k8s]]", start=2):
        text += ch
        _change(client, daily, text, i)
    last = i
    diags = _diagnostics(client, daily, last, after=n)
    assert [d["message"] for d in diags] == ["broken link [[없는노트]]: no such note"]
    sent = [p for p in client.notifications[n:] if p["method"] == "textDocument/publishDiagnostics"]
    assert 1 <= len(sent) < last - 1  # not one for each of the changes
    assert client.stop() == 0


def test_ambiguous_link_and_unreadable_frontmatter(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    amb = client.open(notebook / "amb.md")
    (diag,) = _diagnostics(client, amb)
    assert diag["message"] == "ambiguous link [[x]]: it could name one/x, two/x"
    assert diag["severity"] == 2
    bad = client.open(notebook / "bad.md")
    (diag,) = _diagnostics(client, bad)
    assert diag["message"].startswith("kb: frontmatter is not valid YAML")
    _change(client, bad, "---\ntitle: fixed\n---\n본문\n", 2)
    assert _diagnostics(client, bad, 2) == []
    assert client.stop() == 0


def test_unsaved_buffer_counts(client: LspClient, notebook: Path) -> None:
    """What is typed counts before it is saved: its links for definition, its title for
    what [[Title]] names in other notes."""
    client.initialize(notebook)
    daily = client.open(notebook / "daily.md")
    _change(client, daily, "새 줄\n[[pods]] 와 [[Pod 정리]]\n", 2)
    assert client.request("textDocument/definition", _at(daily, 1, 3))["uri"] == uri(notebook / "pods.md")
    assert client.request("textDocument/definition", _at(daily, 1, 15))["uri"] == uri(notebook / "pods.md")
    # pods.md's title changed in the editor, not saved: [[Pod 정리]] no longer names it
    pods = client.open(notebook / "pods.md")
    _change(client, pods, "---\ntitle: 파드 노트\n---\n본문\n", 2)
    _change(client, daily, "[[Pod 정리]] [[파드 노트]]\n", 3)
    diags = _diagnostics(client, daily, 3)
    assert [d["message"].split(":")[0] for d in diags] == ["broken link [[Pod 정리]]"]
    assert client.stop() == 0


def test_note_created_outside_is_seen_without_any_notification(
    client: LspClient, notebook: Path
) -> None:
    """No didSave, no watched-file event: the server checks the files every second or so,
    and the open notes' diagnostics follow."""
    client.initialize(notebook)
    daily = client.open(notebook / "daily.md")
    assert len(_diagnostics(client, daily)) == 1
    n = len(client.notifications)
    (notebook / "redis.md").write_text("# 레디스\n\n캐시 서버 레디스를 쓴다.\n", encoding="utf-8")
    (notebook / "없는노트.md").write_text("# 이제 있다\n", encoding="utf-8")
    assert _diagnostics(client, daily, after=n, timeout=10) == []
    symbols = client.request("workspace/symbol", {"query": "레디스"})
    assert [s["location"]["uri"] for s in symbols] == [uri(notebook / "redis.md")]
    assert client.stop() == 0


def test_completion_inserts_the_shortest_link_that_names_the_note(client: LspClient, notebook: Path) -> None:
    (notebook / "deep" / "er").mkdir(parents=True)
    (notebook / "deep" / "er" / "etcd-backup.md").write_text("# etcd 백업\n", encoding="utf-8")
    client.initialize(notebook)
    doc = client.open(notebook / "daily.md", "[[etcd")
    items = client.request("textDocument/completion", _at(doc, 0, 6))["items"]
    assert items[0]["detail"] == "deep/er/etcd-backup"
    assert items[0]["textEdit"]["newText"] == "etcd-backup]]"
    client.notify("textDocument/didChange", {"textDocument": {"uri": doc, "version": 2},
                                              "contentChanges": [{"text": "[[X"}]})
    items = client.request("textDocument/completion", _at(doc, 0, 3))["items"]
    inserted = {i["detail"]: i["textEdit"]["newText"] for i in items}
    assert inserted["one/x"] == "one/x]]" and inserted["two/x"] == "two/x]]"  # [[x]] is ambiguous
    assert client.stop() == 0


def test_completion_of_a_heading_after_the_note(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    doc = client.open(notebook / "daily.md", "[[쿠버네티스#파")
    items = client.request("textDocument/completion", _at(doc, 0, 9))["items"]
    assert [(i["label"], i["textEdit"]["newText"]) for i in items] == [("파드 생성", "파드 생성]]")]
    assert items[0]["textEdit"]["range"] == {"start": _pos(0, 8), "end": _pos(0, 9)}
    # and the link it makes goes to that heading
    client.notify("textDocument/didChange", {"textDocument": {"uri": doc, "version": 2},
                                              "contentChanges": [{"text": "[[쿠버네티스#파드 생성]]"}]})
    found = client.request("textDocument/definition", _at(doc, 0, 3))
    assert found["uri"] == uri(notebook / "k8s.md") and found["range"]["start"] == _pos(8, 0)
    assert client.stop() == 0


def test_completion_of_markdown_links_and_tags(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    doc = client.open(notebook / "one" / "x.md")
    _change(client, doc, "# X one\n\n[쿠버](쿠버", 2)
    items = client.request("textDocument/completion", _at(doc, 2, 8))["items"]
    assert items[0]["textEdit"]["newText"] == "../k8s.md)"  # relative to one/
    _change(client, doc, "# X one\n\n본문 #k", 3)
    items = client.request("textDocument/completion", _at(doc, 2, 5))["items"]
    assert items[0]["label"] == "k8s"
    assert items[0]["detail"] == "2 notes"
    _change(client, doc, "---\ntags: [컨, x]\n---\n", 4)
    items = client.request("textDocument/completion", _at(doc, 1, 8))["items"]
    assert [i["label"] for i in items] == ["컨테이너"]
    _change(client, doc, "`#k` and\n```\n#k\n```\n", 5)
    assert client.request("textDocument/completion", _at(doc, 0, 3)) is None
    assert client.request("textDocument/completion", _at(doc, 2, 2)) is None
    assert client.stop() == 0


def test_definition_of_a_markdown_link_lands_on_its_heading(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    pods = client.open(notebook / "pods.md")
    found = client.request("textDocument/definition", _at(pods, 5, 6))
    assert found["uri"] == uri(notebook / "k8s.md")
    assert found["range"]["start"] == _pos(8, 0)  # "## 파드 생성"
    hover = client.request("textDocument/hover", _at(pods, 5, 30))  # [[k8s|쿠버네티스]]
    assert hover["contents"]["value"].startswith("**쿠버네티스**")
    assert client.stop() == 0


def test_document_symbols_are_the_headings(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    k8s = client.open(notebook / "k8s.md")
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": k8s}})
    assert [s["name"] for s in symbols] == ["쿠버네티스"]
    assert [c["name"] for c in symbols[0]["children"]] == ["파드 생성"]
    assert symbols[0]["selectionRange"]["start"] == _pos(4, 0)
    assert client.stop() == 0


def test_workspace_symbols_point_at_the_line_of_the_first_match(client: LspClient, notebook: Path) -> None:
    """As ``kb find`` opens the editor: at the line of the note's first match, not line 1."""
    client.initialize(notebook)
    symbols = client.request("workspace/symbol", {"query": "kubectl"})
    (k8s,) = [s for s in symbols if s["location"]["uri"] == uri(notebook / "k8s.md")]
    assert k8s["location"]["range"]["start"] == _pos(10, 0)  # "kubectl run 으로 만든다."
    symbols = client.request("workspace/symbol", {"query": "클러스터"})
    (k8s,) = [s for s in symbols if s["location"]["uri"] == uri(notebook / "k8s.md")]
    assert k8s["location"]["range"]["start"] == _pos(6, 0)  # "파드가 모여 클러스터를 이룬다."
    assert client.stop() == 0


def test_workspace_symbols_resolve_their_line_when_the_client_can(client: LspClient, notebook: Path) -> None:
    """A client that resolves a symbol's range later (LSP 3.17, as VS Code) gets the search's
    notes at once and the line of the first match of the one it resolves."""
    caps = {"workspace": {"symbol": {"resolveSupport": {"properties": ["location.range"]}}}}
    init = client.initialize(notebook, caps)
    assert init["capabilities"]["workspaceSymbolProvider"]["resolveProvider"] is True
    symbols = client.request("workspace/symbol", {"query": "kubectl"})
    (k8s,) = [s for s in symbols if s["location"]["uri"] == uri(notebook / "k8s.md")]
    assert "range" not in k8s["location"]
    assert k8s["name"] == "쿠버네티스" and k8s["containerName"] == "k8s"
    resolved = client.request("workspaceSymbol/resolve", k8s)
    assert resolved["location"] == {"uri": uri(notebook / "k8s.md"),
                                    "range": {"start": _pos(10, 0), "end": _pos(10, 0)}}
    assert resolved["name"] == "쿠버네티스"
    assert client.stop() == 0


def test_a_completion_made_stale_by_the_next_keystroke_is_not_worked_on(
    client: LspClient, notebook: Path
) -> None:
    """Keystrokes quicker than the answers: a completion with a change of its document
    behind it is answered ContentModified at once (editors drop it and ask again); the
    last one gets the notes."""
    client.initialize(notebook)
    doc = client.open(notebook / "new.md", "# t\n\n[[쿠")
    assert client.request("textDocument/completion", _at(doc, 2, 3))  # the index is open
    change = {"textDocument": {"uri": doc, "version": 2}, "contentChanges": [{"text": "# t\n\n[[쿠버"}]}
    first, last = client.together([
        ("textDocument/completion", _at(doc, 2, 3), True),
        ("textDocument/didChange", change, False),
        ("textDocument/completion", _at(doc, 2, 4), True),
    ])
    assert client.response(first)["error"]["code"] == -32801  # ContentModified
    items = client.response(last)["result"]["items"]
    assert items[0]["detail"] == "k8s"
    assert items[0]["textEdit"]["range"] == {"start": _pos(2, 2), "end": _pos(2, 4)}
    assert client.stop() == 0


def test_a_request_cancelled_before_it_runs_is_not_worked_on(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    assert client.request("workspace/symbol", {"query": "파드"})  # the index is open
    asked = client.next_id
    ids = client.together([
        ("workspace/symbol", {"query": "클러스터"}, True),
        ("$/cancelRequest", {"id": asked}, False),
        ("workspace/symbol", {"query": "kubectl"}, True),
    ])
    assert ids[0] == asked
    assert client.response(asked)["error"]["code"] == -32800  # RequestCancelled
    assert client.response(ids[1])["result"]
    assert client.stop() == 0
    assert client.stderr == ""


def test_utf8_and_utf32_positions_when_negotiated(notebook: Path, tmp_path: Path) -> None:
    line = "오늘 😀 [[k8s]] 공부. [[없는노트]]"
    for encoding in ("utf-8", "utf-32"):
        c = LspClient([*KB, "lsp"], cwd=tmp_path, env=_env(tmp_path))
        try:
            caps = c.initialize(notebook, {"general": {"positionEncodings": [encoding, "utf-16"]}})
            assert caps["capabilities"]["positionEncoding"] == encoding
            daily = c.open(notebook / "daily.md")
            prefix = line[: line.index("[[k8s")]
            col = len(prefix.encode("utf-8")) if encoding == "utf-8" else len(prefix)
            assert col == (12 if encoding == "utf-8" else 5)
            found = c.request("textDocument/definition", _at(daily, 2, col + 3))
            assert found["uri"] == uri(notebook / "k8s.md")
            (diag,) = _diagnostics(c, daily)
            broken = line[: line.index("[[없")]
            start = len(broken.encode("utf-8")) if encoding == "utf-8" else len(broken)
            assert diag["range"]["start"] == _pos(2, start)
            assert c.stop() == 0
        finally:
            c.close()


def test_code_action_creates_the_missing_note_once(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook, {"window": {"showDocument": {"support": True}}})
    daily = client.open(notebook / "daily.md")
    (diag,) = _diagnostics(client, daily, 1)
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": daily}, "range": diag["range"], "context": {"diagnostics": [diag]}})
    assert [a["title"] for a in actions] == ["Create note '없는노트'"]
    command = actions[0]["command"]
    n = len(client.notifications)
    created = client.request("workspace/executeCommand",
                             {"command": command["command"], "arguments": command["arguments"]})
    assert created == uri(notebook / "없는노트.md")
    text = (notebook / "없는노트.md").read_text(encoding="utf-8")
    assert "title: 없는노트" in text
    assert _diagnostics(client, daily, after=n) == []  # the link works now
    assert [r["method"] for r in client.server_requests][-1] == "window/showDocument"
    # a second time: never overwrites
    (notebook / "없는노트.md").write_text("내 글\n", encoding="utf-8")
    assert client.request("workspace/executeCommand",
                          {"command": command["command"], "arguments": command["arguments"]}) is None
    assert (notebook / "없는노트.md").read_text(encoding="utf-8") == "내 글\n"
    message = client.wait_for("window/showMessage")
    assert "already exists" in message["message"]
    assert client.stop() == 0


# --------------------------------------------------------------------------- rename


def _apply(root: Path, edit: dict[str, Any]) -> None:
    """Apply a WorkspaceEdit to the files as an editor would (UTF-16 positions)."""
    for change in edit["documentChanges"]:
        if change.get("kind") == "rename":
            old = Path(change["oldUri"][len("file://"):])
            new = Path(change["newUri"][len("file://"):])
            assert not new.exists()
            new.parent.mkdir(parents=True, exist_ok=True)
            old.rename(new)
            continue
        path = Path(change["textDocument"]["uri"][len("file://"):])
        text = path.read_bytes().decode("utf-8")
        lines = Lines(text, UTF16)
        spans = [(lines.offset(**e["range"]["start"]), lines.offset(**e["range"]["end"]), e["newText"])
                 for e in change["edits"]]
        for start, end, new_text in sorted(spans, reverse=True):
            text = text[:start] + new_text + text[end:]
        path.write_bytes(text.encode("utf-8"))


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.md"))}


def test_rename_on_a_link_gives_what_kb_rename_writes(
    client: LspClient, notebook: Path, tmp_path: Path
) -> None:
    """An editor that can move files gets one edit: the link rewrites and the move."""
    expected = _kb_renamed(notebook, tmp_path, "k8s", "infra/kubernetes")
    client.initialize(notebook, MOVES_FILES)
    daily = client.open(notebook / "daily.md")
    prep = client.request("textDocument/prepareRename", _at(daily, 2, 9))
    assert prep == {"range": {"start": _pos(2, 8), "end": _pos(2, 11)}, "placeholder": "k8s"}
    edit = client.request("textDocument/rename", {**_at(daily, 2, 9), "newName": "infra/kubernetes"})
    _apply(notebook, edit)
    assert _files(notebook) == expected
    assert "[[kubernetes]]" in (notebook / "daily.md").read_text(encoding="utf-8")
    assert client.stop() == 0


def test_rename_without_file_moves_in_the_client_is_kb_rename_on_disk(
    client: LspClient, notebook: Path, tmp_path: Path
) -> None:
    """An editor that cannot move files (no ``resourceOperations: [rename]``): the server
    renames on disk, as ``kb rename`` does, and says so."""
    expected = _kb_renamed(notebook, tmp_path, "k8s", "kube")
    client.initialize(notebook)
    pods = client.open(notebook / "pods.md")
    edit = client.request("textDocument/rename", {**_at(pods, 5, 28), "newName": "kube"})
    assert edit == {"changes": {}}
    assert _files(notebook) == expected
    message = client.wait_for("window/showMessage")["message"]
    assert message.startswith("kb: renamed k8s -> kube on disk, 3 link(s) rewritten in 2 other note(s)")
    found = client.request("workspace/symbol", {"query": "클러스터"})
    assert uri(notebook / "kube.md") in [s["location"]["uri"] for s in found]
    assert client.stop() == 0


MOVES_FILES = {"workspace": {"workspaceEdit": {"documentChanges": True, "resourceOperations": ["rename"]}}}


def _kb_renamed(notebook: Path, tmp_path: Path, old: str, new: str) -> dict[str, bytes]:
    """The files after ``kb rename OLD NEW`` on a copy of the notebook."""
    twin = tmp_path / f"twin-{new.replace('/', '-')}"
    shutil.copytree(notebook, twin)
    env = {**os.environ, "KB_INDEX_DIR": str(tmp_path / f"{twin.name}-index"), "KB_WATCH": "0"}
    done = subprocess.run([*KB, "--dir", str(twin), "rename", old, new],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return _files(twin)


def test_rename_refuses_an_existing_name_and_unsaved_linking_notes(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook, MOVES_FILES)
    daily = client.open(notebook / "daily.md")
    assert client.request("textDocument/rename", {**_at(daily, 2, 9), "newName": "pods"}) is None
    assert "pods already exists" in client.wait_for("window/showMessage")["message"]
    _change(client, daily, "바뀐 줄\n오늘 😀 [[k8s]] 공부.\n", 2)
    n = len(client.notifications)
    assert client.request("textDocument/rename", {**_at(daily, 1, 9), "newName": "kube"}) is None
    message = client.wait_for("window/showMessage", after=n)["message"]
    assert "daily.md has unsaved changes" in message
    assert not (notebook / "kube.md").exists()
    assert client.stop() == 0


def test_will_rename_files_rewrites_the_links(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    edit = client.request("workspace/willRenameFiles", {"files": [
        {"oldUri": uri(notebook / "k8s.md"), "newUri": uri(notebook / "kube.md")}]})
    edited = {c["textDocument"]["uri"]: [e["newText"] for e in c["edits"]] for c in edit["documentChanges"]}
    assert edited == {uri(notebook / "daily.md"): ["kube"], uri(notebook / "pods.md"): ["kube.md", "kube"]}
    assert client.stop() == 0


# --------------------------------------------------------------------------- process


def test_an_index_damaged_or_replaced_while_the_server_runs_is_repaired(
    client: LspClient, notebook: Path, tmp_path: Path
) -> None:
    """Same-size garbage in the index's postings (damage no cheap check sees) shows up
    when a search reads them: the core repairs the index and the request is answered.
    Then another kb rebuilds the index under the open one: answers go on."""
    client.initialize(notebook)
    k8s = uri(notebook / "k8s.md")
    assert [s["location"]["uri"] for s in client.request("workspace/symbol", {"query": "kubectl"})] == [k8s]
    postings = [p for p in (tmp_path / "lsp-index").iterdir() if p.suffix == ".pst"]
    assert postings
    for p in postings:
        p.write_bytes(os.urandom(p.stat().st_size))
    assert [s["location"]["uri"] for s in client.request("workspace/symbol", {"query": "클러스터"})] == [k8s]
    subprocess.run([*KB, "--dir", str(notebook), "index", "--rebuild"], env=_env(tmp_path), check=True,
                   capture_output=True)
    for query in ("생성", "kubectl run", "모여"):
        assert k8s in [s["location"]["uri"] for s in client.request("workspace/symbol", {"query": query})]
    daily = client.open(notebook / "daily.md")
    assert len(_diagnostics(client, daily)) == 1
    assert client.stop() == 0
    assert "Traceback" not in client.stderr


def test_exit_without_shutdown_is_code_1(client: LspClient, notebook: Path) -> None:
    client.initialize(notebook)
    client.notify("exit")
    assert client.proc.wait(30) == 1


def test_no_notebook_is_one_message_not_a_crash(tmp_path: Path) -> None:
    env = _env(tmp_path)
    c = LspClient([*KB, "--dir", str(tmp_path / "missing"), "lsp"], cwd=tmp_path, env=env)
    try:
        c.initialize(tmp_path)
        assert "kb: " in c.wait_for("window/showMessage")["message"]
        assert c.request("workspace/symbol", {"query": "x"}) == []
        assert c.stop() == 0
        assert "Traceback" not in c.stderr
    finally:
        c.close()


# --------------------------------------------------------------------------- the pure pieces


@pytest.mark.parametrize(("encoding", "units"), [(UTF16, 8), (UTF8, 14), (UTF32, 7)])
def test_lines_count_code_units(encoding: str, units: int) -> None:
    text = "첫 줄\r\n오늘 😀 [[k8s]]\n"
    lines = Lines(text, encoding)
    offset = text.index("k8s")
    assert lines.position(offset) == (1, units)
    assert lines.offset(1, units) == offset
    assert lines.offset(1, 10_000) == text.index("]]\n") + 2  # clamped to the line
    assert lines.offset(9, 0) == len(text)


def test_lines_inside_a_surrogate_pair_round_up() -> None:
    lines = Lines("😀x", UTF16)
    assert lines.offset(0, 1) == 1  # half of the emoji: after it


def test_links_in_skips_code_and_knows_anchors() -> None:
    text = "`[[a]]` [[b#Part|B]] [c](sub/c.md#x)\n```\n[[d]]\n```\n"
    links = links_in(text, "notes/n.md")
    found = [(lk.kind, lk.target, lk.anchor) for lk in links]
    assert found == [("wiki", "b", "Part"), ("md", "notes/sub/c", "x")]
    assert link_at(links, text.index("B]]")) is links[0]
    assert link_at(links, text.index("[c]")) is links[1]
    assert link_at(links, 2) is None


@pytest.mark.parametrize(("text", "kind", "typed"), [
    ("[[쿠버", "wiki", "쿠버"),
    ("see [[", "wiki", ""),
    ("[x](../k8", "md", "../k8"),
    ("text #ku", "tag", "ku"),
    ("(#ku", "tag", "ku"),
    ("C#", None, None),
    ("[[k8s#파", "heading", "파"),
    ("a [[b]] c", None, None),
    ("---\ntags: [a, b", "tag", "b"),
    ("---\ntags:\n  - k", "tag", "k"),
    ("---\ntitle: #x", None, None),
])
def test_completing(text: str, kind: str | None, typed: str | None) -> None:
    found = completing(text + "\n---\n" if text.startswith("---") else text, len(text))
    assert (found.kind, found.typed) == (kind, typed) if found else kind is None


def test_headings_skip_fences_and_frontmatter() -> None:
    text = "---\ntitle: x\n# no\n---\n# A ##\n```\n# not\n```\n## B\n"
    assert [(h.level, h.title) for h in headings(text)] == [(1, "A"), (2, "B")]


def test_hostile_lines_cost_linear_time() -> None:
    long = "# " + " " * 200_000 + "x\n" + "[[" * 100_000 + "\n" + "#" * 100_000
    start = time.perf_counter()
    headings(long)
    completing(long, len(long))
    links_in(long, "a.md")
    Lines(long).position(len(long))
    assert time.perf_counter() - start < 2.0


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed")
def test_neovim_headless(notebook: Path, tmp_path: Path) -> None:
    """A real editor: Neovim, headless, asks kb lsp what the Done-when list asks."""
    script = Path(__file__).parent / "fixtures" / "lsp" / "nvim_check.lua"
    out = tmp_path / "nvim-out.txt"
    env = _env(tmp_path)
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}", KB_NB=str(notebook),
               KB_OUT=str(out), HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    done = subprocess.run(["nvim", "--headless", "--clean", "-u", str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    got = out.read_text(encoding="utf-8")
    k8s, daily = uri(notebook / "k8s.md"), uri(notebook / "daily.md")
    assert 'offset_encoding = "utf-16"' in got
    assert 'msg = "broken link [[없는노트]]: no such note"' in got
    assert "cursor byte col -> position sent = { 14, { character = 8, line = 2 } }" in got
    assert f'uri = "{k8s}"' in got.split("definition = ", 1)[1].splitlines()[0]
    assert got.split("hover = ", 1)[1].startswith('"**쿠버네티스**')
    assert f'symbol 파드 = {{ "쿠버네티스", "{k8s}" }}' in got
    assert ('completion = { "쿠버네티스", "k8s]]", { end = { character = 7, line = 3 }, '
            'start = { character = 5, line = 3 } } }') in got
    assert f'reference = {{ "{daily}", {{ character = 6, line = 2 }} }}' in got
    assert "client stopped = true" in got


def test_a_note_of_thousands_of_broken_links_is_checked_quickly(notebook_dir: Path) -> None:
    """In-process: diagnostics of a hostile buffer stay bounded (did-you-mean for the first
    links only)."""
    from kb.lsp.notebook import Notes, Session

    session = Session(Notes(notebook_dir))
    text = "".join(f"[[없는노트{i}]] [[rbak{i}]]\n" for i in range(5000))
    session.open("hostile.md", text)
    start = time.perf_counter()
    problems = session.diagnostics("hostile.md")
    assert time.perf_counter() - start < 5.0
    assert len(problems) == 10_000
    assert sum("did you mean" in p.message for p in problems) <= Session.MAX_SUGGESTED


def test_symbol_lines_skip_a_note_too_long_for_the_budget_left(notebook: Path) -> None:
    """In-process: finding the lines of the hits stays within its CPU budget (a long note
    that would overrun it keeps its first line) and the short notes still get theirs."""
    from kb.lsp.notebook import Notes, Session

    (notebook / "long.md").write_text("# 깊은 노트\n\n" + "아무 말 없는 줄.\n" * 60_000 + "클러스터 끝.\n",
                                      encoding="utf-8")
    time.sleep(0.03)
    session = without_kept_lines(Session(Notes(notebook)))
    session.LOCATE_BUDGET = 0.01  # a 1 MB note takes longer than that
    found = {cand.path: line for cand, line in session.symbols("클러스터")}
    assert found["k8s.md"] == 7  # "파드가 모여 클러스터를 이룬다."
    assert found["long.md"] is None


def test_symbol_lines_of_long_notes_come_from_the_index_within_the_budget(
    notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: the plain lines the index keeps of each note give a long note its line
    where reading it would overrun the budget (above), the line ``kb search`` prints; and
    none of the notes is read."""
    from kb import notes as kbnotes
    from kb.core import Notebook
    from kb.lsp.notebook import Notes, Session

    (notebook / "long.md").write_text("# 깊은 노트\n\n" + "아무 말 없는 줄.\n" * 15_000 + "클러스터 끝.\n",
                                      encoding="utf-8")
    time.sleep(0.03)
    session = Session(Notes(notebook))
    session.LOCATE_BUDGET = 0.01  # reading long.md (300 KB) is reckoned at 30 ms
    reads: list[str] = []
    real = kbnotes.read_body_at
    monkeypatch.setattr(kbnotes, "read_body_at", lambda root, rel: reads.append(rel) or real(root, rel))
    found = {cand.path: line for cand, line in session.symbols("클러스터")}
    assert found["k8s.md"] == 7
    assert found["long.md"] == 15_003
    assert reads == []
    monkeypatch.setattr(kbnotes, "read_body_at", real)
    printed = {h.path: h.line for h in Notebook.open(notebook).search("클러스터", limit=25).hits}
    assert found == printed


def test_symbol_lines_reuse_the_plain_text_of_notes_found_before(
    notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: a note found again by the next symbol search (as you type) is not turned
    into plain lines again; what is kept is bounded, and an edited note is read anew."""
    from kb import search
    from kb.lsp import notebook as lspnb

    made: list[str] = []
    real = search.snippet_lines

    def counted(text: str, title: str) -> Any:
        made.append(title)
        return real(text, title)

    monkeypatch.setattr(search, "snippet_lines", counted)
    session = without_kept_lines(lspnb.Session(lspnb.Notes(notebook)))
    queries = ("클러스터", "클러스터를", "kubectl")
    lines = {q: dict((c.path, line) for c, line in session.symbols(q)) for q in queries}
    assert lines == {"클러스터": {"k8s.md": 7}, "클러스터를": {"k8s.md": 7}, "kubectl": {"k8s.md": 11}}
    assert made == ["쿠버네티스"]  # k8s.md made into lines once
    (notebook / "k8s.md").write_text((notebook / "k8s.md").read_text(encoding="utf-8") + "\n클러스터 또\n",
                                     encoding="utf-8")
    monkeypatch.setattr(lspnb, "KEEP_LINES_CHARS", 0)
    assert dict((c.path, line) for c, line in session.symbols("클러스터 이룬다")) == {"k8s.md": 7}
    assert made == ["쿠버네티스", "쿠버네티스"] and session.notes._lines == {}


def test_the_check_for_files_changed_outside_does_not_hold_up_requests(
    notebook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process server: kb's freshness check (a ``stat`` of every note; 0.1-0.4 s of
    waiting for its forked child on a big notebook) runs beside the requests, not before
    them. Here it is made to take a second."""
    import asyncio
    import io
    import threading

    from pygls.io_ import StdoutWriter

    from kb.index import probe
    from kb.lsp import server
    from kb.lsp.notebook import Session

    checking = threading.Event()
    began: list[float] = []
    real = probe.FreshnessProbe.answer

    def slow(self: Any) -> Any:
        began.append(time.perf_counter())
        checking.set()
        time.sleep(1.0)
        return real(self)

    monkeypatch.setattr(Session, "CHECK_EVERY", 0.05)
    out = io.BytesIO()
    ls = server.make_server(str(notebook))
    ls.protocol.set_writer(StdoutWriter(out))

    def send(message: dict[str, Any]) -> None:
        server._handle(ls, [{"jsonrpc": "2.0", **message}])

    async def answered_in() -> float:
        send({"id": 1, "method": "initialize",
              "params": {"processId": None, "rootUri": uri(notebook), "capabilities": {}}})
        send({"method": "initialized", "params": {}})
        await ls.ready.wait()
        monkeypatch.setattr(probe.FreshnessProbe, "answer", slow)
        while not checking.is_set():
            await asyncio.sleep(0.005)
        send({"id": 2, "method": "workspace/symbol", "params": {"query": "클러스터"}})
        while b'"id": 2' not in out.getvalue() and time.perf_counter() - began[0] < 10:
            await asyncio.sleep(0.005)
        ls.shut_down = True
        return time.perf_counter() - began[0]

    assert asyncio.run(answered_in()) < 0.5  # from the start of the check
    assert "k8s.md" in out.getvalue().decode().rpartition('"id": 2')[2]


def test_a_message_that_is_not_json_is_one_line_on_stderr(client: LspClient, notebook: Path) -> None:
    assert client.proc.stdin is not None
    client.proc.stdin.write(b"Content-Length: 5\r\n\r\nxxxxx")
    client.proc.stdin.flush()
    client.initialize(notebook)
    assert client.request("workspace/symbol", {"query": "파드"})  # still answers
    assert client.stop() == 0
    assert "Traceback" not in client.stderr
    assert client.stderr.splitlines() == [
        "kb lsp: Unable to handle message: JSONDecodeError: Expecting value: line 1 column 1 (char 0)"]
