"""The files kb keeps in an index folder, named in one place, and the manifest.

Every name kb (or Whoosh, for kb) gives an entry of an index folder is a constant here;
no other module spells one. ``manifest.bin`` (marshal) records the analyzer and schema
versions, the notebook it indexes, the index generation it describes and, for every
indexed note, the signature of its file (mtime in ns, size, inode, ctime in ns), and the
mtime of every folder. ``sizes.bin`` records the sizes of Whoosh's files after a commit.
A manifest that cannot be trusted reads as None, which means: rebuild.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path
from typing import Any

#: Marks the folder as a kb index (a Cache Directory Tag, see :mod:`kb.config`).
STAMP = "CACHEDIR.TAG"
#: The manifest of the index (see this module's docstring).
MANIFEST = "manifest.bin"
#: The sizes of Whoosh's files after the last commit (:func:`save_sizes`).
SIZES = "sizes.bin"
#: The notes catalog and its changes since (:mod:`kb.index.catalog`).
CATALOG = "notes.bin"
CATALOG_DELTA = "notes.delta"
#: The sync lock (:mod:`kb.index.lock`).
SYNC_LOCK = "sync.lock"
#: A marker that a rebuild beside the previous index is running (:func:`kb.index.lock.rebuild_running`).
REBUILDING = "rebuilding"
#: The watcher's saved state, its lock (holding its pid) and why it cannot run (:mod:`kb.watch`).
WATCH_STATE = "watch.state"
WATCH_PID = "watch.pid"
WATCH_OFF = "watch.off"
#: The notebook's vocabulary and glosses, and their changes (:mod:`kb.vocab`).
VOCAB = "vocab.tbl"
VOCAB_DELTA = "vocab.delta"
GLOSSES = "gloss.tbl"
GLOSS_NOTES = "gloss.bin"
#: Words the notes use together across scripts, and each note's lines they came from (:mod:`kb.assoc`).
ASSOCIATIONS = "assoc.tbl"
ASSOC_NOTES = "assoc.bin"
#: ``kb grep``'s word index and its changes (:mod:`kb.grepindex`).
GREP_BASE = "grep.bin"
GREP_DELTA = "grep.delta"
#: Each note's text as plain lines, for the line of a search hit (:mod:`kb.index.lines`).
LINES = "lines.bin"
LINES_DELTA = "lines.delta"
#: The hits of the last ``kb search``, for ``kb show N``.
LAST_SEARCH = "last-search.bin"
#: Whoosh's write lock and temporary folder (its segments and tables of contents are
#: ``MAIN_<segment>.<ext>`` and ``_MAIN_<generation>.toc``).
WHOOSH_LOCK = "MAIN_WRITELOCK"
WHOOSH_TMP = "MAIN.tmp"

#: Every fixed name above (see :func:`kb.config.is_kb_name`).
KB_FILES = frozenset({
    STAMP, MANIFEST, SIZES, CATALOG, CATALOG_DELTA, SYNC_LOCK, REBUILDING, WATCH_STATE, WATCH_PID,
    WATCH_OFF, VOCAB, VOCAB_DELTA, GLOSSES, GLOSS_NOTES, ASSOCIATIONS, ASSOC_NOTES, GREP_BASE, GREP_DELTA,
    LINES, LINES_DELTA, LAST_SEARCH, WHOOSH_LOCK, WHOOSH_TMP,
})

Signature = tuple[int, int, int, int]


def versions() -> tuple[int, int]:
    """The analyzer and schema versions a manifest must record to be trusted."""
    # Lazily: kb.watch (the resident watcher) imports this module for the file names;
    # the analyzer's module would cost it ~4 MB and ~100 ms of start-up.
    from ..analysis import ANALYZER_VERSION
    from .schema import SCHEMA_VERSION

    return ANALYZER_VERSION, SCHEMA_VERSION


def signature(st: os.stat_result) -> Signature:
    # ctime changes on every write and rename, so a same-size, same-second
    # replacement is still seen.
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def load(index_dir: Path, root: Path) -> dict[str, Any] | None:
    """The manifest if it can be trusted for ``root``, else None (which means: rebuild)."""
    try:
        with open(index_dir / MANIFEST, "rb") as fh:
            # loads(read()): marshal.load(fh) reads through the file object, ~10x slower
            data = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if (
        not isinstance(data, dict)
        or (data.get("analyzer"), data.get("schema")) != versions()
        or not isinstance(data.get("files"), dict)
        or data.get("notebook") != str(root)
    ):
        return None
    sizes = data.get("sizes") or load_sizes(index_dir, data.get("generation"), data["notebook"])
    if isinstance(sizes, dict) and not sizes_match(index_dir, sizes):
        return None  # an index file was truncated, emptied, replaced or deleted
    return data


def load_sizes(index_dir: Path, generation: Any, root: Any) -> dict[str, int] | None:
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


def save_sizes(index_dir: Path, root: Path, generation: int) -> None:
    """Record the sizes of Whoosh's files after a commit, so an index file that is later
    truncated, emptied or deleted is noticed before it is read (:func:`load`).
    A file of its own: rewriting the manifest for it cost ~25 ms a sync on 38,580 notes."""
    data = {"generation": generation, "notebook": str(root), "sizes": index_file_sizes(index_dir)}
    tmp = index_dir / (SIZES + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(marshal.dumps(data))
    os.replace(tmp, index_dir / SIZES)


def index_file_sizes(index_dir: Path) -> dict[str, int]:
    """Sizes of Whoosh's files (the TOC and the segments) as they are after a commit."""
    out: dict[str, int] = {}
    with os.scandir(index_dir) as it:
        for entry in it:
            name = entry.name
            if name.startswith(("MAIN_", "_MAIN_")) and name != WHOOSH_LOCK and entry.is_file():
                out[name] = entry.stat().st_size
    return out


def sizes_match(index_dir: Path, sizes: dict[str, int]) -> bool:
    """A stat per index file: damage that changes a size is noticed before Whoosh reads it."""
    prefix = str(index_dir) + os.sep
    try:
        return all(os.stat(prefix + name).st_size == size for name, size in sizes.items())
    except OSError:
        return False


def save(
    index_dir: Path,
    root: Path,
    files: dict[str, Signature],
    generation: int,
    dirs: dict[str, int],
    sizes: dict[str, int] | None = None,
) -> None:
    analyzer, schema = versions()
    data = {
        "analyzer": analyzer,
        "schema": schema,
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


def generation_current(index_dir: Path, gen: Any) -> bool:
    """The index has the generation ``gen`` and no newer one (a commit not yet recorded)."""
    if not isinstance(gen, int):
        return False
    return os.path.exists(index_dir / toc_name(gen)) and not os.path.exists(index_dir / toc_name(gen + 1))


def toc_name(generation: int) -> str:
    """Whoosh's table of contents of ``generation``."""
    return f"_MAIN_{generation}.toc"


def why_rebuild(index_dir: Path, root: Path) -> str:
    """Why the index in ``index_dir`` cannot be used as it is for the notebook ``root``:
    a key of :data:`kb.index.sync.BUILD_REASONS`."""
    try:
        with open(index_dir / MANIFEST, "rb") as fh:
            data = marshal.loads(fh.read())
    except FileNotFoundError:
        try:  # a committed index without its manifest (not an interrupted first build)
            whoosh = any(n.startswith("_MAIN_") and n != toc_name(0) for n in os.listdir(index_dir))
        except OSError:
            whoosh = False
        return "damaged" if whoosh else "new"
    except (OSError, ValueError, EOFError, TypeError):
        return "damaged"
    if not isinstance(data, dict):
        return "damaged"
    if data.get("notebook") != str(root):
        return "other"
    if (data.get("analyzer"), data.get("schema")) != versions():
        return "version"
    return "damaged"
