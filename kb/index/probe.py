"""What changed on disk since the manifest, and the quick "is the index fresh?" check.

:func:`scan` walks the notebook (reusing the manifest's listing of folders whose mtime
did not move, and the watcher's word on which folders changed); :func:`fresh_count`
answers without a walk; :class:`FreshnessProbe` runs that check in a forked child
while the parent imports Whoosh. Both forks fall back to doing the work in-process:
the answer never depends on a fork.
"""

from __future__ import annotations

import marshal
import os
import stat as stat_mod
import sys
import time
from pathlib import Path
from typing import Any

from ..config import Notebook
from ..notes import Listing, list_dir
from . import manifest
from .manifest import MANIFEST, WATCH_STATE, Signature

#: A file or folder changed this recently may change again within the same
#: timestamp tick without its mtime moving ("racily clean", as git calls it):
#: kb records it as unknown, so the next check looks at it again.
RACY_NS = 20_000_000


def scan(
    root: Path, manifest: dict[str, Any] | None = None, dirty: set[str] | None = None
) -> tuple[dict[str, Signature], dict[str, int]]:
    """Signatures of every note file below ``root``, and the mtimes of its folders.

    With a manifest, a folder whose mtime has not moved still holds the same names:
    it is not listed again, only its notes are stat'ed (the hot loop of every sync).
    A file or folder changed within :data:`RACY_NS` is recorded as unknown.
    ``dirty``: the folders a watcher saw change since the manifest's scan (see
    :mod:`kb.watch`); every other folder and its notes are taken from the manifest
    as they are, without a ``stat``, unless recorded as unknown.
    """
    start = time.time_ns()
    racy_after = start - RACY_NS
    files: dict[str, Signature] = {}
    dirs: dict[str, int] = {}
    known = None
    if manifest is not None and isinstance(manifest.get("dirs"), dict):
        known = Listing(manifest["dirs"], list(manifest["files"]))
    root_real = os.path.realpath(root)
    prefix = str(root) + os.sep
    stat = os.stat
    stack = [""]
    pending: list[str] = []
    old_files = manifest["files"] if known is not None and dirty is not None else {}
    while stack:
        d = stack.pop()
        if old_files and d not in dirty and known.mtimes.get(d, -1) != -1:  # type: ignore[union-attr,operator]
            dirs[d] = known.mtimes[d]  # type: ignore[union-attr]
            stack.extend(known.subdirs[d])  # type: ignore[union-attr]
            for rel in known.files[d]:  # type: ignore[union-attr]
                sig = old_files[rel]
                if sig[1] == -1:
                    pending.append(rel)  # racily clean: look again
                else:
                    files[rel] = sig
            continue
        try:
            mtime = stat(prefix + d if d else str(root)).st_mtime_ns
        except OSError:
            continue
        dirs[d] = -1 if mtime >= racy_after else mtime
        if known is not None and known.mtimes.get(d, -1) == mtime != -1:
            stack.extend(known.subdirs[d])
            pending.extend(known.files[d])  # stat'ed below, on both cores if there are many
            continue
        notes, subdirs = list_dir(root, d, root_real)
        stack.extend(subdirs)
        for rel, st in notes:
            m, c = st.st_mtime_ns, st.st_ctime_ns
            files[rel] = (m, -1 if m >= racy_after or c >= racy_after else st.st_size, st.st_ino, c)
    if len(pending) >= PARALLEL_STAT_MIN and hasattr(os, "fork"):
        files.update(_stat_in_two(prefix, pending, racy_after))
    else:
        files.update(_stat_signatures(prefix, pending, racy_after))
    return files, dirs


#: From this many notes on, the stat loop of a sync is split over two processes.
PARALLEL_STAT_MIN = 8000


def _stat_signatures(prefix: str, rels: list[str], racy_after: int) -> dict[str, Signature]:
    """Signatures of known notes (gone or no longer regular files are left out)."""
    stat = os.stat
    is_reg = stat_mod.S_ISREG
    out: dict[str, Signature] = {}
    for rel in rels:
        try:
            st = stat(prefix + rel)
        except OSError:
            continue
        if is_reg(st.st_mode):
            m, c = st.st_mtime_ns, st.st_ctime_ns
            out[rel] = (m, -1 if m >= racy_after or c >= racy_after else st.st_size, st.st_ino, c)
    return out


def _stat_in_two(prefix: str, rels: list[str], racy_after: int) -> dict[str, Signature]:
    """:func:`_stat_signatures` with the second half done by a forked child.

    ``stat`` is ~2.5 us a note, mostly Python, so one core is the limit; a child on
    the other core halves the wall time of a 40,000-note check. If the child fails
    for any reason, its half is done here: the answer never depends on the fork.
    """
    half = len(rels) // 2
    try:
        r, w = os.pipe()
        pid = os.fork()
    except OSError:
        return _stat_signatures(prefix, rels, racy_after)
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            view = memoryview(marshal.dumps(_stat_signatures(prefix, rels[half:], racy_after)))
            while view:
                view = view[os.write(w, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    out = _stat_signatures(prefix, rels[:half], racy_after)
    chunks = []
    try:
        while chunk := os.read(r, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    theirs = None
    if status == 0:
        try:
            theirs = marshal.loads(b"".join(chunks))
        except (ValueError, EOFError, TypeError):
            theirs = None
    out.update(theirs if isinstance(theirs, dict) else _stat_signatures(prefix, rels[half:], racy_after))
    return out


def fresh_count(nb: Notebook, full: bool = True) -> int | None:
    """The number of notes if the index certainly matches the files, else None.

    With a watcher (:mod:`kb.watch`) this is one question over a socket. Without,
    no walk of the notebook either: a note added, removed or renamed changes its
    folder's mtime; an edit changes the file's signature. So kb stats the folders
    and the known files only (no listing), and needs neither Whoosh nor a lock.
    None means "look closer". ``full=False``: only ask the watcher.
    """
    answer = fresh_answer(nb, full)
    return None if answer is None else answer[0]


def fresh_answer(nb: Notebook, full: bool = True) -> tuple[int, int] | None:
    """:func:`fresh_count` with the generation of the index it vouches for."""
    answer = None
    if not full and not (nb.index_dir / WATCH_STATE).exists():
        return None
    if watch_wanted(nb):
        state, answer = ask_watcher(nb)
        if answer is not None and state is not None and answer.dirs is not None:
            # The watcher vouches for every folder it did not name: no stat of each note.
            gen = state.get("generation")
            sizes = manifest.load_sizes(nb.index_dir, gen, nb.root)
            current = manifest.generation_current(nb.index_dir, gen) and (
                sizes is None or manifest.sizes_match(nb.index_dir, sizes)
            )
            return (int(state["count"]), gen) if current and answer.fresh(nb.root, state) else None
    if not full:
        return None
    # Which manifest is checked, taken before reading it: if another kb replaces it
    # meanwhile, the state saved below names this one and is simply not used.
    ident = None
    if answer is not None:
        from .. import watch  # lazily (see ask_watcher); loaded already when a watcher answered

        ident = watch.manifest_identity(nb.index_dir)
    man = manifest.load(nb.index_dir, nb.root)
    if man is None or not isinstance(man.get("dirs"), dict):
        return None
    gen = man.get("generation")
    if not manifest.generation_current(nb.index_dir, gen):
        return None
    root = str(nb.root)
    prefix = root + os.sep
    stat = os.stat
    try:
        for d, mtime in man["dirs"].items():
            if stat(prefix + d if d else root).st_mtime_ns != mtime:
                return None
        for rel, sig in man["files"].items():
            st = stat(prefix + rel)
            if (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns) != sig:
                return None
    except OSError:
        return None
    if answer is not None:  # the scan this manifest records is good as of the token
        from .. import watch  # lazily (see ask_watcher)

        links = {rel: man["files"].get(rel) for rel in answer.links}
        count = len(man["files"])
        watch.save_state(nb.index_dir, nb.root, answer.token, gen, count, links, manifest=ident)
    return len(man["files"]), gen


#: From this manifest size (~2,000 notes) kb uses, and starts, a watcher (see :mod:`kb.watch`):
#: where a stat of every note starts to cost, as for :class:`FreshnessProbe`.
WATCH_MIN_MANIFEST_BYTES = 200_000


def watch_wanted(nb: Notebook) -> bool:
    """Whether this notebook is watched: Linux, big enough (or ``KB_WATCH=1``), not
    ``KB_WATCH=0``. Decided without importing :mod:`kb.watch` (socket, json)."""
    flag = os.environ.get("KB_WATCH", "")
    if flag == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        size = os.path.getsize(nb.index_dir / MANIFEST)
    except OSError:
        return False
    return flag == "1" or size >= WATCH_MIN_MANIFEST_BYTES


def ask_watcher(nb: Notebook) -> tuple[dict[str, Any] | None, Any]:
    """The saved watcher state, and the watcher's answer for its token; with no watcher
    answering, one is started for the next command (this one checks without it)."""
    from .. import watch  # lazily: socket and json, only for a watched notebook

    state = watch.load_state(nb.index_dir, nb.root)
    answer = watch.ask(nb.root, nb.index_dir, state["token"] if state else None)
    if answer is None:
        watch.start(nb.root, nb.index_dir)
    return state, answer


#: Above this manifest size (~2,000 notes) the quick check runs in a forked child,
#: on the other core, while the parent imports Whoosh and opens the index.
PROBE_MIN_MANIFEST_BYTES = 200_000


class FreshnessProbe:
    """:func:`fresh_count` computed in a forked child process, read back later.

    A search needs the check's answer only before it prints; the check itself is
    ~2.5 us of ``stat`` per note. Forking overlaps it with the parent's imports and
    index opening, so on a 40,000-note notebook it costs wall time only where it is
    longer than that work. The answer is the same function's: nothing is skipped.
    """

    def __init__(self, nb: Notebook) -> None:
        self.nb = nb
        self.pid = 0
        self.fd = -1
        try:
            big = os.path.getsize(nb.index_dir / MANIFEST) >= PROBE_MIN_MANIFEST_BYTES
        except OSError:
            big = False
        # With a watcher's state the check is one question over a socket: no fork.
        watched = (nb.index_dir / WATCH_STATE).exists() and watch_wanted(nb)
        if big and hasattr(os, "fork") and not watched:
            self._fork()

    def _fork(self) -> None:
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # child: answer and leave without running any cleanup of the parent's
            code = 1
            try:
                os.close(r)
                answer = fresh_answer(self.nb)
                os.write(w, b"-1" if answer is None else b"%d %d" % answer)
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.pid, self.fd = pid, r

    def result(self) -> int | None:
        """The answer of :func:`fresh_count`."""
        answer = self.answer()
        return None if answer is None else answer[0]

    def answer(self) -> tuple[int, int] | None:
        """``(notes, generation)`` as :func:`fresh_answer` gives them."""
        if not self.pid:
            return fresh_answer(self.nb)
        chunks = []
        try:
            while chunk := os.read(self.fd, 64):
                chunks.append(chunk)
        finally:
            os.close(self.fd)
            os.waitpid(self.pid, 0)
            self.pid = 0
        try:
            count, generation = map(int, b"".join(chunks).split())
        except ValueError:  # the child died, or "-1": no answer means "look closer"
            return None
        return count, generation
