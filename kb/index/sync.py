"""The Whoosh index: schema, open or create, and incremental sync with the files.

The index is a disposable cache. Next to Whoosh's files lives ``manifest.bin`` (marshal):
the analyzer and schema versions, the notebook it indexes and, for every indexed note,
the signature of its file (mtime in ns, size, inode, ctime in ns). Sync walks the
notebook, compares signatures and re-indexes only what was added, changed or removed.
A missing manifest, another version, another notebook, or an index that fails to open
means a full rebuild, never an error. The manifest is written just after Whoosh commits;
a crash in between is caught by a generation number (see :func:`_commit`).

The folder is kb's (``config.prepare_index_dir`` checks it before anything is read) and
everything in it is written under umask 077. A rebuild never deletes the folder: when
the current index is this notebook's, the new one is written beside it, in the same
folder, and replaces it at the commit (Whoosh's generations), so other kb processes go
on answering from the previous index meanwhile (:func:`rebuild_running`); otherwise only
kb's own files are removed first (:func:`_clear_index_files`).
"""

from __future__ import annotations

import marshal
import os
import shutil
import stat as stat_mod
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..analysis import ANALYZER_VERSION, prepare_whoosh_import
from ..config import STAMP, Notebook, is_kb_name, prepare_index_dir, private_files
from ..errors import IndexLocked
from ..notes import Listing, Note, list_dir, nfc, read_note

if TYPE_CHECKING:
    from whoosh.index import Index

    from .noterow import NoteRow

SCHEMA_VERSION = 2  # 2: frontmatter fields (meta)
MANIFEST = "manifest.bin"
SIZES = "sizes.bin"
#: Text fields searched by a plain word, with their weight against the body.
FIELD_BOOSTS = {"title": 4.0, "aliases": 3.0, "tagtext": 2.5, "pathtext": 2.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_BOOSTS)

#: A marker that a rebuild beside the previous index is running (see :func:`rebuild_running`).
REBUILDING = "rebuilding"
#: The sync lock (see :class:`_SyncLock`).
LOCK = "sync.lock"

Signature = tuple[int, int, int, int]


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


def make_schema() -> Any:
    from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

    from ..analysis import korean_analyzer

    ana = korean_analyzer()
    return Schema(
        path=ID(stored=True, unique=True),
        title=TEXT(analyzer=ana, stored=True, field_boost=FIELD_BOOSTS["title"]),
        aliases=TEXT(analyzer=ana, field_boost=FIELD_BOOSTS["aliases"]),
        tagtext=TEXT(analyzer=ana, field_boost=FIELD_BOOSTS["tagtext"]),
        pathtext=TEXT(analyzer=ana, field_boost=FIELD_BOOSTS["pathtext"]),
        body=TEXT(analyzer=ana, field_boost=FIELD_BOOSTS["body"]),
        tags=KEYWORD(stored=True, commas=True, lowercase=True, scorable=False),
        date=DATETIME(stored=True),
        mtime=STORED(),
        links=STORED(),
        # Other frontmatter fields, as key=term keywords: `category:개념` finds
        # `category: 핵심 개념` (terms analyzed like the body, particles stripped).
        meta=KEYWORD(lowercase=False, scorable=False),
    )


def signature(st: os.stat_result) -> Signature:
    # ctime changes on every write and rename, so a same-size, same-second
    # replacement is still seen.
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


#: Frontmatter keys with a field of their own; every other scalar goes to ``meta``.
_OWN_KEYS = {"title", "tags", "tag", "aliases", "alias"}


def meta_terms(meta: dict[str, Any]) -> list[str]:
    """``{"category": "핵심 개념을"}`` -> ``["category=핵심", "category=개념"]``."""
    from ..analysis import analyze

    out: list[str] = []
    for key, value in meta.items():
        k = nfc(str(key)).strip().lower()
        if not k or k in _OWN_KEYS or any(c.isspace() or c == "=" for c in k):
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, (dict, list)) or v is None:
                continue
            for term in analyze(str(v))[:50]:
                out.append(f"{k}={term}")
    return out


def note_document(note: Note) -> dict[str, Any]:
    import datetime as dt

    path_words = note.path[:-3] if note.path.endswith(".md") else note.path
    date = note.date
    if date is not None and date.tzinfo is not None:
        date = date.astimezone(dt.UTC).replace(tzinfo=None)
    return {
        "path": note.path,
        "title": note.title,
        "aliases": " ".join(note.aliases),
        "tagtext": " ".join(note.tags),
        "pathtext": nfc(path_words.replace("/", " ")),
        "body": note.body,
        "tags": ",".join(t.replace(",", " ") for t in note.tags),
        "date": date,
        "mtime": note.mtime,
        "links": note.links,
        "meta": " ".join(meta_terms(note.meta)),
    }


# --------------------------------------------------------------------------- manifest


def _load_manifest(index_dir: Path, root: Path) -> dict[str, Any] | None:
    """The manifest if it can be trusted for ``root``, else None (which means: rebuild)."""
    try:
        with open(index_dir / MANIFEST, "rb") as fh:
            # loads(read()): marshal.load(fh) reads through the file object, ~10x slower
            data = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("analyzer") != ANALYZER_VERSION
        or data.get("schema") != SCHEMA_VERSION
        or not isinstance(data.get("files"), dict)
        or data.get("notebook") != str(root)
    ):
        return None
    sizes = data.get("sizes") or _load_sizes(index_dir, data.get("generation"), data["notebook"])
    if isinstance(sizes, dict) and not _sizes_match(index_dir, sizes):
        return None  # an index file was truncated, emptied, replaced or deleted
    return data


def _load_sizes(index_dir: Path, generation: Any, root: Any) -> dict[str, int] | None:
    """The index file sizes recorded after the commit of ``generation`` of the index of
    ``root`` (``sizes.bin``), or None before that commit is done (nothing to check yet)."""
    try:
        with open(index_dir / SIZES, "rb") as fh:
            data = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(data, dict) or data.get("generation") != generation:
        return None
    if data.get("notebook") != str(root):
        return None
    sizes = data.get("sizes")
    return sizes if isinstance(sizes, dict) else None


def _save_sizes(index_dir: Path, root: Path, generation: int) -> None:
    """Record the sizes of Whoosh's files after a commit, so an index file that is later
    truncated, emptied or deleted is noticed before it is read (:func:`_load_manifest`).
    A file of its own: rewriting the manifest for it cost ~25 ms a sync on 38,580 notes."""
    data = {"generation": generation, "notebook": str(root), "sizes": _index_file_sizes(index_dir)}
    tmp = index_dir / (SIZES + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(marshal.dumps(data))
    os.replace(tmp, index_dir / SIZES)


def _index_file_sizes(index_dir: Path) -> dict[str, int]:
    """Sizes of Whoosh's files (the TOC and the segments) as they are after a commit."""
    out: dict[str, int] = {}
    with os.scandir(index_dir) as it:
        for entry in it:
            name = entry.name
            if name.startswith(("MAIN_", "_MAIN_")) and name != "MAIN_WRITELOCK" and entry.is_file():
                out[name] = entry.stat().st_size
    return out


def _sizes_match(index_dir: Path, sizes: dict[str, int]) -> bool:
    """A stat per index file: damage that changes a size is noticed before Whoosh reads it."""
    prefix = str(index_dir) + os.sep
    try:
        return all(os.stat(prefix + name).st_size == size for name, size in sizes.items())
    except OSError:
        return False


def _save_manifest(
    index_dir: Path,
    root: Path,
    files: dict[str, Signature],
    generation: int,
    dirs: dict[str, int],
    sizes: dict[str, int] | None = None,
) -> None:
    data = {
        "analyzer": ANALYZER_VERSION,
        "schema": SCHEMA_VERSION,
        "notebook": str(root),
        "generation": generation,
        "files": files,
        "dirs": dirs,
        "sizes": sizes or {},  # {} until the commit is done: nothing to check yet
    }
    tmp = index_dir / (MANIFEST + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(marshal.dumps(data))  # dumps + write: marshal.dump(fh) is ~3x slower
    os.replace(tmp, index_dir / MANIFEST)


# --------------------------------------------------------------------------- open / sync


def _open_index(index_dir: Path, generation: int | None = None, root: Path | None = None) -> Index | None:
    """The index, or None if missing, damaged, or not the generation the manifest describes.

    ``root``: the notebook it was checked to belong to; the notes catalog is trusted
    only for that notebook (:mod:`kb.index.catalog`)."""
    prepare_whoosh_import()
    from whoosh import index as windex

    try:
        if not windex.exists_in(str(index_dir)):
            return None
        ix = windex.open_dir(str(index_dir))
        if generation is not None and ix.latest_generation() != generation:
            return None
        ix.doc_count()  # reads the TOC and segment list: fails on a damaged index
    except Exception:  # any damage at all means: rebuild
        return None
    ix.kb_notebook = root
    return ix


def _create_index(index_dir: Path) -> Index:
    """A new, empty index in place of whatever kb had in ``index_dir``."""
    prepare_whoosh_import()
    from whoosh import index as windex

    _clear_index_files(index_dir)
    return windex.create_in(str(index_dir), make_schema())


def _clear_index_files(index_dir: Path) -> None:
    """Delete what kb (and Whoosh, for kb) wrote in its index folder, and nothing else:
    the stamp, the lock and the watcher's files stay (a watcher may be running)."""
    keep = {STAMP, LOCK, "watch.pid", "watch.off"}
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
    from whoosh.index import LockError

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
    fresh = _fresh(nb, full)
    return None if fresh is None else fresh[0]


def _fresh(nb: Notebook, full: bool = True) -> tuple[int, int] | None:
    """:func:`fresh_count` with the generation of the index it vouches for."""
    answer = None
    if not full and not (nb.index_dir / "watch.state").exists():
        return None
    if _watch_wanted(nb):
        state, answer = _ask_watcher(nb)
        if answer is not None and state is not None and answer.dirs is not None:
            # The watcher vouches for every folder it did not name: no stat of each note.
            gen = state.get("generation")
            sizes = _load_sizes(nb.index_dir, gen, nb.root)
            current = _generation_current(nb.index_dir, gen) and (
                sizes is None or _sizes_match(nb.index_dir, sizes)
            )
            return (int(state["count"]), gen) if current and answer.fresh(nb.root, state) else None
    if not full:
        return None
    # Which manifest is checked, taken before reading it: if another kb replaces it
    # meanwhile, the state saved below names this one and is simply not used.
    ident = None
    if answer is not None:
        from .. import watch

        ident = watch.manifest_identity(nb.index_dir)
    manifest = _load_manifest(nb.index_dir, nb.root)
    if manifest is None or not isinstance(manifest.get("dirs"), dict):
        return None
    gen = manifest.get("generation")
    if not _generation_current(nb.index_dir, gen):
        return None
    root = str(nb.root)
    prefix = root + os.sep
    stat = os.stat
    try:
        for d, mtime in manifest["dirs"].items():
            if stat(prefix + d if d else root).st_mtime_ns != mtime:
                return None
        for rel, sig in manifest["files"].items():
            st = stat(prefix + rel)
            if (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns) != sig:
                return None
    except OSError:
        return None
    if answer is not None:  # the scan this manifest records is good as of the token
        from .. import watch

        links = {rel: manifest["files"].get(rel) for rel in answer.links}
        count = len(manifest["files"])
        watch.save_state(nb.index_dir, nb.root, answer.token, gen, count, links, manifest=ident)
    return len(manifest["files"]), gen


def _generation_current(index_dir: Path, gen: Any) -> bool:
    """The index has the generation ``gen`` and no newer one (a commit not yet recorded)."""
    if not isinstance(gen, int):
        return False
    return os.path.exists(index_dir / f"_MAIN_{gen}.toc") and not os.path.exists(
        index_dir / f"_MAIN_{gen + 1}.toc"
    )


#: From this manifest size (~2,000 notes) kb uses, and starts, a watcher (see :mod:`kb.watch`):
#: where a stat of every note starts to cost, as for :class:`FreshnessProbe`.
WATCH_MIN_MANIFEST_BYTES = 200_000


def _watch_wanted(nb: Notebook) -> bool:
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


def _ask_watcher(nb: Notebook) -> tuple[dict[str, Any] | None, Any]:
    """The saved watcher state, and the watcher's answer for its token; with no watcher
    answering, one is started for the next command (this one checks without it)."""
    from .. import watch

    state = watch.load_state(nb.index_dir, nb.root)
    answer = watch.ask(nb.root, nb.index_dir, state["token"] if state else None)
    if answer is None:
        watch.start(nb.root, nb.index_dir)
    return state, answer


def _watch_before_scan(nb: Notebook, manifest: dict[str, Any] | None) -> tuple[Any, set[str] | None]:
    """The watcher's token before a scan, and the folders it saw change since the
    manifest's scan (None: it cannot tell, scan them all)."""
    if manifest is None or not _watch_wanted(nb):
        return None, None
    state, answer = _ask_watcher(nb)
    if answer is None or state is None or state.get("generation") != manifest.get("generation"):
        return answer, None
    return answer, answer.dirty_dirs()


def _watch_after_scan(nb: Notebook, answer: Any, files: dict[str, Signature], generation: int) -> None:
    """Record the token the scan began after, for the manifest just written."""
    if answer is None:
        return
    from .. import watch

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
    learner: Any = None,
) -> dict[str, Signature]:
    """Add ``paths`` to the writer; returns their scan signatures (unreadable files left out).

    The signature is the one seen *before* reading: a file that changes while kb
    reads it no longer matches, so the next check indexes it again. ``rows`` gets
    each indexed note's catalog row (:mod:`kb.index.catalog`); ``learner`` (a
    :class:`kb.vocab.Learner`) sees each note's text.
    """
    from . import catalog

    done: dict[str, Signature] = {}
    for i, rel in enumerate(paths, 1):
        _check_interrupted()
        if progress:
            progress.note(i, total, rel)
        try:
            note = read_note(root, rel)
        except OSError as exc:
            stats.warnings.append((rel, f"cannot read: {exc.strerror or exc}"))
            continue
        for w in note.warnings:
            stats.warnings.append((rel, w))
        doc = note_document(note)
        writer.add_document(**doc)
        if rows is not None:
            rows[rel] = catalog.row_of(doc, catalog.file_counts(root, rel))  # (row, counts)
        if learner is not None:
            learner.note(rel, note.title, note.body)
        done[rel] = sigs[rel]
    return done


def _commit(
    writer: Any,
    nb: Notebook,
    files: dict[str, Signature],
    generation: int,
    dirs: dict[str, int],
    save_catalog: Callable[[int], None],
    progress: Progress | None = None,
    clear: bool = False,
) -> None:
    """Commit, then write the notes catalog, the file sizes and last the manifest of the
    generation the commit made. ``clear``: the new generation holds only what this
    writer added (a rebuild beside the previous index).

    Until the commit, the previous generation and its side files stay as they are, so
    other kb processes go on reading them. If kb dies after the commit, the manifest
    names a generation the index has moved past (:func:`_generation_current`), so the
    next sync rebuilds instead of trusting either half; the catalog is stamped with its
    generation and is not used for another.
    """
    if progress:
        # With sub-writers, "all notes read" is not "all indexed": they finish here.
        progress.step("writing the index")
    _check_interrupted()
    if clear:
        from whoosh.writing import CLEAR

        writer.commit(mergetype=CLEAR)
    else:
        writer.commit()
    _check_interrupted()  # (the commit forks a sub-writer for the last notes): before the manifest
    if progress:
        progress.step("writing the notes catalog")
    save_catalog(generation + 1)
    _save_sizes(nb.index_dir, nb.root, generation + 1)  # the new generation's files exist now
    _save_manifest(nb.index_dir, nb.root, files, generation + 1, dirs)


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


def _after_fork_in_child() -> None:
    """In a process forked while kb holds the sync lock (Whoosh's sub-writers of a
    multi-process rebuild): let go of the inherited lock, leave Ctrl-C to the parent
    (which stops its sub-writers), and on Linux die with the parent. Else a `kill -9`
    of kb leaves them waiting on their job queue for ever, holding the lock, and
    every later kb waits for it."""
    fd, owner = _SyncLock.held
    if fd < 0:
        return
    _SyncLock.held = (-1, 0)
    try:
        os.close(fd)
        if _SyncLock.child_nice:
            os.nice(_SyncLock.child_nice)
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # see _before_fork
        if os.uname().sysname == "Linux":
            import ctypes

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
    if _SyncLock.held[0] >= 0:
        import signal

        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _after_fork_in_parent() -> None:
    if _SyncLock.held[0] >= 0:
        import signal

        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a Ctrl-C meanwhile: now
        except KeyboardInterrupt:
            # Raised in a fork hook it would be printed and lost: raised again by
            # _check_interrupted, at the next note or step of the sync.
            _SyncLock.interrupted = True


def _check_interrupted() -> None:
    if _SyncLock.interrupted:
        _SyncLock.interrupted = False
        raise KeyboardInterrupt


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
    )


def lock_path(index_dir: Path) -> Path:
    """The file of the sync lock: inside the index folder, which kb never deletes (nothing
    is created beside it, where it may be a shared place like ``/tmp``)."""
    return index_dir / LOCK


class _SyncLock:
    """An exclusive ``flock`` on :func:`lock_path`. The kernel drops it when the process
    dies, so a killed kb never leaves a stale lock behind."""

    #: (fd, pid) of the lock this process holds, for :func:`_after_fork_in_child`.
    held: tuple[int, int] = (-1, 0)
    #: How much lower the CPU priority of processes forked meanwhile is (see :data:`REBUILD_NICE`).
    child_nice = 0
    #: A Ctrl-C came while this process forked (see :func:`_after_fork_in_parent`).
    interrupted = False

    def __init__(self, index_dir: Path, wait: float, on_wait: Callable[[], None] | None) -> None:
        self.path = lock_path(index_dir)
        self.wait = wait
        self.on_wait = on_wait
        self.fd = -1

    def __enter__(self) -> _SyncLock:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.wait
        told = False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _SyncLock.held = (self.fd, os.getpid())
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
        _SyncLock.held = (-1, 0)
        os.close(self.fd)  # closing releases the flock
        if exc[0] is None:
            _check_interrupted()  # a Ctrl-C during a fork no check came after
        _SyncLock.interrupted = False


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
    fresh = None if rebuild else _fresh(nb, full=check_first)
    if fresh is not None:
        stats.total, stats.generation = fresh
        stats.seconds = time.perf_counter() - start
        return stats
    prepare_index_dir(nb.index_dir, nb.root)  # (again: it may have been deleted meanwhile)
    with private_files(), _SyncLock(nb.index_dir, wait, on_wait):
        _drop_marker(nb.index_dir)  # holding the lock: a marker left is a killed rebuild's
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
    manifest = _load_manifest(nb.index_dir, nb.root)
    ix = None if manifest is None else _open_index(nb.index_dir, manifest.get("generation"), nb.root)
    answer, dirty = (None, None) if ix is None else _watch_before_scan(nb, manifest)
    disk, dirs = scan(nb.root, manifest, dirty)
    stats.total = len(disk)
    if ix is None or manifest is None:
        if dry:
            return False
        stats.rebuilt = True
        stats.reason = _why_rebuild(nb)
        _full_rebuild(nb, disk, dirs, stats, progress, procs)
        return False
    old: dict[str, Signature] = manifest["files"]
    added = sorted(disk.keys() - old.keys())
    removed = sorted(old.keys() - disk.keys())
    changed = sorted(k for k in disk.keys() & old.keys() if disk[k] != old[k])  # marshal keeps tuples
    if not (added or removed or changed):
        if manifest.get("dirs") != dirs:
            # Only folder mtimes moved (a hidden file, a non-note): record them so
            # the quick check passes again. Same generation: no Whoosh commit.
            _save_manifest(  # type: ignore[arg-type]
                nb.index_dir, nb.root, old, manifest["generation"], dirs, manifest.get("sizes")
            )
        if not dry:
            _watch_after_scan(nb, answer, old, manifest["generation"])
        stats.generation = manifest["generation"]
        return True
    if dry:
        return False
    generation = ix.latest_generation()
    from .. import vocab
    from . import catalog

    update = catalog.Update(nb.index_dir, nb.root, generation, ix)
    todo = added + changed
    learner = vocab.Learner(ix.reader() if len(todo) <= vocab.CHECK_NEW_TERMS_MAX else None)

    def save_side_files(gen: int) -> None:
        update.save(gen, removed, changed, new)
        vocab.save_updated(nb.index_dir, ix, learner, removed)

    writer = _writer(ix)
    try:
        with writer.searcher() as searcher:  # one searcher for all deletions
            for rel in removed + changed:
                writer.delete_by_term("path", rel, searcher=searcher)
        new: dict[str, Any] = {}
        done = _index_notes(writer, nb.root, todo, disk, stats, progress, len(todo), new, learner)
        _forget_dirs_of(dirs, [p for p in todo if p not in done])
        files = {k: tuple(v) for k, v in old.items() if k not in removed and k not in changed}
        files.update(done)
        learner.close()
        _commit(writer, nb, files, generation, dirs, save_side_files, progress)  # type: ignore[arg-type]
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


def _why_rebuild(nb: Notebook) -> str:
    """Why the index of this notebook cannot be used as it is: a key of :data:`BUILD_REASONS`."""
    try:
        with open(nb.index_dir / MANIFEST, "rb") as fh:
            data = marshal.loads(fh.read())
    except FileNotFoundError:
        try:  # a committed index without its manifest (not an interrupted first build)
            whoosh = any(n.startswith("_MAIN_") and n != "_MAIN_0.toc" for n in os.listdir(nb.index_dir))
        except OSError:
            whoosh = False
        return "damaged" if whoosh else "new"
    except (OSError, ValueError, EOFError, TypeError):
        return "damaged"
    if not isinstance(data, dict):
        return "damaged"
    if data.get("notebook") != str(nb.root):
        return "other"
    if (data.get("analyzer"), data.get("schema")) != (ANALYZER_VERSION, SCHEMA_VERSION):
        return "version"
    return "damaged"


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
    previous = _previous_index(nb) if stats.reason == "asked" else None
    if previous is not None:
        ix = previous
        _write_marker(nb.index_dir)
    else:
        ix = _create_index(nb.index_dir)
    if procs is None:
        procs = min(2, os.cpu_count() or 1) if len(paths) > 500 else 1
    generation = ix.latest_generation()
    from .. import vocab
    from . import catalog

    rows: dict[str, Any] = {}  # in path order, like paths
    learner = vocab.Learner()

    def save_side_files(gen: int) -> None:
        catalog.save_indexed(nb.index_dir, nb.root, gen, rows)
        vocab.save_rebuilt(nb.index_dir, ix, learner)  # from the lexicon the commit made

    try:
        if previous is not None:
            _SyncLock.child_nice = REBUILD_NICE  # the sub-writers (the parent: see REBUILD_NICE)
        writer = _writer(ix, procs=procs)
        try:
            done = _index_notes(writer, nb.root, paths, disk, stats, progress, len(paths), rows, learner)
            _forget_dirs_of(dirs, [p for p in paths if p not in done])
            _commit(writer, nb, done, generation, dirs, save_side_files, progress, clear=True)
        except BaseException:
            _stop_subwriters(writer)
            writer.cancel()
            raise
    finally:
        _SyncLock.child_nice = 0
        if previous is not None:
            _drop_marker(nb.index_dir)
    stats.added = len(done)
    stats.total = len(done)
    stats.generation = generation + 1


def _previous_index(nb: Notebook) -> Index | None:
    """The index as the manifest describes it, if it is this notebook's and sound."""
    manifest = _load_manifest(nb.index_dir, nb.root)
    if manifest is None or not _generation_current(nb.index_dir, manifest.get("generation")):
        return None
    return _open_index(nb.index_dir, manifest["generation"], nb.root)


#: While searches are answered from the previous index, a rebuild beside it runs its
#: sub-writers (two thirds of its CPU on the corpus) at this lower priority, as indexers
#: like recollindex run: under load a search during the rebuild then took ~1.0 s instead
#: of 1.4-2.5 s here. Not the parent: that may be a long-lived process calling
#: ``sync_index`` (a nice cannot be undone), and with one process the rebuild is short.
REBUILD_NICE = 10


def _write_marker(index_dir: Path) -> None:
    with open(index_dir / REBUILDING, "w", encoding="ascii") as fh:
        fh.write(f"{os.getpid()}\n")


def _drop_marker(index_dir: Path) -> None:
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
    import fcntl

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


#: What a command says when it answers during a rebuild (:func:`open_index`).
REBUILD_NOTICE = (
    "a rebuild of the index is running (kb index --rebuild); these answers come from the previous index"
)


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
        watched = (nb.index_dir / "watch.state").exists() and _watch_wanted(nb)
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
                fresh = _fresh(self.nb)
                os.write(w, b"-1" if fresh is None else b"%d %d" % fresh)
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
        """``(notes, generation)`` as :func:`_fresh` gives them."""
        if not self.pid:
            return _fresh(self.nb)
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
        ix = _previous_index(nb)
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
        previous = _previous_index(nb)
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
        if _generation_current(nb.index_dir, stats.generation):
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
    manifest = _load_manifest(nb.index_dir, nb.root)
    generation = None if manifest is None else manifest.get("generation")
    if opened is not None and isinstance(generation, int) and generation > opened:
        if _open_index(nb.index_dir, generation, nb.root) is not None:
            return
    sync_index(nb, rebuild=True, on_wait=on_wait, progress=progress, reason="damaged")


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
    manifest = _load_manifest(nb.index_dir, nb.root)
    old = {k: tuple(v) for k, v in (manifest or {}).get("files", {}).items()}

    def same(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
        # A size of -1 marks a racily-clean file (see RACY_NS): kb will read it again
        # to be sure, but as far as anyone can see it is indexed as it is.
        return a == b or (a[0], a[2], a[3]) == (b[0], b[2], b[3]) and -1 in (a[1], b[1])

    pending = {
        "added": len(disk.keys() - old.keys()),
        "changed": sum(1 for k in disk.keys() & old.keys() if not same(disk[k], old[k])),
        "removed": len(old.keys() - disk.keys()),
    }
    fresh = manifest is not None and not any(pending.values())
    return IndexInfo(nb.root, nb.index_dir, nb.source, len(disk), len(old), fresh, pending, _watcher_info(nb))


def _watcher_info(nb: Notebook) -> str:
    """One line on the watcher (see :mod:`kb.watch`) for ``kb info``."""
    from .. import watch

    status = watch.status(nb.index_dir)
    if status and status.get("root") == str(nb.root):
        return f"running (pid {status.get('pid')}, {status.get('folders')} folders watched)"
    if status:
        return f"none for this notebook: the index folder's watcher watches {status.get('root')}"
    if os.environ.get("KB_WATCH") == "0":
        return "off (KB_WATCH=0)"
    try:
        why = (nb.index_dir / watch.OFF).read_text(encoding="utf-8").strip()
        return f"cannot run here: {why}"
    except OSError:
        pass
    if not sys.platform.startswith("linux"):
        return "not available (Linux only)"
    if not _watch_wanted(nb):
        return "not needed (under ~2,000 notes; KB_WATCH=1 starts it)"
    return "not running (the next command starts it)"


def indexed_files(nb: Notebook) -> dict[str, Signature] | None:
    """Path -> file signature of every note as the last sync saw them (None: no usable
    manifest). ``kb grep`` trusts its own word index for a note only under the same signature."""
    manifest = _load_manifest(nb.index_dir, nb.root)
    return None if manifest is None else manifest["files"]


def stored_tags(stored: Any) -> list[str]:
    """The tags of a note as the index stores them (one comma-separated string)."""
    return [t for t in (stored.get("tags") or "").split(",") if t]


def stored_notes(ix: Index) -> list[NoteRow]:
    """Every indexed note's row (:class:`kb.noterow.NoteRow`) in path order: from the
    notes catalog when it matches the index, else from Whoosh's stored fields."""
    from .catalog import stored_notes as from_catalog

    return from_catalog(ix)
