"""``kb find``: the live view, driven headless by Textual's Pilot on notebooks written here.

The editor is a small script named ``nvim`` (so kb passes ``+LINE path``) that records
its arguments; the search and preview threads are waited for through ``app.busy``."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from kb.core import Notebook
from kb.find.app import FindApp
from kb.find.source import LEAD_LINES, Answer, Latest, Query, Source, body_window
from kb.find.widgets import HelpScreen, HitList, NoteScreen, Preview, TagScreen

K8S = """# 쿠버네티스 정리

쿠버네티스는 컨테이너 오케스트레이션 도구다.
파드가 재시작되는 이유는 liveness probe 실패가 흔하다.

## 서비스

Service는 파드 집합에 안정적인 주소를 준다.
"""
DOCKER = "---\ntags: [docker, k8s]\n---\n# Docker 기초\n\n이미지와 컨테이너의 차이.\n"
LONG_TITLE = ("파이썬 🐍 데코레이터 아주아주 긴 제목이 여기에 있어서 목록의 폭을 넘어가는 경우를 "
              "시험한다 정말로 아주 길다 🎉")
PY = f"---\ntags: [python]\n---\n# {LONG_TITLE}\n\n데코레이터는 함수를 감싼다.\n"


@pytest.fixture
def notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "find-notes"
    root.mkdir()
    for i, (name, text) in enumerate([("py.md", PY), ("docker.md", DOCKER), ("k8s.md", K8S)]):
        (root / name).write_text(text, encoding="utf-8")
        os.utime(root / name, (1_700_000_000 + i * 100, 1_700_000_000 + i * 100))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "find-index"))
    return root


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$EDITOR: a script named nvim writing its argv, one a line, to the returned file;
    it appends ``$APPEND`` to the file it opens when that is set."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.txt"
    script = bin_dir / "nvim"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{record}"\n'
        'for last; do :; done\n'
        'if [ -n "$APPEND" ]; then printf "%s\\n" "$APPEND" >> "$last"; fi\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(script))
    return record


def source_for(root: Path) -> Source:
    return Source(Notebook.open(root))


def drive(root: Path, script, size=(80, 24), query: str = "", print_mode: str | None = None) -> FindApp:
    """Run the app headless, call ``await script(app, pilot)``, return the app."""
    app = FindApp(source_for(root), query, print_mode)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(app, pilot)
            await script(app, pilot)
        app.searches.stop()
        app.previews.stop()

    asyncio.run(main())
    return app


async def settle(app: FindApp, pilot, timeout: float = 20.0) -> None:
    """Wait until every search and preview asked for is on screen."""
    end = time.monotonic() + timeout
    await pilot.pause()
    while app.busy or app.answer is None:
        assert time.monotonic() < end, "kb find did not settle"
        await pilot.pause(0.02)
    await pilot.pause()


async def typed(app: FindApp, pilot, text: str) -> None:
    await pilot.press(*text)
    await settle(app, pilot)


def slugs(app: FindApp) -> list[str]:
    return [i.slug for i in app.query_one(HitList).items]


def preview_text(app: FindApp) -> str:
    return "\n".join(s.text for s in app.query_one(Preview).lines)


def test_start_lists_the_most_recently_modified_notes(notes: Path) -> None:
    async def script(app, pilot):
        assert slugs(app) == ["k8s", "docker", "py"]
        assert "쿠버네티스 정리" in preview_text(app)

    drive(notes, script)


def test_typing_updates_the_hits_and_the_preview_shows_the_match(notes: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "파드")
        assert app.answer.query == "파드"
        assert slugs(app) == ["k8s"]
        preview = app.query_one(Preview)
        assert "재시작" in preview_text(app)
        # the matches are highlighted (reverse), in the body
        marked = [seg.text for strip in preview.lines for seg in strip if seg.style and seg.style.reverse]
        assert "파드" in marked
        await pilot.press("backspace", "backspace")
        await typed(app, pilot, "docker")
        assert slugs(app) == ["docker"]

    drive(notes, script)


def test_enter_opens_the_editor_at_the_first_match(notes: Path, editor: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "파드")
        await pilot.press("enter")
        await settle(app, pilot)

    drive(notes, script)
    assert editor.read_text(encoding="utf-8").splitlines() == ["+4", str(notes / "k8s.md")]


def test_what_the_editor_wrote_is_searchable_when_it_exits(notes: Path, editor: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPEND", "새로적은 zeppelinword 내용")

    async def script(app, pilot):
        await typed(app, pilot, "파드")
        await pilot.press("enter")
        await settle(app, pilot)
        await pilot.press(*["backspace"] * 2)
        await typed(app, pilot, "zeppelinword")
        assert slugs(app) == ["k8s"]

    drive(notes, script)


def test_editor_without_a_query_opens_the_note_at_its_top(notes: Path, editor: Path) -> None:
    async def script(app, pilot):
        await pilot.press("down", "enter")
        await settle(app, pilot)

    drive(notes, script)
    assert editor.read_text(encoding="utf-8").splitlines() == [str(notes / "docker.md")]


def test_ctrl_n_ctrl_p_move_and_the_preview_follows(notes: Path) -> None:
    async def script(app, pilot):
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(app, pilot)
        assert app.query_one(HitList).selected.slug == "py"
        assert "데코레이터는" in preview_text(app)
        await pilot.press("ctrl+p")
        await settle(app, pilot)
        assert app.query_one(HitList).selected.slug == "docker"

    drive(notes, script)


def test_tag_narrowing(notes: Path) -> None:
    async def script(app, pilot):
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen, TagScreen)
        await pilot.press(*"pyth", "enter")
        await settle(app, pilot)
        assert app.query_one("#query").value == "tag:python"
        assert slugs(app) == ["py"]

    drive(notes, script)


def test_tag_syntax_typed_as_in_kb_search(notes: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "컨테이너 tag:docker")
        assert slugs(app) == ["docker"]

    drive(notes, script)


def test_no_hits_says_so(notes: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "qqzzxyzzy")
        assert slugs(app) == []
        assert "No notes match 'qqzzxyzzy'" in str(app.query_one("#status").render())
        assert app.query_one(Preview).lines == []
        await pilot.press("enter")  # nothing to open: nothing happens
        await settle(app, pilot)

    drive(notes, script)


def test_a_note_deleted_while_the_view_is_open(notes: Path, editor: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "파드")
        assert slugs(app) == ["k8s"]
        (notes / "k8s.md").unlink()
        await pilot.press("enter")
        await settle(app, pilot)
        assert slugs(app) == []  # the index was brought up to date
        # moving onto a note deleted since the list was made: the preview says so
        await pilot.press("ctrl+u")
        await settle(app, pilot)
        assert slugs(app) == ["docker", "py"]
        (notes / "docker.md").unlink()
        app._preview_cache.clear()
        await pilot.press("down", "up")
        await settle(app, pilot)
        assert slugs(app) == ["py"]

    drive(notes, script)
    assert not editor.exists()


def test_an_index_damaged_or_replaced_while_the_view_is_open(notes: Path, tmp_path: Path) -> None:
    """Same-size garbage in the postings (no cheap check sees it), then another kb rebuilding
    the index under the open one: the searches typed meanwhile get their hits (the core
    repairs or reopens the index), no error in the status line."""
    import subprocess

    async def script(app, pilot):
        await typed(app, pilot, "파드")
        assert slugs(app) == ["k8s"]
        for p in (tmp_path / "find-index").iterdir():
            if p.suffix == ".pst":
                p.write_bytes(os.urandom(p.stat().st_size))
        await pilot.press("ctrl+u")
        await typed(app, pilot, "docker")
        assert slugs(app) == ["docker"]
        assert "failed" not in str(app.query_one("#status").render())
        subprocess.run([sys.executable, "-m", "kb", "--dir", str(notes), "index", "--rebuild"], check=True,
                       capture_output=True)
        await pilot.press("ctrl+u")
        await typed(app, pilot, "데코레이터")
        assert slugs(app) == ["py"]
        assert "failed" not in str(app.query_one("#status").render())

    drive(notes, script)


def test_a_notebook_of_no_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, editor: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "empty-index"))

    async def script(app, pilot):
        assert slugs(app) == []
        assert "No notes in" in str(app.query_one("#status").render())
        await pilot.press("enter", "ctrl+f", "ctrl+y", "down")
        await typed(app, pilot, "파드")
        assert slugs(app) == []
        await pilot.press("escape")

    app = drive(root, script)
    assert app.return_value is None
    assert not editor.exists()


def test_long_korean_and_emoji_titles_fit_80_columns(notes: Path) -> None:
    from rich.cells import cell_len

    for i in range(12):  # more notes than the list shows: a scrollbar beside it
        (notes / f"extra-{i}.md").write_text(f"# 노트 {i}\n\n본문\n", encoding="utf-8")
        os.utime(notes / f"extra-{i}.md", (1_600_000_000, 1_600_000_000))

    async def script(app, pilot):
        hits = app.query_one(HitList)
        for y in range(3):
            line = hits.render_line(y)
            assert line.cell_length == hits.scrollable_content_region.width < 80  # beside the scrollbar
            assert line.text.rstrip().endswith("2023-11-14")  # the date whole, however long the title
        assert hits.virtual_size.height > hits.size.height
        row = hits.render_line(2).text  # py: the long title
        assert cell_len(row) <= 80
        assert "🐍" in row and "…" in row and "py" in row and "#python" in row
        await pilot.press("down", "down")
        await settle(app, pilot)
        assert "🎉" in preview_text(app) or "아주" in preview_text(app)

    drive(notes, script)


def test_print_mode_returns_the_chosen_slug(notes: Path, editor: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "docker")
        await pilot.press("enter")

    assert drive(notes, script, print_mode="slug").return_value == "docker"
    assert drive(notes, script, print_mode="path").return_value == "docker.md"
    assert not editor.exists()


def test_keys_help_full_view_copy_and_leaving(notes: Path) -> None:
    async def script(app, pilot):
        for key, screen, leave in (("question_mark", HelpScreen, "escape"), ("ctrl+f", NoteScreen, "q")):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen)
            await pilot.press(leave)
            await pilot.pause()
            assert not isinstance(app.screen, screen)
        assert app.query_one("#query").value == ""  # q went to the full view, not the query
        await pilot.press("ctrl+y")
        assert app.clipboard == "k8s"
        await typed(app, pilot, "q?")  # in the query line, q and a later ? are typed
        assert app.query_one("#query").value == "q?"
        await pilot.press("tab", "q")  # in the list, q leaves
        await pilot.pause()

    app = drive(notes, script)
    assert app.return_value is None


def test_ctrl_c_leaves(notes: Path) -> None:
    async def script(app, pilot):
        await typed(app, pilot, "파")
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running

    drive(notes, script)


def test_keystrokes_typed_fast_are_all_searched_last_query_shown(notes: Path) -> None:
    """Korean arrives composed: one key event a syllable. None is lost, however fast,
    and what ends up on screen is the answer to the whole query."""
    async def script(app, pilot):
        for ch in "컨테이너 파드":
            app.query_one("#query").insert_text_at_cursor(ch)
        await settle(app, pilot)
        assert app.answer.query == "컨테이너 파드"
        assert slugs(app) == whole

    with Notebook.open(notes) as nb:  # the answer of kb's search to the whole query
        whole = [h.slug for h in nb.search("컨테이너 파드").hits]
        cut_short = [[h.slug for h in nb.search(q).hits] for q in ("컨테이너", "컨테이너 파")]
    assert whole[0] == "k8s" and whole not in cut_short
    drive(notes, script)


def test_an_older_answer_never_replaces_a_newer_one(notes: Path) -> None:
    async def script(app, pilot):
        newer = Answer("docker", [], 0)
        older = Answer("파", [], 0)
        app._show(app._shown_seq + 2, Query("docker"), newer)
        app._show(app._shown_seq - 1, Query("파"), older)
        assert app.answer is newer

    drive(notes, script)


def test_latest_runs_the_newest_job_and_drops_the_ones_not_started() -> None:
    gate = threading.Event()
    ran: list[str] = []
    finished = threading.Event()

    def run(job: str) -> str:
        if job == "slow":
            gate.wait(5)
        ran.append(job)
        return job.upper()

    results: list[tuple[int, str, str]] = []

    def done(seq: int, job: str, result: str) -> None:
        results.append((seq, job, result))
        if job == "c":
            finished.set()

    runner: Latest[str, str] = Latest(run, done, "test")
    runner.submit("slow")
    time.sleep(0.05)
    runner.submit("a")
    runner.submit("b")
    runner.submit("c")
    gate.set()
    assert finished.wait(5)
    runner.stop()
    assert ran == ["slow", "c"]
    assert [r[0] for r in results] == [1, 4]


def test_kb_find_needs_a_terminal(runner, notes: Path) -> None:
    from kb.cli import app

    result = runner.invoke(app, ["--dir", str(notes), "find"], input="")
    assert result.exit_code == 1
    assert "needs a terminal" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminal")
def test_kb_find_is_documented(runner) -> None:
    from kb.cli import app

    result = runner.invoke(app, ["find", "--help"])
    assert result.exit_code == 0 and "--print" in result.output


def test_no_color(notes: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def script(app, pilot):
        assert app.no_color
        await typed(app, pilot, "파드")
        await pilot.press("ctrl+f")
        await pilot.pause(0.3)
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.2)
        await pilot.press("escape", "ctrl+t")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.2)

    app = drive(notes, script)
    assert app.return_code == 0


def test_body_window_starts_a_little_above_the_match_and_not_inside_a_code_block() -> None:
    body = "\n".join(f"line {i}" for i in range(100))
    window, above, below = body_window(body, 50, 20)
    assert window.splitlines()[0] == f"line {50 - LEAD_LINES}" and above == 50 - LEAD_LINES
    assert len(window.splitlines()) == 20 and below == 100 - above - 20
    assert body_window(body, 3, 20)[1] == 0  # near the top: from the top
    assert body_window(body, None, 500) == (body, 0, 0)
    fenced = "\n".join(["intro"] * 30 + ["```python"] + [f"x = {i}" for i in range(30)] + ["```", "after"])
    window, above, _ = body_window(fenced, 55, 40)
    assert window.startswith("```python") and above == 30
    # a closed fence before the cut does not move it
    closed = "\n".join(["```", "code", "```"] + [f"p {i}" for i in range(60)])
    assert body_window(closed, 40, 10)[1] == 40 - LEAD_LINES


def test_a_long_note_previews_the_part_around_its_match(notes: Path) -> None:
    lines = [f"문단 {i} 평범한 내용" for i in range(400)]
    lines[300] = "여기에 희귀단어 zanzibarite 가 있다"
    (notes / "long.md").write_text("# 긴 노트\n\n" + "\n".join(lines) + "\n", encoding="utf-8")

    async def script(app, pilot):
        await typed(app, pilot, "zanzibarite")
        assert slugs(app) == ["long"]
        preview = app.query_one(Preview)
        text = preview_text(app)
        assert "zanzibarite" in text and "문단 0 " not in text and "lines above" in text
        assert len(preview.lines) < 150
        shown = [preview.lines[preview.scroll_offset.y + y].text for y in range(preview.size.height)]
        assert any("zanzibarite" in line for line in shown)  # scrolled to it
        await pilot.press("ctrl+f")
        full = app.screen.query_one("#full")

        def in_view() -> bool:
            rows = full.lines[full.scroll_offset.y : full.scroll_offset.y + full.size.height]
            return any("zanzibarite" in s.text for s in rows)

        end = time.monotonic() + 20
        while not in_view() and time.monotonic() < end:
            await pilot.pause(0.05)
        assert in_view()  # the full view scrolled to the match
        assert any("문단 0 " in s.text for s in full.lines)  # ...and has all of the note

    drive(notes, script)


def test_word_plans_kept_across_searches_give_the_same_answers(bundled: Path) -> None:
    """kb find keeps each word's plan (its other forms) for the next keystrokes: the
    answers must be the ones a fresh search gives."""
    from kb.search import search

    nb = Notebook.open(bundled)
    queries = ["파", "파드", "파드 재시작", "rag", "쿠버네티스", "리엑트 훅", "executor", "airflow dag",
               "파드"]
    for q in queries:
        nb.search(q, limit=10, snippets=False)
    assert nb._plans  # kept
    for q in queries:
        kept = nb.search(q, limit=10, explain=True)
        fresh = search(nb.place, q, limit=10, ix=nb.ix, explain=True)
        assert kept.explanation.to_dict() == fresh.explanation.to_dict(), q
        assert [(h.path, round(h.score, 6), h.line, h.snippet) for h in kept.hits] == \
            [(h.path, round(h.score, 6), h.line, h.snippet) for h in fresh.hits], q
        assert kept.terms == fresh.terms and kept.notice == fresh.notice, q


def test_markup_in_a_slug_or_title_is_shown_as_written(notes: Path) -> None:
    (notes / "odd[").mkdir()
    (notes / "odd[/x]x.md").write_text("# [b]굵게[/b] 제목\n\n마크업 zorblax\n", encoding="utf-8")

    async def script(app, pilot):
        await typed(app, pilot, "zorblax")
        assert slugs(app) == ["odd[/x]x"]
        assert "[b]굵게[/b] 제목" in app.query_one(HitList).render_line(0).text
        await pilot.press("ctrl+y")
        await pilot.pause(0.2)
        assert app.clipboard == "odd[/x]x"

    app = drive(notes, script)
    assert app.return_code in (0, None)


def test_a_click_selects_a_row(notes: Path, editor: Path) -> None:
    async def script(app, pilot):
        await pilot.click(HitList, offset=(5, 2))  # the third row: py
        await settle(app, pilot)
        assert app.query_one(HitList).selected.slug == "py"
        assert "데코레이터는" in preview_text(app)

    drive(notes, script)
    assert not editor.exists()


def test_latest_survives_a_failing_job_and_a_failing_callback() -> None:
    results: list[object] = []
    second = threading.Event()

    def run(job: str) -> str:
        if job == "bad":
            raise ValueError("boom")
        return job

    def done(seq: int, job: str, result: object) -> None:
        results.append(result)
        if job == "raise-in-done":
            raise RuntimeError("the screen is gone")
        if job == "ok":
            second.set()

    runner: Latest[str, str] = Latest(run, done, "test")
    runner.submit("bad")
    time.sleep(0.1)
    runner.submit("raise-in-done")
    time.sleep(0.1)
    runner.submit("ok")
    assert second.wait(5)
    runner.stop()
    assert isinstance(results[0], ValueError) and results[1:] == ["raise-in-done", "ok"]
