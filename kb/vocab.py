"""What kb learns from the notebook's words at index time, for the query to use.

Two sorted tables of lines live beside Whoosh's files, read through ``mmap`` with a
binary search, so a search pays nothing to load them however big the notebook is:

``vocab.tbl``
    ``s<TAB>KEY<TAB>term``: every title/body term with its sound key (``LPLKST`` for
    both ``replicaset`` and ``레플리카셋``, see :func:`kb.jamo.sound_keys`), and
    ``c<TAB>초성<TAB>term``: every Hangul term by its initials (``ㅋㅂㄴㅌㅅ``). Built
    from the index's lexicon after a full rebuild; a sync adds the terms the index did
    not have before to ``vocab.delta`` (marshal), folded in when it grows.
``gloss.tbl``
    ``a<TAB>b<TAB>weight``: pairs the notes gloss, ``인그레스(Ingress)``,
    ``교착 상태(deadlock)``, ``Ingress(인그레스)``, both ways, each side as analyzed
    terms. One gloss anywhere links the two spellings in every note. The weight is how
    consistently the two name each other across notes (``상태`` glosses many words, so
    ``상태 -> deadlock`` is weak). ``gloss.bin`` keeps each note's pairs, so a sync
    updates the pairs of the notes it re-reads.

All of it is a hint: a missing or stale table makes search find less, never wrong
(every term found here is looked up in the index before it is searched).
"""

from __future__ import annotations

import marshal
import mmap
import os
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from .analysis import is_hangul_word, query_terms, unique_terms
from .english import letters_key, light_stem
from .index.manifest import GLOSS_NOTES, GLOSSES, VOCAB, VOCAB_DELTA
from .jamo import choseong, hangul_sound_key, latin_sound_keys
from .jamo import sounds_like as _sounds_like

_FILES = (VOCAB, VOCAB_DELTA, GLOSSES, GLOSS_NOTES)
#: A delta with more lines than this is folded into ``vocab.tbl``.
DELTA_MAX = 20_000
#: Text fields whose terms are learned (the ones a plain word mostly matches).
FIELDS = ("title", "body")


# --------------------------------------------------------------------------- sorted tables


class Table:
    """A file of sorted, ``\\n``-separated UTF-8 lines, searched by prefix in place."""

    def __init__(self, path: Path) -> None:
        self._map: mmap.mmap | None = None
        try:
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size:
                    self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            self._map = None

    def _line_at(self, pos: int) -> tuple[int, int]:
        """Start and end of the line holding byte ``pos``."""
        m = self._map
        assert m is not None
        start = m.rfind(b"\n", 0, pos) + 1
        end = m.find(b"\n", pos)
        return start, (len(m) if end < 0 else end)

    def lookup(self, prefix: str, limit: int = 500) -> list[str]:
        """The rest of every line that starts with ``prefix`` (at most ``limit``)."""
        m = self._map
        if m is None:
            return []
        want = prefix.encode("utf-8")
        lo, hi = 0, len(m)
        while lo < hi:  # first line >= want
            mid = (lo + hi) // 2
            start, end = self._line_at(mid)
            if m[start:end] < want:
                lo = end + 1
            else:
                hi = start
        out: list[str] = []
        pos = lo
        n = len(m)
        while pos < n and len(out) < limit:
            end = m.find(b"\n", pos)
            end = n if end < 0 else end
            line = m[pos:end]
            if not line.startswith(want):
                break
            out.append(line[len(want):].decode("utf-8", "replace"))
            pos = end + 1
        return out


def write_table(path: Path, lines: Iterable[str]) -> None:
    data = "\n".join(sorted(set(lines))).encode("utf-8")
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def write_marshal(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(marshal.dumps(value))
    os.replace(tmp, path)


def read_marshal(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return marshal.loads(fh.read())
    except (OSError, ValueError, EOFError, TypeError):
        return None


def drop(index_dir: Path) -> None:
    for name in _FILES:
        try:
            os.unlink(index_dir / name)
        except OSError:
            pass


# --------------------------------------------------------------------------- terms


def term_lines(term: str) -> list[str]:
    """The ``vocab.tbl`` lines of one index term (none for numbers, code, one-letter words):
    ``s`` its sound keys, ``m`` an English word's stem, ``a`` its letters in order (a typo
    key), ``c`` a Hangul word's initials."""
    n = len(term)
    if term.isascii():
        if not 3 <= n <= 30 or not term.isalpha():
            return []
        out = [f"s\t{k}\t{term}" for k in latin_sound_keys(term)]
        out.append(f"m\t{light_stem(term)}\t{term}")
        if n >= 4:
            out.append(f"a\t{letters_key(term)}\t{term}")
        return out
    if not 2 <= n <= 12 or not is_hangul_word(term):
        return []
    out = [f"c\t{choseong(term)}\t{term}"]
    key = hangul_sound_key(term)
    if key:
        out.append(f"s\t{key}\t{term}")
    return out


def _lexicon_lines(ix: Any) -> set[str]:
    """The ``vocab.tbl`` lines of every title and body term of the index (~1.5 s on the
    175,000 terms of a 3,900-note notebook, the same at ten times the notes)."""
    lines: set[str] = set()
    with ix.reader() as reader:
        for field in FIELDS:
            for btext in reader.lexicon(field):
                lines.update(term_lines(btext.decode("utf-8") if isinstance(btext, bytes) else btext))
    return lines


# --------------------------------------------------------------------------- glosses

@lru_cache(maxsize=1)
def _gloss_patterns() -> tuple[re.Pattern[str], ...]:
    """The regexes of :func:`extract_glosses`, compiled on first use: a class over the
    Hangul block costs ~1 ms to compile, which a search (that imports this module for
    :class:`Vocab`) should not pay."""
    return (
        # A parenthesis of up to 40 characters on one line; what precedes it is read separately.
        re.compile(r"\(([^()\n]{1,40})\)"),
        re.compile(r"([가-힣]+)(?: ([가-힣]+))? ?$"),
        re.compile(r"([A-Za-z][A-Za-z0-9_.+#-]*) ?$"),
        re.compile(r"[A-Za-z][A-Za-z0-9_.+# -]*"),
        re.compile(r"[가-힣]+(?: [가-힣]+){0,2}"),
    )
#: Glosses taken from one note (a table of thousands is a dictionary, not glosses).
MAX_GLOSSES_PER_NOTE = 400

Gloss = tuple[str, str]  # (Hangul side, Latin side), each analyzed terms joined by spaces


def _side(text: str) -> str:
    return " ".join(query_terms(text))


def extract_glosses(text: str) -> list[Gloss]:
    """``인그레스(Ingress)``, ``교착 상태(deadlock)`` and ``Ingress(인그레스)`` in a text,
    as pairs of analyzed sides; a Korean phrase gives its last word and its last two.

    >>> extract_glosses("교착 상태(deadlock)를 피한다")
    [('상태', 'deadlock'), ('교착 상태', 'deadlock')]
    """
    paren_re, hangul_tail_re, latin_tail_re, latin_gloss_re, hangul_gloss_re = _gloss_patterns()
    out: list[Gloss] = []
    seen: set[Gloss] = set()
    for m in paren_re.finditer(text):
        inner = m.group(1).strip()
        before = text[max(0, m.start() - 40) : m.start()]
        pairs: list[Gloss] = []
        if latin_gloss_re.fullmatch(inner) and len(inner.split()) <= 4:
            tail = hangul_tail_re.search(before)
            if tail:
                latin = _side(inner)
                last = _side(tail.group(2) or tail.group(1))
                pairs.append((last, latin))
                if tail.group(2):
                    pairs.append((_side(tail.group(1) + " " + tail.group(2)), latin))
        elif hangul_gloss_re.fullmatch(inner):
            tail = latin_tail_re.search(before)
            if tail:
                pairs.append((_side(inner), _side(tail.group(1))))
        for a, b in pairs:
            if a and b and len(b) > 1 and (a, b) not in seen and not b.isdigit():
                seen.add((a, b))
                out.append((a, b))
        if len(out) >= MAX_GLOSSES_PER_NOTE:
            break
    return out


def sounds_alike(hangul: str, latin: str) -> bool:
    """Whether a Hangul word is the English word written in Hangul (same consonants and
    syllable shape, see :mod:`kb.jamo`): ``인그레스``/``ingress`` yes, ``상태``/``deadlock`` no."""
    return _sounds_like(hangul.replace(" ", ""), latin.replace(" ", ""))


def gloss_lines(per_note: dict[str, list[Gloss]]) -> list[str]:
    """``gloss.tbl`` lines from every note's pairs: each pair both ways, weighted by how
    consistently its sides name each other (a loanword that sounds like its English
    original counts as consistent)."""
    count: dict[Gloss, int] = {}
    for pairs in per_note.values():
        for pair in pairs:
            count[pair] = count.get(pair, 0) + 1
    by_a: dict[str, int] = {}
    by_b: dict[str, int] = {}
    for (a, b), n in count.items():
        by_a[a] = by_a.get(a, 0) + n
        by_b[b] = by_b.get(b, 0) + n
    lines = []
    for (a, b), n in count.items():
        share = min(n / by_a[a], n / by_b[b])
        if sounds_alike(a, b):
            share = max(share, 0.75)
        if share < 0.15:
            continue
        lines.append(f"{a}\t{b}\t{share:.3f}")
        lines.append(f"{b}\t{a}\t{share:.3f}")
    return lines


# --------------------------------------------------------------------------- learning at index time


#: A sync of more notes than this reads the whole lexicon afterwards instead of
#: checking each new note's terms against the index (~20 us a term).
CHECK_NEW_TERMS_MAX = 50


class Learner:
    """Collects, note by note during a sync, the glosses and (for an update) the terms
    the index did not have yet. ``reader``: the index before this sync (None: every term
    is read from the new lexicon afterwards, as after a rebuild)."""

    def __init__(self, reader: Any = None) -> None:
        self.glosses: dict[str, list[Gloss]] = {}
        self.reader = reader
        self.new_terms: set[str] = set()
        self.whole_lexicon = reader is None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def note(self, rel: str, title: str, body: str) -> None:
        text = title + "\n" + body
        self.glosses[rel] = extract_glosses(text) if "(" in text else []
        if self.reader is not None:
            reader = self.reader
            for term in unique_terms(text):
                if term not in self.new_terms and not any((f, term) in reader for f in FIELDS):
                    self.new_terms.add(term)


def save_rebuilt(index_dir: Path, ix: Any, learner: Learner) -> None:
    """After a full rebuild: the tables from the new lexicon and the notes' glosses."""
    try:
        write_table(index_dir / VOCAB, _lexicon_lines(ix))
        write_marshal(index_dir / GLOSS_NOTES, learner.glosses)
        write_table(index_dir / GLOSSES, gloss_lines(learner.glosses))
        try:
            os.unlink(index_dir / VOCAB_DELTA)
        except FileNotFoundError:
            pass
    except OSError:
        drop(index_dir)


def save_updated(index_dir: Path, ix: Any, learner: Learner, removed: Iterable[str]) -> None:
    """After an incremental sync: new terms into the delta, the glosses of the notes read
    (and of removed ones) replaced."""
    try:
        lines: set[str] = set()
        if learner.new_terms and not learner.whole_lexicon:
            delta = read_marshal(index_dir / VOCAB_DELTA)
            lines = set(delta) if isinstance(delta, list) else set()
            for term in learner.new_terms:
                lines.update(term_lines(term))
        if learner.whole_lexicon or len(lines) > DELTA_MAX or not (index_dir / VOCAB).exists():
            write_table(index_dir / VOCAB, _lexicon_lines(ix))
            if (index_dir / VOCAB_DELTA).exists():
                os.unlink(index_dir / VOCAB_DELTA)
        elif lines:
            write_marshal(index_dir / VOCAB_DELTA, sorted(lines))
        removed = list(removed)
        if learner.glosses or removed:
            per_note = read_marshal(index_dir / GLOSS_NOTES)
            if not isinstance(per_note, dict):
                per_note = {}
            before = {k: per_note.get(k) for k in [*learner.glosses, *removed]}
            for rel in removed:
                per_note.pop(rel, None)
            for rel, pairs in learner.glosses.items():
                if pairs:
                    per_note[rel] = pairs
                else:
                    per_note.pop(rel, None)
            after = {k: per_note.get(k) for k in before}
            if before != after:
                write_marshal(index_dir / GLOSS_NOTES, per_note)
                write_table(index_dir / GLOSSES, gloss_lines(per_note))
    except OSError:
        drop(index_dir)


# --------------------------------------------------------------------------- reading at query time


class Vocab:
    """The tables of one index, for the query builder."""

    def __init__(self, index_dir: Path) -> None:
        self.terms = Table(index_dir / VOCAB)
        self.glossary = Table(index_dir / GLOSSES)
        self._delta: list[str] | None = None
        self._delta_path = index_dir / VOCAB_DELTA

    def _delta_lookup(self, prefix: str) -> list[str]:
        if self._delta is None:
            data = read_marshal(self._delta_path) if self._delta_path.exists() else None
            self._delta = data if isinstance(data, list) else []
        if not self._delta:
            return []
        import bisect

        out = []
        i = bisect.bisect_left(self._delta, prefix)
        while i < len(self._delta) and self._delta[i].startswith(prefix):
            out.append(self._delta[i][len(prefix):])
            i += 1
        return out

    def _lookup(self, prefix: str, limit: int = 500) -> list[str]:
        found = self.terms.lookup(prefix, limit)
        extra = self._delta_lookup(prefix)
        return found + [x for x in extra if x not in found] if extra else found

    def by_sound(self, key: str) -> list[str]:
        """Terms (either script) with this sound key."""
        return self._lookup(f"s\t{key}\t")

    def by_stem(self, stem: str) -> list[str]:
        """English terms filed under this stem (:func:`kb.english.light_stem`)."""
        return self._lookup(f"m\t{stem}\t")

    def by_letters(self, key: str) -> list[str]:
        """English terms with these letters (:func:`kb.english.letters_key`)."""
        return self._lookup(f"a\t{key}\t")

    def by_initials(self, initials: str, whole: bool = True, limit: int = 500) -> list[tuple[str, str]]:
        """``(initials, term)`` of Hangul terms with these initials (``whole``) or starting
        with them."""
        out = []
        for rest in self._lookup(f"c\t{initials}\t" if whole else f"c\t{initials}", limit):
            if whole:
                out.append((initials, rest))
            else:
                key, _, term = rest.partition("\t")
                out.append((initials + key, term))
        return out

    def glosses(self, side: str) -> list[tuple[str, float]]:
        """``(other side, weight)`` for an analyzed side (``"인그레스"`` -> ``[("ingress", 1.0)]``)."""
        out = []
        for rest in self.glossary.lookup(side + "\t", 50):
            other, _, weight = rest.rpartition("\t")
            try:
                out.append((other, float(weight)))
            except ValueError:
                continue
        return out
