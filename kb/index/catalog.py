"""The notes catalog: every indexed note's stored fields, and its word counts, in one file.

Whoosh keeps a note's stored fields in a pickle per document; reading all of them
back (``searcher.all_stored_fields()``) takes ~1 s on a 40,000-note notebook, and
``kb list``, ``tags``, ``links``, ``show``... need all of them. The catalog holds
the same fields, one row per note in path order, plus what ``kb stats`` counts in
each file (words, Hangul, Latin, bytes), so that command reads no file either.

Two files beside Whoosh's, both marshal:

``notes.bin``
    A header line ``kb-notes <version> <generation> <token> <notebook key>`` and the
    rows of that index generation; the counts are a nested marshal blob, decoded only
    by ``kb stats``. The notebook key is a hash of the notebook's path (:func:`_key`).
``notes.delta``
    What the syncs since then changed (rows, counts, removed paths), stamped with the
    notebook, the generation it brings the catalog to and the token of the ``notes.bin``
    it applies to. A sync rewrites this small file only; past :data:`COMPACT_AT` rows it
    writes a whole new ``notes.bin`` instead.

Both are written by the sync that commits to Whoosh, right after the commit (before
the manifest, see ``index._commit``), and trusted only for the notebook the index was
opened for (``index._open_index`` records it on the index object) while the index is
at the generation they name. Anything else (missing, damaged, another version, another
notebook, another generation, a delta for another ``notes.bin``) means: read Whoosh's
stored fields as before. The catalog can make kb slower, never wrong. An index built before the
catalog existed gets one from its stored fields on first use, without counts;
``kb stats`` then reads those files once and keeps their counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import private_files
from ..errors import IndexLocked
from ..noterow import NoteRow
from .lock import SyncLock
from .manifest import CATALOG, CATALOG_DELTA
from .schema import stored_row

if TYPE_CHECKING:
    from whoosh.index import Index

#: Bump when the layout changes: files of another version are simply not trusted.
CATALOG_VERSION = 2  # 2: the notebook key
#: A delta with more rows than this is folded into a new ``notes.bin``.
COMPACT_AT = 2000

#: (words, Hangul syllables, Latin letters, bytes) of a note, as ``kb stats`` counts them.
Counts = tuple[int, int, int, int]
#: ``(slug, title, tags, date as ISO text, mtime, links)`` as stored; ``slug`` is None
#: when it is the path without ``.md``, and a field is None where Whoosh stores nothing.
Row = tuple[Any, ...]


# --------------------------------------------------------------------------- rows


def row_of(doc: dict[str, Any], counts: Counts | None = None) -> tuple[Row, Counts | None]:
    """The row (and counts) of a note, from its Whoosh document (``schema.note_document``)
    or from its stored fields."""
    return _packed(stored_row(doc)), counts


def _packed(note: NoteRow) -> Row:
    """A :class:`NoteRow` as the catalog stores it: slug and title None when they are the
    path's, empty tags and links as lists."""
    slug = None if note.slug == note.path[:-3] else note.slug
    return (
        slug,
        None if note.title == note.slug else note.title,
        list(note.tags),
        None if note.date is None else note.date.isoformat(),
        note.mtime,
        list(note.links),
    )


def _stored_rows(searcher: Any) -> dict[str, Row]:
    """Every note's row from Whoosh's stored fields (slow: a pickle per note), in path order."""
    rows = sorted((stored_row(d) for d in searcher.all_stored_fields()), key=lambda r: r.path)
    return {r.path: _packed(r) for r in rows}


def file_counts(root: Path, rel: str) -> Counts | None:
    """Counts of the file as ``kb stats`` reads it (the whole file), None if unreadable."""
    from ..stats import count_bytes  # lazily: kb.stats loads kb.links, which a search never needs

    try:
        data = (root / rel).read_bytes()
    except OSError:
        return None
    return count_bytes(data)


def notes_of(rows: dict[str, Row]) -> list[NoteRow]:
    """The catalog's rows as :class:`NoteRow` objects, in path order."""
    from_iso = dt.datetime.fromisoformat
    return [
        NoteRow(
            path,
            slug or path[:-3],
            title or slug or path[:-3],
            tuple(tags),
            from_iso(date) if date is not None else None,
            mtime,
            tuple(links) if links else (),
        )
        for path, (slug, title, tags, date, mtime, links) in rows.items()
    ]


# --------------------------------------------------------------------------- files


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def drop(index_dir: Path) -> None:
    for name in (CATALOG_DELTA, CATALOG, CATALOG_DELTA + ".tmp", CATALOG + ".tmp"):
        try:
            os.unlink(index_dir / name)
        except OSError:
            pass


def _key(root: Path) -> str:
    """The notebook key of a ``notes.bin`` header: a hash of the notebook's path."""
    return hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def save(
    index_dir: Path, root: Path, generation: int, rows: dict[str, Row], counts: dict[str, Counts]
) -> None:
    """Write a whole catalog of ``root``'s index at ``generation`` (rows in path order);
    on failure leave none."""
    token = os.urandom(8).hex()
    head = f"kb-notes {CATALOG_VERSION} {generation} {token} {_key(root)}\n".encode()
    body = marshal.dumps({"notes": rows, "counts": marshal.dumps(counts)})
    try:
        _write(index_dir / CATALOG, head + body)
        os.unlink(index_dir / CATALOG_DELTA)
    except FileNotFoundError:
        pass
    except OSError:
        drop(index_dir)


def save_indexed(
    index_dir: Path, root: Path, generation: int, indexed: dict[str, tuple[Row, Counts | None]]
) -> None:
    """:func:`save` for the rows and counts a full rebuild collected (in path order)."""
    rows = {rel: row for rel, (row, _) in indexed.items()}
    save(index_dir, root, generation, rows, {rel: c for rel, (_, c) in indexed.items() if c is not None})


def _header(data: bytes, root: Path) -> tuple[int, str, int] | None:
    """``(generation, token, offset of the rows)`` of a ``notes.bin``'s bytes, if it is
    the catalog of ``root``'s index."""
    end = data.find(b"\n", 0, 100)
    parts = data[:end].split() if end > 0 else []
    if len(parts) != 5 or parts[0] != b"kb-notes" or parts[1] != str(CATALOG_VERSION).encode():
        return None
    try:
        if parts[4].decode("ascii") != _key(root):
            return None
        return int(parts[2]), parts[3].decode("ascii"), end + 1
    except (ValueError, UnicodeDecodeError):
        return None


def _read_delta(index_dir: Path) -> dict[str, Any] | None:
    try:
        with open(index_dir / CATALOG_DELTA, "rb") as fh:
            data = marshal.loads(fh.read())  # loads(read()): marshal.load(fh) is ~10x slower
    except (OSError, ValueError, EOFError, TypeError):
        return None
    ok = (
        isinstance(data, dict)
        and data.get("version") == CATALOG_VERSION
        and isinstance(data.get("generation"), int)
        and isinstance(data.get("base"), str)
        and isinstance(data.get("notes"), dict)
        and isinstance(data.get("counts"), dict)
        and isinstance(data.get("removed"), list)
    )
    return data if ok else None


def _chain(
    index_dir: Path, root: Path, generation: int, head: bytes
) -> tuple[str, dict[str, Any] | None] | None:
    """The token of ``notes.bin`` (from its first bytes ``head``) and the delta to apply
    to it, if together they describe ``generation`` of ``root``'s index; else None."""
    header = _header(head, root)
    if header is None:
        return None
    base_generation, token, _ = header
    delta = _read_delta(index_dir)
    if (
        delta is not None
        and delta["base"] == token
        and delta["generation"] == generation
        and delta.get("notebook") == str(root)
    ):
        return token, delta
    if base_generation == generation:
        return token, None
    return None


def load(
    index_dir: Path, root: Path | None, generation: int | None, counts: bool = False
) -> tuple[dict[str, Row], Any] | None:
    """``(rows, counts)`` if the catalog describes ``generation`` of ``root``'s index,
    else None.

    ``counts`` is None unless asked for (decoding them is a third of the work).
    """
    if generation is None or root is None:
        return None
    try:
        with open(index_dir / CATALOG, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    chain = _chain(index_dir, root, generation, data[:100])
    if chain is None:
        return None
    _, delta = chain
    try:
        body = marshal.loads(memoryview(data)[_header(data, root)[2] :])  # type: ignore[index]
        rows, blob = body["notes"], body["counts"]
        counted = marshal.loads(blob) if counts else None
    except (ValueError, EOFError, TypeError, KeyError):
        return None
    if not isinstance(rows, dict) or (counts and not isinstance(counted, dict)):
        return None
    if delta is not None:
        rows, counted = _apply(rows, counted, delta)
    return rows, counted


def _apply(rows: dict[str, Row], counts: dict[str, Counts] | None, delta: dict[str, Any]) -> tuple[dict, Any]:
    """``notes.bin``'s rows and counts with a delta applied, still in path order."""
    for rel in delta["removed"]:
        rows.pop(rel, None)
    new = delta["notes"]
    fresh = any(rel not in rows for rel in new)
    rows.update(new)
    if counts is not None:
        for rel in delta["removed"]:
            counts.pop(rel, None)
        for rel in new:
            counts.pop(rel, None)  # a note re-indexed without counts has none now
        counts.update(delta["counts"])
    return (dict(sorted(rows.items())) if fresh else rows), counts


def _generation(ix: Index) -> int | None:
    try:
        return ix.latest_generation()
    except Exception:  # a damaged or vanished index: nothing to trust
        return None


def _index_dir(ix: Index) -> Path | None:
    folder = getattr(getattr(ix, "storage", None), "folder", None)
    return Path(folder) if folder else None


def _notebook(ix: Index) -> Path | None:
    """The notebook kb checked this index belongs to when it opened it (None: unknown,
    the catalog is then not used)."""
    return getattr(ix, "kb_notebook", None)


# --------------------------------------------------------------------------- writing from a sync


class Update:
    """How one sync changes the catalog of ``generation``.

    If the catalog on disk describes that generation, the change goes to the delta
    (a few ms on any notebook); otherwise (an index from before catalogs, a catalog
    lost to a crash) a whole catalog is written, its rows read from Whoosh once.
    """

    def __init__(self, index_dir: Path, root: Path, generation: int, ix: Index) -> None:
        self.index_dir = index_dir
        self.root = root
        self.rows: dict[str, Row] | None = None
        self.counts: dict[str, Counts] = {}
        self.token = ""
        self.delta: dict[str, Any] | None = None
        try:
            with open(index_dir / CATALOG, "rb") as fh:
                head = fh.read(100)
        except OSError:
            head = b""
        chain = _chain(index_dir, root, generation, head)
        if chain is None:
            self.rows = read_whoosh(ix)
        else:
            self.token, self.delta = chain

    def save(
        self,
        generation: int,
        removed: list[str],
        changed: list[str],
        new: dict[str, tuple[Row, Counts | None]],
    ) -> None:
        """Record that ``removed`` are gone, ``new`` were (re-)indexed and any other of
        ``changed`` is gone too (kb could not read it), as the catalog of ``generation``."""
        gone = removed + [rel for rel in changed if rel not in new]
        if self.rows is not None:
            for rel in gone:
                self.rows.pop(rel, None)
            fresh = any(rel not in self.rows for rel in new)
            self.rows.update((rel, row) for rel, (row, _) in new.items())
            rows = dict(sorted(self.rows.items())) if fresh else self.rows
            counts = {rel: c for rel, (_, c) in new.items() if c is not None}
            save(self.index_dir, self.root, generation, rows, counts)
            return
        delta = self.delta or {"notes": {}, "counts": {}, "removed": []}
        notes, counts, dropped = delta["notes"], delta["counts"], set(delta["removed"])
        for rel in gone:
            notes.pop(rel, None)
            counts.pop(rel, None)
            dropped.add(rel)
        for rel, (row, c) in new.items():
            dropped.discard(rel)
            notes[rel] = row
            counts.pop(rel, None)
            if c is not None:
                counts[rel] = c
        if len(notes) + len(dropped) > COMPACT_AT:
            loaded = load(self.index_dir, self.root, self._base_generation(), counts=True)
            if loaded is not None:
                changes = {"notes": notes, "counts": counts, "removed": sorted(dropped)}
                save(self.index_dir, self.root, generation, *_apply(loaded[0], loaded[1], changes))
                return
        data = {
            "version": CATALOG_VERSION,
            "notebook": str(self.root),
            "base": self.token,
            "generation": generation,
            "notes": notes,
            "counts": counts,
            "removed": sorted(dropped),
        }
        try:
            _write(self.index_dir / CATALOG_DELTA, marshal.dumps(data))
        except OSError:
            drop(self.index_dir)

    def _base_generation(self) -> int | None:
        try:
            with open(self.index_dir / CATALOG, "rb") as fh:
                header = _header(fh.read(100), self.root)
        except OSError:
            return None
        return header[0] if header is not None and header[1] == self.token else None


# --------------------------------------------------------------------------- reading


def read_whoosh(ix: Index) -> dict[str, Row]:
    """Rows from Whoosh's stored fields (slow: a pickle per note), in path order."""
    with ix.searcher() as s:
        return _stored_rows(s)


def _save_quietly(ix: Index, generation: int, rows: dict[str, Row], counts: dict[str, Counts]) -> None:
    """Save a catalog made outside a sync, if no sync is running and the index is still
    at ``generation``."""
    index_dir, root = _index_dir(ix), _notebook(ix)
    if index_dir is None or root is None:
        return
    try:
        with private_files(), SyncLock(index_dir, 0.0, None):
            if _generation(ix) == generation:
                save(index_dir, root, generation, rows, counts)
    except (IndexLocked, OSError):
        pass  # busy or read-only: a later command or sync writes one


def rows_of(ix: Index, counts: bool = False) -> tuple[dict[str, Row], dict[str, Counts]]:
    """Every indexed note's row, and the counts known: from the catalog when it matches
    the index, else from Whoosh (kept as the catalog for next time) with no counts."""
    index_dir = _index_dir(ix)
    generation = _generation(ix)
    loaded = load(index_dir, _notebook(ix), generation, counts) if index_dir is not None else None
    if loaded is not None:
        return loaded[0], loaded[1] or {}
    with ix.searcher() as s:
        generation = s.reader().generation()
        rows = _stored_rows(s)
    if isinstance(generation, int) and generation >= 0:
        _save_quietly(ix, generation, rows, {})
    return rows, {}


def stored_notes(ix: Index) -> list[NoteRow]:
    """See :func:`kb.index.sync.stored_notes`."""
    return notes_of(rows_of(ix)[0])


class KnownCounts(dict):  # type: ignore[type-arg]
    """Counts by path, remembering how many came from the catalog (see :func:`keep_counts`)."""

    loaded = 0


def notes_and_counts(ix: Index) -> tuple[list[NoteRow], dict[str, Counts]]:
    """:func:`stored_notes` and the counts known for ``kb stats`` (by path), in one read."""
    rows, counts = rows_of(ix, counts=True)
    known = KnownCounts(counts)
    known.loaded = len(known)
    return notes_of(rows), known


def keep_counts(ix: Index, counts: dict[str, Counts]) -> None:
    """Record counts ``kb stats`` had to read the files for (an index built before the
    catalog had them), so the next time it reads none."""
    if isinstance(counts, KnownCounts) and len(counts) == counts.loaded:
        return  # nothing was read: the catalog had them all
    index_dir = _index_dir(ix)
    generation = _generation(ix)
    loaded = load(index_dir, _notebook(ix), generation, counts=True) if index_dir is not None else None
    if loaded is None or generation is None:
        return
    rows, known = loaded
    missing = {p: tuple(c) for p, c in counts.items() if p in rows and p not in known}
    if missing:
        known.update(missing)
        _save_quietly(ix, generation, rows, known)
