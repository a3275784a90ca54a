"""Every command through CliRunner: exit codes and the text that matters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app

ANSI = re.compile(r"\x1b\[")


def run(runner: CliRunner, *args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


# --------------------------------------------------------------------------- the bundled notes


def test_bundled_search_rag_ranks_the_rag_note_first(runner: CliRunner, bundled: Path) -> None:
    r = run(runner, "search", "rag", "--json")
    assert r.exit_code == 0, r.output
    hits = json.loads(r.stdout)
    assert hits[0]["slug"] == "rag"
    assert set(hits[0]) >= {"slug", "title", "path", "tags", "score", "snippet"}


@pytest.mark.parametrize(
    ("query", "must_find"),
    [
        ("파드", {"k8s/pod-basics", "k8s/serviceaccount", "k8s/rbac"}),
        ("서비스어카운트", {"k8s/serviceaccount", "k8s/cka-rbac-questions"}),
        ("api", {"k8s/rbac", "k8s/serviceaccount", "llm-basics"}),
        ("executor", {"airflow-executors"}),
        ("pod-reader", {"k8s/rbac", "k8s/cka-rbac-questions"}),
    ],
)
def test_bundled_korean_queries(runner: CliRunner, bundled: Path, query: str, must_find: set[str]) -> None:
    # In the bundled notes these words only ever appear with particles attached
    # (파드가, 서비스어카운트를, API를): the notes check that with grep.
    r = run(runner, "search", query, "--json", "--limit", "20")
    assert r.exit_code == 0, r.output
    assert must_find <= {h["slug"] for h in json.loads(r.stdout)}


def test_bundled_show_airflow_executors(runner: CliRunner, bundled: Path) -> None:
    r = run(runner, "show", "airflow-executors")
    assert r.exit_code == 0, r.output
    assert "Airflow Executor" in r.stdout and "CeleryExecutor" in r.stdout
    assert "airflow-executors.md" in r.stdout


def test_bundled_add_then_search(runner: CliRunner, bundled: Path) -> None:
    r = run(runner, "add", "쿠버네티스 RBAC 복습", "--tag", "k8s", "--body", "정족수를 새로 배웠다")
    assert r.exit_code == 0, r.output
    assert (bundled / "쿠버네티스-rbac-복습.md").exists()
    r = run(runner, "search", "정족수", "--json")
    assert [h["slug"] for h in json.loads(r.stdout)] == ["쿠버네티스-rbac-복습"]


def test_bundled_tags_counts(runner: CliRunner, bundled: Path) -> None:
    r = run(runner, "tags", "--json")
    counts = {d["tag"]: d["count"] for d in json.loads(r.stdout)}
    assert counts["kubernetes"] == 4 and counts["airflow"] == 2
    r = run(runner, "tags")
    assert r.exit_code == 0 and "4\tkubernetes" in r.stdout.splitlines()  # piped: count, tag


# --------------------------------------------------------------------------- search


def test_search_output_has_title_slug_tags_snippet(runner: CliRunner) -> None:
    r = run(runner, "search", "서비스어카운트")
    assert r.exit_code == 0
    assert "k8s/serviceaccount" in r.stdout and "ServiceAccount 정리" in r.stdout
    assert "#kubernetes" in r.stdout and "서비스어카운트를" in r.stdout
    assert not ANSI.search(r.stdout)  # not a terminal: no escape codes


def test_search_json_paths_are_relative_posix(runner: CliRunner) -> None:
    hits = json.loads(run(runner, "search", "파드", "--json").stdout)
    assert {h["path"] for h in hits} == {"airflow.md", "k8s/rbac.md", "k8s/serviceaccount.md"}
    assert all(isinstance(h["score"], float) and "\x1b" not in h["snippet"] for h in hits)


def test_search_nothing_found(runner: CliRunner) -> None:
    r = run(runner, "search", "존재하지않는단어")
    assert r.exit_code == 1 and "No notes match" in r.stderr and r.stdout == ""


def test_search_fallback_notice(runner: CliRunner) -> None:
    r = run(runner, "search", "celeryexecutor", "청크")
    assert r.exit_code == 0 and "no note has every word" in r.stdout


def test_search_tag_and_limit(runner: CliRunner) -> None:
    hits = json.loads(run(runner, "search", "파드", "--tag", "cka", "--json").stdout)
    assert [h["slug"] for h in hits] == ["k8s/serviceaccount"]
    hits = json.loads(run(runner, "search", "파드", "-n", "1", "--json").stdout)
    assert len(hits) == 1


def test_search_strange_query_is_not_an_error(runner: CliRunner) -> None:
    # nothing found (1), or nothing to search for (2): one line, never a traceback
    for q, code in [('"open', 1), ("(((", 2), ("tag:", 2), ("*", 2), ("AND", 2)]:
        r = run(runner, "search", "--", q)
        assert r.exit_code == code, (q, r.output)
        assert "Traceback" not in r.output and r.stdout == ""


def test_search_reports_bad_notes_once(runner: CliRunner) -> None:
    r = run(runner, "search", "파드")
    assert "broken.md" in r.stderr and "not valid YAML" in r.stderr
    r = run(runner, "search", "파드")
    assert "broken.md" not in r.stderr


def test_force_color_and_no_color(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ANSI.search(run(runner, "search", "파드").stdout)
    monkeypatch.setenv("NO_COLOR", "1")
    # NO_COLOR drops colours; bold and dim are not colours (no-color.org).
    colour = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]")
    assert not colour.search(run(runner, "search", "파드").stdout)


# --------------------------------------------------------------------------- show


def test_show_by_prefix_and_title(runner: CliRunner) -> None:
    r = run(runner, "show", "k8s/serv")
    assert r.exit_code == 0 and "ServiceAccount 정리" in r.stdout
    r = run(runner, "show", "RAG 파이프라인")
    assert r.exit_code == 0 and "검색 증강 생성" in r.stdout


def test_show_renders_wikilinks_readably(runner: CliRunner) -> None:
    r = run(runner, "show", "k8s/rbac")
    assert "[[" not in r.stdout and "RAG 노트" in r.stdout


def test_show_raw_is_the_file(runner: CliRunner, notebook_dir: Path) -> None:
    r = run(runner, "show", "rag", "--raw")
    assert r.stdout == (notebook_dir / "rag.md").read_text()


def test_show_json(runner: CliRunner) -> None:
    data = json.loads(run(runner, "show", "k8s/rbac", "--json").stdout)
    assert data["title"] == "쿠버네티스 RBAC" and data["tags"] == ["kubernetes", "rbac"]
    assert data["date"].startswith("2018-02-20T22:59:38")


def test_show_unknown_suggests(runner: CliRunner) -> None:
    r = run(runner, "show", "airflw")
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == "Error: no note 'airflw'; did you mean: airflow?"
    assert "Traceback" not in r.output


def test_show_ambiguous_lists_candidates(runner: CliRunner) -> None:
    r = run(runner, "show", "k8s")
    assert r.exit_code == 1
    assert "matches 2 notes: k8s/rbac, k8s/serviceaccount" in r.stderr


# --------------------------------------------------------------------------- add


def test_add_writes_frontmatter_and_is_searchable(runner: CliRunner, notebook_dir: Path) -> None:
    r = run(
        runner, "add", "쿠버네티스 RBAC 정리", "--tag", "k8s", "--tag", "시험", "--body", "단풍나무를 심었다"
    )
    assert r.exit_code == 0, r.output
    path = notebook_dir / "쿠버네티스-rbac-정리.md"
    text = path.read_text()
    assert text.startswith("---\ntitle: 쿠버네티스 RBAC 정리\ntags:\n- k8s\n- 시험\ndate: ")
    assert "단풍나무를 심었다" in text
    hits = json.loads(run(runner, "search", "단풍나무", "--json").stdout)
    assert [h["slug"] for h in hits] == ["쿠버네티스-rbac-정리"]
    data = json.loads(run(runner, "show", "쿠버네티스-rbac-정리", "--json").stdout)
    assert data["title"] == "쿠버네티스 RBAC 정리" and data["tags"] == ["k8s", "시험"]


def test_add_body_from_stdin(runner: CliRunner, notebook_dir: Path) -> None:
    r = run(runner, "add", "stdin note", "--slug", "inbox/from-stdin", input="표준입력 본문\n")
    assert r.exit_code == 0, r.output
    assert "표준입력 본문" in (notebook_dir / "inbox" / "from-stdin.md").read_text()


def test_add_never_overwrites(runner: CliRunner, notebook_dir: Path) -> None:
    before = (notebook_dir / "rag.md").read_text()
    r = run(runner, "add", "anything", "--slug", "rag", "--body", "x")
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert (notebook_dir / "rag.md").read_text() == before


@pytest.mark.parametrize("slug", ["../outside", "/tmp/abs", "a/../../b", ".hidden/x", "CON"])
def test_add_refuses_paths_outside(runner: CliRunner, notebook_dir: Path, slug: str) -> None:
    r = run(runner, "add", "t", "--slug", slug, "--body", "x")
    assert r.exit_code == 1 and r.stderr.startswith("Error: ")
    assert not (notebook_dir.parent / "outside.md").exists()


def test_add_with_editor(
    runner: CliRunner, notebook_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kb.commands import add as add_cmd

    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\necho '에디터로 쓴 본문' > \"$1\"\n")
    script.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.setattr(add_cmd.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(add_cmd.sys.stdout, "isatty", lambda: True, raising=False)
    body = add_cmd.read_body("t")
    assert body.strip() == "에디터로 쓴 본문"
    monkeypatch.setenv("EDITOR", "/nonexistent/editor --wait")
    from kb.errors import EditorFailed

    with pytest.raises(EditorFailed, match="cannot start editor"):
        add_cmd.read_body("t")


# --------------------------------------------------------------------------- tags, list, index, info


def test_tags_of_one_tag(runner: CliRunner) -> None:
    r = run(runner, "tags", "kubernetes", "--json")
    assert [d["slug"] for d in json.loads(r.stdout)] == ["k8s/rbac"]
    r = run(runner, "tags", "nope")
    assert r.exit_code == 1 and "no note has the tag 'nope'" in r.stderr


def test_list_sort_and_filter(runner: CliRunner) -> None:
    rows = json.loads(run(runner, "list", "--sort", "title", "--json").stdout)
    titles = [r["title"] for r in rows]
    assert titles == sorted(titles, key=str.casefold) and len(rows) == 8
    rows = json.loads(run(runner, "list", "--tag", "rag", "--json").stdout)
    assert [r["slug"] for r in rows] == ["rag"]
    slugs = [r["slug"] for r in json.loads(run(runner, "list", "--json").stdout)]
    # newest first: airflow 2024-03-02, rag 2024-02-15, k8s/rbac 2018-02-20
    assert slugs.index("airflow") < slugs.index("rag") < slugs.index("k8s/rbac")
    assert len(json.loads(run(runner, "list", "--limit", "2", "--json").stdout)) == 2
    r = run(runner, "list", "--sort", "size")
    assert r.exit_code == 2


def test_list_table(runner: CliRunner) -> None:
    r = run(runner, "list")
    assert r.exit_code == 0 and "k8s/rbac" in r.stdout and "쿠버네티스 RBAC" in r.stdout


def test_index_summary_and_rebuild(runner: CliRunner) -> None:
    r = run(runner, "index")
    assert r.exit_code == 0
    assert "8 added, 0 updated, 0 removed, 2 warnings" in r.stdout
    assert "broken.md" in r.stdout and "euckr.md" in r.stdout
    r = run(runner, "index")
    assert "0 added, 0 updated, 0 removed, 0 warnings" in r.stdout
    r = run(runner, "index", "--rebuild", "--json")
    data = json.loads(r.stdout)
    assert data["rebuilt"] and data["added"] == 8


def test_info(runner: CliRunner, notebook_dir: Path, tmp_path: Path) -> None:
    data = json.loads(run(runner, "info", "--json").stdout)
    assert data["notebook"] == str(notebook_dir) and data["source"] == "KB_DIR"
    assert data["index"] == str(tmp_path / "index") and data["notes"] == 8 and not data["fresh"]
    run(runner, "index")
    r = run(runner, "info")
    assert "up to date" in r.stdout and str(notebook_dir) in r.stdout


# --------------------------------------------------------------------------- notebook selection and errors


def test_dir_option_wins(runner: CliRunner, bundled: Path, notebook_dir: Path) -> None:
    data = json.loads(run(runner, "--dir", str(notebook_dir), "info", "--json").stdout)
    assert data["notebook"] == str(notebook_dir) and data["source"] == "--dir"


def test_missing_notebook(runner: CliRunner, tmp_path: Path) -> None:
    r = run(runner, "--dir", str(tmp_path / "nope"), "search", "x")
    assert r.exit_code == 1
    assert r.stderr.strip() == f"Error: notebook folder {tmp_path / 'nope'} does not exist (from --dir)"


def test_default_notebook_is_nearest_notes_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.config import find_notebook

    (tmp_path / "repo" / "notes" / "sub").mkdir(parents=True)
    monkeypatch.delenv("KB_DIR")
    nb = find_notebook(cwd=tmp_path / "repo" / "notes" / "sub")
    assert nb.root == (tmp_path / "repo" / "notes").resolve() and nb.source == "./notes"
    nb = find_notebook(cwd=tmp_path / "repo")
    assert nb.root == (tmp_path / "repo" / "notes").resolve()


def test_default_index_location_is_a_per_notebook_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, notebook_dir: Path
) -> None:
    from kb.config import find_notebook

    monkeypatch.delenv("KB_INDEX_DIR")
    nb = find_notebook()
    assert nb.index_dir.parent == tmp_path / "cache" / "kb"
    assert nb.index_dir.name.startswith("notebook-")


def test_usage_error_exit_code(runner: CliRunner) -> None:
    assert run(runner, "search").exit_code == 2
    assert run(runner, "nosuchcommand").exit_code == 2


def test_version(runner: CliRunner) -> None:
    r = run(runner, "--version")
    assert r.exit_code == 0 and r.stdout.startswith("kb ")


def test_damaged_index_says_it_rebuilds(runner: CliRunner, tmp_path: Path) -> None:
    assert run(runner, "index").exit_code == 0
    for f in (tmp_path / "index").iterdir():
        if f.name.startswith("MAIN_") or f.suffix == ".toc":
            f.write_bytes(b"\x00" * 10)
    r = run(runner, "search", "파드", "--json")
    assert r.exit_code == 0
    assert "rebuilding the index (it was damaged): 8 notes" in r.stderr  # said when it starts
    assert len(json.loads(r.stdout)) == 3


def test_related_command_and_show_lists_related(runner: CliRunner, bundled: Path) -> None:
    r = run(runner, "related", "k8s/serviceaccount", "--json")
    assert r.exit_code == 0, r.output
    slugs = [h["slug"] for h in json.loads(r.stdout)]
    assert "k8s/serviceaccount" not in slugs
    assert set(slugs[:3]) <= {"k8s/rbac", "k8s/cka-rbac-questions", "k8s/pod-basics"}
    r = run(runner, "related", "rag")
    assert r.exit_code == 0 and "vector-database" in r.stdout
    assert all(len(line.split("\t")) == 3 for line in r.stdout.splitlines())  # piped: slug, title, score
    r = run(runner, "show", "rag", "--no-pager")
    assert "Related" in r.stdout and "vector-database" in r.stdout.split("Related", 1)[1]
    assert run(runner, "related", "nope-nothing").exit_code == 1


def test_terminal_escapes_in_notes_never_reach_the_terminal(runner: CliRunner, notebook_dir: Path) -> None:
    (notebook_dir / "evil.md").write_text(
        "---\ntitle: \"bad \\e]0;pwned\\a \\e[31mred\"\n---\n# x\n\n정족수를 \x1b[2J 지운다\n"
    )
    for args in (["search", "정족수"], ["show", "evil"], ["list"]):
        r = run(runner, *args)
        assert r.exit_code == 0, r.output
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout, args
    assert "\x1b" in run(runner, "show", "evil", "--raw").stdout  # --raw is the file as it is


def test_add_body_from_non_utf8_stdin(runner: CliRunner, notebook_dir: Path) -> None:
    r = runner.invoke(app, ["add", "cp949 본문", "--slug", "cp"], input="교착상태에서".encode("cp949"))
    assert r.exit_code == 0, r.output
    assert "교착상태에서" in (notebook_dir / "cp.md").read_text()


def test_same_size_garbage_in_an_index_file_is_healed(runner: CliRunner, tmp_path: Path) -> None:
    assert run(runner, "index").exit_code == 0
    postings = [f for f in (tmp_path / "index").iterdir() if f.suffix == ".pst"]
    assert postings
    for f in postings:  # same size, so the manifest's size check cannot see it
        f.write_bytes(bytes(range(256)) * (f.stat().st_size // 256) + b"\x00" * (f.stat().st_size % 256))
    r = run(runner, "search", "파드", "--json")
    assert r.exit_code == 0, r.output
    assert "rebuilding" in r.stderr
    assert {h["path"] for h in json.loads(r.stdout)} == {"airflow.md", "k8s/rbac.md", "k8s/serviceaccount.md"}


def test_json_search_keeps_stdout_pure_and_hints_on_stderr(runner: CliRunner) -> None:
    r = run(runner, "search", "토콘", "--json")  # a vowel off 토큰: suggested, not searched
    assert r.exit_code == 1 and json.loads(r.stdout) == []
    assert "did you mean: 토큰" in r.stderr
    r = run(runner, "search", "쿠버네티즈", "--json")  # one slip: searched as fixed, and said so
    assert r.exit_code == 0 and {h["path"] for h in json.loads(r.stdout)} >= {"k8s/rbac.md"}
    assert "showing results for 쿠버네티스" in r.stderr
