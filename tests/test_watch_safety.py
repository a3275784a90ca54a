"""Issue 16 and the watcher: two notebooks sharing one index folder each get their own
answers with the watcher on (Medium 5), and the watcher stands up to other users and
odd requests (Low 2). Each test failed on the code before the fix.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_index_safety import _wait_for as _wait
from test_watch import FakeInotify, _inotify_works

from kb import watch
from kb.config import Notebook
from kb.index.sync import sync_index

pytestmark = pytest.mark.skipif(not _inotify_works(), reason="needs Linux inotify")
ROOT = os.geteuid() == 0
NOBODY = 65534


def kb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args], env=env, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )


def _stop_watcher(index_dir: Path) -> None:
    watch.stop(index_dir)
    _wait(lambda: not watch.running(index_dir), 10)


# ---------------------------------------- Medium 5: two notebooks, one index folder


@pytest.fixture
def two_notebooks(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, Path, Path]]:
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir()
    b.mkdir()
    (a / "apple.md").write_text("---\ntitle: Apple note\n---\napple pie\n")
    (a / "cherry.md").write_text("# Cherry\n\ncherry tart\n")
    (b / "banana.md").write_text("---\ntitle: Banana note\n---\nbanana bread\n")
    time.sleep(0.03)
    index_dir = tmp_path / "shared-index"
    env = {**os.environ, "KB_INDEX_DIR": str(index_dir), "KB_WATCH": "1", "KB_WATCH_IDLE": "60"}
    env.pop("KB_DIR", None)
    try:
        yield env, a, b, index_dir
    finally:
        _stop_watcher(index_dir)


def _slugs(r: subprocess.CompletedProcess) -> list[str]:
    slugs = sorted(row["slug"] for row in json.loads(r.stdout))
    assert r.returncode == (0 if slugs else 1), r.stderr  # 1: nothing found, as grep
    return slugs


def test_two_notebooks_share_an_index_folder_with_the_watcher_on(two_notebooks) -> None:
    env, a, b, index_dir = two_notebooks
    for _ in range(2):  # the first builds the index, the second starts a watcher for A
        assert _slugs(kb(env, "--dir", str(a), "list", "--json")) == ["apple", "cherry"]
    assert _wait(lambda: watch.status(index_dir) is not None, 15), "no watcher started"
    for _ in range(2):
        assert _slugs(kb(env, "--dir", str(b), "search", "--json", "banana")) == ["banana"]
        assert _slugs(kb(env, "--dir", str(b), "list", "--json")) == ["banana"]
        assert _slugs(kb(env, "--dir", str(a), "list", "--json")) == ["apple", "cherry"]
        assert _slugs(kb(env, "--dir", str(a), "search", "--json", "banana")) == []
    # Everything kb and its watcher wrote there, under a umask of 022: private.
    modes = {p.name: stat.S_IMODE(p.lstat().st_mode) for p in index_dir.iterdir()}
    assert "watch.state" in modes and "watch.pid" in modes
    assert {name: m for name, m in modes.items() if m & 0o077} == {}
    assert stat.S_IMODE(index_dir.stat().st_mode) == 0o700


def test_the_watcher_gives_no_token_for_another_notebook(two_notebooks) -> None:
    env, a, b, index_dir = two_notebooks
    for _ in range(2):
        assert kb(env, "--dir", str(a), "index").returncode == 0
    assert _wait(lambda: watch.status(index_dir) is not None, 15)
    assert watch.ask(a.resolve(), index_dir, None) is not None
    assert watch.ask(b.resolve(), index_dir, None) is None
    raw = watch._talk(index_dir, {"v": watch.PROTOCOL, "root": str(b.resolve()), "since": None})
    assert raw is not None and raw.get("token") is None


# ---------------------------------------- Low 2: other users, odd requests


def _as_nobody(action) -> int:
    """Fork a child that becomes another user and runs ``action()``; its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            action()
            code = 0
        finally:
            os._exit(code)
    return pid


def _reap(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except OSError:
        pass
    os.waitpid(pid, 0)


@pytest.mark.skipif(not ROOT, reason="needs root to act as another user")
def test_a_socket_name_taken_by_another_user_is_recorded_before_any_walk(
    nb: Notebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_WATCH", "1")
    sync_index(nb)
    address = watch._address(nb.index_dir)
    r, w = os.pipe()

    def squat() -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(address)
        os.write(w, b"bound")
        time.sleep(60)

    pid = _as_nobody(squat)
    os.close(w)
    try:
        assert os.read(r, 5) == b"bound"

        def walked(*args: object, **kwargs: object) -> None:
            raise AssertionError("walked the notebook before finding the socket name taken")

        monkeypatch.setattr(watch, "Watcher", walked)
        old = os.umask(0o022)
        try:
            assert watch.serve(nb.root, nb.index_dir, idle=5) == 1
        finally:
            os.umask(old)
        assert "socket name" in (nb.index_dir / watch.WATCH_OFF).read_text()
        assert not watch.start(nb.root, nb.index_dir)  # not again at every command
    finally:
        os.close(r)
        _reap(pid)


@pytest.mark.skipif(not ROOT, reason="needs root to act as another user")
def test_other_users_do_not_keep_the_watcher_alive(nb: Notebook, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_WATCH", "1")
    sync_index(nb)
    env = {**os.environ, "KB_WATCH_IDLE": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "kb.watch", str(nb.root), str(nb.index_dir)], env=env)
    try:
        assert _wait(lambda: watch.status(nb.index_dir) is not None, 15)
        address = watch._address(nb.index_dir)

        def knock() -> None:
            end = time.monotonic() + 12
            while time.monotonic() < end:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(address)
                except OSError:
                    pass
                s.close()
                time.sleep(0.2)

        pid = _as_nobody(knock)
        try:
            proc.wait(timeout=8)  # idle 2 s after our own last question, whoever knocks
        finally:
            _reap(pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise AssertionError("another user's connections kept the watcher up")


def test_a_deeply_nested_request_does_not_crash_the_watcher(nb: Notebook, monkeypatch) -> None:
    monkeypatch.setenv("KB_WATCH", "1")
    monkeypatch.setenv("KB_WATCH_IDLE", "30")
    sync_index(nb)
    proc = subprocess.Popen([sys.executable, "-m", "kb.watch", str(nb.root), str(nb.index_dir)])
    try:
        assert _wait(lambda: watch.status(nb.index_dir) is not None, 15)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(watch._address(nb.index_dir))
        s.sendall(b"[" * 500_000 + b"\n")
        try:
            s.recv(100)
        except OSError:
            pass
        s.close()
        time.sleep(0.2)
        assert proc.poll() is None, "the watcher died"
        assert watch.status(nb.index_dir) is not None
    finally:
        _stop_watcher(nb.index_dir)
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_the_map_of_changed_folders_is_bounded(tmp_path: Path) -> None:
    cap = getattr(watch, "MAX_CHANGED", 20_000)
    w = watch.Watcher(tmp_path, FakeInotify())
    token = w.token
    top = w.dir_wd[""]
    for start in range(0, 100_000, 1000):  # 100,000 folders deleted, in batches as inotify gives them
        w.handle([(top, watch.IN_DELETE | watch.IN_ISDIR, f"d{i}") for i in range(start, start + 1000)])
        assert len(w.changed) <= cap + 1000
    assert len(w.changed) <= cap
    assert w.answer(token)["dirs"] is None  # forgotten: unknown, kb does the full check
    recent = w.token
    w.handle([(top, watch.IN_CREATE, "new.md")])
    assert w.answer(recent)["dirs"] == [""]  # a token from after that still works
