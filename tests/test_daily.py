"""The daily-use commands through CliRunner: edit, links, rename/mv, rm, completion,
show (backlinks, paging, code), list --since/--before/--orphans/--broken-links, recent, stats."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "links"


@pytest.fixture
def nb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the links fixture notebook as KB_DIR, with its own empty index folder."""
    root = tmp_path / "links"
    shutil.copytree(FIXTURE, root)
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "links-index"))
    for var in ("VISUAL", "EDITOR", "PAGER", "MANPAGER", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    return root


def run(runner: CliRunner, *args: str, input: str | None = None, **kw):
    return runner.invoke(app, list(args), input=input, **kw)


def ok(runner: CliRunner, *args: str, input: str | None = None):
    r = run(runner, *args, input=input)
    assert r.exit_code == 0, (r.stdout, r.stderr)
    return r


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def indexed(root: Path) -> dict[str, dict]:
    """The index's stored notes as they are, without syncing first."""
    from kb.config import find_notebook
    from kb.index.sync import open_index, stored_notes

    ix, _ = open_index(find_notebook(root), sync=False)
    return {d.slug: d for d in stored_notes(ix)}


def editor(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-editor"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


# --------------------------------------------------------------------------- edit


def test_edit_runs_the_editor_with_arguments_and_reindexes(
    runner: CliRunner, nb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Like `code -w`: an editor command with an argument; the file is the last argument.
    script = editor(tmp_path, 'for last; do :; done\nprintf "\\nSee [[lonely]].\\n" >> "$last"\n')
    monkeypatch.setenv("EDITOR", f"{script} -w")
    ok(runner, "index")
    r = ok(runner, "edit", "home")
    assert r.stdout.strip() == "Saved home"
    assert (nb / "home.md").read_text().endswith("See [[lonely]].\n")
    # read the index without syncing: edit itself re-indexed the note
    assert "lonely" in indexed(nb)["home"].links
    data = json.loads(ok(runner, "links", "lonely", "--json").stdout)
    assert [b["slug"] for b in data["backlinks"]] == ["home"]


def test_edit_visual_wins_and_unchanged_is_reported(
    runner: CliRunner, nb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISUAL", "true")
    monkeypatch.setenv("EDITOR", "/nonexistent/editor")
    r = ok(runner, "edit", "k8s/rbac")
    assert r.stdout.strip() == "No changes to k8s/rbac"


def test_edit_errors_are_one_line(runner: CliRunner, nb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", "/nonexistent/editor --wait")
    r = run(runner, "edit", "home")
    assert r.exit_code == 1
    assert (
        r.stderr
        == "Error: cannot start editor '/nonexistent/editor': No such file or directory; set $EDITOR\n"
    )
    monkeypatch.setenv("EDITOR", "false")
    r = run(runner, "edit", "home")
    assert r.exit_code == 1
    assert r.stderr == "Error: editor 'false' exited with status 1; the note is re-indexed as it is on disk\n"
    r = run(runner, "edit", "no-such-note")
    assert r.exit_code == 1 and r.stderr.startswith("Error: no note 'no-such-note'")


# --------------------------------------------------------------------------- links


def test_links_text(runner: CliRunner, nb: Path) -> None:
    r = ok(runner, "links", "home")
    lines = [line.rstrip() for line in r.stdout.splitlines()]
    assert lines == [
        "Home  home",
        "Links to (7, 2 broken)",
        "  → k8s/rbac  RBAC Guide",
        "  → k8s/pod-basics  Pod Basics",
        "  → k8s/rbac  RBAC Guide",
        "  → k8s/serviceaccount  ServiceAccount",
        "  ✗ nowhere  broken: no such note",
        "  ✗ notes  broken: ambiguous: team-a/notes, team-b/notes",
        "  → wiki/index  Wiki",
        "Linked from (1)",
        "  ← k8s/rbac  RBAC Guide",
    ]


def test_links_json_and_backlinks(runner: CliRunner, nb: Path) -> None:
    data = json.loads(ok(runner, "links", "RBAC Guide", "--json").stdout)
    assert data["slug"] == "k8s/rbac" and data["title"] == "RBAC Guide"
    assert [(o["target"], o["slug"], o["broken"]) for o in data["outgoing"]] == [
        ("home", "home", False),
        ("rbac", "k8s/rbac", False),
        ("k8s/serviceaccount", "k8s/serviceaccount", False),
    ]
    assert data["backlinks"] == [
        {"slug": "home", "title": "Home"},
        {"slug": "k8s/serviceaccount", "title": "ServiceAccount"},
    ]


def test_links_of_the_wiki_style_notes(runner: CliRunner, nb: Path) -> None:
    data = json.loads(ok(runner, "links", "wiki/index", "--json").stdout)
    assert [(o["target"], o["slug"]) for o in data["outgoing"]] == [
        ("/vim/surround", "wiki/vim/surround"),
        ("vim", "wiki/vim"),
        ("/missing/page", None),
    ]


# --------------------------------------------------------------------------- rename / mv


def test_rename_dry_run_prints_a_diff_and_changes_nothing(runner: CliRunner, nb: Path) -> None:
    ok(runner, "index")
    before = snapshot(nb)
    r = ok(runner, "rename", "k8s/rbac", "security/rbac-guide", "--dry-run")
    assert snapshot(nb) == before
    assert "--- a/k8s/rbac.md\n+++ b/security/rbac-guide.md\n" in r.stdout
    assert "--- a/home.md\n+++ b/home.md\n" in r.stdout
    assert (
        "\n-Start with [[k8s/rbac]], then [[Pod Basics]] by its title, the [[RBAC Guide|guide]]" in r.stdout
    )
    assert "\n+Start with [[security/rbac-guide]], then [[Pod Basics]] by its title" in r.stdout
    assert "\n+서비스어카운트는 [the guide](../security/rbac-guide.md#roles)를 보라. #k8s\n" in r.stdout
    assert r.stderr == (
        "dry run: would move k8s/rbac -> security/rbac-guide and rewrite 2 links in 2 other notes "
        "and 2 in the note itself\n"
    )
    assert "k8s/rbac" in indexed(nb) and "security/rbac-guide" not in indexed(nb)


def test_rename_moves_rewrites_and_reindexes(runner: CliRunner, nb: Path) -> None:
    r = ok(runner, "rename", "k8s/rbac", "security/rbac-guide")
    assert r.stdout.splitlines() == [
        "Renamed k8s/rbac -> security/rbac-guide; rewrote 2 links in 2 other notes and 2 in the note itself",
        "  home.md (1)",
        "  k8s/serviceaccount.md (1)",
    ]
    assert not (nb / "k8s" / "rbac.md").exists() and (nb / "security" / "rbac-guide.md").exists()
    # read the index without syncing: rename itself re-indexed
    docs = indexed(nb)
    assert "k8s/rbac" not in docs and docs["home"].links[0] == "security/rbac-guide"
    data = json.loads(ok(runner, "links", "security/rbac-guide", "--json").stdout)
    assert [b["slug"] for b in data["backlinks"]] == ["home", "k8s/serviceaccount"]
    broken = json.loads(ok(runner, "list", "--broken-links", "--json").stdout)
    assert [b["target"] for b in broken] == ["nowhere", "notes", "/missing/page"]


def test_mv_into_a_folder_keeps_the_name(runner: CliRunner, nb: Path) -> None:
    ok(runner, "mv", "lonely", "archive/")
    assert (nb / "archive" / "lonely.md").exists() and not (nb / "lonely.md").exists()


def test_rename_never_clobbers(runner: CliRunner, nb: Path) -> None:
    before = snapshot(nb)
    r = run(runner, "rename", "k8s/rbac", "home")
    assert r.exit_code == 1
    assert r.stderr == "Error: home already exists; kb never overwrites a note (pick another name)\n"
    assert snapshot(nb) == before


@pytest.mark.parametrize("new", ["../outside", "/tmp/abs", "a/../../b", ".hidden/x"])
def test_rename_refuses_paths_outside_the_notebook(runner: CliRunner, nb: Path, new: str) -> None:
    before = snapshot(nb)
    r = run(runner, "rename", "lonely", new)
    assert r.exit_code == 1 and r.stderr.startswith("Error: ") and "Traceback" not in r.output
    assert snapshot(nb) == before
    assert not (nb.parent / "outside.md").exists()


def test_rename_to_the_same_name(runner: CliRunner, nb: Path) -> None:
    r = run(runner, "rename", "lonely", "lonely.md")
    assert r.exit_code == 1 and r.stderr == "Error: lonely already has that name\n"


# --------------------------------------------------------------------------- rm


def test_rm_moves_to_trash_and_links_show_as_broken(runner: CliRunner, nb: Path) -> None:
    original = (nb / "k8s" / "rbac.md").read_bytes()
    r = ok(runner, "rm", "k8s/rbac", "--yes")
    assert r.stdout.splitlines() == [
        "Moved k8s/rbac to .trash/k8s/rbac.md",
        "2 notes still link to it: home, k8s/serviceaccount (see `kb list --broken-links`)",
    ]
    assert not (nb / "k8s" / "rbac.md").exists()
    assert (nb / ".trash" / "k8s" / "rbac.md").read_bytes() == original
    broken = json.loads(ok(runner, "list", "--broken-links", "--json").stdout)
    assert [(b["source"], b["target"]) for b in broken] == [
        ("home", "k8s/rbac"),
        ("home", "RBAC Guide"),
        ("home", "nowhere"),
        ("home", "notes"),
        ("k8s/serviceaccount", "k8s/rbac"),
        ("wiki/index", "/missing/page"),
    ]
    # the trash is hidden: not listed, not searchable
    slugs = [n["slug"] for n in json.loads(ok(runner, "list", "--json").stdout)]
    assert "k8s/rbac" not in slugs and not any(s.startswith(".trash") for s in slugs)


def test_rm_asks_first(runner: CliRunner, nb: Path) -> None:
    r = run(runner, "rm", "lonely", input="n\n")
    assert r.exit_code == 1 and (nb / "lonely.md").exists()
    assert "Move lonely (Lonely) to .trash/?" in r.stdout
    r = run(runner, "rm", "lonely")  # no answer at all (stdin closed) is a no
    assert r.exit_code == 1 and (nb / "lonely.md").exists()
    r = run(runner, "rm", "k8s/pod-basics", input="y\n")
    assert r.exit_code == 0 and "1 note links to it." in r.stdout
    assert (nb / ".trash" / "k8s" / "pod-basics.md").exists()


def test_rm_never_overwrites_the_trash_and_tidies_empty_folders(runner: CliRunner, nb: Path) -> None:
    ok(runner, "rm", "team-a/notes", "--yes")
    assert not (nb / "team-a").exists()
    (nb / "team-a").mkdir()
    (nb / "team-a" / "notes.md").write_text("# Team A, second life\n")
    r = ok(runner, "rm", "team-a/notes", "--yes")
    trashed = sorted(p.name for p in (nb / ".trash" / "team-a").iterdir())
    assert len(trashed) == 2 and trashed[1] == "notes.md"
    assert re.fullmatch(r"notes\.\d{8}-\d{6}\.md", trashed[0])
    assert (nb / ".trash" / "team-a" / "notes.md").read_text() == "# Team A notes\n"
    assert (nb / ".trash" / "team-a" / trashed[0]).read_text() == "# Team A, second life\n"
    assert f"to .trash/team-a/{trashed[0]}" in r.stdout


# --------------------------------------------------------------------------- completion


def complete(runner: CliRunner, line: str) -> list[str]:
    words = line.split(" ")
    env = {"_KB_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    r = runner.invoke(app, [], env=env, prog_name="kb")
    assert r.exit_code == 0, r.output
    return r.stdout.split()


def test_completion_of_slugs_and_tags(runner: CliRunner, nb: Path) -> None:
    ok(runner, "index")
    assert complete(runner, "kb show k8s/") == ["k8s/pod-basics", "k8s/rbac", "k8s/serviceaccount"]
    assert complete(runner, "kb rename wiki/v") == ["wiki/vim", "wiki/vim/surround"]
    for command in ("edit", "links", "rm", "mv"):
        assert complete(runner, f"kb {command} lo") == ["lonely"]
    assert complete(runner, "kb list --tag k") == ["k8s"]
    assert complete(runner, "kb search x -t s") == ["security", "start"]
    assert complete(runner, "kb tags ") == ["k8s", "security", "start"]


def test_completion_never_builds_or_syncs_the_index(runner: CliRunner, nb: Path, tmp_path: Path) -> None:
    assert complete(runner, "kb show k8s/") == []
    assert not (tmp_path / "links-index").exists()
    ok(runner, "index")
    index_before = snapshot(tmp_path / "links-index")
    (nb / "k8s" / "new-note.md").write_text("# New\n")
    assert "k8s/new-note" not in complete(runner, "kb show k8s/")
    assert snapshot(tmp_path / "links-index") == index_before
    assert complete(runner, "kb --dir /nonexistent show k") == []


# --------------------------------------------------------------------------- show


def test_show_lists_backlinks(runner: CliRunner, nb: Path) -> None:
    r = ok(runner, "show", "k8s/rbac")
    lines = [line.rstrip() for line in r.stdout.splitlines()]
    at = lines.index("Linked from (2)")  # then the related notes may follow
    expected = ["Linked from (2)", "  ← home  Home", "  ← k8s/serviceaccount  ServiceAccount"]
    assert lines[at : at + 3] == expected
    data = json.loads(ok(runner, "show", "k8s/rbac", "--json").stdout)
    assert data["backlinks"] == ["home", "k8s/serviceaccount"]
    assert "Linked from" not in ok(runner, "show", "lonely").stdout


def test_show_renders_links_readably_but_not_in_code(runner: CliRunner, nb: Path) -> None:
    out = ok(runner, "show", "home").stdout
    assert "Start with RBAC Guide, then Pod Basics by its title, the guide by its title," in out
    assert "the SA note by file name" in out and "A missing note: nowhere." in out
    assert '[[ -f x ]] && echo "[[k8s/rbac]]"' in out
    assert "Code is not a link: [[k8s/rbac]] and" in out


def test_show_highlights_code(runner: CliRunner, nb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = ok(runner, "show", "home", "--no-pager").stdout
    code_line = next(line for line in out.splitlines() if "-f" in line and "echo" in line)
    # Pygments colours the shell snippet: several different foreground colours on one line
    colours = {
        p
        for params in re.findall(r"\x1b\[([0-9;]*)m", code_line)
        for p in params.split(";")
        if p and (30 <= int(p) <= 37 or 90 <= int(p) <= 97)
    }
    assert len(colours) >= 3, repr(code_line)


@pytest.fixture
def pager_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import pydoc

    calls: list[str] = []
    monkeypatch.setattr(pydoc, "pager", lambda text, *a, **k: calls.append(text))
    return calls


def terminal(monkeypatch: pytest.MonkeyPatch, height: int = 20) -> None:
    from rich.console import Console

    from kb.commands import common

    monkeypatch.setattr(common, "stdout", lambda: Console(force_terminal=True, width=80, height=height))


def test_show_pages_long_notes_on_a_terminal(
    runner: CliRunner, nb: Path, monkeypatch: pytest.MonkeyPatch, pager_calls: list[str]
) -> None:
    (nb / "long.md").write_text("# Long\n\n" + "".join(f"line {i}\n\n" for i in range(60)))
    ok(runner, "show", "long")  # stdout is not a terminal: never page
    assert pager_calls == []
    terminal(monkeypatch)
    ok(runner, "show", "long")
    assert len(pager_calls) == 1 and "line 59" in pager_calls[0]
    ok(runner, "show", "long", "--no-pager")
    ok(runner, "show", "lonely")  # fits on the screen
    assert len(pager_calls) == 1


# --------------------------------------------------------------------------- list, recent


def set_mtimes(root: Path, newest: dict[str, float]) -> None:
    old = dt.datetime(2020, 1, 1).timestamp()
    for path in root.rglob("*.md"):
        os.utime(path, (old, old))
    now = time.time()
    for rel, days_ago in newest.items():
        t = now - days_ago * 86400
        os.utime(root / rel, (t, t))


def slugs(runner: CliRunner, *args: str) -> list[str]:
    r = run(runner, *args, "--json")
    found = [n["slug"] for n in json.loads(r.stdout)]
    assert r.exit_code == (0 if found else 1), (r.stdout, r.stderr)  # as grep: 1 when none
    return found


def test_list_since_and_before(runner: CliRunner, nb: Path) -> None:
    # home is dated 2024-01-10 and k8s/rbac 2023-06-01 in their frontmatter; the
    # others go by modification time: lonely 2 days ago, the rest 2020-01-01.
    set_mtimes(nb, {"lonely.md": 2})
    assert slugs(runner, "list", "--since", "7d") == ["lonely"]
    assert slugs(runner, "list", "--since", "1w") == ["lonely"]
    assert slugs(runner, "list", "--since", "72h") == ["lonely"]
    assert slugs(runner, "list", "--since", "36h") == []
    assert slugs(runner, "list", "--since", "2024-01-01") == ["lonely", "home"]
    assert slugs(runner, "list", "--since", "2023-01-01", "--before", "2024-01-01") == ["k8s/rbac"]
    before = slugs(runner, "list", "--before", "2024-01-01")
    assert len(before) == 8 and "home" not in before and "lonely" not in before
    assert slugs(runner, "list", "--before", "1m", "--since", "2023-01-01") == ["home", "k8s/rbac"]


def test_list_since_bad_value_is_a_usage_error(runner: CliRunner, nb: Path) -> None:
    r = run(runner, "list", "--since", "soon")
    assert r.exit_code == 2 and "cannot read 'soon' as a time" in r.stderr


def test_list_orphans_and_broken_links(runner: CliRunner, nb: Path) -> None:
    assert slugs(runner, "list", "--orphans", "--sort", "title") == ["lonely", "team-a/notes", "team-b/notes"]
    r = ok(runner, "list", "--broken-links")
    rows = [line.split("\t") for line in r.stdout.splitlines()]  # piped: tab-separated, no header
    assert len(rows) == 3
    assert rows[0][:2] == ["home", "[[nowhere]]"] and rows[0][2].startswith("no such note")
    assert rows[1] == ["home", "[[notes]]", "ambiguous: team-a/notes, team-b/notes"]
    assert rows[2][:2] == ["wiki/index", "[[/missing/page]]"]
    r = run(runner, "list", "--broken-links", env={"FORCE_COLOR": "1", "COLUMNS": "120"})
    assert "3 broken links in 2 notes" in r.stdout  # on a terminal: a table with its caption
    broken = json.loads(ok(runner, "list", "--broken-links", "--tag", "start", "--json").stdout)
    assert broken == [
        {"source": "home", "target": "nowhere", "reason": "no such note"},
        {"source": "home", "target": "notes", "reason": "ambiguous: team-a/notes, team-b/notes"},
    ]


def test_recent(runner: CliRunner, nb: Path) -> None:
    set_mtimes(nb, {"lonely.md": 1, "wiki/vim.md": 2, "k8s/rbac.md": 3})
    assert slugs(runner, "recent", "-n", "3") == ["lonely", "wiki/vim", "k8s/rbac"]
    assert len(slugs(runner, "recent")) == 10
    rows = json.loads(ok(runner, "recent", "-n", "1", "--json").stdout)
    assert set(rows[0]) == {"slug", "title", "path", "tags", "modified"}
    assert dt.datetime.fromisoformat(rows[0]["modified"]).date() == (dt.date.today() - dt.timedelta(days=1))
    r = ok(runner, "recent", "-n", "2")
    assert [line.split()[2] for line in r.stdout.splitlines()[1:]] == ["lonely", "wiki/vim"]


# --------------------------------------------------------------------------- stats


def test_stats(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "small"
    root.mkdir()
    (root / "a.md").write_text(
        "---\ntitle: A\ntags: [x, y]\n---\n가나다 라마 abc [[b]] [[zzz]]\n\n"
        '```python\nprint("code is left out")\n```\n'
    )
    (root / "b.md").write_text("# B\n\nhello #y\n")
    monkeypatch.setenv("KB_DIR", str(root))
    data = json.loads(ok(runner, "stats", "--json").stdout)
    assert data == {
        "notes": 2,
        "words": 15,
        "tags": 2,
        "links": 2,
        "broken_links": 1,
        "orphans": 0,
        "hangul_syllables": 5,
        "latin_letters": 14,
        "korean_share": round(5 / 19, 4),
        "english_share": round(14 / 19, 4),
        "largest": [
            {"slug": "a", "title": "A", "words": 11, "bytes": (root / "a.md").stat().st_size},
            {"slug": "b", "title": "B", "words": 4, "bytes": (root / "b.md").stat().st_size},
        ],
    }
    out = ok(runner, "stats", "--top", "1").stdout
    assert re.search(r"links\s+2\s+1 broken", out)
    assert re.search(r"Korean / English\s+26% / 74%", out)
    assert re.search(r"\na\s+A\s+11\n", out) and "\nb " not in out


def test_stats_on_the_links_fixture(runner: CliRunner, nb: Path) -> None:
    data = json.loads(ok(runner, "stats", "--json").stdout)
    assert (data["notes"], data["links"], data["broken_links"], data["orphans"]) == (10, 17, 3, 3)
