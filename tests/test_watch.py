"""The watcher (kb/watch.py): the quick check through it never misses a change.

Each test runs a real watcher process (inotify) on its own copy of the fixture
notebook, then changes the files behind kb's back and checks three things: the
quick check says "stale" without reading the manifest, the sync that follows
(which scans only the folders the watcher named) picks the change up, and the
index then equals one rebuilt from scratch.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_sync import _terms

from kb import watch
from kb.config import Notebook
from kb.index import manifest as kbmanifest
from kb.index.probe import fresh_count
from kb.index.sync import sync_index


def _inotify_works() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        ino = watch._Inotify()
    except OSError:
        return False
    os.close(ino.fd)
    return True


pytestmark = pytest.mark.skipif(not _inotify_works(), reason="needs Linux inotify")


class _FullCheck(Exception):
    pass


def _quick(nb: Notebook, monkeypatch: pytest.MonkeyPatch) -> int | None | str:
    """fresh_count through the watcher alone: "full" if it had to read the manifest."""

    def boom(*args: object, **kwargs: object) -> None:
        raise _FullCheck

    with monkeypatch.context() as m:
        m.setattr(kbmanifest, "load", boom)
        try:
            return fresh_count(nb)
        except _FullCheck:
            return "full"


def _wait_for_watcher(index_dir: Path, seconds: float = 15.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        info = watch.status(index_dir)
        if info is not None:
            return info
        time.sleep(0.05)
    raise AssertionError("the watcher did not start")


@pytest.fixture
def watched(nb: Notebook, monkeypatch: pytest.MonkeyPatch) -> Iterator[Notebook]:
    monkeypatch.setenv("KB_WATCH", "1")
    monkeypatch.setenv("KB_WATCH_IDLE", "60")
    (nb.root / "linked.md").symlink_to(".hidden/target.md")  # a note whose file is in an unwatched folder
    (nb.root / ".hidden").mkdir(exist_ok=True)
    (nb.root / ".hidden" / "target.md").write_text("# Linked\n\nlinkword original\n", encoding="utf-8")
    time.sleep(0.03)
    sync_index(nb)
    try:
        assert fresh_count(nb) is not None  # full check; starts the watcher for next time
        _wait_for_watcher(nb.index_dir)
        assert fresh_count(nb) is not None  # full check again, now recording the watcher's token
        assert (nb.index_dir / watch.WATCH_STATE).exists()
        yield nb
    finally:
        watch.stop(nb.index_dir)


def _keep_mtime(path: Path, change: Callable[[], None]) -> None:
    st = path.stat()
    change()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _same_size_edit(path: Path, old: str, new: str) -> None:
    assert len(old.encode()) == len(new.encode())
    text = path.read_text(encoding="utf-8")
    assert old in text

    def write() -> None:
        with open(path, "r+", encoding="utf-8") as fh:
            fh.write(text.replace(old, new))

    _keep_mtime(path, write)


def _edit_in_place(root: Path) -> str:
    _same_size_edit(root / "airflow.md", "Airflow", "Qirflow")
    return "qirflow"


def _add_in_subfolder(root: Path) -> str:
    (root / "k8s" / "fresh.md").write_text("# Fresh\n\nzebrafish notes\n", encoding="utf-8")
    return "zebrafish"


def _add_in_new_nested_folders(root: Path) -> str:
    deep = root / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "deep.md").write_text("# Deep\n\nnarwhal notes\n", encoding="utf-8")
    return "narwhal"


def _delete(root: Path) -> str:
    (root / "rag.md").unlink()
    return ""


def _rename_note(root: Path) -> str:
    (root / "rag.md").rename(root / "k8s" / "rag-moved.md")
    return ""


def _rename_folder(root: Path) -> str:
    (root / "k8s").rename(root / "kube")
    return ""


def _replace_same_size(root: Path) -> str:
    target = root / "airflow.md"
    text = target.read_text(encoding="utf-8").replace("Airflow", "Birflow")
    tmp = root / ".airflow.md.tmp"
    tmp.write_text(text, encoding="utf-8")
    st = target.stat()
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, target)
    return "birflow"


def _edit_symlink_target(root: Path) -> str:
    _same_size_edit(root / ".hidden" / "target.md", "original", "modified")
    return "modified"


CHANGES = [
    _edit_in_place,
    _add_in_subfolder,
    _add_in_new_nested_folders,
    _delete,
    _rename_note,
    _rename_folder,
    _replace_same_size,
    _edit_symlink_target,
]


def _search_paths(nb: Notebook, word: str) -> set[str]:
    from kb.search import search

    return {h.path for h in search(nb, word, limit=50).hits}


def _rebuilt_terms(nb: Notebook, tmp_path: Path) -> dict[str, list[str]]:
    fresh = Notebook(root=nb.root, index_dir=tmp_path / "rebuilt-index", source="test")
    sync_index(fresh, rebuild=True)
    return _terms(fresh)


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_watcher_sees_every_change(
    watched: Notebook, change: Callable[[Path], str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nb = watched
    count = _quick(nb, monkeypatch)
    assert isinstance(count, int)  # nothing changed: answered without the manifest
    word = change(nb.root)
    assert _quick(nb, monkeypatch) is None  # the watcher saw it: stale
    stats = sync_index(nb)
    assert stats.changed
    if word:
        assert _search_paths(nb, word)
    assert _terms(nb) == _rebuilt_terms(nb, tmp_path)
    if change is _edit_symlink_target:
        # The watcher cannot see that file: a symlinked note read within the racy window
        # is checked again (and settles) by the next sync, as without a watcher.
        time.sleep(0.03)
        sync_index(nb)
    after = _quick(nb, monkeypatch)
    assert isinstance(after, int) and after == stats.total  # and quick again


def test_symlinked_note_follows_its_target(watched: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "linked.md" in _search_paths(watched, "linkword")
    _edit_symlink_target(watched.root)
    assert _quick(watched, monkeypatch) is None
    sync_index(watched)
    assert "linked.md" in _search_paths(watched, "modified")


def test_change_right_after_a_sync(watched: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """A note written again within the timestamp tick of the scan that read it."""
    nb = watched
    note = nb.root / "k8s" / "racy.md"
    note.write_text("# Racy\n\nfirst version\n", encoding="utf-8")
    sync_index(nb)
    assert _search_paths(nb, "first")
    _keep_mtime(note, lambda: note.write_text("# Racy\n\nfinal version\n", encoding="utf-8"))
    assert _quick(nb, monkeypatch) is None
    sync_index(nb)
    assert "k8s/racy.md" in _search_paths(nb, "final")
    assert "k8s/racy.md" not in _search_paths(nb, "first")


def test_non_notes_and_hidden_files_do_not_make_it_stale(
    watched: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = watched
    (nb.root / "readme.txt").write_text("changed", encoding="utf-8")
    (nb.root / ".swap.md").write_text("editor swap", encoding="utf-8")
    (nb.root / "k8s" / "draft.md~").write_text("backup", encoding="utf-8")
    assert isinstance(_quick(nb, monkeypatch), int)


def test_a_new_watcher_means_a_full_check(watched: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = watched
    assert isinstance(_quick(nb, monkeypatch), int)
    assert watch.stop(nb.index_dir)
    deadline = time.monotonic() + 10
    while watch.running(nb.index_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    _edit_in_place(nb.root)  # while no watcher runs
    assert _quick(nb, monkeypatch) == "full"  # no watcher: the full check (which starts one)
    _wait_for_watcher(nb.index_dir)
    assert _quick(nb, monkeypatch) == "full"  # a token of the old watcher means nothing to the new one
    sync_index(nb)
    assert _search_paths(nb, "qirflow")
    assert isinstance(_quick(nb, monkeypatch), int)


def test_index_rewritten_by_kb_without_the_watcher(
    watched: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another kb (KB_WATCH=0) syncs a change: the state no longer describes the manifest."""
    nb = watched
    monkeypatch.setenv("KB_WATCH", "0")
    _edit_in_place(nb.root)
    sync_index(nb)
    time.sleep(0.03)
    sync_index(nb)  # settles the note read within the racy window
    monkeypatch.setenv("KB_WATCH", "1")
    assert watch.load_state(nb.index_dir, nb.root) is None
    assert fresh_count(nb) is not None  # the full check, which records a new state
    assert isinstance(_quick(nb, monkeypatch), int)
    assert _search_paths(nb, "qirflow")


def test_watcher_answers_only_for_its_notebook(watched: Notebook, tmp_path: Path) -> None:
    state = watch.load_state(watched.index_dir, watched.root)
    assert state is not None
    mine = watch.ask(watched.root, watched.index_dir, state["token"])
    assert mine is not None and mine.dirs == []
    # No token at all for another notebook's question (it could be saved as that one's state).
    assert watch.ask(tmp_path / "elsewhere", watched.index_dir, state["token"]) is None
    question = {"v": watch.PROTOCOL, "root": str(tmp_path / "elsewhere"), "since": None}
    raw = watch._talk(watched.index_dir, question)
    assert raw is not None and raw.get("token") is None


def test_watcher_exits_when_the_notebook_goes(watched: Notebook, tmp_path: Path) -> None:
    shutil.move(str(watched.root), str(tmp_path / "moved-away"))
    deadline = time.monotonic() + 10
    while watch.status(watched.index_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watch.status(watched.index_dir) is None


# ----------------------------------------------------------- bookkeeping, with fake events


class FakeInotify:
    def __init__(self) -> None:
        self.fd = -1
        self.next = 0
        self.watched: dict[str, int] = {}

    def add(self, path: str) -> int:
        if not os.path.isdir(path):
            raise OSError(20, "not a folder", path)
        self.next += 1
        self.watched[path] = self.next
        return self.next

    def remove(self, wd: int) -> None:
        self.watched = {p: w for p, w in self.watched.items() if w != wd}

    def read(self) -> list:
        return []


def _tree(root: Path) -> Path:
    root = root / "tree"
    for rel in ("a/b", "c", ".git/objects"):
        (root / rel).mkdir(parents=True)
    (root / "a" / "b" / "x.md").write_text("x")
    return root


def test_watcher_walks_like_kb(tmp_path: Path) -> None:
    tmp_path = _tree(tmp_path)
    w = watch.Watcher(tmp_path, FakeInotify())
    assert set(w.dir_wd) == {"", "a", "a/b", "c"}  # hidden folders are not watched


def test_overflow_makes_every_old_token_unknown(tmp_path: Path) -> None:
    tmp_path = _tree(tmp_path)
    w = watch.Watcher(tmp_path, FakeInotify())
    token = w.token
    assert w.answer(token)["dirs"] == []
    w.handle([(w.dir_wd["a"], watch.IN_MODIFY, "x.md")])
    assert w.answer(token)["dirs"] == ["a"]
    w.handle([(-1, watch.IN_Q_OVERFLOW, "")])
    assert w.answer(token)["dirs"] is None
    assert w.answer(w.token)["dirs"] == []


def test_folder_events(tmp_path: Path) -> None:
    tmp_path = _tree(tmp_path)
    w = watch.Watcher(tmp_path, FakeInotify())
    token = w.token
    (tmp_path / "c" / "new" / "deeper").mkdir(parents=True)
    w.handle([(w.dir_wd["c"], watch.IN_CREATE | watch.IN_ISDIR, "new")])
    assert set(w.answer(token)["dirs"]) == {"c", "c/new", "c/new/deeper"}
    assert "c/new/deeper" in w.dir_wd
    token = w.token
    w.handle([(w.dir_wd[""], watch.IN_MOVED_FROM | watch.IN_ISDIR, "a")])
    assert set(w.answer(token)["dirs"]) == {"", "a"}
    assert "a/b" not in w.dir_wd
    token = w.token
    w.handle([(w.dir_wd["c"], watch.IN_MODIFY, "notes.txt"), (w.dir_wd["c"], watch.IN_CREATE, ".x.md")])
    assert w.answer(token)["dirs"] == []  # neither a note nor a folder
    w.handle([(w.dir_wd[""], watch.IN_DELETE_SELF, "")])
    assert w.gone


def test_a_folder_that_cannot_be_watched_stops_the_watcher(tmp_path: Path) -> None:
    """Hitting the inotify watch limit must not leave a folder silently unwatched."""
    import errno

    class Full(FakeInotify):
        limit = 3

        def add(self, path: str) -> int:
            if len(self.watched) >= self.limit:
                raise OSError(errno.ENOSPC, "No space left on device", path)
            return super().add(path)

    root = _tree(tmp_path)
    with pytest.raises(watch.CannotWatch):
        watch.Watcher(root, Full())
    Full.limit = 4
    w = watch.Watcher(root, Full())
    (root / "c" / "new").mkdir()
    w.handle([(w.dir_wd["c"], watch.IN_CREATE | watch.IN_ISDIR, "new")])
    assert w.gone and w.failed and "cannot watch" in w.failed


def test_no_new_watcher_while_one_runs_or_after_a_refusal(watched: Notebook) -> None:
    assert watch.running(watched.index_dir)
    assert not watch.start(watched.root, watched.index_dir)
    watch.stop(watched.index_dir)
    deadline = time.monotonic() + 10
    while watch.running(watched.index_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not watch.running(watched.index_dir)
    (watched.index_dir / watch.WATCH_OFF).write_text("test: cannot watch here\n")
    assert not watch.start(watched.root, watched.index_dir)  # refused recently: not again
    assert fresh_count(watched) is not None  # the full check, as without a watcher
    assert not watch.running(watched.index_dir)


def test_info_shows_the_watcher(watched: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from kb.cli import app

    out = CliRunner().invoke(app, ["info", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["watcher"].startswith("running (pid ")
    monkeypatch.setenv("KB_WATCH", "0")
    watch.stop(watched.index_dir)
    deadline = time.monotonic() + 10
    while watch.status(watched.index_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    out = CliRunner().invoke(app, ["info", "--json"])
    assert json.loads(out.stdout)["watcher"] == "off (KB_WATCH=0)"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_gets_no_answer(watched: Notebook) -> None:
    import json
    import socket

    address = watch._address(watched.index_dir)
    request = json.dumps({"v": watch.PROTOCOL, "status": True}).encode() + b"\n"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child becomes nobody and asks root's watcher
        code = 1
        try:
            os.close(r)
            os.setuid(65534)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(address)
            try:
                s.sendall(request)
                answer = s.recv(65536)
            except OSError:  # the watcher hung up on us
                answer = b""
            os.write(w, b"answer:" + answer)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    got = b""
    while chunk := os.read(r, 65536):
        got += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got == b"answer:"  # connected, asked, and was told nothing
    assert watch.status(watched.index_dir) is not None  # the watcher still serves its own user


def test_kb_index_starts_the_watcher(nb: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kb index` (a sync without the quick check) starts it too, not only searches."""
    monkeypatch.setenv("KB_WATCH", "1")
    monkeypatch.setenv("KB_WATCH_IDLE", "60")
    sync_index(nb)  # builds the index: no manifest yet, so no watcher
    try:
        sync_index(nb, check_first=False)
        _wait_for_watcher(nb.index_dir)
        sync_index(nb, check_first=False)  # records the watcher's token
        assert isinstance(_quick(nb, monkeypatch), int)
    finally:
        watch.stop(nb.index_dir)


def test_a_damaged_index_file_is_noticed_with_the_watcher(
    watched: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher knows the notes, not the index: its sizes are still checked."""
    from kb.index.sync import open_index

    assert isinstance(_quick(watched, monkeypatch), int)
    postings = sorted(watched.index_dir.glob("MAIN_*.pst"))[0]
    with open(postings, "r+b") as fh:
        fh.truncate(postings.stat().st_size // 2)
    assert _quick(watched, monkeypatch) is None
    ix, _ = open_index(watched)  # rebuilt, not an error
    assert _search_paths(watched, "airflow")


def test_a_check_raced_by_another_sync_records_nothing_usable(
    watched: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full check saves the state for the manifest it read, not for one another kb
    wrote meanwhile (whose scan may predate the token)."""
    nb = watched
    real_load = kbmanifest.load
    old_ident = watch.manifest_identity(nb.index_dir)

    def load_then_race(*args: object, **kwargs: object):
        data = real_load(*args, **kwargs)
        # another kb replaces the manifest right after this one was read
        (nb.index_dir / "manifest.bin").write_bytes((nb.index_dir / "manifest.bin").read_bytes())
        os.replace(nb.index_dir / "manifest.bin", nb.index_dir / "manifest.tmp")
        os.replace(nb.index_dir / "manifest.tmp", nb.index_dir / "manifest.bin")
        return data

    watch.drop_state(nb.index_dir)
    monkeypatch.setattr(kbmanifest, "load", load_then_race)
    assert fresh_count(nb) is not None
    monkeypatch.setattr(kbmanifest, "load", real_load)
    state_file = nb.index_dir / watch.WATCH_STATE
    import json

    assert json.loads(state_file.read_text())["manifest"] == old_ident
    assert watch.load_state(nb.index_dir, nb.root) is None  # names a manifest no longer on disk
