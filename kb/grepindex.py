"""Which notes can a grep pattern match? The words of each note's raw text, for ``kb grep``.

Whoosh's index cannot answer this safely: it lowercases, strips Korean particles and
splits identifiers, so "the index has the term" is not "the file has the string". This
index is built from the text rg searches (:func:`kb.grep.file_text`) and only ever
answers "maybe" or "certainly not":

- every note's text is *folded* character by character (ASCII letters lowercased, and
  the four non-ASCII letters Python's ``re.IGNORECASE`` matches with ASCII ones, ``İ ı K ſ``,
  mapped to them) and cut into words: maximal runs of ASCII letters, digits and ``_``
  and of any non-ASCII characters (so ``파드가`` is one word), in UTF-8 bytes;
- a literal a match must contain (:func:`kb.grep.requirement`) is folded the same way
  and cut at every other cased non-ASCII character (``-i`` may match it with another
  one) and at every ASCII character that is not a word character; what remains are
  runs of word characters;
- if a note contains the literal, each run lies inside one of the note's words
  (folding is per character, so it keeps substrings, and a run of word characters
  cannot cross a character that ends words). So a note none of whose words contains the run
  cannot match, and is not read. Words are looked up by substring, so ``ubect``
  finds ``kubectl``.

The index is *forward*: per note, its distinct words, ``\n``-joined (a third of the
text: repeated words and everything that is not a word are gone). A run is looked up by
one ``find`` pass over all of them (memory-mapped; ~100 ms for 40,000 notes), the other
runs of a pattern only inside the notes the first left. No inversion: building is one
pass over the notes, and keeping it up to date is copying bytes.

Two files beside the Whoosh index: ``grep.bin`` (the base: paths, signatures, offsets,
then the words) and ``grep.delta`` (the words of notes changed since, by path). Each
note's entry carries the file signature it was read under, and is used only while the
sync's manifest has the same signature for that note: a note changed, added or never
seen is simply read. So a damaged, old or missing file makes grep slower, never wrong.
kb's sync keeps them up to date (:func:`update`, called where the sync commits): a
changed note is read once more and joins the delta; past :data:`DELTA_MAX` notes the
delta is folded into a new base.
"""

from __future__ import annotations

import marshal
import mmap
import os
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .index.manifest import GREP_BASE as BASE
from .index.manifest import GREP_DELTA as DELTA

VERSION = 2
_MAGIC = b"kb-grep %d\n" % VERSION
#: Past this many notes in the delta (or a tenth of the notes), the sync writes a new base.
DELTA_MAX = 2000

Signature = tuple[int, int, int, int]

#: The non-ASCII letters ``re.IGNORECASE`` matches with ASCII ones, as UTF-8 (İ ı K ſ).
_SPECIAL = ((b"\xc4\xb0", b"i"), (b"\xc4\xb1", b"i"), (b"\xe2\x84\xaa", b"k"), (b"\xc5\xbf", b"s"))
#: ASCII bytes that are not word characters become spaces; other bytes stay.
_SPLIT = bytes(b if b >= 128 or chr(b).isalnum() or b == ord("_") else ord(" ") for b in range(256))


def fold(data: bytes) -> bytes:
    """ASCII letters lowercased and :data:`_SPECIAL` mapped, character by character."""
    data = data.lower()  # bytes.lower() touches ASCII only
    for src, dst in _SPECIAL:
        if src in data:
            data = data.replace(src, dst)
    return data


def words_of(data: bytes) -> set[bytes]:
    """The distinct folded words of a text's UTF-8 bytes: maximal runs of ASCII letters,
    digits and ``_`` and of any non-ASCII characters."""
    return set(fold(data).translate(_SPLIT).split())


def _breaks(ch: str) -> bool:
    """A non-ASCII character that may match another one under ``-i`` (or by folding), or
    a surrogate no decoded file holds (only U+DC80-U+DCFF stand for undecodable bytes)."""
    o = ord(ch)
    if o < 128:
        return False
    if 0xD800 <= o <= 0xDFFF:
        return not 0xDC80 <= o <= 0xDCFF
    return ch.lower() != ch or ch.upper() != ch or ch.casefold() != ch


def runs_of(literal: str) -> list[bytes]:
    """The word runs of a literal that a containing note's words must contain (folded)."""
    if not literal.isascii():
        literal = "".join(" " if _breaks(ch) else ch for ch in literal)
    data = fold(literal.encode("utf-8", "surrogateescape")).translate(_SPLIT)
    return [r for r in data.split() if len(r) >= 2]


class Lookup:
    """Answers "which notes may contain these runs" for the notes it can vouch for."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.paths: list[str] = []
        self.sigs: list[Any] = []
        self.starts: array[int] = array("Q", [0])
        self.words: Any = b""  # the base's words: an mmap, or bytes
        self.delta: dict[str, tuple[Any, bytes]] = {}
        self._offset = len(_MAGIC)  # where the words start in grep.bin
        self._load()

    def _load(self) -> None:
        try:
            with open(self.index_dir / BASE, "rb") as fh:
                if fh.read(len(_MAGIC)) != _MAGIC:
                    raise ValueError("another version")
                total = os.fstat(fh.fileno()).st_size
                fh.seek(total - 8)
                size = int.from_bytes(fh.read(8), "little")
                end = total - 8 - size  # where the words end and the head starts
                if not len(_MAGIC) <= end < total:
                    raise ValueError("truncated")
                fh.seek(end)
                head = marshal.loads(fh.read(size))
                paths, sigs = head["paths"], head["sigs"]
                starts = array("Q", head["starts"])
                if not isinstance(paths, list) or len(paths) != len(sigs) or len(starts) != len(paths) + 1:
                    raise ValueError("inconsistent")
                if starts[0] != 0 or starts[-1] != end - len(_MAGIC):
                    raise ValueError("truncated")
                words: Any = b""
                if end > len(_MAGIC):
                    words = mmap.mmap(fh.fileno(), end, access=mmap.ACCESS_READ)
            self.paths, self.sigs, self.starts, self.words = paths, sigs, starts, words
        except (OSError, ValueError, EOFError, TypeError, KeyError, OverflowError):
            self.paths, self.sigs, self.starts, self.words = [], [], array("Q", [0]), b""
        try:
            data = (self.index_dir / DELTA).read_bytes()
            if data.startswith(_MAGIC):
                delta = marshal.loads(data[len(_MAGIC) :])
                if isinstance(delta, dict):
                    self.delta = delta
        except (OSError, ValueError, EOFError, TypeError):
            self.delta = {}

    def base_words(self, i: int) -> bytes:
        """The words of base note ``i`` as stored (``\\n`` + words joined by ``\\n``)."""
        off = self._offset
        return self.words[off + self.starts[i] : off + self.starts[i + 1]]

    # ----------------------------------------------------------------- answering

    def _scan(self, run: bytes) -> set[int]:
        """Ids of the base notes with a word containing ``run``: one pass over the words."""
        found: set[int] = set()
        words, starts, off = self.words, self.starts, self._offset
        if not len(words):
            return found
        last = len(starts) - 1
        pos = words.find(run, off)
        while pos >= 0:
            i = bisect_right(starts, pos - off) - 1
            found.add(i)
            if i + 1 >= last:
                break
            pos = words.find(run, off + starts[i + 1])
        return found

    def _has(self, i: int, run: bytes) -> bool:
        off = self._offset
        return self.words.find(run, off + self.starts[i], off + self.starts[i + 1]) >= 0

    def _eval_base(self, need: Any, within: set[int] | None = None) -> set[int] | None:
        """Base ids (of ``within``, None: all) that may satisfy ``need`` (None: all of them)."""
        if need is None:
            return within
        kind = need[0]
        if kind == "lit":
            out = within
            for r in sorted(runs_of(need[1]), key=len, reverse=True):
                if out is None:
                    out = self._scan(r)
                else:
                    out = {i for i in out if self._has(i, r)}
                if not out:
                    break
            return out
        if kind == "and":
            out = within
            # the children with a literal of their own first: they narrow the most
            for k in sorted(need[1], key=lambda k: k[0] != "lit"):
                out = self._eval_base(k, out)
                if out is not None and not out:
                    break
            return out
        parts = [self._eval_base(k, within) for k in need[1]]
        if any(p is None for p in parts):
            return within
        result: set[int] = set()
        for p in parts:
            result |= p  # type: ignore[operator]
        return result

    @staticmethod
    def may_contain(words: bytes, need: Any) -> bool:
        """Whether a note with these folded words (``\\n``-joined) may satisfy ``need``."""
        if need is None:
            return True
        kind = need[0]
        if kind == "lit":
            return all(r in words for r in runs_of(need[1]))
        if kind == "and":
            return all(Lookup.may_contain(words, k) for k in need[1])
        return any(Lookup.may_contain(words, k) for k in need[1])

    def select(self, files: dict[str, Any], need: Any) -> tuple[list[str], list[str]]:
        """``(candidates, unknown)``: the notes of ``files`` (path -> signature, as the sync
        saw them) that this index says may match, and those it cannot vouch for."""
        cand: list[str] = []
        unknown: list[str] = []
        base_ok = self._eval_base(need) if self.paths and need is not None else None
        index_of = {p: i for i, p in enumerate(self.paths)} if self.paths else {}
        delta, sigs = self.delta, self.sigs
        for path, sig in files.items():
            if sig[1] == -1:  # racily clean: the index cannot be sure of it
                unknown.append(path)
                continue
            entry = delta.get(path)
            if entry is not None and tuple(entry[0]) == tuple(sig):
                if self.may_contain(entry[1], need):
                    cand.append(path)
                continue
            i = index_of.get(path)
            if i is not None and tuple(sigs[i]) == tuple(sig):
                if base_ok is None or i in base_ok:
                    cand.append(path)
                continue
            unknown.append(path)
        return cand, unknown

    def close(self) -> None:
        words, self.words = self.words, b""
        if isinstance(words, mmap.mmap):
            words.close()


# --------------------------------------------------------------------------- keeping it up to date


def note_words(data: bytes) -> bytes:
    """A note's entry from its bytes: ``\\n`` + its distinct words joined by ``\\n`` (empty
    for a binary file, which grep skips). The words of the text :func:`kb.grep.file_text`
    gives, without decoding it (UTF-8 with surrogate escapes round-trips to the bytes)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        from .grep import file_text

        text = file_text(data)
        if text is None:
            return b""
        data = text.encode("utf-8", "surrogateescape")
    elif b"\x00" in data:
        return b""
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    words = words_of(data)
    return b"\n" + b"\n".join(words) if words else b""


def _read_words(root: Path, rel: str, sig: Any) -> bytes | None:
    """The note's entry, or None when it cannot be read or is not as ``sig`` says."""
    try:
        with open(os.path.join(root, rel), "rb") as fh:
            st = os.fstat(fh.fileno())
            if (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns) != tuple(sig):
                return None
            data = fh.read()
    except OSError:
        return None
    return note_words(data)


def update(index_dir: Path, root: Path, files: dict[str, Any], rebuild: bool = False) -> None:
    """Bring the grep index up to date with ``files`` (path -> signature, the manifest the
    sync just wrote): the notes it cannot vouch for are read and join the delta; with no
    base (or ``rebuild``), or a delta past :data:`DELTA_MAX` (or a tenth of the notes), a
    new base is written instead, one note at a time. Racily clean notes are left to grep.
    A failure leaves the files as they were (the index is a cache: grep reads what it
    cannot vouch for)."""
    try:
        lookup = None if rebuild else Lookup(index_dir)
        try:
            if lookup is None:
                _write_base(index_dir, root, files, None)
                return
            _, unknown = lookup.select(files, None)
            unknown = [p for p in unknown if files[p][1] != -1]
            delta = {p: e for p, e in lookup.delta.items() if p in files and tuple(e[0]) == tuple(files[p])}
            if not unknown and len(delta) == len(lookup.delta):
                return
            limit = max(DELTA_MAX, len(files) // 10)
            if not lookup.paths or len(delta) + len(unknown) > limit:
                _write_base(index_dir, root, files, lookup)
                return
            for rel in unknown:
                words = _read_words(root, rel, files[rel])
                if words is not None:
                    delta[rel] = (tuple(files[rel]), words)
            _write(index_dir / DELTA, _MAGIC + marshal.dumps(delta))
        finally:
            if lookup is not None:
                lookup.close()
    except (OSError, ValueError, MemoryError):
        pass


def _write_base(index_dir: Path, root: Path, files: dict[str, Any], lookup: Lookup | None) -> None:
    """A new base of every note of ``files`` (in path order): its words from the delta or
    the old base when they vouch for it, else read now; then an empty delta. The words are
    streamed to the file, the head (paths, signatures, offsets) and its length after them:
    memory holds the paths and offsets, not the words."""
    import tempfile

    old: dict[str, int] = {p: i for i, p in enumerate(lookup.paths)} if lookup else {}
    delta = lookup.delta if lookup else {}
    paths: list[str] = []
    sigs: list[Any] = []
    starts = array("Q", [0])
    path = index_dir / BASE
    index_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=index_dir, prefix=BASE + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC)
            for rel in sorted(files):
                sig = tuple(files[rel])
                if sig[1] == -1:
                    continue
                words: bytes | None = None
                entry = delta.get(rel)
                if entry is not None and tuple(entry[0]) == sig:
                    words = entry[1]
                elif lookup is not None and (i := old.get(rel)) is not None and tuple(lookup.sigs[i]) == sig:
                    words = lookup.base_words(i)
                else:
                    words = _read_words(root, rel, sig)
                if words is None:
                    continue
                fh.write(words)
                paths.append(rel)
                sigs.append(sig)
                starts.append(starts[-1] + len(words))
            head = marshal.dumps({"paths": paths, "sigs": sigs, "starts": starts.tobytes()})
            fh.write(head)
            fh.write(len(head).to_bytes(8, "little"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _write(index_dir / DELTA, _MAGIC + marshal.dumps({}))


def _write(path: Path, data: bytes) -> None:
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- the search


def grep_notebook(
    root: Path,
    index_dir: Path,
    files: dict[str, Any] | None,
    pat: Any,
    allow: Callable[[str], bool] | None = None,
    limit: int | None = None,
) -> Iterator[tuple[str, str, list[Any]]]:
    """``(relpath, text, [LineMatch])`` for each matching note, in path order.

    ``files``: path -> signature of every note as the sync saw them (None: walk the
    notebook and read every note). ``allow(relpath)`` narrows (``--tag``, ``--path``).
    An index that cannot vouch for many of the notes (none yet: a notebook indexed by an
    older kb) is brought up to date first, as the sync would.
    """
    from .notes import iter_note_files

    if files is None:
        files = {rel: (0, -1, 0, 0) for rel, _ in iter_note_files(root)}  # all unknown
    lookup = Lookup(index_dir)
    shown = {p: s for p, s in files.items() if allow(p)} if allow else files
    cand, unknown = lookup.select(shown, pat.need)
    if len(unknown) > max(DELTA_MAX, len(files) // 10) and any(s[1] != -1 for s in files.values()):
        lookup.close()
        update(index_dir, root, files)
        lookup = Lookup(index_dir)
        cand, unknown = lookup.select(shown, pat.need)
    lookup.close()
    todo = sorted(cand + unknown)
    prefix = str(root) + os.sep
    found = 0
    if len(todo) >= PARALLEL_MIN and (os.cpu_count() or 1) > 1 and hasattr(os, "fork"):
        hits = _two_processes(prefix, todo, pat)
    else:
        hits = _search_files(prefix, todo, pat)
    try:
        for hit in hits:
            yield hit
            found += 1
            if limit and found >= limit:
                return
    finally:
        hits.close()  # type: ignore[attr-defined]


#: From this many notes to read, a second process reads the second half of them.
PARALLEL_MIN = 4000


def _search_files(prefix: str, rels: list[str], pat: Any) -> Iterator[tuple[str, str, list[Any]]]:
    from .grep import search_file

    for rel in rels:
        try:
            with open(prefix + rel, "rb", buffering=0) as fh:
                data = fh.readall()
        except OSError:
            continue
        hit = search_file(pat, data, rel)
        if hit is not None:
            yield rel, hit[0], hit[1]


def _two_processes(prefix: str, rels: list[str], pat: Any) -> Iterator[tuple[str, str, list[Any]]]:
    """Both cores: a forked child searches the second half of ``rels`` while this process
    searches the first, then sends its hits (pickled) through a pipe; the order is kept.
    The child is killed if the caller stops early (``--limit``, a closed pipe, Ctrl-C)."""
    import pickle
    import signal

    from .errors import KbError

    half = len(rels) // 2
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 0
        try:
            os.close(rfd)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
            try:
                out: Any = ("ok", list(_search_files(prefix, rels[half:], pat)))
            except KbError as exc:
                out = ("error", exc)
            with os.fdopen(wfd, "wb") as fh:
                pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(wfd)
    done = False
    try:
        yield from _search_files(prefix, rels[:half], pat)
        with os.fdopen(rfd, "rb") as fh:
            rfd = -1
            try:
                kind, value = pickle.load(fh)
            except (EOFError, pickle.UnpicklingError, ValueError):
                kind, value = "ok", None
        _, status = os.waitpid(pid, 0)
        done = True
        if kind == "error":
            raise value
        if value is None or status != 0:  # the child died: its half, here
            value = list(_search_files(prefix, rels[half:], pat))
        yield from value
    finally:
        if rfd >= 0:
            os.close(rfd)
        if not done:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
