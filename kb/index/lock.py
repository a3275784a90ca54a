"""The sync lock, and what a process holding it does around ``fork``.

One writer at a time: an exclusive ``flock`` on :func:`lock_path`, which the kernel
drops when the process dies (a killed kb never leaves a stale lock). Whoosh's
multi-process writer forks while kb holds it: the hooks below let the children go of
the lock and of Ctrl-C. A rebuild beside the previous index leaves a marker
(:func:`rebuild_running`).
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import IndexLocked
from .manifest import REBUILDING, SYNC_LOCK


def _after_fork_in_child() -> None:
    """In a process forked while kb holds the sync lock (Whoosh's sub-writers of a
    multi-process rebuild): let go of the inherited lock, leave Ctrl-C to the parent
    (which stops its sub-writers), and on Linux die with the parent. Else a `kill -9`
    of kb leaves them waiting on their job queue for ever, holding the lock, and
    every later kb waits for it."""
    fd, owner = SyncLock.held
    if fd < 0:
        return
    SyncLock.held = (-1, 0)
    try:
        os.close(fd)
        if SyncLock.child_nice:
            os.nice(SyncLock.child_nice)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see _before_fork
        if os.uname().sysname == "Linux":
            import ctypes  # lazily: only a forked sub-writer needs it

            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            if os.getppid() != owner:  # the parent died before that took effect
                os._exit(1)
    except (OSError, ValueError, AttributeError):
        pass


def _before_fork() -> None:
    """While kb holds the sync lock, a forked child starts with Ctrl-C blocked, until
    :func:`_after_fork_in_child` ignores it: a Ctrl-C sent to the whole group (a
    terminal does) between the fork and that would raise in the child and print a
    traceback. The parent gets it right after the fork."""
    if SyncLock.held[0] >= 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _after_fork_in_parent() -> None:
    if SyncLock.held[0] >= 0:
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a Ctrl-C meanwhile: now
        except KeyboardInterrupt:
            # Raised in a fork hook it would be printed and lost: raised again by
            # check_interrupted, at the next note or step of the sync.
            SyncLock.interrupted = True


def check_interrupted() -> None:
    if SyncLock.interrupted:
        SyncLock.interrupted = False
        raise KeyboardInterrupt


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


def lock_path(index_dir: Path) -> Path:
    """The file of the sync lock: inside the index folder, which kb never deletes (nothing
    is created beside it, where it may be a shared place like ``/tmp``)."""
    return index_dir / SYNC_LOCK


class SyncLock:
    """An exclusive ``flock`` on :func:`lock_path`. The kernel drops it when the process
    dies, so a killed kb never leaves a stale lock behind."""

    #: (fd, pid) of the lock this process holds, for :func:`_after_fork_in_child`.
    held: tuple[int, int] = (-1, 0)
    #: How much lower the CPU priority of processes forked meanwhile is
    #: (see :data:`kb.index.sync.REBUILD_NICE`).
    child_nice = 0
    #: A Ctrl-C came while this process forked (see :func:`_after_fork_in_parent`).
    interrupted = False

    def __init__(self, index_dir: Path, wait: float, on_wait: Callable[[], None] | None) -> None:
        self.path = lock_path(index_dir)
        self.wait = wait
        self.on_wait = on_wait
        self.fd = -1

    def __enter__(self) -> SyncLock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                SyncLock.held = (self.fd, os.getpid())
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    raise IndexLocked(
                        "another kb process is still updating the index; try again when it is done"
                    ) from None
                if not told and self.on_wait is not None:
                    self.on_wait()
                    told = True
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        SyncLock.held = (-1, 0)
        os.close(self.fd)  # closing releases the flock
        if exc[0] is None:
            check_interrupted()  # a Ctrl-C during a fork no check came after
        SyncLock.interrupted = False


def write_marker(index_dir: Path) -> None:
    with open(index_dir / REBUILDING, "w", encoding="ascii") as fh:
        fh.write(f"{os.getpid()}\n")


def drop_marker(index_dir: Path) -> None:
    try:
        os.unlink(index_dir / REBUILDING)
    except FileNotFoundError:
        pass


def rebuild_running(index_dir: Path) -> bool:
    """True while another kb process rebuilds this index beside the previous one: its
    marker is there and it holds the sync lock (a killed rebuild leaves a marker, not
    the lock). Costs one ``stat`` when no rebuild runs."""
    return os.path.exists(index_dir / REBUILDING) and lock_held(lock_path(index_dir))


def lock_held(path: Path) -> bool:
    """Some process holds an exclusive ``flock`` on the file ``path`` (without waiting)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock, if it was granted
    return False
