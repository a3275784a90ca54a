"""The orchestrator of the index: open, create, sync with the files, rebuild, repair.

The index is a disposable cache. Next to Whoosh's files lives the manifest
(:mod:`kb.index.manifest`): for every indexed note, the signature of its file. Sync walks
the notebook (:func:`kb.index.probe.scan`), compares signatures and re-indexes only what
was added, changed or removed. A missing manifest, another version, another notebook,
or an index that fails to open means a full rebuild, never an error. The manifest is
written just after Whoosh commits; a crash in between is caught by a generation number
(see :func:`_commit`).

The folder is kb's (``config.prepare_index_dir`` checks it before anything is read) and
everything in it is written under umask 077. A rebuild never deletes the folder: when
the current index is this notebook's, the new one is written beside it, in the same
folder, and replaces it at the commit (Whoosh's generations), so other kb processes go
on answering from the previous index meanwhile (:func:`kb.index.lock.rebuild_running`);
otherwise only kb's own files are removed first (:func:`_clear_index_files`).

The leaves it uses: :mod:`~kb.index.schema` (what a note is in Whoosh),
:mod:`~kb.index.manifest` (the side files), :mod:`~kb.index.lock`, :mod:`~kb.index.probe`
(what changed, is it fresh), :mod:`~kb.index.catalog` (note rows without Whoosh).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..analysis import prepare_whoosh_import
from ..config import Notebook, is_kb_name, prepare_index_dir, private_files
from ..errors import IndexLocked
from ..notes import read_note
from . import catalog, manifest
from .lock import SyncLock, check_interrupted, drop_marker, rebuild_running, write_marker
from .manifest import STAMP, SYNC_LOCK, WATCH_OFF, WATCH_PID, Signature
from .probe import FreshnessProbe, ask_watcher, fresh_answer, scan, watch_wanted
from .schema import make_schema, note_document

if TYPE_CHECKING:
    from whoosh.index import Index

    from ..noterow import NoteRow


class Progress(Protocol):
    """What a sync tells the user while it works (the CLI shows it: a bar on a terminal,
    one line otherwise)."""

    def building(self, why: str, total: int) -> None:
        """A full build of ``total`` notes begins; ``why`` is a key of :data:`BUILD_REASONS`."""

    def note(self, done: int, total: int, path: str) -> None:
        """``done`` of ``total`` notes read; ``path`` is the last one."""

    def step(self, name: str) -> None:
        """The step after the notes that runs now ("writing the index", ...)."""


#: Why a sync builds the whole index, as a user reads it.
BUILD_REASONS = {
    "new": "building the index (first run)",
    "other": "building the index (the index folder held another notebook's)",
    "version": "rebuilding the index (made by another version of kb)",
    "damaged": "rebuilding the index (it was damaged)",
    "asked": "rebuilding the index",
}


@dataclass
class IndexStats:
    """What a sync did. ``str()`` is the one-line summary a user reads."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    total: int = 0
    rebuilt: bool = False
    reason: str = ""  # why it was rebuilt: a key of BUILD_REASONS
    seconds: float = 0.0
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: Something the user should know about these answers (e.g. a rebuild is running).
    notice: str = ""
    #: The generation of the index this describes (None if unknown).
    generation: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)

    def __str__(self) -> str:
        n = len(self.warnings)
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, "
            f"{n} warning{'' if n == 1 else 's'}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "total": self.total,
            "rebuilt": self.rebuilt,
            "seconds": round(self.seconds, 3),
            "warnings": [{"path": p, "message": m} for p, m in self.warnings],
        }

# --------------------------------------------------------------------------- open / sync


def _open_index(index_dir: Path, generation: int | None = None, root: Path | None = None) -> Index | None:
    """The index, or None if missing, damaged, or not the generation the manifest describes.

    ``root``: the notebook it was checked to belong to; the notes catalog is trusted
    only for that notebook (:mod:`kb.index.catalog`)."""
    prepare_whoosh_import()
    from whoosh import index as windex  # lazily, as every Whoosh import: start-up

    try:
        if not windex.exists_in(str(index_dir)):
            return None
        ix = _mapped_storage(index_dir).open_index()
        if generation is not None and ix.latest_generation() != generation:
            return None
        ix.doc_count()  # reads the TOC and segment list: fails on a damaged index
    except Exception:  # any damage at all means: rebuild
        return None
    ix.kb_notebook = root
    return ix


_MAPPED: Any = None


def _mapped_storage(index_dir: Path) -> Any:
    """Whoosh's file storage of ``index_dir``, its files read through ``mmap``: a term
    lookup or a postings block is a slice of memory rather than a seek and a read system
    call each (a search makes thousands). Files are only ever replaced, never rewritten in
    place, so a mapping stays valid; an empty file is read as a plain one."""
    global _MAPPED
    if _MAPPED is None:
        import mmap

        from whoosh.filedb.filestore import FileStorage
        from whoosh.filedb.structfile import StructFile

        class MappedFile(StructFile):  # type: ignore[misc]
            def get(self, position: int, length: int) -> bytes:
                return self.file[position:position + length]

        class MappedStorage(FileStorage):  # type: ignore[misc]
            def open_file(self, name: str, **kwargs: Any) -> Any:
                with open(self._fpath(name), "rb") as fh:
                    try:
                        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                    except ValueError:  # an empty file cannot be mapped
                        return super().open_file(name, **kwargs)
                return MappedFile(mapped, name=name, **kwargs)

        _MAPPED = MappedStorage
    return _MAPPED(str(index_dir))


def _create_index(index_dir: Path) -> Index:
    """A new, empty index in place of whatever kb had in ``index_dir``."""
    prepare_whoosh_import()
    from whoosh import index as windex  # lazily, as every Whoosh import: start-up

    _clear_index_files(index_dir)
    return windex.create_in(str(index_dir), make_schema())


def _clear_index_files(index_dir: Path) -> None:
    """Delete what kb (and Whoosh, for kb) wrote in its index folder, and nothing else:
    the stamp, the lock and the watcher's files stay (a watcher may be running)."""
    keep = {STAMP, SYNC_LOCK, WATCH_PID, WATCH_OFF}
    with os.scandir(index_dir) as it:
        names = [e.name for e in it if is_kb_name(e.name) and e.name not in keep]
    for name in names:
        path = index_dir / name
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)  # Whoosh's temporary folder (MAIN.tmp)
            else:
                path.unlink()
        except FileNotFoundError:
            pass


def _writer(ix: Index, procs: int = 1, timeout: float = 10.0) -> Any:
    from whoosh.index import LockError  # lazily: start-up

    try:
        # compound=False: Whoosh 2.7 copies a whole compound segment into memory
        # (BytesIO over the mmap) every time it opens one, ~250 ms and ~150 MB on
        # a 3,900-note notebook; separate files are read on demand.
        # limitmb=192 per writer: fewer flushed runs to merge than Whoosh's 128 (1x rebuild
        # ~27 s -> ~15.7 s here); peak 376 MB for the largest process on a 39,000-note
        # notebook (256 was 15.0 s but peaked at 424-479 MB, too close to the 500 MB budget).
        if procs > 1:
            return ix.writer(procs=procs, limitmb=192, multisegment=True, timeout=timeout, compound=False)
        return ix.writer(limitmb=192, timeout=timeout, compound=False)
    except LockError:
        raise IndexLocked("another kb process is updating the index; try again in a moment") from None

def _watch_before_scan(nb: Notebook, man: dict[str, Any] | None) -> tuple[Any, set[str] | None]:
    """The watcher's token before a scan, and the folders it saw change since the
    manifest's scan (None: it cannot tell, scan them all)."""
    if man is None or not watch_wanted(nb):
        return None, None
    state, answer = ask_watcher(nb)
    if answer is None or state is None or state.get("generation") != man.get("generation"):
        return answer, None
    return answer, answer.dirty_dirs()


def _watch_after_scan(nb: Notebook, answer: Any, files: dict[str, Signature], generation: int) -> None:
    """Record the token the scan began after, for the manifest just written."""
    if answer is None:
        return
    from .. import watch  # lazily: socket and json, only for a watched notebook

    links = {rel: files.get(rel) for rel in answer.links}
    watch.save_state(nb.index_dir, nb.root, answer.token, generation, len(files), links)


def _index_notes(
    writer: Any,
    root: Path,
    paths: Iterable[str],
    sigs: dict[str, Signature],
    stats: IndexStats,
    progress: Progress | None,
    total: int,
    rows: dict[str, Any] | None = None,
    learners: Iterable[Any] = (),
    grep: Any = None,
    lines: Any = None,
) -> dict[str, Signature]:
    """Add ``paths`` to the writer; returns their scan signatures (unreadable files left out).

    The signature is the one seen *before* reading: a file that changes while kb
    reads it no longer matches, so the next check indexes it again. ``rows`` gets
    each indexed note's catalog row (:mod:`kb.index.catalog`); ``learners`` (a
    :class:`kb.vocab.Learner`, a :class:`kb.assoc.Learner`) see each note's text, ``grep`` (a
    :class:`kb.grepindex.Reader`) its bytes, and so does ``lines`` (a
    :class:`kb.index.lines.Learner`, with the signature).
    """
    done: dict[str, Signature] = {}
    for i, rel in enumerate(paths, 1):
        check_interrupted()
        if progress:
            progress.note(i, total, rel)
        try:
            raw = None if grep is None else grep.seen(rel)
            note = read_note(root, rel, raw if lines is None else lines.seen(rel, raw))
        except OSError as exc:
            stats.warnings.append((rel, f"cannot read: {exc.strerror or exc}"))
            continue
        for w in note.warnings:
            stats.warnings.append((rel, w))
        doc = note_document(note)
        writer.add_document(**doc)
        if rows is not None:
            rows[rel] = catalog.row_of(doc, catalog.file_counts(root, rel))  # (row, counts)
        for each in learners:
            each.note(rel, note.title, note.body)
        if lines is not None:
            lines.note(rel, note.title, sigs[rel])
        done[rel] = sigs[rel]
    return done


#: A sync that rewrites (changes or removes) more than this share of the notes also merges
#: away the segments whose deleted notes are more than this share of them. Whoosh counts a
#: deleted note's terms in the words' document frequencies until its segment is merged, so
#: after a sync that rewrote many notes (a branch checked out, a bulk edit) every word would
#: weigh as commoner than it is and rank otherwise than after a rebuild (the differ set's
#: questions .758 -> .695 with every note rewritten once). A small sync (``kb add``, an edit)
#: never waits for such a merge; a segment all of whose notes are deleted is always dropped.
STALE_SHARE = 0.2


def _merge_stale(writer: Any, segments: list[Any], rewrite: bool = False) -> list[Any]:
    """Whoosh's merge policy (small segments merged), after dropping the segments whose
    notes are all deleted and, if ``rewrite``, merging those with more than STALE_SHARE
    of them deleted (see there)."""
    from whoosh.reading import SegmentReader  # lazily: start-up
    from whoosh.writing import MERGE_SMALL

    keep = []
    for seg in segments:
        if seg.deleted_count() >= seg.doc_count_all():
            continue  # every note of it deleted: nothing to carry over
        if rewrite and seg.deleted_count() > STALE_SHARE * seg.doc_count_all():
            reader = SegmentReader(writer.storage, writer.schema, seg)
            writer.add_reader(reader)
            reader.close()
        else:
            keep.append(seg)
    return MERGE_SMALL(writer, keep)


def _commit(
    writer: Any,
    nb: Notebook,
    files: dict[str, Signature],
    generation: int,
    dirs: dict[str, int],
    save_catalog: Callable[[int], None],
    progress: Progress | None = None,
    clear: bool = False,
    grep: Any = None,
    rewrite: bool = False,
) -> None:
    """Commit, then write the notes catalog, the file sizes and last the manifest of the
    generation the commit made. ``clear``: the new generation holds only what this
    writer added (a rebuild beside the previous index); ``rewrite``: the sync rewrote many
    notes (see :data:`STALE_SHARE`).

    Until the commit, the previous generation and its side files stay as they are, so
    other kb processes go on reading them. If kb dies after the commit, the manifest
    names a generation the index has moved past (:func:`kb.index.manifest.generation_current`),
    so the next sync rebuilds instead of trusting either half; the catalog is stamped with its
    generation and is not used for another.
    """
    if progress:
        # With sub-writers, "all notes read" is not "all indexed": they finish here.
        progress.step("writing the index")
    check_interrupted()
    if clear:
        from whoosh.writing import CLEAR  # lazily: start-up

        writer.commit(mergetype=CLEAR)
    else:
        from functools import partial

        writer.commit(mergetype=partial(_merge_stale, rewrite=rewrite))
    check_interrupted()  # (the commit forks a sub-writer for the last notes): before the manifest
    if progress:
        progress.step("writing the notes catalog")
    save_catalog(generation + 1)
    manifest.save_sizes(nb.index_dir, nb.root, generation + 1)  # the new generation's files exist now
    manifest.save(nb.index_dir, nb.root, files, generation + 1, dirs)
    from .. import grepindex

    # kb grep's words, for the changed notes (``grep``: their bytes, as _index_notes read them)
    grepindex.update(nb.index_dir, nb.root, files, rebuild=clear, generation=generation + 1, read=grep)


def _forget_dirs_of(dirs: dict[str, int], unread: Iterable[str]) -> None:
    """The folders of notes kb could not read are recorded as unknown (like racily-clean
    ones): the quick check then looks again, and the next sync retries those notes."""
    for rel in unread:
        folder = rel.rpartition("/")[0]
        if folder in dirs:
            dirs[folder] = -1


def _stop_subwriters(writer: Any) -> None:
    """End the processes of a multi-process writer that is being abandoned.

    Whoosh's ``MpWriter.cancel()`` cannot reach them: they wait on their job queue
    for ever, and Python waits for them at exit, so a Ctrl-C would hang kb.
    """
    tasks = getattr(writer, "tasks", ())
    for task in tasks:
        if task.is_alive():
            task.terminate()
    for task in tasks:
        if task.pid is not None:  # started (a Ctrl-C can come before all are)
            task.join(5)
    for name in ("jobqueue", "resultqueue"):
        queue = getattr(writer, name, None)
        if queue is not None:
            # Nobody reads it any more: exiting must not wait for its feeder thread
            # to flush jobs into the pipe (a hang at exit after Ctrl-C otherwise).
            queue.cancel_join_thread()


def sync_index(
    nb: Notebook,
    rebuild: bool = False,
    progress: Progress | None = None,
    procs: int | None = None,
    wait: float = 300.0,
    on_wait: Callable[[], None] | None = None,
    check_first: bool = True,
    reason: str = "asked",
) -> IndexStats:
    """Bring the index up to date with the notebook; rebuild when asked or needed
    (``reason``: why it was asked, a key of :data:`BUILD_REASONS`).

    Checking needs no lock; changing does. A second kb process that finds work to
    do waits (``on_wait`` is called once) for the first, then checks again.
    """
    start = time.perf_counter()
    stats = IndexStats()
    # The quick check avoids the lock when nothing changed; a caller that already
    # knows the index is stale (or will walk anyway) skips it, unless a watcher
    # makes it one question.
    fresh = None if rebuild else fresh_answer(nb, full=check_first)
    if fresh is not None:
        stats.total, stats.generation = fresh
        stats.seconds = time.perf_counter() - start
        return stats
    prepare_index_dir(nb.index_dir, nb.root)  # (again: it may have been deleted meanwhile)
    with private_files(), SyncLock(nb.index_dir, wait, on_wait):
        drop_marker(nb.index_dir)  # holding the lock: a marker left is a killed rebuild's
        if rebuild:
            stats.rebuilt, stats.reason = True, reason
            _full_rebuild(nb, *scan(nb.root), stats, progress, procs)
        else:
            _sync_once(nb, stats, progress, procs, dry=False)
    stats.seconds = time.perf_counter() - start
    return stats


def _sync_once(
    nb: Notebook, stats: IndexStats, progress: Progress | None, procs: int | None, dry: bool
) -> bool:
    """Compare the files with the manifest; unless ``dry``, apply the difference.

    Returns True if the index was already up to date.
    """
    man = manifest.load(nb.index_dir, nb.root)
    ix = None if man is None else _open_index(nb.index_dir, man.get("generation"), nb.root)
    answer, dirty = (None, None) if ix is None else _watch_before_scan(nb, man)
    disk, dirs = scan(nb.root, man, dirty)
    stats.total = len(disk)
    if ix is None or man is None:
        if dry:
            return False
        stats.rebuilt = True
        stats.reason = manifest.why_rebuild(nb.index_dir, nb.root)
        _full_rebuild(nb, disk, dirs, stats, progress, procs)
        return False
    old: dict[str, Signature] = man["files"]
    added = sorted(disk.keys() - old.keys())
    removed = sorted(old.keys() - disk.keys())
    changed = sorted(k for k in disk.keys() & old.keys() if disk[k] != old[k])  # marshal keeps tuples
    if not (added or removed or changed):
        if man.get("dirs") != dirs:
            # Only folder mtimes moved (a hidden file, a non-note): record them so
            # the quick check passes again. Same generation: no Whoosh commit.
            manifest.save(  # type: ignore[arg-type]
                nb.index_dir, nb.root, old, man["generation"], dirs, man.get("sizes")
            )
        if not dry:
            _watch_after_scan(nb, answer, old, man["generation"])
        stats.generation = man["generation"]
        return True
    if dry:
        return False
    from .. import assoc, grepindex, vocab  # lazily: only a sync that changes notes learns words (~4 ms)
    from . import lines

    generation = ix.latest_generation()
    update = catalog.Update(nb.index_dir, nb.root, generation, ix)
    todo = added + changed
    learner = vocab.Learner(ix.reader() if len(todo) <= vocab.CHECK_NEW_TERMS_MAX else None)
    pairs = assoc.Learner()
    plain = lines.Learner(lines.base_dict(nb.index_dir))

    def save_side_files(gen: int) -> None:
        update.save(gen, removed, changed, new)
        vocab.save_updated(nb.index_dir, ix, learner, removed)
        assoc.save_updated(nb.index_dir, nb.root, pairs, removed)
        lines.save_updated(nb.index_dir, plain, removed)

    writer = _writer(ix)
    try:
        with writer.searcher() as searcher:  # one searcher for all deletions
            for rel in removed + changed:
                writer.delete_by_term("path", rel, searcher=searcher)
        new: dict[str, Any] = {}
        grep = grepindex.Reader()
        done = _index_notes(writer, nb.root, todo, disk, stats, progress, len(todo), new,
                            (learner, pairs), grep, plain)
        _forget_dirs_of(dirs, [p for p in todo if p not in done])
        files = {k: tuple(v) for k, v in old.items() if k not in removed and k not in changed}
        files.update(done)
        learner.close()
        rewrite = len(removed) + len(changed) > STALE_SHARE * len(old)
        _commit(writer, nb, files, generation, dirs, save_side_files, progress, grep=grep,  # type: ignore[arg-type]
                rewrite=rewrite)
    except BaseException:
        writer.cancel()
        raise
    finally:
        learner.close()
    stats.generation = generation + 1
    _watch_after_scan(nb, answer, files, generation + 1)  # type: ignore[arg-type]
    stats.added = sum(1 for k in added if k in done)
    stats.updated = sum(1 for k in changed if k in done)
    stats.removed = len(removed) + sum(1 for k in changed if k not in done)
    return False


def _full_rebuild(
    nb: Notebook,
    disk: dict[str, Signature],
    dirs: dict[str, int],
    stats: IndexStats,
    progress: Progress | None,
    procs: int | None,
) -> None:
    """Index every note anew, into a generation that holds nothing else. Asked for on a
    sound index of this notebook, the new index is written beside it and replaces it at
    the commit, other kb processes answering from it meanwhile (:func:`rebuild_running`);
    otherwise kb's files go first."""
    paths = sorted(disk)
    if progress:
        progress.building(stats.reason, len(paths))
    previous = previous_index(nb) if stats.reason == "asked" else None
    if previous is not None:
        ix = previous
        write_marker(nb.index_dir)
    else:
        ix = _create_index(nb.index_dir)
    if procs is None:
        procs = min(2, os.cpu_count() or 1) if len(paths) > 500 else 1
    generation = ix.latest_generation()
    from .. import assoc, grepindex, vocab  # lazily, as in _sync_once
    from . import lines

    rows: dict[str, Any] = {}  # in path order, like paths
    learner = vocab.Learner()
    pairs = assoc.Learner()
    plain = lines.Learner()

    def save_side_files(gen: int) -> None:
        catalog.save_indexed(nb.index_dir, nb.root, gen, rows)
        vocab.save_rebuilt(nb.index_dir, ix, learner)  # from the lexicon the commit made
        assoc.save_rebuilt(nb.index_dir, nb.root, pairs)
        lines.save_rebuilt(nb.index_dir, plain)

    try:
        if previous is not None:
            SyncLock.child_nice = REBUILD_NICE  # the sub-writers (the parent: see REBUILD_NICE)
        writer = _writer(ix, procs=procs)
        try:
            grep = grepindex.Reader(build=True)
            done = _index_notes(
                writer, nb.root, paths, disk, stats, progress, len(paths), rows, (learner, pairs), grep, plain
            )
            _forget_dirs_of(dirs, [p for p in paths if p not in done])
            _commit(writer, nb, done, generation, dirs, save_side_files, progress, clear=True, grep=grep)
        except BaseException:
            _stop_subwriters(writer)
            writer.cancel()
            raise
    finally:
        SyncLock.child_nice = 0
        if previous is not None:
            drop_marker(nb.index_dir)
    stats.added = len(done)
    stats.total = len(done)
    stats.generation = generation + 1


def previous_index(nb: Notebook) -> Index | None:
    """The index as the manifest describes it, if it is this notebook's and sound."""
    man = manifest.load(nb.index_dir, nb.root)
    if man is None or not manifest.generation_current(nb.index_dir, man.get("generation")):
        return None
    return _open_index(nb.index_dir, man["generation"], nb.root)


#: While searches are answered from the previous index, a rebuild beside it runs its
#: sub-writers (two thirds of its CPU on the corpus) at this lower priority, as indexers
#: like recollindex run: under load a search during the rebuild then took ~1.0 s instead
#: of 1.4-2.5 s here. Not the parent: that may be a long-lived process calling
#: ``sync_index`` (a nice cannot be undone), and with one process the rebuild is short.
REBUILD_NICE = 10


#: What a command says when it answers during a rebuild (:func:`open_index`).
REBUILD_NOTICE = (
    "a rebuild of the index is running (kb index --rebuild); these answers come from the previous index"
)


def open_index(
    nb: Notebook,
    sync: bool = True,
    on_wait: Callable[[], None] | None = None,
    progress: Progress | None = None,
) -> tuple[Index, IndexStats | None]:
    """The notebook's index, synced with the files first unless ``sync`` is False.

    While another kb process rebuilds it beside the previous index, the previous one
    answers at once, even if notes changed since (``stats.notice`` says so).
    """
    if not sync:
        ix = previous_index(nb)
        if ix is not None:
            return _opened(ix), None
    probe = FreshnessProbe(nb)
    ix = _open_index(nb.index_dir, root=nb.root)  # meanwhile: import Whoosh, read the TOC
    start = time.perf_counter()
    fresh = probe.answer()
    if ix is not None and fresh is not None and ix.latest_generation() == fresh[1]:
        notice = REBUILD_NOTICE if rebuild_running(nb.index_dir) else ""
        return _opened(ix), IndexStats(total=fresh[0], seconds=time.perf_counter() - start, notice=notice,
                                       generation=fresh[1])
    if rebuild_running(nb.index_dir):
        previous = previous_index(nb)
        if previous is not None:
            return _opened(previous), IndexStats(total=previous.doc_count(), notice=REBUILD_NOTICE,
                                                 generation=previous.latest_generation())
    check_first = fresh is not None or ix is None
    healed = False
    for _ in range(5):
        stats = sync_index(nb, rebuild=healed, on_wait=on_wait, check_first=check_first, progress=progress,
                           reason="damaged")
        ix = _open_index(nb.index_dir, stats.generation, nb.root)
        if ix is not None:
            return _opened(ix), stats
        check_first = True
        if manifest.generation_current(nb.index_dir, stats.generation):
            # Not a newer generation committed meanwhile by another kb: damage the
            # quick check cannot see (it trusts the manifest). Heal once.
            if healed:
                break
            healed = True
    raise IndexLocked("the index kept changing while kb opened it (other kb processes at work); try again")


#: The generation of each index this process opened last (see :func:`read_failed`).
_OPENED: dict[Path, int] = {}


def _opened(ix: Index) -> Index:
    folder = getattr(getattr(ix, "storage", None), "folder", None)
    if folder:
        _OPENED[Path(folder)] = ix.latest_generation()
    return ix


def read_failed(
    nb: Notebook, on_wait: Callable[[], None] | None = None, progress: Progress | None = None
) -> None:
    """Whoosh failed while reading the index this process opened. If another kb committed
    a newer generation since (the files of the old one are gone), nothing is damaged and
    the command can simply run again; otherwise the index is rebuilt."""
    opened = _OPENED.get(nb.index_dir)
    man = manifest.load(nb.index_dir, nb.root)
    generation = None if man is None else man.get("generation")
    if opened is not None and isinstance(generation, int) and generation > opened:
        if _open_index(nb.index_dir, generation, nb.root) is not None:
            return
    sync_index(nb, rebuild=True, on_wait=on_wait, progress=progress, reason="damaged")


def raised_by_whoosh(exc: BaseException) -> bool:
    """True if the exception was raised inside Whoosh (reading a damaged index)."""
    tb = exc.__traceback__
    while tb is not None:
        if f"{os.sep}whoosh{os.sep}" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


def repair_after(
    exc: BaseException,
    nb: Notebook,
    on_wait: Callable[[], None] | None = None,
    progress: Callable[[], AbstractContextManager[Progress | None]] | None = None,
) -> bool:
    """Whether a reading of the index that failed with ``exc`` can simply run again, the
    index made sound meanwhile. Damage no cheap check can see (same-size garbage in an
    index file) shows up only when Whoosh reads it: such a failure is repaired here
    (:func:`read_failed`) and True returned; any other failure is not the index's (False).
    ``progress``: makes the :class:`Progress` a rebuild reports to (entered only then).
    """
    if not raised_by_whoosh(exc):
        return False
    with progress() if progress is not None else nullcontext() as told:
        read_failed(nb, on_wait=on_wait, progress=told)
    return True


@dataclass
class IndexInfo:
    notebook: Path
    index_dir: Path
    source: str
    notes_on_disk: int
    notes_indexed: int
    fresh: bool
    pending: dict[str, int]
    watcher: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "notebook": str(self.notebook),
            "index": str(self.index_dir),
            "source": self.source,
            "notes": self.notes_on_disk,
            "indexed": self.notes_indexed,
            "fresh": self.fresh,
            "pending": self.pending,
            "watcher": self.watcher,
        }


def index_info(nb: Notebook) -> IndexInfo:
    """How the index compares with the files, without changing anything."""
    disk, _ = scan(nb.root)
    man = manifest.load(nb.index_dir, nb.root)
    old = {k: tuple(v) for k, v in (man or {}).get("files", {}).items()}

    def same(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
        # A size of -1 marks a racily-clean file (see RACY_NS): kb will read it again
        # to be sure, but as far as anyone can see it is indexed as it is.
        return a == b or (a[0], a[2], a[3]) == (b[0], b[2], b[3]) and -1 in (a[1], b[1])

    pending = {
        "added": len(disk.keys() - old.keys()),
        "changed": sum(1 for k in disk.keys() & old.keys() if not same(disk[k], old[k])),
        "removed": len(old.keys() - disk.keys()),
    }
    fresh = man is not None and not any(pending.values())
    return IndexInfo(nb.root, nb.index_dir, nb.source, len(disk), len(old), fresh, pending, _watcher_info(nb))


def _watcher_info(nb: Notebook) -> str:
    """One line on the watcher (see :mod:`kb.watch`) for ``kb info``."""
    from .. import watch  # lazily: socket and json, only for a watched notebook

    status = watch.status(nb.index_dir)
    if status and status.get("root") == str(nb.root):
        return f"running (pid {status.get('pid')}, {status.get('folders')} folders watched)"
    if status:
        return f"none for this notebook: the index folder's watcher watches {status.get('root')}"
    if os.environ.get("KB_WATCH") == "0":
        return "off (KB_WATCH=0)"
    try:
        why = (nb.index_dir / WATCH_OFF).read_text(encoding="utf-8").strip()
        return f"cannot run here: {why}"
    except OSError:
        pass
    if not sys.platform.startswith("linux"):
        return "not available (Linux only)"
    if not watch_wanted(nb):
        return "not needed (under ~2,000 notes; KB_WATCH=1 starts it)"
    return "not running (the next command starts it)"


def indexed_files(nb: Notebook) -> dict[str, Signature] | None:
    """Path -> file signature of every note as the last sync saw them (None: no usable
    manifest). ``kb grep`` trusts its own word index for a note only under the same signature."""
    man = manifest.load(nb.index_dir, nb.root)
    return None if man is None else man["files"]


def stored_notes(ix: Index) -> list[NoteRow]:
    """Every indexed note's row (:class:`kb.noterow.NoteRow`) in path order: from the
    notes catalog when it matches the index, else from Whoosh's stored fields."""
    return catalog.stored_notes(ix)
