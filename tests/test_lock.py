"""kb.index.lock: one writer at a time, readers never wait, a dead holder leaves no lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Notebook
from kb.index.lock import lock_path
from kb.index.sync import sync_index


def _hold_lock(nb: Notebook):
    import subprocess
    import sys

    lock = lock_path(nb.index_dir)
    code = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_fresh_index_needs_no_lock(nb: Notebook) -> None:
    sync_index(nb)
    holder = _hold_lock(nb)
    try:
        assert not sync_index(nb, wait=0.2).changed  # a search during an index still answers
    finally:
        holder.kill()
        holder.wait()


def test_changes_wait_for_the_lock_then_time_out(nb: Notebook, notebook_dir: Path) -> None:

    from kb.errors import IndexLocked

    sync_index(nb)
    (notebook_dir / "new.md").write_text("# new\n")
    holder = _hold_lock(nb)
    told: list[bool] = []
    try:
        with pytest.raises(IndexLocked):
            sync_index(nb, wait=0.3, on_wait=lambda: told.append(True))
        assert told == [True]
    finally:
        holder.kill()
        holder.wait()
    # The holder died (like kill -9): no stale lock, the next sync goes through.
    assert sync_index(nb, wait=1.0).added == 1


def test_a_rebuild_runs_only_while_its_marker_and_the_lock_are_there(nb: Notebook) -> None:
    from kb.index.lock import drop_marker, rebuild_running, write_marker

    sync_index(nb)
    assert not rebuild_running(nb.index_dir)
    write_marker(nb.index_dir)
    assert not rebuild_running(nb.index_dir)  # a killed rebuild's marker: no lock held
    holder = _hold_lock(nb)
    try:
        assert rebuild_running(nb.index_dir)
    finally:
        holder.kill()
        holder.wait()
    assert not rebuild_running(nb.index_dir)
    drop_marker(nb.index_dir)
    drop_marker(nb.index_dir)  # gone already: fine
    assert not rebuild_running(nb.index_dir)
