"""Issue 16 (low 3): an interrupted rename is finished by the next kb command; a save made
while kb rewrites a file is never lost; symlinked and hard-linked notes stay what they are.

Before: ``kill -9`` during a rename of a note with 3,000 backlinks left 2,581 links
broken and a ``.kb-*.tmp``, and running it again said "no note".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.errors import KbError
from kb.journal import JOURNAL_DIR, JOURNAL_NAME, finish_interrupted, journal_path
from kb.links import apply_rename, plan_rename
from kb.noterow import NoteRow
from kb.notes import iter_note_files, read_note


def docs_of(root: Path) -> list[NoteRow]:
    out = []
    for rel, _ in iter_note_files(root):
        note = read_note(root, rel)
        out.append(NoteRow.of(rel, slug=note.slug, title=note.title, links=note.links))
    return out


def make(root: Path, linking: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    # a title unlike the slug: a link left unrewritten is broken (not found by title)
    (root / "target.md").write_text("# Moving note\n\nthe note that moves\n")
    folder = root / "refs"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(linking):
        (folder / f"ref-{i:04d}.md").write_text(f"# Ref {i}\n\nsee [[target]] and [it](../target.md).\n")


def ref_texts(root: Path) -> list[str]:
    return [p.read_text() for p in sorted((root / "refs").glob("ref-*.md"))]


def temp_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob(".kb-*.tmp"))


def run(*args: str):
    return CliRunner().invoke(app, list(args))


# --------------------------------------------------------------------------- kill -9


@pytest.mark.slow
def test_kill_9_during_a_rename_of_a_note_with_3000_backlinks_is_finished_by_the_next_command(
    tmp_path: Path,
) -> None:
    root = tmp_path / "nb"
    root.mkdir()
    make(root, 3000)
    time.sleep(0.03)
    env = {k: v for k, v in os.environ.items() if k not in ("KB_DEBUG", "NO_COLOR")}
    env.update(KB_DIR=str(root), KB_INDEX_DIR=str(tmp_path / "ix"), KB_WATCH="0", COLUMNS="200")

    def kb(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kb", *args], env=env, capture_output=True, text=True,
                              timeout=300)

    assert kb("index").returncode == 0
    victim = subprocess.Popen([sys.executable, "-m", "kb", "rename", "target", "moved/target-2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # wait until it has moved the note and rewritten some, but not all, linking notes
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and victim.poll() is None:
            done = sum(1 for t in ref_texts(root) if "target-2" in t)
            if (root / "moved" / "target-2.md").exists() and done >= 200:
                break
            time.sleep(0.005)
        assert victim.poll() is None, "the rename ended before it could be killed"
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.communicate()
    texts = ref_texts(root)
    half = sum(1 for t in texts if "target-2" in t)
    assert 0 < half < 3000, half  # it really stopped half-way
    assert journal_path(root).exists()

    p = kb("list", "--json")  # any command finishes it, and says so
    assert p.returncode == 0, p.stderr
    assert "finished an interrupted rename of target -> moved/target-2" in p.stderr
    assert f"{half} had been done before it stopped" in p.stderr or f"{half + 1} had been" in p.stderr
    texts = ref_texts(root)
    # the bare wiki-link keeps its bare style (it names moved/target-2 by its end)
    assert all(t.endswith("see [[target-2]] and [it](../moved/target-2.md).\n") for t in texts)
    assert not (root / "target.md").exists()
    assert (root / "moved" / "target-2.md").read_text() == "# Moving note\n\nthe note that moves\n"
    assert not journal_path(root).exists() and not (root / JOURNAL_DIR).exists()
    assert temp_files(root) == []
    slugs = [row["slug"] for row in json.loads(p.stdout)]
    assert "moved/target-2" in slugs and "target" not in slugs
    p = kb("links", "moved/target-2", "--json")
    assert len(json.loads(p.stdout)["backlinks"]) == 3000
    p = kb("list", "--broken-links", "--json")
    assert json.loads(p.stdout) == []
    p = kb("list")  # said once
    assert "interrupted" not in p.stderr


# --------------------------------------------------------------------------- in-process interruptions


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make the rename stop (as a crash would) after ``n`` linking files; undo with
    :func:`_resume` (``monkeypatch.undo`` would also undo the notebook's settings)."""
    import kb.journal

    real = kb.journal._rewrite
    calls = {"n": 0}

    def rewrite(*args, **kwargs):
        if calls["n"] == n:
            raise KeyboardInterrupt
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(kb.journal, "_rewrite", rewrite)
    monkeypatch.setattr(kb.journal, "_real_rewrite", real, raising=False)


def _resume(monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.journal

    monkeypatch.setattr(kb.journal, "_rewrite", kb.journal._real_rewrite)


def test_a_file_edited_after_the_interruption_is_left_alone(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "nb"
    make(root, 5)
    plan = plan_rename(root, docs_of(root), "target", "target-2")
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        apply_rename(root, plan)
    _resume(monkeypatch)
    assert journal_path(root).exists()
    (root / "refs" / "ref-0003.md").write_text("my own edit [[target]]\n")
    outcome = finish_interrupted(root)
    assert outcome is not None
    assert outcome.warnings == [("refs/ref-0003.md", "changed during the rename; its links were not updated")]
    assert (root / "refs" / "ref-0003.md").read_text() == "my own edit [[target]]\n"
    assert (root / "refs" / "ref-0004.md").read_text().startswith("# Ref 4\n\nsee [[target-2]]")
    assert outcome.rewritten == ["refs/ref-0002.md", "refs/ref-0004.md"]
    assert outcome.done_before == 3  # the move and the first two files
    assert not journal_path(root).exists() and temp_files(root) == []


def test_the_next_cli_command_finishes_and_reports(notebook_dir: Path, monkeypatch) -> None:
    make(notebook_dir, 4)
    time.sleep(0.03)
    assert run("index").exit_code == 0
    _interrupt_after(monkeypatch, 1)
    r = run("rename", "target", "t2")
    assert r.exit_code == 130  # as Ctrl-C
    _resume(monkeypatch)
    r = run("search", "Ref", "--json")
    assert r.exit_code == 0
    assert "finished an interrupted rename of target -> t2 (rewrote 3 files, 2 had been done" in r.stderr
    assert all("[[t2]]" in p.read_text() for p in (notebook_dir / "refs").iterdir())


def test_a_rename_in_progress_is_not_finished_by_another_process(tmp_path: Path) -> None:
    """The running rename holds the journal's lock: another kb leaves it be."""
    import fcntl

    root = tmp_path / "nb"
    make(root, 2)
    folder = root / JOURNAL_DIR
    folder.mkdir()
    path = folder / JOURNAL_NAME
    path.write_text("{}")
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert finish_interrupted(root) is None
        assert path.read_text() == "{}"
        r = subprocess.run(
            [sys.executable, "-m", "kb", "--dir", str(root), "rename", "target", "t3"],
            env={**os.environ, "KB_INDEX_DIR": str(tmp_path / "ix"), "KB_WATCH": "0"},
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 1 and "another kb rename is running" in r.stderr
        assert (root / "target.md").exists()
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- a save during the rename


def test_a_save_between_read_and_replace_is_kept(tmp_path: Path, monkeypatch) -> None:
    """An editor saves ref-0001 after kb read it, while kb writes its new copy: kb must
    notice just before the replace and keep the save."""
    import kb.notes

    root = tmp_path / "nb"
    make(root, 3)
    plan = plan_rename(root, docs_of(root), "target", "target-2")
    real = kb.notes.fsynced_temp
    saved = "saved by the editor meanwhile [[target]]\n"

    def temp_then_save(folder, data, mode, prefix=".kb-"):
        tmp = real(folder, data, mode, prefix)
        if b"Ref 1\n" in data:
            (root / "refs" / "ref-0001.md").write_text(saved)
        return tmp

    monkeypatch.setattr(kb.notes, "fsynced_temp", temp_then_save)
    warnings = apply_rename(root, plan)
    assert (root / "refs" / "ref-0001.md").read_text() == saved
    assert warnings == [("refs/ref-0001.md", "changed during the rename; its links were not updated")]
    assert "[[target-2]]" in (root / "refs" / "ref-0002.md").read_text()
    assert temp_files(root) == []


# --------------------------------------------------------------------------- links stay links


def test_a_symlinked_linking_note_stays_a_symlink(tmp_path: Path) -> None:
    """A second name of a note: the note is rewritten under its own name (its relative
    links are its folder's); the symlink is left a symlink."""
    root = tmp_path / "nb"
    make(root, 1)
    (root / "alias.md").symlink_to("refs/ref-0000.md")
    docs = docs_of(root)
    assert {d.slug for d in docs} >= {"alias", "refs/ref-0000"}
    warnings = apply_rename(root, plan_rename(root, docs, "target", "target-2"))
    assert warnings == []
    assert (root / "alias.md").is_symlink() and os.readlink(root / "alias.md") == "refs/ref-0000.md"
    assert (root / "refs" / "ref-0000.md").read_text().endswith(
        "see [[target-2]] and [it](../target-2.md).\n"
    )


def test_a_symlink_to_a_file_kb_does_not_index_is_written_through(tmp_path: Path) -> None:
    root = tmp_path / "nb"
    make(root, 0)
    (root / ".drafts").mkdir()
    (root / ".drafts" / "real.md").write_text("# Draft\n\n[[target]]\n")
    (root / "draft.md").symlink_to(".drafts/real.md")
    warnings = apply_rename(root, plan_rename(root, docs_of(root), "target", "target-2"))
    assert warnings == []
    assert (root / "draft.md").is_symlink()
    assert (root / ".drafts" / "real.md").read_text() == "# Draft\n\n[[target-2]]\n"


def test_a_hard_linked_linking_note_keeps_its_links_and_is_left_as_it_is(tmp_path: Path) -> None:
    root = tmp_path / "nb"
    make(root, 2)
    os.link(root / "refs" / "ref-0000.md", root / "twin.md")
    before = (root / "twin.md").read_text()
    warnings = apply_rename(root, plan_rename(root, docs_of(root), "target", "target-2"))
    assert os.path.samefile(root / "twin.md", root / "refs" / "ref-0000.md")
    assert (root / "twin.md").read_text() == before
    assert sorted(p for p, _ in warnings) == ["refs/ref-0000.md", "twin.md"]
    assert all("hard links" in m for _, m in warnings)
    assert "[[target-2]]" in (root / "refs" / "ref-0001.md").read_text()


def test_renaming_a_symlinked_note_is_refused(notebook_dir: Path) -> None:
    (notebook_dir / "real.md").write_text("# Real\n")
    (notebook_dir / "link.md").symlink_to("real.md")
    time.sleep(0.03)
    r = run("rename", "link", "elsewhere/link")
    assert r.exit_code == 1
    assert "link.md is a symbolic link (to real.md); rename the file it points to" in r.stderr
    assert (notebook_dir / "link.md").is_symlink() and not (notebook_dir / "elsewhere").exists()


BAD_TYPES = {"path": 1, "old_path": "b.md", "before": "", "after": "", "edits": []}


@pytest.mark.parametrize("changes", [[], [{"path": "a.md"}], ["a.md"], [BAD_TYPES]])
def test_a_malformed_journal_is_set_aside_with_one_line(tmp_path: Path, changes: list) -> None:
    """A journal kb cannot read (hand-edited, another kb's) is moved aside with a message
    naming it; nothing is moved, and the next command is not stuck on it."""
    root = tmp_path / "nb"
    make(root, 1)
    path = journal_path(root)
    path.parent.mkdir()
    path.write_text(json.dumps({"version": 1, "token": "t", "old_slug": "a", "new_slug": "b",
                                "changes": changes}))
    with pytest.raises(KbError, match="cannot read the rename journal"):
        finish_interrupted(root)
    assert not path.exists() and path.with_name(JOURNAL_NAME + ".unreadable").exists()
    assert finish_interrupted(root) is None
