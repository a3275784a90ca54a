"""Each note's text as plain lines (:func:`kb.plain.snippet_lines`), kept beside the index.

Finding the line of a search hit's first match (the language server's workspace symbols)
is mostly reading the note's Markdown as plain lines (~0.6 ms a note on the corpus, the
first-match search after it ~0.2 ms). The sync reads every note it indexes anyway, so it
keeps those lines: ``lines.bin`` (written by a full rebuild) and ``lines.delta`` (the
notes read by incremental syncs since, at most :data:`DELTA_MAX_BYTES` of them).

An entry is the file's signature as the sync saw it before reading it (the manifest's),
the note's title, the lines of the file before the body (the frontmatter's) and the text
with where its lines come from, compressed. It is used only while the file still has that
signature and the note that title: a note changed since, one read racily clean (its
signature says so, it never matches), a damaged or missing file, an index of another kb
all mean the note is read as before. Slower, never another line.

``lines.bin``: :data:`MAGIC`, the entries' compressed texts one after the other, then the
table ``{path: (signature, title, body_line, offset, length)}`` (marshal) and its offset
(8 bytes, little-endian). ``lines.delta``: ``{path: (signature, title, body_line,
compressed text)}`` (marshal).
"""

from __future__ import annotations

import marshal
import os
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .manifest import LINES, LINES_DELTA

MAGIC = b"kb-lines 1\n"
#: The compressed texts the delta keeps at most (the notes read longest ago go first).
DELTA_MAX_BYTES = 4 << 20
#: zlib's level, and its preset dictionary: the words most common in the first
#: DICT_NOTES notes a rebuild reads (15% smaller than without on the corpus).
LEVEL = 6
DICT_NOTES = 400
DICT_BYTES = 32 << 10

Signature = tuple[int, int, int, int]
Plain = tuple[str, list[tuple[int, int]]]


def pack(text: str, numbers: list[int], zdict: bytes) -> bytes:
    """A text and the body line of each of its lines (:func:`kb.plain.numbered`, stored as
    steps from the previous one), compressed."""
    from array import array

    data = text.encode("utf-8", "surrogatepass")
    steps = array("I", (b - a for a, b in zip([0, *numbers], numbers, strict=False)))
    packer = zlib.compressobj(LEVEL, zdict=zdict) if zdict else zlib.compressobj(LEVEL)
    return packer.compress(len(data).to_bytes(4, "little") + data + steps.tobytes()) + packer.flush()


def unpack(blob: bytes, zdict: bytes) -> tuple[str, list[int]] | None:
    """:func:`pack` undone: the text and the body line of each of its lines (None for a blob
    that is not one, or packed with another dictionary)."""
    from array import array
    from itertools import accumulate

    try:
        unpacker = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
        data = unpacker.decompress(blob) + unpacker.flush()
        size = int.from_bytes(data[:4], "little")
        text = data[4: 4 + size].decode("utf-8", "surrogatepass")
        steps = array("I")
        steps.frombytes(data[4 + size:])
    except (ValueError, zlib.error):
        return None
    if len(steps) != (text.count("\n") + 1 if text else 0):
        return None
    return text, list(accumulate(steps))


def learn_dict(texts: Iterable[str]) -> bytes:
    """A preset dictionary for zlib: the most common words of these texts (4 bytes or
    more), the commonest last (zlib finds a match nearest the end cheapest)."""
    from collections import Counter

    counts = Counter(w for text in texts for w in text.encode("utf-8", "surrogatepass").split()
                     if len(w) >= 4)
    out: list[bytes] = []
    size = 0
    for word, n in counts.most_common():
        if n < 2 or size + len(word) + 1 > DICT_BYTES:
            break
        out.append(word)
        size += len(word) + 1
    return b" ".join(reversed(out))


class Learner:
    """Collects the plain lines of the notes a sync reads (see :mod:`kb.index.sync`).
    ``zdict``: the preset dictionary to pack them with (the base's, for an incremental
    sync); None: learned from the first DICT_NOTES notes (a rebuild)."""

    def __init__(self, zdict: bytes | None = None) -> None:
        #: path -> (signature, title, body_line, packed text)
        self.notes: dict[str, tuple[Signature, str, int, bytes]] = {}
        self.zdict = zdict
        self._waiting: list[tuple[str, Plain]] = []  # until the dictionary is learned
        self._data: tuple[str, bytes] | None = None

    def seen(self, rel: str, then: Callable[[bytes, os.stat_result], None] | None = None
             ) -> Callable[[bytes, os.stat_result], None]:
        """What :func:`kb.notes.read_note` is given to hand over the file's bytes (and then
        ``then``, another reader's)."""

        def raw(data: bytes, st: os.stat_result) -> None:
            self._data = (rel, data)
            if then is not None:
                then(data, st)

        return raw

    def note(self, rel: str, title: str, sig: Signature) -> None:
        """The note at ``rel`` was read (its bytes handed over by :meth:`seen`, unless it
        was too big: then nothing is kept) under the scan's signature ``sig``."""
        from ..notes import body_of
        from ..plain import snippet_lines

        data, self._data = self._data, None
        if data is None or data[0] != rel:
            return
        body, body_line = body_of(data[1])
        plain = snippet_lines(body, title)
        self.notes[rel] = (tuple(sig), title, body_line, b"")  # type: ignore[assignment]
        if self.zdict is None:
            self._waiting.append((rel, plain))
            if len(self._waiting) >= DICT_NOTES:
                self.finish()
        else:
            self._pack(rel, plain)

    def finish(self) -> None:
        """Pack what waits for the dictionary (learned from it)."""
        if self.zdict is None:
            self.zdict = learn_dict(text for _, (text, _) in self._waiting)
        for rel, plain in self._waiting:
            self._pack(rel, plain)
        self._waiting = []

    def _pack(self, rel: str, plain: Plain) -> None:
        from ..plain import numbered

        sig, title, body_line, _ = self.notes[rel]
        text, where = plain
        self.notes[rel] = (sig, title, body_line, pack(text, numbered(text, where), self.zdict or b""))


def base_dict(index_dir: Path) -> bytes:
    """The preset dictionary of ``lines.bin`` (empty without one)."""
    try:
        with open(index_dir / LINES, "rb") as fh:
            head = fh.read(len(MAGIC) + 4)
            if len(head) < len(MAGIC) + 4 or head[: len(MAGIC)] != MAGIC:
                return b""
            size = int.from_bytes(head[len(MAGIC):], "little")
            zdict = fh.read(size) if size <= DICT_BYTES else b""
            return zdict if len(zdict) == size else b""
    except OSError:
        return b""


def save_rebuilt(index_dir: Path, learner: Learner) -> None:
    """After a full rebuild: ``lines.bin`` with every note read, no delta."""
    learner.finish()
    zdict = learner.zdict or b""
    table: dict[str, tuple[Signature, str, int, int, int]] = {}
    tmp = index_dir / (LINES + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + len(zdict).to_bytes(4, "little") + zdict)
            at = len(MAGIC) + 4 + len(zdict)
            written: dict[bytes, int] = {}  # notes of the same text share it
            for rel, (sig, title, body_line, blob) in learner.notes.items():
                if blob not in written:
                    fh.write(blob)
                    written[blob] = at
                    at += len(blob)
                table[rel] = (sig, title, body_line, written[blob], len(blob))
            fh.write(marshal.dumps(table))
            fh.write(at.to_bytes(8, "little"))
        os.replace(tmp, index_dir / LINES)
    except OSError:
        drop(index_dir)
        return
    _unlink(index_dir / LINES_DELTA)


def save_updated(index_dir: Path, learner: Learner, removed: Iterable[str]) -> None:
    """After an incremental sync: the notes read join the delta (replacing what it kept of
    them), removed notes leave it; past :data:`DELTA_MAX_BYTES` the oldest go."""
    removed = list(removed)
    if not learner.notes and not removed:
        return
    delta = _read_delta(index_dir) or {}
    for rel in [*removed, *learner.notes]:
        delta.pop(rel, None)
    delta.update(learner.notes)
    size = sum(len(entry[3]) for entry in delta.values())
    while delta and size > DELTA_MAX_BYTES:
        size -= len(delta.pop(next(iter(delta)))[3])
    tmp = index_dir / (LINES_DELTA + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(marshal.dumps(delta))
        os.replace(tmp, index_dir / LINES_DELTA)
    except OSError:
        _unlink(tmp)
        _unlink(index_dir / LINES_DELTA)


def drop(index_dir: Path) -> None:
    for name in (LINES, LINES + ".tmp", LINES_DELTA):
        _unlink(index_dir / name)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_delta(index_dir: Path) -> dict[str, tuple[Signature, str, int, bytes]] | None:
    try:
        with open(index_dir / LINES_DELTA, "rb") as fh:
            delta = marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return delta if isinstance(delta, dict) else None


class Kept:
    """The plain lines the index keeps, read from ``index_dir`` (a missing or damaged file
    keeps nothing); ``base``: a Kept whose ``lines.bin`` is still the one there (only the
    delta is read again: after a sync that changed a few notes)."""

    def __init__(self, index_dir: Path, base: Kept | None = None) -> None:
        self._table: dict[str, Any] = {}
        self._data: bytes | Any = b""
        self._zdict = b""
        self._delta = _read_delta(index_dir) or {}
        if base is not None:
            self._table, self._data, self._zdict = base._table, base._data, base._zdict
            return
        try:
            self._open(index_dir / LINES)
        except (OSError, ValueError, EOFError, TypeError):
            self._table, self._data = {}, b""

    def _open(self, path: Path) -> None:
        import mmap

        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < len(MAGIC) + 12:
                return
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        start = len(MAGIC) + 4 + int.from_bytes(data[len(MAGIC): len(MAGIC) + 4], "little")
        at = int.from_bytes(data[size - 8:], "little")
        if data[: len(MAGIC)] != MAGIC or not start <= at <= size - 8:
            data.close()
            return
        table = marshal.loads(data[at: size - 8])
        if isinstance(table, dict):
            self._table, self._data, self._zdict = table, data, bytes(data[len(MAGIC) + 4: start])

    def __len__(self) -> int:
        return len(self._table.keys() | self._delta.keys())

    def get(self, rel: str, sig: Signature, title: str) -> tuple[int, tuple[str, list[int]]] | None:
        """The lines before the body and the plain lines of the note at ``rel`` (its text and
        the body line of each line, see :func:`kb.plain.numbered`) if they were kept for a
        file with signature ``sig`` and a note titled ``title``."""
        entry = self._delta.get(rel)
        if entry is not None:
            kept_sig, kept_title, body_line, blob = entry
        else:
            entry = self._table.get(rel)
            if entry is None:
                return None
            kept_sig, kept_title, body_line, at, length = entry
            if kept_sig != sig or kept_title != title:
                return None
            blob = self._data[at: at + length]
        if kept_sig != sig or kept_title != title or not isinstance(body_line, int):
            return None
        plain = unpack(blob, self._zdict)
        return None if plain is None else (body_line, plain)
