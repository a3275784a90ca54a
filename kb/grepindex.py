"""Which notes can a grep pattern match? A words-of-the-raw-text index for ``kb grep``.

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

Two files beside the Whoosh index: ``grep.bin`` (the base: vocabulary, note ids and
postings, read with ``mmap``) and ``grep.delta`` (the words of notes read since, by
path). Each note's entry carries the file signature it was read under, and is used
only while the sync's manifest has the same signature for that note: a note changed,
added or never seen is simply read. So a damaged, old or missing file makes grep
slower, never wrong. Entries are recorded by ``kb grep`` itself, from the notes it
reads anyway; the first grep of a notebook reads every note and builds the base.
"""

from __future__ import annotations

import marshal
import mmap
import os
from array import array
from bisect import bisect_right
from pathlib import Path
from typing import Any

from .index.manifest import GREP_BASE as BASE
from .index.manifest import GREP_DELTA as DELTA

VERSION = 1
_MAGIC = b"kb-grep %d\n" % VERSION
#: Past this many notes in the delta (or a tenth of the notes), the next grep that
#: reads every note writes a new base instead.
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
        self.vocab = b"\n"
        self.starts: array[int] = array("I")
        self.offsets: array[int] = array("Q")
        self.postings: memoryview | None = None
        self.delta: dict[str, tuple[Any, bytes]] = {}
        self._map: mmap.mmap | None = None
        self._cache: dict[bytes, set[int]] = {}
        self._load()

    def _load(self) -> None:
        try:
            with open(self.index_dir / BASE, "rb") as fh:
                if fh.readline() != _MAGIC:
                    raise ValueError("another version")
                size = int(fh.readline())
                head = marshal.loads(fh.read(size))
                start = fh.tell()
                m = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self.paths, self.sigs, self.vocab = head["paths"], head["sigs"], head["vocab"]
            self.starts = array("I", head["starts"])
            self.offsets = array("Q", head["offsets"])
            self._map = m
            self.postings = memoryview(m)[start:].cast("I") if len(m) > start else memoryview(b"").cast("I")
            if len(self.paths) != len(self.sigs) or len(self.offsets) != len(self.starts) + 1:
                raise ValueError("inconsistent")
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            self.paths, self.sigs, self.vocab, self.postings = [], [], b"\n", None
            self.starts, self.offsets = array("I"), array("Q")
        try:
            data = (self.index_dir / DELTA).read_bytes()
            if data.startswith(_MAGIC):
                delta = marshal.loads(data[len(_MAGIC) :])
                if isinstance(delta, dict):
                    self.delta = delta
        except (OSError, ValueError, EOFError, TypeError):
            self.delta = {}

    # ----------------------------------------------------------------- answering

    def _base_ids(self, run: bytes) -> set[int]:
        """Ids of the base notes with a word containing ``run``."""
        found = self._cache.get(run)
        if found is not None:
            return found
        found = set()
        vocab, starts, offsets, postings = self.vocab, self.starts, self.offsets, self.postings
        pos = vocab.find(run)
        while pos >= 0 and postings is not None:
            wid = bisect_right(starts, pos) - 1
            found.update(postings[offsets[wid] : offsets[wid + 1]])
            nxt = starts[wid + 1] if wid + 1 < len(starts) else len(vocab)
            pos = vocab.find(run, nxt)
        self._cache[run] = found
        return found

    def _eval_base(self, need: Any) -> set[int] | None:
        """Base ids that may satisfy ``need`` (None: all of them)."""
        if need is None:
            return None
        kind = need[0]
        if kind == "lit":
            runs = runs_of(need[1])
            if not runs:
                return None
            out: set[int] | None = None
            for r in sorted(runs, key=len, reverse=True):
                ids = self._base_ids(r)
                out = set(ids) if out is None else out & ids
                if not out:
                    break
            return out
        parts = [self._eval_base(k) for k in need[1]]
        if kind == "and":
            known = [p for p in parts if p is not None]
            if not known:
                return None
            result = set(known[0])
            for p in known[1:]:
                result &= p
            return result
        if any(p is None for p in parts):
            return None
        result = set()
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
        base_ok = self._eval_base(need) if self.paths else set()
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


# --------------------------------------------------------------------------- recording


def record(
    index_dir: Path,
    lookup: Lookup,
    files: dict[str, Any],
    learned: dict[str, tuple[Signature, bytes]],
) -> None:
    """Keep the words of the notes a grep read (``learned``: path -> (signature, its
    distinct words joined by ``\\n``: one object a note keeps memory down on big notebooks)).

    With no base yet, or when the delta would grow past :data:`DELTA_MAX` (or a tenth
    of the notes), a new base is written; else they join the delta. Entries of notes no
    longer in ``files`` are dropped. Written atomically; a failure is ignored (the
    index is a cache: a note it has no entry for is read).
    """
    if not learned:
        return
    try:
        delta = {p: e for p, e in lookup.delta.items() if p in files and p not in learned}
        limit = max(DELTA_MAX, len(files) // 10)
        if not lookup.paths or len(delta) + len(learned) > limit:
            notes = _valid_base_notes(lookup, files, learned)
            notes.update(delta)
            notes.update(learned)
            _write_base_file(index_dir, notes)
            delta = {}
        else:
            delta.update(learned)
        _write(index_dir / DELTA, _MAGIC + marshal.dumps(delta))
    except (OSError, ValueError, MemoryError):
        pass


def _valid_base_notes(lookup: Lookup, files: dict[str, Any], learned: dict[str, Any]) -> dict[str, Any]:
    """The base's notes still current in ``files`` (and not re-learned), words read back
    from the postings."""
    keep = {
        i: p
        for i, p in enumerate(lookup.paths)
        if p in files and p not in learned and tuple(lookup.sigs[i]) == tuple(files[p])
    }
    if not keep or lookup.postings is None:
        return {}
    forward: dict[int, list[bytes]] = {i: [] for i in keep}
    vocab, starts, offsets, postings = lookup.vocab, lookup.starts, lookup.offsets, lookup.postings
    for wid in range(len(starts)):
        end = starts[wid + 1] - 1 if wid + 1 < len(starts) else len(vocab) - 1
        word = vocab[starts[wid] : end]
        for i in postings[offsets[wid] : offsets[wid + 1]]:
            ids = forward.get(i)
            if ids is not None:
                ids.append(word)
    return {p: (lookup.sigs[i], forward[i]) for i, p in keep.items()}


def _write_base_file(index_dir: Path, notes: dict[str, tuple[Any, Any]]) -> None:
    """``notes``: path -> (signature, words as a list or ``\\n``-joined bytes)."""
    paths = sorted(notes)
    postings_of: dict[bytes, list[int]] = {}
    get = postings_of.get
    for i, p in enumerate(paths):
        words = notes[p][1]
        if isinstance(words, bytes):
            words = words.split(b"\n") if words else ()
        for w in words:
            ids = get(w)
            if ids is None:
                postings_of[w] = [i]
            else:
                ids.append(i)
    vocab_words = sorted(postings_of)
    starts = array("I")
    offsets = array("Q", [0])
    postings = array("I")
    pos = 1
    for w in vocab_words:
        starts.append(pos)
        pos += len(w) + 1
        postings.extend(postings_of[w])
        offsets.append(len(postings))
    head = marshal.dumps(
        {
            "paths": paths,
            "sigs": [tuple(notes[p][0]) for p in paths],
            "vocab": b"\n" + b"\n".join(vocab_words) + b"\n",
            "starts": starts.tobytes(),
            "offsets": offsets.tobytes(),
        }
    )
    _write(index_dir / BASE, _MAGIC + b"%d\n" % len(head) + head + postings.tobytes())


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
    allow: Any = None,
    limit: int | None = None,
) -> Any:
    """``(relpath, text, [LineMatch])`` for each matching note, in path order.

    ``files``: path -> signature of every note as the sync saw them (None: walk the
    notebook and read every note). ``allow(relpath)`` narrows (``--tag``, ``--path``).
    Notes read that this index could not vouch for are recorded for next time.
    """
    from .grep import file_text, match_lines
    from .notes import iter_note_files

    if files is None:
        files = {rel: (0, -1, 0, 0) for rel, _ in iter_note_files(root)}  # all unknown
    lookup = Lookup(index_dir)
    shown = {p: s for p, s in files.items() if allow(p)} if allow else files
    cand, unknown = lookup.select(shown, pat.need)
    unknown_set = set(unknown)
    learned: dict[str, tuple[Signature, bytes]] = {}
    found = 0
    prefix = str(root) + os.sep
    try:
        for rel in sorted(cand + unknown):
            try:
                with open(prefix + rel, "rb") as fh:
                    st = os.fstat(fh.fileno())
                    data = fh.read()
            except OSError:
                continue
            text = file_text(data)
            if rel in unknown_set:
                sig = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
                if tuple(files[rel]) == sig:
                    words = words_of(text.encode("utf-8", "surrogateescape")) if text else ()
                    learned[rel] = (sig, b"\n".join(words))
            if text is None:
                continue  # binary, as rg
            matches = match_lines(pat, text)
            if matches:
                yield rel, text, matches
                found += 1
                if limit and found >= limit:
                    return
    finally:
        record(index_dir, lookup, files, learned)
