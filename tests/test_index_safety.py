"""Issue 16 (index side) and issue 15 point 5: kb deletes nothing it did not make, keeps
its index private and apart from the notes, answers for the right notebook, answers
during a rebuild, and says when it builds the index.

Each test here failed on the code before the fix (see the issue's closing note).
"""

from __future__ import annotations

import json
import marshal
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.config import Notebook, find_notebook
from kb.index import catalog
from kb.index.sync import sync_index

# Names new with these fixes are imported where used: on the code before them, each
# test fails on its own finding rather than the whole file on an import.
STAMP = "CACHEDIR.TAG"

ROOT = os.geteuid() == 0

# kb with every note read slowly (SECONDS a note), so a build lasts long enough to watch.
SLOW = (
    "import sys, time\n"
    "import kb.index.sync as index\n"
    "real, delay = index.read_note, float(sys.argv[1])\n"
    "def slow(*args, **kwargs):\n"
    "    time.sleep(delay)\n"
    "    return real(*args, **kwargs)\n"
    "index.read_note = slow\n"
    "from kb.cli import run\n"
    "sys.argv = ['kb', *sys.argv[2:]]\n"
    "run()\n"
)


def kb(*args: str, env: dict[str, str] | None = None, umask: int = 0o022) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args], env=env or dict(os.environ), capture_output=True, text=True,
        timeout=120, preexec_fn=lambda: os.umask(umask),
    )


def slow_kb(seconds: float, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW, str(seconds), *args], env=dict(os.environ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def one_line_error(r: subprocess.CompletedProcess, folder: Path) -> str:
    """The run failed with one line on stderr naming ``folder``, and no traceback."""
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("Error: ") and str(folder) in lines[0], lines[0]
    return lines[0]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------- High: never delete a folder kb did not make


def test_the_notebook_as_index_dir_deletes_nothing(notebook_dir: Path) -> None:
    before = tree(notebook_dir)
    r = kb("--dir", str(notebook_dir), "search", "a", env={**os.environ, "KB_INDEX_DIR": str(notebook_dir)})
    assert "is the notebook itself" in one_line_error(r, notebook_dir)
    assert tree(notebook_dir) == before


def test_dot_as_index_dir_deletes_nothing(notebook_dir: Path, tmp_path: Path) -> None:
    """``KB_INDEX_DIR=.`` run from the folder that holds the notebook (and other files)."""
    (tmp_path / "todo.txt").write_text("keep me")
    before = tree(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "kb", "--dir", "notebook", "search", "a"], cwd=tmp_path,
        env={**os.environ, "KB_INDEX_DIR": "."}, capture_output=True, text=True, timeout=120,
    )
    assert "contains the notebook" in one_line_error(r, tmp_path)
    assert tree(tmp_path) == before


def test_an_index_dir_inside_the_notebook_is_refused(notebook_dir: Path) -> None:
    inside = notebook_dir / ".kb-index"
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(inside)})
    assert "inside the notebook" in one_line_error(r, inside)
    assert not inside.exists()


def test_a_folder_with_files_in_it_is_never_used(tmp_path: Path) -> None:
    important = tmp_path / "important"
    (important / "sub").mkdir(parents=True)
    (important / "thesis.tex").write_text("years of work")
    (important / "sub" / "data.csv").write_text("1,2,3")
    before = tree(important)
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(important)})
    assert "not empty and is not a kb index" in one_line_error(r, important)
    assert tree(important) == before


def test_another_programs_whoosh_index_is_not_taken_over(tmp_path: Path) -> None:
    """Files named like Whoosh's, but no manifest of kb's: not kb's, so not touched."""
    other = tmp_path / "their-index"
    other.mkdir()
    (other / "_MAIN_3.toc").write_bytes(b"their table of contents")
    (other / "MAIN_abc123.seg").write_bytes(b"their segment")
    before = tree(other)
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(other)})
    one_line_error(r, other)
    assert tree(other) == before


def test_an_empty_folder_becomes_kbs(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = kb("search", "정족수", env={**os.environ, "KB_INDEX_DIR": str(empty)})
    assert r.returncode == 0, r.stderr
    assert "broken" in r.stdout
    assert (empty / STAMP).read_bytes().startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n")


def test_a_kb_index_from_before_the_stamp_is_adopted(nb: Notebook) -> None:
    sync_index(nb)
    (nb.index_dir / STAMP).unlink()  # as an older kb left it
    before = set(os.listdir(nb.index_dir))
    r = kb("search", "정족수")
    assert r.returncode == 0, r.stderr
    assert "building the index" not in r.stderr  # used as it is, not rebuilt
    assert (nb.index_dir / STAMP).exists()
    assert set(os.listdir(nb.index_dir)) - {"last-search.bin"} == before | {STAMP}  # nothing removed


def test_a_kb_index_with_a_stranger_in_it_is_not_adopted(nb: Notebook) -> None:
    sync_index(nb)
    (nb.index_dir / STAMP).unlink()
    (nb.index_dir / "notes-backup.md").write_text("mine")
    r = kb("search", "정족수")
    one_line_error(r, nb.index_dir)
    assert (nb.index_dir / "notes-backup.md").read_text() == "mine"


def test_a_rebuild_removes_only_kbs_own_files(nb: Notebook) -> None:
    sync_index(nb)
    (nb.index_dir / "README").write_text("a file kb did not make")
    (nb.index_dir / "manifest.bin").write_bytes(b"garbage")  # a rebuild from scratch follows
    r = kb("search", "정족수")
    assert r.returncode == 0, r.stderr
    assert (nb.index_dir / "README").read_text() == "a file kb did not make"
    assert (nb.index_dir / STAMP).exists()


def test_kb_names_cover_every_file_kb_writes(nb: Notebook) -> None:
    """What an index folder holds after kb used it (with two writers and a watcher state):
    every name is one kb knows as its own, so a rebuild can clear it and nothing else."""
    from kb import watch
    from kb.config import STAMP as stamp
    from kb.config import is_kb_name

    assert stamp == STAMP

    sync_index(nb, rebuild=True, procs=2)
    watch.save_state(nb.index_dir, nb.root, "token", 1, 8)
    assert CliRunner().invoke(app, ["search", "정족수"]).exit_code == 0  # remembers its hits there
    assert CliRunner().invoke(app, ["grep", "정족수"]).exit_code == 0  # keeps its word index there
    names = os.listdir(nb.index_dir)
    assert {"last-search.bin", "grep.bin"} <= set(names)
    assert [n for n in names if not is_kb_name(n)] == []
    for name in ("grep.bin.1234.tmp", "grep.bin.k3_x9abc.tmp", "watch.state.77.tmp", "_MAIN_3.toc.17.5"):
        assert is_kb_name(name), name
    for name in ("README", "notes.md", "manifest.bin.bak", "grep.bin.abcdefgh", ".git", "MAIN_"):
        assert not is_kb_name(name), name


# ---------------------------------------- Medium 1: an index folder in a shared place


def test_a_symlink_as_index_dir_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.mkdir()
    (target / "file.txt").write_text("keep")
    link = tmp_path / "shared-index"
    link.symlink_to(target)
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(link)})
    assert "symbolic link" in one_line_error(r, link)
    assert tree(target) == {"file.txt": b"keep"}


def test_a_symlink_to_an_empty_folder_is_refused_too(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    link = tmp_path / "shared-index"
    link.symlink_to(target)
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(link)})
    one_line_error(r, link)
    assert os.listdir(target) == []


@pytest.mark.skipif(not ROOT, reason="needs root to make a folder of another user")
def test_an_index_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(theirs)})
    assert "another user" in one_line_error(r, theirs)
    assert os.listdir(theirs) == []


def _evil_toc(folder: Path, marker: Path) -> None:
    """A Whoosh table of contents whose schema, unpickled, creates ``marker``."""
    from whoosh.fields import Schema
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    class Evil(Schema):
        def __reduce__(self):  # type: ignore[override]
            return (open, (str(marker), "w"))

    TOC(Evil(), [], 1).write(FileStorage(str(folder)), "MAIN")


def test_a_planted_pickle_in_a_shared_index_dir_is_never_loaded(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # like a folder in /tmp others can write to
    marker = tmp_path / "code-ran"
    _evil_toc(shared, marker)
    assert (shared / "_MAIN_1.toc").exists()
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(shared)})
    assert "can be written by other users" in one_line_error(r, shared)
    assert not marker.exists()


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_an_index_dir_others_can_write_is_refused(tmp_path: Path, mode: int, monkeypatch) -> None:
    import kb.config as config

    monkeypatch.setattr(config, "_private_group", lambda gid, uid: False)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    monkeypatch.setenv("KB_INDEX_DIR", str(shared))
    from kb.errors import UnsafeIndexDir

    with pytest.raises(UnsafeIndexDir, match="can be written by other users"):
        find_notebook()
    assert os.listdir(shared) == []


def test_a_group_writable_folder_of_a_private_group_is_used(tmp_path: Path, monkeypatch) -> None:
    """Group-writable is fine when the group is this user alone (OpenSSH's rule); kb then
    makes its folder 0700."""
    import kb.config as config

    monkeypatch.setattr(config, "_private_group", lambda gid, uid: True)
    folder = tmp_path / "upg"
    folder.mkdir()
    os.chmod(folder, 0o775)
    monkeypatch.setenv("KB_INDEX_DIR", str(folder))
    nb = find_notebook()
    assert nb.index_dir == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# ----------------------------------------------------------------- Medium 2: the index is private


def _modes(folder: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(folder.stat().st_mode)}
    for p in folder.rglob("*"):
        out[str(p.relative_to(folder))] = stat.S_IMODE(p.lstat().st_mode)
    return out


def test_index_files_are_private_under_a_lax_umask(tmp_path: Path) -> None:
    r = kb("index", umask=0o022)
    assert r.returncode == 0, r.stderr
    r = kb("stats", umask=0o022)  # counts written by a read-only command too
    assert r.returncode == 0, r.stderr
    modes = _modes(tmp_path / "index")
    assert modes["."] == 0o700
    assert {name: m for name, m in modes.items() if m & 0o077} == {}


def test_an_index_dir_made_by_an_older_kb_becomes_private(nb: Notebook) -> None:
    sync_index(nb)
    os.chmod(nb.index_dir, 0o755)
    find_notebook()
    assert stat.S_IMODE(nb.index_dir.stat().st_mode) == 0o700


def test_a_missing_cache_folder_is_created_private(tmp_path: Path) -> None:
    cache = tmp_path / "new-cache"
    env = {k: v for k, v in os.environ.items() if k != "KB_INDEX_DIR"}
    env["XDG_CACHE_HOME"] = str(cache)
    r = kb("search", "정족수", env=env, umask=0o022)
    assert r.returncode == 0, r.stderr
    (index_dir,) = (cache / "kb").iterdir()
    for folder in (cache, cache / "kb", index_dir):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_an_existing_cache_folder_is_left_as_it_is(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    os.chmod(cache, 0o755)
    env = {k: v for k, v in os.environ.items() if k != "KB_INDEX_DIR"}
    env["XDG_CACHE_HOME"] = str(cache)
    r = kb("search", "정족수", env=env, umask=0o022)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755
    assert stat.S_IMODE((cache / "kb").stat().st_mode) == 0o700


# ---------------------------------------- Medium 5: every side file names its notebook


def _other(nb: Notebook, tmp_path: Path) -> Notebook:
    other = tmp_path / "other"
    other.mkdir()
    (other / "banana.md").write_text("# Banana\n\nbanana bread\n")
    return Notebook(other.resolve(), nb.index_dir, "test")


def test_side_files_are_trusted_only_for_their_notebook(nb: Notebook, tmp_path: Path) -> None:
    from kb import watch
    from kb.index.manifest import load as _load_manifest
    from kb.index.manifest import load_sizes as _load_sizes
    from kb.index.sync import _open_index

    sync_index(nb)
    (nb.root / "new.md").write_text("# New\n")
    time.sleep(0.03)
    sync_index(nb)  # a notes.bin and a delta
    other = _other(nb, tmp_path)
    ix = _open_index(nb.index_dir)
    gen = ix.latest_generation()
    watch.save_state(nb.index_dir, nb.root, "token", gen, 9)
    assert _load_manifest(nb.index_dir, nb.root) is not None
    assert _load_manifest(nb.index_dir, other.root) is None
    assert _load_sizes(nb.index_dir, gen, nb.root) is not None
    assert _load_sizes(nb.index_dir, gen, other.root) is None
    assert catalog.load(nb.index_dir, nb.root, gen) is not None
    assert catalog.load(nb.index_dir, other.root, gen) is None
    assert watch.load_state(nb.index_dir, nb.root) is not None
    assert watch.load_state(nb.index_dir, other.root) is None
    delta = marshal.loads((nb.index_dir / catalog.CATALOG_DELTA).read_bytes())
    assert delta["notebook"] == str(nb.root)


def test_another_notebooks_index_means_a_build_never_fresh(nb: Notebook, tmp_path: Path) -> None:
    sync_index(nb)
    other = _other(nb, tmp_path)
    stats = sync_index(other)
    assert stats.rebuilt and stats.reason == "other" and stats.total == 1


# ----------------------------------------------------------------- a search during a rebuild


def _locked(index_dir: Path) -> bool:
    """Some kb holds the sync lock of this index (inside the folder, or beside it as kb
    kept it before)."""
    import fcntl

    for path in (index_dir / "sync.lock", index_dir.with_name(index_dir.name + ".lock")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
    return False


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_search_during_a_rebuild_answers_from_the_previous_index(tmp_path: Path) -> None:
    assert kb("index").returncode == 0
    rebuild = slow_kb(0.8, "index", "--rebuild")  # 8 notes: ~6 s of reading
    try:
        assert _wait_for(lambda: _locked(tmp_path / "index"), 30), "the rebuild never started"
        search = kb("search", "--json", "정족수")
        rebuilding = rebuild.poll() is None
    finally:
        out, err = rebuild.communicate(timeout=120)
    assert search.returncode == 0, search.stderr
    assert rebuilding, "the search waited for the rebuild to end"
    assert [h["slug"] for h in json.loads(search.stdout)] == ["broken"]
    assert "a rebuild of the index is running" in search.stderr
    assert "waiting" not in search.stderr
    assert rebuild.returncode == 0, err
    after = kb("search", "--json", "정족수")
    assert [h["slug"] for h in json.loads(after.stdout)] == ["broken"]
    assert "rebuild" not in after.stderr


def test_a_killed_rebuild_leaves_the_previous_index_in_use(nb: Notebook) -> None:
    sync_index(nb)
    rebuild = slow_kb(0.8, "index", "--rebuild")
    try:
        assert _wait_for(lambda: _locked(nb.index_dir), 30)
        time.sleep(0.5)
    finally:
        rebuild.kill()
        rebuild.communicate()
    r = kb("search", "--json", "정족수")
    assert r.returncode == 0, r.stderr
    assert [h["slug"] for h in json.loads(r.stdout)] == ["broken"]
    assert "building" not in r.stderr and "rebuil" not in r.stderr  # not rebuilt, nor said to be
    assert (nb.index_dir / "rebuilding").exists()  # the killed one's marker: not believed (no lock)
    assert kb("index").returncode == 0
    assert not (nb.index_dir / "rebuilding").exists()  # the next kb holding the lock drops it


# ---------------------------------------- issue 15.5: say that the index is being built


def test_a_first_search_says_at_once_that_it_builds_the_index() -> None:
    proc = slow_kb(0.5, "search", "정족수")  # 8 notes: ~4 s of building
    try:
        first = proc.stderr.readline()  # type: ignore[union-attr]
        building = proc.poll() is None
    finally:
        out, err = proc.communicate(timeout=120)
    assert first.startswith("kb: building the index (first run): 8 notes"), first
    assert building, "said only when the build was over"
    err = first + err
    assert err.count("building the index") == 1  # one line when stderr is not a terminal
    assert "out of date" not in err and "damaged" not in err
    assert proc.returncode == 0 and "broken" in out


def test_a_damaged_index_says_so_when_it_rebuilds(runner: CliRunner, nb: Notebook) -> None:
    sync_index(nb)
    (nb.index_dir / "manifest.bin").write_bytes(b"\x00garbage")
    r = runner.invoke(app, ["search", "정족수"])
    assert r.exit_code == 0
    assert "rebuilding the index (it was damaged): 8 notes" in r.stderr


class Recorder:
    """An ``index.Progress`` that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def building(self, why: str, total: int) -> None:
        self.events.append(("building", why, total))

    def note(self, done: int, total: int, path: str) -> None:
        if done == total:
            self.events.append(("notes", done))

    def step(self, name: str) -> None:
        self.events.append(("step", name))


@pytest.mark.parametrize("procs", [1, 2])
def test_kb_index_names_the_steps_after_the_notes(nb: Notebook, procs: int) -> None:
    sync_index(nb)
    rec = Recorder()
    sync_index(nb, rebuild=True, progress=rec, procs=procs)
    assert rec.events == [
        ("building", "asked", 8),
        ("notes", 8),
        ("step", "writing the index"),
        ("step", "writing the notes catalog"),
    ]


def test_a_pickle_is_not_read_from_a_folder_before_the_checks(tmp_path: Path) -> None:
    """The same planted table of contents in a private folder of this user that is not
    kb's (it has other files): refused before Whoosh opens anything."""
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    marker = tmp_path / "code-ran"
    _evil_toc(folder, marker)
    (folder / "notes.txt").write_text("x")
    r = kb("search", "a", env={**os.environ, "KB_INDEX_DIR": str(folder)})
    one_line_error(r, folder)
    assert not marker.exists()


def test_an_evil_pickle_is_a_pickle_that_runs(tmp_path: Path) -> None:
    """The planted file of the tests above really runs code when Whoosh opens it."""
    folder = tmp_path / "x"
    folder.mkdir()
    marker = tmp_path / "code-ran"
    _evil_toc(folder, marker)
    from whoosh import index as windex

    with pytest.raises(Exception):  # noqa: B017 - whatever Whoosh makes of a file object
        windex.open_dir(str(folder))
    assert marker.exists()


def test_a_read_error_after_another_kb_committed_is_not_damage(nb: Notebook) -> None:
    """Whoosh fails on a file of the generation this process opened because another kb
    committed a newer one meanwhile (and deleted it): run again, no rebuild."""
    from kb.index.sync import open_index, read_failed

    sync_index(nb)
    open_index(nb)  # this process opened generation 1
    (nb.root / "new.md").write_text("# New\n")
    time.sleep(0.03)
    assert sync_index(nb).added == 1  # another kb's commit: generation 2
    before = (nb.index_dir / "manifest.bin").read_bytes()
    read_failed(nb)
    assert (nb.index_dir / "manifest.bin").read_bytes() == before  # not rebuilt
    open_index(nb)  # now it has generation 2: a read error there is damage
    read_failed(nb)
    assert (nb.index_dir / "manifest.bin").read_bytes() != before  # rebuilt


def test_a_rebuild_beside_the_previous_index_yields_the_cpu_to_searches(
    nb: Notebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its sub-writers run at a lower priority (searches are answered meanwhile); a first
    build's do not (the user waits for it), nor does the process calling it."""
    log = tmp_path / "nice.log"

    def nice(increment: int) -> int:
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()} {increment}\n")
        return increment

    monkeypatch.setattr(os, "nice", nice)
    sync_index(nb, rebuild=True, procs=2)  # a first build
    assert not log.exists()
    sync_index(nb, rebuild=True, procs=2)  # beside the previous index
    calls = [line.split() for line in log.read_text().splitlines()]
    assert calls and all(n == "10" for _, n in calls), calls  # a sub-writer a batch of 100 notes, up to 2
    assert str(os.getpid()) not in {pid for pid, _ in calls}
