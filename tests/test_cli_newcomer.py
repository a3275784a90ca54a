"""What a new user trips on (issue 15): `-word` as an option, exit codes, tables that lose
the title, line numbers and readable snippets, opening a hit by number, an editor that
writes nothing, pagers, and the cost of broken-link suggestions."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.noterow import NoteRow

NOTES = {
    "rag-tutorial.md": "---\ntitle: RAG 입문\ntags: [llm]\n---\n# RAG 입문\n\nRAG tutorial for beginners.\n",
    "rag-notes.md": (
        "---\ntitle: RAG 정리\ntags: [llm]\n---\n\n"
        "검색을 먼저 한다.\n\nRAG 파이프라인은 검색 증강 생성이다.\n"
    ),
    "pod.md": "# 파드 개념\n\n파드는 컨테이너 묶음이다. #k8s\n",
    "pod-cka.md": "# 파드 시험\n\n파드 문제는 cka 시험에 나온다. #k8s\n",
    "k8s-rag.md": "# 쿠버네티스 RAG\n\nkubernetes 위의 RAG 서버.\n",
}


def run(runner: CliRunner, *args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def notebook_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, notes: dict[str, str]) -> Path:
    """A notebook of ``notes`` under ``tmp_path/name``, made kb's (KB_DIR, KB_INDEX_DIR)."""
    root = tmp_path / name
    root.mkdir()
    for file, text in notes.items():
        (root / file).write_text(text, encoding="utf-8")
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / f"{name}-index"))
    return root


@pytest.fixture
def mini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return notebook_of(tmp_path, monkeypatch, "mini", NOTES)


def slugs(r) -> list[str]:
    return [h["slug"] for h in json.loads(r.stdout)]


# --------------------------------------------------------------------------- 1. -word is a query word


def test_minus_word_excludes_and_is_not_read_as_a_tag_option(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "rag", "-tutorial", "--json")
    assert r.exit_code == 0, r.output
    assert "rag-tutorial" not in slugs(r) and "rag-notes" in slugs(r)


def test_minus_word_that_starts_like_a_short_option_cluster(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "파드", "-cka", "--json")
    assert r.exit_code == 0, r.output
    assert slugs(r) == ["pod"]


def test_query_starting_with_a_minus_word(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "-kubernetes rag", "--json")
    assert r.exit_code == 0, r.output
    assert "k8s-rag" not in slugs(r) and "rag-notes" in slugs(r)


FLAG_NOTES = {
    "thread-dump.md": "# 스레드 덤프\n\n```\njstack -l 12345 > dump.txt\n```\n",
    "jstack-intro.md": "# jstack 소개\n\njstack 은 JVM 도구다. 옵션 설명은 없다.\n",
    "file-share.md": "# 파일 공유\n\n```\npython3 -m http.server 8000\n```\n",
    "kill.md": "# 프로세스 종료\n\n```\nkill -9 4242\n```\n\nkill 은 시그널을 보낸다.\n",
    "docker-shell.md": "# 컨테이너 셸\n\n```\ndocker run -it ubuntu bash\n```\n",
    "cert-der.md": "# 인증서 변환\n\n```\nopenssl x509 -in ca.crt -out ca.der -outform DER\n```\n",
    "openssl.md": "# openssl 소개\n\nopenssl x509 명령은 인증서를 읽는다. outform 은 출력 형식이다.\n",
    "macos.md": "# 맥 버전\n\n```\nsw_vers -productVersion\n```\n",
}


@pytest.mark.parametrize(
    ("query", "note"),
    [
        (["--", "jstack -l"], "thread-dump"),
        (["jstack", "-l"], "thread-dump"),
        (["python3 -m http.server"], "file-share"),
        (["kill -9"], "kill"),
        (["docker run -it"], "docker-shell"),
        (["openssl x509 -outform DER"], "cert-der"),
        (["sw_vers", "-productVersion"], "macos"),
    ],
)
def test_a_short_flag_is_code_not_an_exclusion(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: list[str], note: str
) -> None:
    """`-l`, `-m`, `-9`, `-it` are command flags: excluding one letter or a number means
    nothing, so a short flag is searched as written (`-cka`, a word, still excludes)."""
    notebook_of(tmp_path, monkeypatch, "flags", FLAG_NOTES)
    r = run(runner, "search", "--json", *query)
    assert r.exit_code == 0, r.output
    assert slugs(r)[0] == note


def test_an_option_the_notes_write_is_searched_and_said(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-outform` is a word as well as an option: kb excludes it unless a note holding the
    query's other words writes it as an option, and then says it searched it as written."""
    notebook_of(tmp_path, monkeypatch, "flags", FLAG_NOTES)
    r = run(runner, "search", "openssl -outform")
    assert r.exit_code == 0, r.output
    assert "-outform searched as written" in r.output and "NOT outform" in r.output
    r = run(runner, "search", "--json", "openssl", "NOT", "outform")  # the way to exclude it
    assert r.exit_code == 1 and "cert-der" not in r.output  # both openssl notes say outform
    r = run(runner, "search", "--json", "openssl -형식")  # not an option: still excluded
    assert r.exit_code == 0 and slugs(r) == ["cert-der"]
    r = run(runner, "search", "--json", "openssl -der")  # cert-der says DER, never -der
    assert r.exit_code == 0 and slugs(r) == ["openssl"]


@pytest.mark.parametrize(
    "args",
    [
        ["--limit", "1", "rag", "--json"],
        ["rag", "-n", "1", "--json"],
        ["rag", "--limit=1", "--json"],
        ["--json", "rag", "-n", "1"],
    ],
)
def test_kb_options_are_still_options_anywhere(runner: CliRunner, mini: Path, args: list[str]) -> None:
    r = run(runner, "search", *args)
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == 1


def test_tag_option_and_words_after_double_dash(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "파드", "-t", "k8s", "--json")
    assert r.exit_code == 0 and set(slugs(r)) == {"pod", "pod-cka"}
    r = run(runner, "search", "--json", "--", "-cka", "파드")  # after --, all is the query
    assert r.exit_code == 0 and slugs(r) == ["pod"]


def test_a_mistyped_long_option_is_a_usage_error(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "rag", "--jsno")
    assert r.exit_code == 2 and "--jsno" in r.stderr


def test_a_missing_option_value_is_a_usage_error(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "rag", "--limit")
    assert r.exit_code == 2 and "--limit" in r.stderr


def test_a_tag_filter_no_note_has_says_so(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "rag", "--tag", "nosuch")
    assert r.exit_code == 1
    assert "no note has the tag 'nosuch'" in r.stderr
    r = run(runner, "search", "rag", "tag:nosuch", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout) == []
    assert "no note has the tag 'nosuch'" in r.stderr


def _complete(runner: CliRunner, line: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    words = line.split(" ")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    monkeypatch.setenv("_KB_COMPLETE", "complete_bash")
    r = runner.invoke(app, [], prog_name="kb")
    return r.stdout.splitlines()


def test_completion_of_tags_and_slugs_still_works(
    runner: CliRunner, mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(runner, "index").exit_code == 0
    assert _complete(runner, "kb search rag -tutorial --tag ", monkeypatch) == ["k8s", "llm"]
    assert _complete(runner, "kb search rag --tag l", monkeypatch) == ["llm"]
    assert _complete(runner, "kb show rag-", monkeypatch) == ["rag-notes", "rag-tutorial"]


def test_bash_completion_quotes_slugs_with_spaces(
    runner: CliRunner, mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (mini / "my note's $x.md").write_text("# 공백 노트\n본문\n", encoding="utf-8")
    assert run(runner, "index").exit_code == 0
    [item] = _complete(runner, "kb show my", monkeypatch)
    assert shlex.split(item) == ["my note's $x"] and " " not in item.replace("\\ ", "")


# --------------------------------------------------------------------------- 3. exit codes


def test_search_exit_codes(runner: CliRunner, mini: Path) -> None:
    assert run(runner, "search", "rag").exit_code == 0
    r = run(runner, "search", "없는단어zzz")
    assert r.exit_code == 1 and "No notes match" in r.stderr and r.stdout == ""
    r = run(runner, "search", "없는단어zzz", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout) == []
    r = run(runner, "search", "")
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("Error: ")
    assert run(runner, "search", "-rag").exit_code == 2  # nothing to look for
    assert run(runner, "search", "", "--json").exit_code == 2


def test_list_and_tags_exit_codes(runner: CliRunner, mini: Path) -> None:
    assert run(runner, "list").exit_code == 0
    r = run(runner, "list", "--tag", "nosuch")
    assert r.exit_code == 1 and "no note has the tag 'nosuch'" in r.stderr and r.stdout == ""
    r = run(runner, "list", "--tag", "nosuch", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout) == []
    r = run(runner, "list", "--since", "2000-01-01", "--before", "2000-01-02")
    assert r.exit_code == 1 and r.stdout == ""
    assert run(runner, "list", "--sort", "nosuch").exit_code == 2
    assert run(runner, "tags").exit_code == 0
    assert run(runner, "tags", "llm").exit_code == 0
    assert run(runner, "tags", "nosuch").exit_code == 1
    r = run(runner, "list", "--broken-links")  # none: said on stderr (not an internal error)
    assert r.exit_code == 1 and r.stdout == "" and r.stderr.strip() == "No broken links."


def test_tags_on_a_notebook_without_tags_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.md").write_text("# a\n본문\n")
    r = run(runner, "--dir", str(tmp_path / "plain"), "tags")
    assert r.exit_code == 1 and r.stdout == ""


def test_readme_documents_the_exit_codes() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    for code in ("0", "1", "2"):
        assert f"`{code}`" in section
    assert all(f"`{c}`" in section for c in ("search", "list", "tags"))


# --------------------------------------------------------------------------- 4. tables keep the title


def _render(renderable, width: int) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, highlight=False, color_system=None,
                      force_terminal=True, legacy_windows=False)
    console.print(renderable)
    return console.file.getvalue()


LONG_SLUG = "vue-ko/src/tutorial/src/step-9/" + "x" * 39 + "/description-of-step"


def test_list_at_100_columns_keeps_the_title_behind_a_90_character_slug() -> None:
    import datetime as dt

    from kb import render

    assert len(LONG_SLUG) == 90
    rows = [NoteRow(LONG_SLUG + ".md", LONG_SLUG, "트리 구조 정리 노트", ("vue", "tutorial"),
                    dt.datetime(2026, 10, 5, 12, 34)),
            NoteRow("short.md", "short", "짧은 노트", (), dt.datetime(2024, 1, 2))]
    for n in (1, 500):  # a short list and a long one are laid out alike
        out = _render(render.notes_table(rows * n), 100)
        lines = out.splitlines()
        assert "트리 구조 정리 노트" in lines[1] and "2026-10-05 12:34" in lines[1]
        assert "…" in lines[1] and "description-of-step" in lines[1]  # the slug's end stays
        from rich.cells import cell_len

        assert all(cell_len(line) <= 100 and line == line.rstrip() for line in lines)
        assert lines[1].index("트리") == lines[2].index("짧은")  # columns line up


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_rows_fit_the_width_and_are_cut_with_an_ellipsis(width: int) -> None:
    import datetime as dt
    import random

    from rich.cells import cell_len

    from kb import render

    rnd = random.Random(width)
    words = ["파드", "생성된다", "kubernetes", "rbac", "아주긴한국어제목입니다", "[draft]", "a-b", "노트"]
    rows = []
    for i in range(60):
        slug = "/".join(rnd.choice(words) for _ in range(rnd.randint(1, 8))) + str(i)
        title = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 9)))
        tags = tuple(rnd.sample(words, rnd.randint(0, 3)))
        rows.append(NoteRow(slug + ".md", slug, title, tags, dt.datetime(2024, 1, 1 + i % 28)))
    lines = _render(render.notes_table(rows), width).splitlines()
    assert len(lines) == 61
    for line, row in zip(lines[1:], rows, strict=True):
        assert cell_len(line) <= width and line == line.rstrip()
        assert line.endswith(row.date.strftime("%Y-%m-%d"))  # a date is never cut
        slug = line.split("  ", 1)[0].strip()
        if "…" in slug:  # cut in the middle: a start and an end of the slug
            head, tail = slug.split("…")
            assert row.slug.startswith(head) and row.slug.endswith(tail)
        else:
            assert slug == row.slug


def test_related_keeps_its_scores() -> None:
    from kb import render
    from kb.search import Hit

    hits = [Hit(slug=LONG_SLUG + str(i), path="p", title="제목 " * 10, tags=[], score=12.345)
            for i in range(3)]
    out = _render(render.related_view("rag", "RAG", hits), 80)
    assert out.count("12.3") == 3


def test_piped_list_is_tab_separated_without_padding(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "list")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    data = json.loads(run(runner, "list", "--json").stdout)
    assert len(lines) == len(data)
    for line, row in zip(lines, data, strict=True):
        assert line == line.rstrip() and line.split("\t")[:2] == [row["slug"], row["title"]]
    grep = [line for line in lines if "RAG" in line]
    assert len(grep) == sum("RAG" in (d["title"] or "") for d in data) == 3
    r = run(runner, "tags")
    assert r.stdout.splitlines() == ["2\tk8s", "2\tllm"]  # as `uniq -c`: count, then tag


def test_piped_search_has_no_trailing_blanks(runner: CliRunner, bundled: Path) -> None:
    r = run(runner, "search", "rag")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert len(lines) > 3 and all(line == line.rstrip() for line in lines)
    assert any(len(line) > 100 for line in lines)  # not wrapped at 80 columns either


# --------------------------------------------------------------------------- 6. line numbers, snippets


def test_a_hit_has_the_line_of_its_match(runner: CliRunner, mini: Path) -> None:
    r = run(runner, "search", "파이프라인", "--json")
    [hit] = json.loads(r.stdout)
    assert hit["line"] == 8  # frontmatter counted: the line as an editor numbers it
    lines = (mini / "rag-notes.md").read_text(encoding="utf-8").splitlines()
    assert "파이프라인" in lines[hit["line"] - 1]
    r = run(runner, "search", "파이프라인")
    assert "rag-notes.md:8" in r.stdout


MARKUP = """---
title: 표 노트
---
# 표 노트

##### 비교
| 구분 | Prompting | Fine-tuning |
|---|:---:|---|
| 비용 | 낮음<br>빠름 | 높음 |

> > 인용된 **파이프라인** *설명과* [링크](https://x.y/z) 그리고 <span style="color:red">빨강</span>

```python
pipeline = build()  # 파이프라인 코드
```
"""


def test_snippets_are_readable_text() -> None:
    from kb.search import snippet_lines

    text, _ = snippet_lines(MARKUP.split("---\n", 2)[2], "표 노트")
    for mark in ("|", "```", "> >", "<br>", "#####", "<span", "](", "*", "---"):
        assert mark not in text, mark
    assert "비교:\n구분 · Prompting · Fine-tuning\n/ 비용 · 낮음 빠름 · 높음\n" in text
    assert "인용된 파이프라인 설명과 링크 그리고 빨강" in text
    assert "pipeline = build()" in text
    text, _ = snippet_lines("1. ##### 상호 배제\n_발생 조건_: *4가지*, max_active_runs, 2*3*4", "x")
    assert text == "1. 상호 배제\n발생 조건: 4가지, max_active_runs, 2*3*4"


def test_snippet_line_numbers_survive_the_cleaning(runner: CliRunner, mini: Path) -> None:
    (mini / "markup.md").write_text(MARKUP, encoding="utf-8")
    hit = next(h for h in json.loads(run(runner, "search", "빨강", "--json").stdout) if h["slug"] == "markup")
    assert hit["line"] == 11 and "빨강" in MARKUP.splitlines()[10]
    assert "<span" not in hit["snippet"]


def _recording_editor(tmp_path: Path, name: str) -> tuple[Path, Path]:
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.args"
    script = folder / name
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(log))}\n")
    script.chmod(0o755)
    return script, log


@pytest.mark.parametrize(
    ("editor", "expect"),
    [
        ("vim", ["+8", "{path}"]),
        ("nano", ["+8", "{path}"]),
        ("code -w", ["-w", "-g", "{path}:8"]),
        ("hx", ["{path}:8"]),
        ("unknown-editor", ["{path}"]),
    ],
)
def test_edit_at_a_line(
    runner: CliRunner, mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, editor: str,
    expect: list[str],
) -> None:
    name, *extra = editor.split()
    script, log = _recording_editor(tmp_path, name)
    monkeypatch.setenv("EDITOR", " ".join([str(script), *extra]))
    monkeypatch.delenv("VISUAL", raising=False)
    path = str(mini / "rag-notes.md")
    r = run(runner, "edit", "rag-notes", "--line", "8")
    assert r.exit_code == 0, r.output
    assert log.read_text().splitlines() == [e.format(path=path) for e in expect]
    for args in (["rag-notes", "+8"], ["rag-notes.md:8"]):
        log.unlink()
        assert run(runner, "edit", *args).exit_code == 0
        assert log.read_text().splitlines() == [e.format(path=path) for e in expect]


# --------------------------------------------------------------------------- 7. a hit by its number


def test_show_edit_links_by_number_after_a_search(
    runner: CliRunner, mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = run(runner, "show", "1", "--json")
    assert r.exit_code == 1 and "kb search" in r.stderr  # no search yet
    r = run(runner, "search", "파이프라인 OR 컨테이너")
    assert r.exit_code == 0 and re.search(r"^ ?1\. ", r.stdout, re.M)
    order = [h["slug"] for h in json.loads(run(runner, "search", "파이프라인 OR 컨테이너", "--json").stdout)]
    assert len(order) == 2
    r = run(runner, "show", "1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["slug"] == order[0]
    assert json.loads(run(runner, "show", "2", "--json").stdout)["slug"] == order[1]
    assert json.loads(run(runner, "links", "2", "--json").stdout)["slug"] == order[1]
    r = run(runner, "show", "3")
    assert r.exit_code == 1 and "2 hits" in r.stderr
    script, log = _recording_editor(tmp_path, "vim")
    monkeypatch.setenv("EDITOR", str(script))
    assert run(runner, "edit", "1").exit_code == 0
    first = order[0] + ".md"
    want_line = next(h["line"] for h in json.loads(run(runner, "search", "파이프라인 OR 컨테이너",
                                                          "--json").stdout) if h["slug"] == order[0])
    assert log.read_text().splitlines() == [f"+{want_line}", str(mini / first)]


def test_a_note_named_like_a_number_is_that_note(runner: CliRunner, mini: Path) -> None:
    (mini / "1.md").write_text("# 숫자 노트\n본문\n", encoding="utf-8")
    assert run(runner, "search", "파이프라인").exit_code == 0
    assert json.loads(run(runner, "show", "1", "--json").stdout)["slug"] == "1"
    order = slugs(run(runner, "search", "파이프라인 OR 컨테이너", "--json"))
    assert run(runner, "search", "파이프라인 OR 컨테이너").exit_code == 0
    assert json.loads(run(runner, "show", "2", "--json").stdout)["slug"] == order[1]  # no note "2": a hit


def test_the_last_search_is_private_and_per_notebook(
    runner: CliRunner, mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_INDEX_DIR")  # each notebook its own cache folder
    assert run(runner, "search", "파이프라인").exit_code == 0
    [saved] = [p for p in (tmp_path / "cache" / "kb").glob("*/*") if "last" in p.name]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(run(runner, "show", "1", "--json").stdout)["slug"] == "rag-notes"
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.md").write_text("# x\n")
    r = run(runner, "--dir", str(other), "show", "1")
    assert r.exit_code == 1 and "kb search" in r.stderr


# --------------------------------------------------------------------------- 10. empty editor, pagers


def test_an_editor_that_writes_nothing_creates_no_note(
    runner: CliRunner, mini: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.commands import add as add_cmd

    monkeypatch.setenv("EDITOR", "true")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setattr(add_cmd, "body_source", lambda: "editor")
    before = sorted(p.name for p in mini.iterdir())
    r = run(runner, "add", "빈 노트")
    assert r.exit_code == 1
    assert "nothing written; no note created" in r.stderr
    assert sorted(p.name for p in mini.iterdir()) == before


def _in_a_terminal(args: list[str], env: dict[str, str], rows: int = 10) -> str:
    """Run kb with stdin/stdout/stderr on a pseudo-terminal of ``rows`` lines; its output."""
    import fcntl
    import select
    import struct
    import subprocess
    import termios

    main_fd, sub_fd = os.openpty()
    fcntl.ioctl(sub_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "kb", *args], stdin=sub_fd, stdout=sub_fd,
                            stderr=sub_fd, env=env, close_fds=True)
    os.close(sub_fd)
    chunks = []
    while True:
        ready, _, _ = select.select([main_fd], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(main_fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(main_fd)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("command", [["list"], ["tags"]])
def test_long_lists_are_paged_on_a_terminal(tmp_path: Path, command: list[str]) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for i in range(40):
        (root / f"note-{i:02}.md").write_text(f"# 노트 {i}\n#tag{i}\n", encoding="utf-8")
    paged = tmp_path / "paged.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MANPAGER")}
    env.update(KB_DIR=str(root), KB_INDEX_DIR=str(tmp_path / "ix"), KB_WATCH="0", TERM="xterm",
               PAGER=f"cat > {shlex.quote(str(paged))}")
    _in_a_terminal(command, env)
    assert paged.exists(), "no pager was started"
    assert "note-39" in paged.read_text() or "tag39" in paged.read_text()
    paged.unlink()
    out = _in_a_terminal([*command, "--no-pager"], env)
    assert not paged.exists() and ("note-39" in out or "tag39" in out)


# --------------------------------------------------------------------------- 11. broken-link hints


def test_broken_link_suggestions_compare_few_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    import difflib
    import random

    from kb.links import LinkGraph
    from kb.noterow import NoteRow

    rnd = random.Random(15)
    consonants = "bcdfghjklmnpqstvwxz"
    names = {"".join(rnd.choice(consonants) for _ in range(rnd.randint(4, 12))) for _ in range(3000)}
    notes = [NoteRow.of(f"area{i % 7}/{name}-{i}.md", title=name) for i, name in enumerate(names)]
    notes.append(NoteRow.of("docs/airflow-executors.md", title="Airflow Executors"))
    compared = 0
    real = difflib.SequenceMatcher.set_seq1

    def counting(self, a):  # type: ignore[no-untyped-def]
        nonlocal compared
        compared += 1
        return real(self, a)

    monkeypatch.setattr(difflib.SequenceMatcher, "set_seq1", counting)
    graph = LinkGraph(notes)
    assert graph.suggest("airflow-executor") == ["docs/airflow-executors"]
    assert graph.suggest("docs/airflw-executors") == ["docs/airflow-executors"]
    assert compared <= 200, compared


def test_broken_links_still_get_hints(runner: CliRunner, mini: Path) -> None:
    (mini / "linker.md").write_text("# 링크\n[[rag-note]] 와 [[pod-ckaa]]\n", encoding="utf-8")
    r = run(runner, "list", "--broken-links")
    assert r.exit_code == 0
    assert "did you mean rag-notes" in r.stdout and "pod-cka" in r.stdout
