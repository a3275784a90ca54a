"""Issue 16 (low 1) and issue 16 (low 4, markup): what a note or a file name holds never
reaches the terminal as control sequences or Rich markup.

A note can hold ESC sequences (OSC 52 sets the clipboard, OSC 0 the window title,
``ESC[2K`` erases a line) and a file name can too. ``kb show --raw`` prints the file as
it is, by design; everything else strips them. Rich itself does not strip ESC.
"""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from kb.cli import app

OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"  # "rm -rf ~" into the clipboard
TITLE = "\x1b]0;pwned\x07"
ERASE = "\x1b[2K\r"
EVIL_NAME = "evil\x1b]0;x\x07name"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def settle() -> None:
    time.sleep(0.03)


def no_controls(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, repr(text)


def test_rename_dry_run_diff_strips_terminal_escapes(notebook_dir: Path) -> None:
    (notebook_dir / "hostile.md").write_text(
        f"# Hostile\n\n{OSC52}see [[k8s/rbac]] {TITLE}\n{ERASE}and [[k8s/rbac]] again\n"
    )
    settle()
    r = run("rename", "k8s/rbac", "k8s/rbac-2", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "+]52;c;cm0gLXJmIH4Ksee [[k8s/rbac-2]] ]0;pwned\n" in r.stdout  # the diff is there
    # with the escapes' text, not the escapes
    no_controls(r.stdout)
    no_controls(r.stderr)


def test_a_file_name_with_escapes_is_shown_without_them(notebook_dir: Path) -> None:
    (notebook_dir / f"{EVIL_NAME}.md").write_text("---\ntitle: [broken\n---\nlinks to [[k8s/rbac]]\n")
    settle()
    r = run("list")  # the sync warns about the bad frontmatter, naming the file
    assert r.exit_code == 0, r.output
    assert "evil?]0;x?name.md" in r.stderr
    no_controls(r.stderr + r.stdout)

    r = run("show", "evil", "--no-pager")
    assert r.exit_code == 0, r.output
    assert "evil?]0;x?name.md" in r.stdout  # the path row
    no_controls(r.stdout)

    r = run("index", "--rebuild")
    assert r.exit_code == 0, r.output
    no_controls(r.stdout + r.stderr)

    r = run("rename", "k8s/rbac", "k8s/rbac-2")  # the summary lists the files it rewrote
    assert r.exit_code == 0, r.output
    assert "evil?]0;x?name.md (1)" in r.stdout
    no_controls(r.stdout + r.stderr)

    r = run("rm", "evil", "--yes")
    assert r.exit_code == 0, r.output
    assert "to .trash/evil?]0;x?name.md" in r.stdout
    no_controls(r.stdout + r.stderr)
    assert (notebook_dir / ".trash" / f"{EVIL_NAME}.md").exists()


def test_an_error_naming_a_file_strips_escapes(tmp_path: Path) -> None:
    r = run("--dir", str(tmp_path / EVIL_NAME), "list")
    assert r.exit_code == 1
    assert f"notebook folder {tmp_path}/evil?]0;x?name does not exist" in r.stderr.replace("\n", "")
    no_controls(r.stderr)


def test_add_with_markup_in_the_slug_says_created(notebook_dir: Path) -> None:
    """`kb add --slug 'a[/b]'` wrote the note, then died on Rich markup (exit 1)."""
    r = run("add", "Markup", "--slug", "a[/b]", "--body", "x")
    assert r.exit_code == 0, r.output
    assert "Created a[/b]" in r.stdout
    assert (notebook_dir / "a[" / "b].md").exists()
    r = run("add", "Markup two", "--slug", "[bold]x[/bold]", "--body", "x")
    assert r.exit_code == 0, r.output
    assert "Created [bold]x[/bold]" in r.stdout


def test_a_slug_with_c1_controls_is_refused(notebook_dir: Path) -> None:
    r = run("add", "x", "--slug", "a\x9bb", "--body", "x")
    assert r.exit_code == 1
    assert "characters a file name cannot hold" in r.stderr
    assert not list(notebook_dir.glob("a*b.md"))


def test_a_did_you_mean_with_markup_in_the_query_is_printed(notebook_dir: Path) -> None:
    """The suggestion repeats the query: `[/x]` in it made a Rich MarkupError (exit 1)."""
    r = run("search", "--json", "a[/x]b 토콘")  # 토콘: suggested (토큰), not searched as fixed
    assert r.exit_code in (0, 1) and "MarkupError" not in r.output, r.output
    assert "did you mean:" in r.stderr and "a[/x]b 토큰" in r.stderr
    r = run("search", "--json", "a[/x]b kubernetis")  # searched as fixed, and said so
    assert r.exit_code in (0, 1) and "MarkupError" not in r.output, r.output
    assert "showing results for a[/x]b kubernetes" in r.stderr


def test_a_tag_filter_with_markup_is_named_in_plain_text(notebook_dir: Path) -> None:
    r = run("search", "--json", "파드", "--tag", "a[/b]")
    assert "MarkupError" not in r.output, r.output
    assert "no note has the tag 'a[/b]'" in r.stderr
