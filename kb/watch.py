"""A small resident watcher that tells kb which folders changed since its last check.

Without it, proving that the index matches the files means a ``stat`` of every
note (~2.5 us each here: ~100 ms of CPU on a 40,000-note notebook, every command).
With it, kb asks the watcher one question over a local socket: "which folders
changed since token T?". The same idea as git's fsmonitor daemon and watchman.

The watcher (``python -m kb.watch ROOT INDEX_DIR``, Linux, inotify through ctypes)
watches every folder kb would walk and records, per folder, the sequence number of
the last event about a note or subfolder in it. kb keeps ``watch.state`` next to
the manifest: the token it got *before* its last scan, and which manifest that scan
wrote. Events queue in the kernel while the syscall that causes them runs, and the
watcher reads all queued events before it answers, so an empty answer means that
nothing happened to a note since that scan. The state names its notebook: one index
folder shared by two notebooks never lends one's state to the other, and a watcher
answers only about its own notebook (no token for another).

Whenever the watcher cannot be sure it answers "unknown" and kb does the full
check: another watcher instance or epoch than the token's (restarted, inotify queue
overflowed, a folder moved), a notebook it does not watch. It never makes kb miss
a change that the full check would see, with two exceptions inotify shares with
every watcher: writes through ``mmap`` and changes made by another machine on a
network file system (kb starts no watcher on NFS/SMB/FUSE mounts for that reason).

Why inotify through ctypes and not watchdog or watchfiles (which would bring macOS and
Windows): neither tells its user that the kernel dropped events, and "unknown when
unsure" is what makes the watcher safe. ``benchmarks/watch_libraries.py`` stops a
watcher while 2,000 notes are written into a 64-event queue: kb's read sees
IN_Q_OVERFLOW; watchdog 7.1 drops the events and says so only in a log record (no event
to the handler); watchfiles 1.3 reports 16 of the 2,000 files and nothing else.

kb starts the watcher itself for notebooks above ``kb.index.probe.WATCH_MIN_MANIFEST_BYTES``
(``KB_WATCH=0`` turns that off, ``KB_WATCH=1`` forces it on for any size). It exits
after :data:`IDLE_SECONDS` without a question (``KB_WATCH_IDLE``), when the
notebook folder goes away, or when told to (:func:`stop`).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from .config import prepare_index_dir, private_files
from .errors import KbError
from .index.lock import lock_held
from .index.manifest import MANIFEST, WATCH_OFF, WATCH_PID, WATCH_STATE, signature
from .notes import NOTE_SUFFIX, folder_entries
from .wire import same_user, start_detached

PROTOCOL = 1
IDLE_SECONDS = 1800.0
#: How long a client waits for an answer before it does the full check instead.
ASK_TIMEOUT = 0.5

# inotify(7)
IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_UNMOUNT = 0x2000
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
WATCH_MASK = (
    IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
    | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK
)
#: statfs(2) magic numbers of file systems whose changes inotify may not see.
_REMOTE_FS = {0x6969, 0xFF534D42, 0xFE534D42, 0x517B, 0x65735546, 0x564C, 0x6B414653, 0x01021997}


# --------------------------------------------------------------------------- client side


def _address(index_dir: Path) -> bytes:
    """An abstract Unix socket name (no file to leave behind), one per index and user."""
    key = f"{os.getuid()}:{index_dir}".encode("utf-8", "surrogateescape")
    return b"\0kb-watch-%d-%08x" % (PROTOCOL, zlib.crc32(key))


def _talk(index_dir: Path, request: dict[str, Any], timeout: float = ASK_TIMEOUT) -> dict[str, Any] | None:
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        sock.settimeout(timeout)
        sock.connect(_address(index_dir))
        # Only a watcher of this user is believed (anyone may bind an abstract name).
        if not same_user(sock):
            return None
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        answer = json.loads(b"".join(chunks))
        return answer if isinstance(answer, dict) else None
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        sock.close()


class Answer:
    """The watcher's answer: its current token, and the folders (relative to the
    notebook, "" for the top) that changed since the token asked about, or None if
    it cannot tell. ``links`` are symlinked notes: a change to their target shows
    up in another folder, so kb always looks at them."""

    def __init__(self, token: str, dirs: list[str] | None, links: list[str]) -> None:
        self.token = token
        self.dirs = dirs
        self.links = links

    def dirty_dirs(self) -> set[str] | None:
        """The changed folders, and those of symlinked notes (for a sync: stat them again)."""
        if self.dirs is None:
            return None
        return set(self.dirs) | {rel.rpartition("/")[0] for rel in self.links}

    def fresh(self, root: Path, state: dict[str, Any]) -> bool:
        """Nothing changed since ``state`` was saved: no folder named, and every
        symlinked note still has the signature the state recorded."""
        if self.dirs is None or self.dirs:
            return False
        sigs = state.get("links") or {}
        prefix = str(root) + os.sep
        for rel in self.links:
            if rel not in sigs:
                return False
            sig = sigs[rel]
            if sig is None:  # not a note (points out of the notebook, or nowhere): still not?
                target = os.path.realpath(prefix + rel)
                if target.startswith(os.path.realpath(root) + os.sep) and os.path.isfile(target):
                    return False
                continue
            try:
                st = os.stat(prefix + rel)
            except OSError:
                return False
            if list(signature(st)) != sig:
                return False
        return True


def ask(root: Path, index_dir: Path, since: str | None) -> Answer | None:
    """The running watcher's answer about ``root``, or None if there is none (or it
    watches another notebook)."""
    reply = _talk(index_dir, {"v": PROTOCOL, "root": str(root), "since": since})
    if not reply or not isinstance(reply.get("token"), str) or reply.get("root") != str(root):
        return None
    dirs = reply.get("dirs")
    links = reply.get("links") or []
    if dirs is not None and not isinstance(dirs, list):
        return None
    return Answer(reply["token"], dirs, links)


def stop(index_dir: Path) -> bool:
    """Ask the notebook's watcher to exit; True if one answered."""
    return _talk(index_dir, {"v": PROTOCOL, "quit": True}) is not None


def status(index_dir: Path) -> dict[str, Any] | None:
    return _talk(index_dir, {"v": PROTOCOL, "status": True})


#: After a watcher refused to run (see :data:`WATCH_OFF`), kb does not try again for this long.
RETRY_AFTER = 3600.0


def running(index_dir: Path) -> bool:
    """A watcher holds the lock of this index (it may still be walking the folders)."""
    return lock_held(index_dir / WATCH_PID)


def start(root: Path, index_dir: Path) -> bool:
    """Start a watcher in the background, unless one runs or one recently could not."""
    try:
        if time.time() - os.path.getmtime(index_dir / WATCH_OFF) < RETRY_AFTER:
            return False
    except OSError:
        pass
    if running(index_dir):
        return False
    return start_detached(["-m", "kb.watch", str(root), str(index_dir)])


def _refuse(index_dir: Path, why: str) -> int:
    """Leave a note that this notebook cannot be watched here; kb checks in full meanwhile
    and starts no watcher for :data:`RETRY_AFTER`."""
    try:
        tmp = index_dir / f"{WATCH_OFF}.{os.getpid()}.tmp"
        tmp.write_text(why + "\n", encoding="utf-8")
        os.replace(tmp, index_dir / WATCH_OFF)
    except OSError:
        pass
    return 1


# ----------------------------------------------------------------------- the state file


def load_state(index_dir: Path, root: Path) -> dict[str, Any] | None:
    """``watch.state`` if it is ``root``'s and still describes the manifest on disk, else None."""
    try:
        with open(index_dir / WATCH_STATE, "rb") as fh:
            state = json.loads(fh.read())
        st = os.stat(index_dir / MANIFEST)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(state, dict) or state.get("manifest") != [st.st_ino, st.st_size, st.st_mtime_ns]:
        return None
    if state.get("root") != str(root):
        return None
    return state


def manifest_identity(index_dir: Path) -> list[int] | None:
    """Which manifest is on disk (it is always replaced, never rewritten in place)."""
    try:
        st = os.stat(index_dir / MANIFEST)
    except OSError:
        return None
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def save_state(
    index_dir: Path,
    root: Path,
    token: str,
    generation: int,
    count: int,
    links: dict[str, Any] | None = None,
    manifest: list[int] | None = None,
) -> None:
    """Record that the manifest ``manifest`` (default: the one on disk) of ``root``'s index
    was written by, or checked against the files by, a scan that began after ``token``.

    Entries the scan marked unknown (changed within the timestamp tick) need no
    special care here: any later change to them is an event after ``token``.
    """
    path = index_dir / WATCH_STATE
    try:
        ident = manifest or manifest_identity(index_dir)
        if ident is None:
            return
        data = {
            "root": str(root),
            "token": token,
            "generation": generation,
            "count": count,
            "links": {rel: None if sig is None else list(sig) for rel, sig in (links or {}).items()},
            "manifest": ident,
        }
        tmp = index_dir / f"{WATCH_STATE}.{os.getpid()}.tmp"
        with private_files():
            tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass


def drop_state(index_dir: Path) -> None:
    try:
        os.unlink(index_dir / WATCH_STATE)
    except OSError:
        pass


# --------------------------------------------------------------------------- the watcher


class _Inotify:
    def __init__(self) -> None:
        import ctypes  # lazily: only the watcher process needs it
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._ctypes = ctypes
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")

    def add(self, path: str) -> int:
        wd = self._add(self.fd, os.fsencode(path), WATCH_MASK)
        if wd < 0:
            errno = self._ctypes.get_errno()
            raise OSError(errno, os.strerror(errno), path)
        return wd

    def remove(self, wd: int) -> None:
        self._rm(self.fd, wd)

    def read(self) -> list[tuple[int, int, str]]:
        events = []
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return events
            pos = 0
            while pos + 16 <= len(data):
                wd, mask, _cookie, length = struct.unpack_from("iIII", data, pos)
                raw = data[pos + 16 : pos + 16 + length].rstrip(b"\0")
                events.append((wd, mask, os.fsdecode(raw)))
                pos += 16 + length


class CannotWatch(OSError):
    """A folder kb walks could not be watched (e.g. the inotify watch limit): the watcher
    can no longer vouch for the whole notebook and must stop."""


#: The most folders the watcher remembers as changed (deleted ones stay in the map).
#: Past it the map is emptied and tokens from before are answered "unknown": kb does
#: the full check once, and the watcher's memory stays bounded (~3 MB).
MAX_CHANGED = 20_000


class Watcher:
    """The folder bookkeeping, apart from the socket (tested on its own)."""

    def __init__(self, root: Path, inotify: Any | None = None) -> None:
        self.root = root
        self.ino = inotify or _Inotify()
        self.instance = f"{os.getpid()}-{time.time_ns():x}"
        self.epoch = 0
        self.seq = 0
        self.changed: dict[str, int] = {}  # folder -> seq of its last relevant event
        #: Changes up to this sequence number were forgotten (:data:`MAX_CHANGED`).
        self.horizon = 0
        self.wd_dir: dict[int, str] = {}
        self.dir_wd: dict[str, int] = {}
        self.links: dict[str, set[str]] = {}  # folder -> its symlinked notes
        self.gone = False
        self.failed: str | None = None
        self.walk("")

    @property
    def token(self) -> str:
        return f"{self.instance}:{self.epoch}:{self.seq}"

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else str(self.root)

    def walk(self, top: str) -> list[str]:
        """Watch ``top`` and every folder below it that kb would walk; returns them."""
        seen = []
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                wd = self.ino.add(self._path(d))
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ELOOP):
                    continue  # vanished, not a folder any more, or unreadable for kb too
                raise CannotWatch(f"cannot watch {self._path(d)}: {exc.strerror}") from exc
            old = self.wd_dir.get(wd)
            if old is not None and old != d:
                self.dir_wd.pop(old, None)
            self.wd_dir[wd] = d
            self.dir_wd[d] = wd
            seen.append(d)
            stack.extend(self._list(d))
        return seen

    def _list(self, d: str) -> list[str]:
        subdirs, links = [], set()
        for rel, entry, is_dir in folder_entries(self.root, d):
            if is_dir:
                subdirs.append(rel)
                continue
            try:
                if entry.is_symlink():
                    links.add(rel)
            except OSError:
                continue
        if links:
            self.links[d] = links
        else:
            self.links.pop(d, None)
        return subdirs

    def _forget(self, top: str) -> None:
        """Stop watching ``top`` and everything below it (deleted or moved away)."""
        prefix = top + "/"
        for d in [d for d in self.dir_wd if d == top or d.startswith(prefix)]:
            wd = self.dir_wd.pop(d)
            self.links.pop(d, None)
            if self.wd_dir.get(wd) == d:
                del self.wd_dir[wd]
                self.ino.remove(wd)

    def reset(self) -> None:
        """Forget everything: every token handed out so far becomes "unknown"."""
        for wd in list(self.wd_dir):
            self.ino.remove(wd)
        self.wd_dir.clear()
        self.dir_wd.clear()
        self.links.clear()
        self.changed.clear()
        self.epoch += 1
        try:
            self.walk("")
        except CannotWatch as exc:
            self.gone, self.failed = True, str(exc)

    def handle(self, events: list[tuple[int, int, str]]) -> None:
        if not events:
            return
        self.seq += 1
        seq = self.seq
        relist: set[str] = set()  # folders whose symlinked notes may have changed
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                self.reset()
                return
            d = self.wd_dir.get(wd)
            if d is None:
                continue
            if not name:  # about the folder itself
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT):
                    if d == "":
                        self.gone = True
                        return
                    if mask & IN_IGNORED and self.wd_dir.get(wd) == d:
                        del self.wd_dir[wd]
                        self.dir_wd.pop(d, None)
                continue
            if name.startswith("."):
                continue
            rel = f"{d}/{name}" if d else name
            if mask & IN_ISDIR:
                self.changed[d] = seq
                if mask & (IN_MOVED_FROM | IN_DELETE):
                    self._forget(rel)
                    self.changed[rel] = seq
                if mask & (IN_CREATE | IN_MOVED_TO) or (mask & IN_ATTRIB and rel not in self.dir_wd):
                    # (IN_ATTRIB: a folder kb could not read may have become readable)
                    try:
                        subs = self.walk(rel)
                    except CannotWatch as exc:
                        self.gone, self.failed = True, str(exc)
                        return
                    for sub in subs:
                        self.changed[sub] = seq
            elif name.lower().endswith(NOTE_SUFFIX):
                self.changed[d] = seq
                if mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE):
                    relist.add(d)
        for d in relist:
            if d in self.dir_wd:
                self._list(d)
        if len(self.changed) > MAX_CHANGED:
            self.changed.clear()
            self.horizon = seq

    def answer(self, since: Any) -> dict[str, Any]:
        links = sorted(rel for group in self.links.values() for rel in group)
        dirs = None
        if isinstance(since, str):
            instance, _, rest = since.partition(":")
            epoch, _, seq = rest.partition(":")
            if instance == self.instance and epoch == str(self.epoch) and seq.isdigit():
                after = int(seq)
                if after >= self.horizon:
                    dirs = [d for d, s in self.changed.items() if s > after]
        return {"token": self.token, "dirs": dirs, "links": links}


def _remote(root: Path) -> bool:
    """True on file systems whose changes from elsewhere inotify does not report."""
    try:
        import ctypes  # lazily: only the watcher process needs it
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        buf = ctypes.create_string_buffer(256)  # struct statfs; f_type comes first
        if libc.statfs(os.fsencode(root), buf) != 0:
            return True
        f_type = ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF
        return f_type in _REMOTE_FS
    except (OSError, AttributeError):
        return True


def serve(root: Path, index_dir: Path, idle: float | None = None) -> int:
    """Run the watcher until idle, told to quit, or the notebook goes away."""
    os.umask(0o077)  # its files are in the index folder: this user's alone
    if idle is None:
        try:
            idle = float(os.environ.get("KB_WATCH_IDLE", IDLE_SECONDS))
        except ValueError:
            idle = IDLE_SECONDS
    try:
        prepare_index_dir(index_dir, root, create=False)  # writes nowhere but in a folder of kb's
    except KbError:
        return 1
    if _remote(root):
        return _refuse(index_dir, "a network or FUSE file system: inotify may miss changes made elsewhere")
    try:
        lock_fd = os.open(index_dir / WATCH_PID, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another watcher runs (or cannot run here)
    os.ftruncate(lock_fd, 0)
    os.write(lock_fd, str(os.getpid()).encode())
    # The socket name before the walk: while this process holds the lock, no watcher of
    # this user has it, so someone else does. Say so once, or every kb command would
    # start a watcher that walks the whole notebook only to find the name taken.
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(_address(index_dir))
    except OSError as exc:
        return _refuse(index_dir, f"another process holds the watcher's socket name ({exc.strerror})")
    try:
        watcher = Watcher(root)
    except OSError as exc:
        return _refuse(index_dir, str(exc))
    server.listen(16)
    last = time.monotonic()
    while not watcher.gone:
        left = idle - (time.monotonic() - last)
        if left <= 0:
            break
        ready, _, _ = select.select([server, watcher.ino.fd], [], [], left)
        if watcher.ino.fd in ready:
            watcher.handle(watcher.ino.read())
        if server not in ready:
            continue
        conn, _ = server.accept()
        try:
            # An abstract socket has no file permissions: only this user's kb gets
            # answers (folder names are nobody else's business), may stop the watcher,
            # or keeps it alive.
            if not same_user(conn):
                continue
            last = time.monotonic()
            if not _serve_one(conn, watcher, root, index_dir):
                break
        except OSError:
            pass
        finally:
            conn.close()
    server.close()
    if watcher.failed:
        return _refuse(index_dir, watcher.failed)
    return 0


def _serve_one(conn: socket.socket, watcher: Watcher, root: Path, index_dir: Path) -> bool:
    """Answer one question of this user's; False means: exit."""
    conn.settimeout(2.0)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return True
        data += chunk
        if len(data) > 1 << 20:
            return True
    try:
        request = json.loads(data)
    except (ValueError, RecursionError):  # deeply nested: not a question of kb's
        return True
    if not isinstance(request, dict) or request.get("v") != PROTOCOL:
        conn.sendall(b'{"error": "protocol"}')
        return False
    if request.get("quit"):
        conn.sendall(b'{"bye": true}')
        return False
    if request.get("status"):
        info = {"pid": os.getpid(), "root": str(root), "folders": len(watcher.dir_wd), "token": watcher.token}
        conn.sendall(json.dumps(info).encode())
        return True
    watcher.handle(watcher.ino.read())  # everything that happened before the question
    if request.get("root") != str(root):
        reply = {"root": str(root), "token": None}  # no token for another notebook's question
    elif watcher.gone:
        reply = {"root": str(root), "token": watcher.token, "dirs": None, "links": []}
    else:
        reply = {"root": str(root), **watcher.answer(request.get("since"))}
    conn.sendall(json.dumps(reply).encode())
    return not watcher.gone


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: python -m kb.watch NOTEBOOK INDEX_DIR\n")
        sys.exit(2)
    sys.exit(serve(Path(sys.argv[1]), Path(sys.argv[2])))
