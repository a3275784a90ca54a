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

The index is *inverted*: the notebook's distinct words, once each (``\n``-joined, a few
MB however many copies of a word the notes hold), and for each word the ids of the notes
that hold it. A run is looked up by a ``find`` pass over the vocabulary (so a piece of a
word finds it), then the postings of the words found are joined; the runs of an "and"
cheapest first, a run too common to narrow much left out (:data:`WORDS_MAX`, and once
few notes are left). Only the candidates' paths are decoded.

Two files beside the Whoosh index: ``grep.bin`` (the base: vocabulary, word offsets,
postings, paths and signatures, memory-mapped; see :class:`Builder`) and ``grep.delta``
(the words of the notes changed since the base, by path, and a *stamp*). kb's sync keeps
them up to date (:func:`update`, called where the sync commits), from the bytes it read
for the search index (:class:`Reader`: no note is read twice): a changed note joins the
delta; past :data:`DELTA_MAX` notes the delta and the base's notes still current are
written as a new base. The stamp names the manifest (notebook, generation) the files
were brought up to date for, with the base notes it made stale and the notes it could
not vouch for (racily clean, unreadable): grep, told by the sync that the index is at
that generation, reads nothing else. Without the stamp (a failed or killed update, an
index of an older kb) grep reads the manifest and trusts a note's words only under the
signature it was read with: a note changed, added or never seen is simply read. So a
damaged, old or missing file makes grep slower, never wrong.
"""

from __future__ import annotations

import marshal
import mmap
import os
import sys
from array import array
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import partial
from itertools import accumulate, chain, compress, repeat
from operator import eq
from pathlib import Path
from typing import Any

from .index.manifest import GREP_BASE as BASE
from .index.manifest import GREP_DELTA as DELTA

VERSION = 3
_MAGIC = b"kb-grep %d\n" % VERSION
#: Past this many notes in the delta (or a tenth of the notes), the sync writes a new base.
DELTA_MAX = 2000
#: A literal run found in more words than this, or in words holding more than
#: POSTINGS_MAX times as many notes as there are, narrows nothing (nearly every note holds it).
WORDS_MAX = 50_000
POSTINGS_MAX = 8

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
    """Answers "which notes may contain these runs": the base (inverted, memory-mapped)
    and the delta (each changed note's words), for the notes they can vouch for."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.n = 0  # notes in the base
        self.token = b""  # the base's identity, which a delta names
        self._mm: Any = None
        self._views: dict[str, memoryview] = {}
        self._vocab = (0, 0)  # where the vocabulary is in the file
        self._blob = (0, 0)  # where the paths are
        self._paths: list[str] | None = None
        self._sigs: list[Any] | None = None
        self.delta: dict[str, tuple[Any, bytes]] = {}
        #: What the last sync's hook vouched for: the manifest it matched (root,
        #: generation), the base notes it found stale, the notes it could not read.
        self.stamp: Any = None
        self.stale: frozenset[int] = frozenset()
        self.unknown: list[str] = []
        self._load()

    def _load(self) -> None:
        try:
            with open(self.index_dir / BASE, "rb") as fh:
                if fh.read(len(_MAGIC)) != _MAGIC:
                    raise ValueError("another version")
                total = os.fstat(fh.fileno()).st_size
                fh.seek(total - 8)
                size = int.from_bytes(fh.read(8), "little")
                end = total - 8 - size  # where the sections end and the head starts
                if not len(_MAGIC) <= end < total:
                    raise ValueError("truncated")
                fh.seek(end)
                head = marshal.loads(fh.read(size))
                if head["byteorder"] != sys.byteorder:
                    raise ValueError("another machine's")
                n, nwords, sections = head["n"], head["nwords"], head["sections"]
                for off, length in sections.values():
                    if not (type(off) is int and type(length) is int and 0 <= off <= off + length <= end):
                        raise ValueError("truncated")
                mm = mmap.mmap(fh.fileno(), end, access=mmap.ACCESS_READ)
            try:
                views = {}
                for name, code in (("wst", "I"), ("pst", "I"), ("post", "I"), ("poff", "I"), ("sigs", "q")):
                    off, length = sections[name]
                    views[name] = memoryview(mm)[off : off + length].cast(code)
                if not (
                    len(views["wst"]) == len(views["pst"]) == nwords + 1
                    and len(views["poff"]) == n + 1
                    and len(views["sigs"]) == 4 * n
                    and views["pst"][nwords] == len(views["post"])
                    and views["wst"][nwords] == sections["vocab"][1]
                    and views["poff"][n] == (sections["paths"][1] + 1 if n else 0)
                ):
                    raise ValueError("inconsistent")
            except BaseException:
                for v in views.values():
                    v.release()
                mm.close()
                raise
            self._mm, self._views, self.n, self.token = mm, views, n, head["token"]
            self._vocab, self._blob = sections["vocab"], sections["paths"]
        except (OSError, ValueError, EOFError, TypeError, KeyError, OverflowError, IndexError):
            self.close()
        try:
            data = (self.index_dir / DELTA).read_bytes()
            if data.startswith(_MAGIC):
                delta = marshal.loads(data[len(_MAGIC) :])
                if isinstance(delta, dict) and isinstance(delta.get("entries"), dict):
                    self.delta = delta["entries"]
                    if delta.get("base") == self.token and delta.get("stamp") is not None:
                        self.stamp = tuple(delta["stamp"])
                        self.stale = frozenset(delta["stale"])
                        self.unknown = list(delta["unknown"])
        except (OSError, ValueError, EOFError, TypeError, KeyError):
            self.delta, self.stamp, self.stale, self.unknown = {}, None, frozenset(), []

    # ----------------------------------------------------------------- the base's notes

    def path(self, i: int) -> str:
        """The path of base note ``i``."""
        poff, off = self._views["poff"], self._blob[0]
        return self._mm[off + poff[i] : off + poff[i + 1] - 1].decode("utf-8", "surrogateescape")

    @property
    def paths(self) -> list[str]:
        """Every base note's path, by id."""
        if self._paths is None:
            off, length = self._blob
            blob = self._mm[off : off + length] if self.n else b""
            self._paths = blob.decode("utf-8", "surrogateescape").split("\0") if self.n else []
        return self._paths

    @property
    def sigs(self) -> list[Any]:
        """Every base note's signature (as the manifest's), by id."""
        if self._sigs is None:
            self._sigs = list(zip(*[iter(self._views["sigs"])] * 4, strict=True)) if self.n else []
        return self._sigs

    def note_words(self, i: int) -> list[bytes]:
        """The words of base note ``i`` (a scan of every posting: for tests)."""
        post, pst = self._views["post"], self._views["pst"]
        return [w for k, w in enumerate(self._words()) if i in post[pst[k] : pst[k + 1]]]

    def _words(self) -> list[bytes]:
        off, length = self._vocab
        return self._mm[off + 1 : off + length].split(b"\n") if length else []

    # ----------------------------------------------------------------- answering

    def _word_ids(self, run: bytes) -> list[int] | None:
        """Ids of the words containing ``run`` (None: more than :data:`WORDS_MAX`)."""
        mm, (off, length) = self._mm, self._vocab
        if mm is None or not length:
            return []
        wst = self._views["wst"]
        end = off + length
        out: list[int] = []
        pos = mm.find(run, off, end)
        while pos >= 0:
            w = bisect_right(wst, pos - off) - 1
            out.append(w)
            if len(out) > WORDS_MAX:
                return None
            pos = mm.find(run, off + wst[w + 1], end)
        return out

    def _postings(self, words: list[int]) -> int:
        pst = self._views["pst"]
        return sum(pst[w + 1] - pst[w] for w in words)

    def _notes_with(self, words: list[int]) -> set[int]:
        post, pst = self._views["post"], self._views["pst"]
        found: set[int] = set()
        for w in words:
            found.update(post[pst[w] : pst[w + 1]])
        return found

    def _eval_base(self, need: Any) -> set[int] | None:
        """Ids of the base notes that may satisfy ``need`` (None: any may)."""
        if need is None or self._mm is None:
            return None
        # The literal runs of an "and" (its own and its literal children's), cheapest first.
        kids = need[1] if need[0] == "and" else [need]
        runs = [r for k in kids if k[0] == "lit" for r in runs_of(k[1])]
        costed = []
        for r in set(runs):
            words = self._word_ids(r)
            if words is not None and (cost := self._postings(words)) <= POSTINGS_MAX * self.n + 1000:
                costed.append((cost, r, words))
        costed.sort()
        out: set[int] | None = None
        for cost, _, words in costed:
            if out is not None and cost > 1000 * len(out) + 10000:
                break  # cheaper to read the notes left than to narrow them further
            ids = self._notes_with(words)
            out = ids if out is None else out & ids
            if not out:
                return out
        if need[0] == "or":
            return None  # (kids == [need]: no literal runs of its own)
        for k in kids:
            if k[0] != "lit":
                sub = self._eval(k)
                if sub is not None:
                    out = sub if out is None else out & sub
                    if not out:
                        return out
        return out

    def _eval_or(self, need: Any) -> set[int] | None:
        result: set[int] = set()
        for k in need[1]:
            part = self._eval(k)
            if part is None:
                return None
            result |= part
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

    def _eval(self, need: Any) -> set[int] | None:
        return self._eval_or(need) if need is not None and need[0] == "or" else self._eval_base(need)

    def _base_ids(self, need: Any) -> Iterator[int]:
        found = self._eval(need)
        return iter(range(self.n)) if found is None else iter(sorted(found))

    def select(self, files: dict[str, Any], need: Any) -> tuple[list[str], list[str]]:
        """``(candidates, unknown)``: the notes of ``files`` (path -> signature, as the sync
        saw them) that this index says may match, and those it cannot vouch for: each
        note's signature checked."""
        delta = self.delta
        vouched: set[str] = set()
        if self.n:
            paths = self.paths
            current = list(map(files.get, paths))
            ok = list(map(eq, current, self.sigs))
            vouched.update(compress(paths, ok))
        cand = [self.paths[i] for i in self._base_ids(need) if ok[i]] if self.n else []
        for path, (sig, words) in delta.items():
            if files.get(path) == tuple(sig) and path not in vouched:
                vouched.add(path)
                if self.may_contain(words, need):
                    cand.append(path)
        unknown = [p for p in files if p not in vouched]
        return cand, unknown

    def select_stamped(self, need: Any) -> tuple[list[str], list[str]]:
        """:meth:`select` for the manifest of :attr:`stamp` without reading it: the
        sync's hook recorded which base notes are stale and which it could not read."""
        stale, delta = self.stale, self.delta
        found = self._eval(need)
        if found is None:
            return self._vouched_stamped(), list(self.unknown)
        cand = [p for i in sorted(found) if i not in stale and (p := self.path(i)) not in delta]
        cand += [p for p, (_, words) in delta.items() if self.may_contain(words, need)]
        return cand, list(self.unknown)

    def all_stamped(self) -> list[str]:
        """Every note of the manifest of :attr:`stamp`."""
        return self._vouched_stamped() + self.unknown

    def _vouched_stamped(self) -> list[str]:
        stale = self.stale
        out = [p for i, p in enumerate(self.paths) if i not in stale] if stale else list(self.paths)
        return out + list(self.delta)

    def close(self) -> None:
        for v in self._views.values():
            v.release()
        self._views = {}
        mm, self._mm = self._mm, None
        if mm is not None:
            with suppress(BufferError):  # a view still held somewhere: closed when collected
                mm.close()
        self.n = 0


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


def signature(st: os.stat_result) -> Signature:
    """A file's signature as the manifest records it."""
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _read_words(root: Path, rel: str, sig: Any) -> bytes | None:
    """The note's entry, or None when it cannot be read or is not as ``sig`` says."""
    try:
        with open(os.path.join(root, rel), "rb") as fh:
            if signature(os.fstat(fh.fileno())) != tuple(sig):
                return None
            data = fh.read()
    except OSError:
        return None
    return note_words(data)


class Reader:
    """The words of the notes the sync reads anyway (:func:`kb.notes.read_note`'s ``raw``),
    so that :func:`update` reads none a second time. ``build``: a whole new base is coming
    (a rebuild): the words go straight into it, inverted, not kept per note."""

    def __init__(self, build: bool = False) -> None:
        self.words: dict[str, tuple[Signature, bytes]] = {}
        self.builder = Builder() if build else None

    def seen(self, rel: str) -> Callable[[bytes, os.stat_result], None]:
        def keep(data: bytes, st: os.stat_result) -> None:
            sig = signature(st)
            if self.builder is not None:
                self.builder.add(rel, sig, note_words(data))
            else:
                self.words[rel] = (sig, note_words(data))

        return keep

    def get(self, rel: str, sig: Any) -> bytes | None:
        entry = self.words.get(rel)
        return entry[1] if entry is not None and entry[0] == tuple(sig) else None


class Builder:
    """A new base, inverted as notes are added (ids in the order added)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.sigs: list[Signature] = []
        self.posts: defaultdict[bytes, array[int]] = defaultdict(partial(array, "I"))  # word -> note ids

    def add(self, rel: str, sig: Any, entry: bytes) -> None:
        nid = len(self.paths)
        self.paths.append(rel)
        self.sigs.append(tuple(sig))
        if entry:
            # posts[w].append(nid) for every word, at C speed
            words = entry[1:].split(b"\n")
            deque(map(array.append, map(self.posts.__getitem__, words), repeat(nid)), maxlen=0)

    @classmethod
    def of_base(cls, lookup: Lookup, keep: list[int]) -> Builder:
        """The base notes ``keep`` (ids of ``lookup``), renumbered from 0 in that order."""
        self = cls()
        drop = 0xFFFFFFFF
        remap = array("I", [drop]) * lookup.n
        for new, old in enumerate(keep):
            remap[old] = new
        paths, sigs = lookup.paths, lookup.sigs
        self.paths = [paths[i] for i in keep]
        self.sigs = [sigs[i] for i in keep]
        post, pst = lookup._views["post"], lookup._views["pst"]
        get = remap.__getitem__
        for w, word in enumerate(lookup._words()):
            self.posts[word] = array("I", filter(drop.__ne__, map(get, post[pst[w] : pst[w + 1]])))
        return self

    def write(self, path: Path) -> bytes:
        """Write the base to ``path`` (atomically); returns its token."""
        import tempfile

        if len(self.paths) >= 0xFFFFFFFF:
            raise ValueError("too many notes")
        kept = [(w, p) for w, p in self.posts.items() if p]
        token = os.urandom(8)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                sections: dict[str, tuple[int, int]] = {}

                def section(name: str, parts: Any) -> None:
                    pos = fh.tell()
                    if pos % 8:
                        fh.write(b"\0" * (8 - pos % 8))
                        pos = fh.tell()
                    for part in parts:
                        fh.write(part)
                    sections[name] = (pos, fh.tell() - pos)
                    if sections[name][1] >= 0xFFFFFFFF:
                        raise ValueError("too large")

                fh.write(_MAGIC)
                section("vocab", (b"\n" + w for w, _ in kept))
                section("wst", [array("I", accumulate((len(w) + 1 for w, _ in kept), initial=0)).tobytes()])
                section("pst", [array("I", accumulate((len(p) for _, p in kept), initial=0)).tobytes()])
                section("post", (p.tobytes() for _, p in kept))
                names = [p.encode("utf-8", "surrogateescape") for p in self.paths]
                section("paths", [b"\0".join(names)])
                section("poff", [array("I", accumulate((len(b) + 1 for b in names), initial=0)).tobytes()])
                section("sigs", [array("q", chain.from_iterable(self.sigs)).tobytes()])
                head = marshal.dumps(
                    {"byteorder": sys.byteorder, "n": len(self.paths), "nwords": len(kept),
                     "sections": sections, "token": token}
                )
                fh.write(head)
                fh.write(len(head).to_bytes(8, "little"))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return token


def update(
    index_dir: Path,
    root: Path,
    files: dict[str, Any],
    rebuild: bool = False,
    generation: int | None = None,
    read: Reader | None = None,
) -> None:
    """Bring the grep index up to date with ``files`` (path -> signature, the manifest of
    ``generation`` the sync just wrote): the notes it cannot vouch for join the delta, their
    words from ``read`` (what the sync read) or read now; with no base (or ``rebuild``), or
    a delta past :data:`DELTA_MAX` (or a tenth of the notes), a new base is written
    instead. The delta is stamped with the manifest it matches (``generation``, if
    given), so grep need not read the manifest. Racily clean notes are left to grep. A
    failure leaves no stamp for this generation (the index is a cache: grep then checks
    every note's signature, and reads what it cannot vouch for)."""
    stamp = None if generation is None else [str(root), generation]
    try:
        if rebuild:
            for name in (BASE, DELTA):  # nothing of the old notebook may be trusted meanwhile
                with suppress(FileNotFoundError):
                    os.unlink(index_dir / name)
        lookup = None if rebuild else Lookup(index_dir)
        try:
            if lookup is None or not lookup.n:
                _write_base(index_dir, root, files, read, stamp)
                return
            _update(index_dir, root, files, lookup, read, stamp)
        finally:
            if lookup is not None:
                lookup.close()
    except (OSError, ValueError, MemoryError):
        pass


def _update(
    index_dir: Path, root: Path, files: dict[str, Any], lookup: Lookup, read: Reader | None, stamp: Any
) -> None:
    paths = lookup.paths
    ok = list(map(eq, map(files.get, paths), lookup.sigs))
    vouched = set(compress(paths, ok))
    delta = {
        p: e for p, e in lookup.delta.items() if p not in vouched and files.get(p) == tuple(e[0])
    }
    todo = [p for p, sig in files.items() if sig[1] != -1 and p not in vouched and p not in delta]
    limit = max(DELTA_MAX, len(files) // 10)
    if len(delta) + len(todo) > limit:
        builder = Builder.of_base(lookup, list(compress(range(lookup.n), ok)))
        for p, (sig, words) in delta.items():
            builder.add(p, sig, words)
        delta = {}
    else:
        builder = None
    unknown = [p for p, sig in files.items() if sig[1] == -1]
    for rel in todo:
        words = read.get(rel, files[rel]) if read is not None else None
        if words is None:
            words = _read_words(root, rel, files[rel])
        if words is None:
            unknown.append(rel)
        elif builder is not None:
            builder.add(rel, files[rel], words)
        else:
            delta[rel] = (tuple(files[rel]), words)
    if builder is not None:
        token = builder.write(index_dir / BASE)
        stale: list[int] = []
    else:
        token = lookup.token
        stale = [i for i, good in enumerate(ok) if not good]
    _write_delta(index_dir, token, delta, stamp, stale, unknown)


def _write_base(
    index_dir: Path, root: Path, files: dict[str, Any], read: Reader | None, stamp: Any
) -> None:
    """A new base of every note of ``files``: from what the sync read (a rebuild's
    :class:`Reader` built it already) or read now, one note at a time; then an empty delta."""
    builder = read.builder if read is not None and read.builder is not None else Builder()
    have = {p: i for i, p in enumerate(builder.paths)}
    unknown: list[str] = []
    for rel in sorted(files):
        sig = tuple(files[rel])
        if sig[1] == -1:
            unknown.append(rel)
            continue
        i = have.get(rel)
        if i is not None and builder.sigs[i] == sig:
            continue
        words = read.get(rel, sig) if read is not None else None
        if words is None:
            words = _read_words(root, rel, sig)
        if words is None:
            unknown.append(rel)
            continue
        builder.add(rel, sig, words)
    # notes the sync read that the manifest does not have as read (changed meanwhile)
    stale = [i for i, p in enumerate(builder.paths) if tuple(files.get(p) or ()) != builder.sigs[i]]
    token = builder.write(index_dir / BASE)
    _write_delta(index_dir, token, {}, stamp, stale, unknown)


def _write_delta(
    index_dir: Path, token: bytes, delta: dict[str, Any], stamp: Any, stale: list[int], unknown: list[str]
) -> None:
    data = {"base": token, "entries": delta, "stamp": stamp, "stale": stale, "unknown": unknown}
    _write(index_dir / DELTA, _MAGIC + marshal.dumps(data))


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
    pat: Any,
    stamp: Any = None,
    allow: Callable[[str], bool] | None = None,
    limit: int | None = None,
    lookup: Lookup | None = None,
) -> Iterator[tuple[str, str, list[Any]]]:
    """``(relpath, text, [LineMatch])`` for each matching note, in path order.

    ``stamp``: ``(root, generation)`` of the manifest the sync just vouched for; when the
    grep index was brought up to date for it, it alone says which notes to read. Else
    the manifest is read and every note's signature checked (no manifest: every note is
    read). ``allow(relpath)`` narrows (``--tag``, ``--path``). ``lookup``: the grep index,
    already open (kept by a long-lived process, see :func:`lookup_of`).
    """
    own = lookup is None
    look = Lookup(index_dir) if lookup is None else lookup
    try:
        todo = _to_read(root, index_dir, pat.need, tuple(stamp) if stamp else None, look)
    finally:
        if own:
            look.close()
    if allow is not None:
        todo = [p for p in todo if allow(p)]
    todo = sorted(set(todo))
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


def _to_read(root: Path, index_dir: Path, need: Any, stamp: Any, lookup: Lookup) -> list[str]:
    """The notes that may match ``need``: see :func:`grep_notebook`."""
    if stamp is not None and lookup.stamp == stamp:
        if need is None:
            return lookup.all_stamped()
        cand, unknown = lookup.select_stamped(need)
        return cand + unknown
    from .index.manifest import load

    man = load(index_dir, root)
    if man is None:
        from .notes import iter_note_files

        return [rel for rel, _ in iter_note_files(root)]
    files: dict[str, Any] = man["files"]
    if need is None:
        return list(files)
    cand, unknown = lookup.select(files, need)
    if len(unknown) > max(DELTA_MAX, len(files) // 10):
        # An index that cannot vouch for many notes (none yet: an index of an older kb):
        # brought up to date first, as the sync would.
        update(index_dir, root, files, generation=man.get("generation"))
        fresh = Lookup(index_dir)
        try:
            cand, unknown = fresh.select(files, need)
        finally:
            fresh.close()
    return cand + unknown


def lookup_of(nb: Any) -> Lookup:
    """The notebook's grep index, kept on it (a :class:`kb.core.Notebook`'s ``grep_cache``)
    for the next grep of a long-lived process while its files stay the same."""
    index_dir = nb.place.index_dir
    key = []
    for name in (BASE, DELTA):
        try:
            st = os.stat(index_dir / name)
            key.append((st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns))
        except OSError:
            key.append(None)
    cached = nb.grep_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None:
        cached[1].close()
    lookup = Lookup(index_dir)
    nb.grep_cache = (key, lookup)
    return lookup


#: From this many notes to read, a second process reads the second half of them.
PARALLEL_MIN = 4000


def _search_files(prefix: str, rels: list[str], pat: Any) -> Iterator[tuple[str, str, list[Any]]]:
    from .grep import search_files

    return search_files(prefix, rels, pat)


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
