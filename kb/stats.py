"""Numbers about a notebook: notes, words, tags, links, Korean vs English, largest notes.

Built from the index's stored fields (which notes, their tags and links) plus the
counts of each file (words, letters, bytes). The index's catalog keeps those counts
(``kb.index.catalog``, computed when a note is indexed); a note without them is read here.
Frontmatter is cut with a regular expression, not parsed as YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .links import LinkGraph
from .noterow import NoteRow
from .notes import FM_RE, decode_bytes, strip_code

# Runs, not single letters: the same count with a match per word instead of per letter.
_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3]+")
_LATIN_RUN = re.compile(r"[A-Za-z]+")


@dataclass
class NoteSize:
    slug: str
    title: str
    words: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "title": self.title, "words": self.words, "bytes": self.bytes}


@dataclass
class NotebookStats:
    """``hangul`` and ``latin`` count letters in prose (code left out); words count the whole body."""

    notes: int = 0
    words: int = 0
    tags: int = 0
    links: int = 0
    broken_links: int = 0
    orphans: int = 0
    hangul: int = 0
    latin: int = 0
    largest: list[NoteSize] = field(default_factory=list)

    @property
    def korean_share(self) -> float:
        total = self.hangul + self.latin
        return self.hangul / total if total else 0.0

    @property
    def english_share(self) -> float:
        total = self.hangul + self.latin
        return self.latin / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "notes": self.notes,
            "words": self.words,
            "tags": self.tags,
            "links": self.links,
            "broken_links": self.broken_links,
            "orphans": self.orphans,
            "hangul_syllables": self.hangul,
            "latin_letters": self.latin,
            "korean_share": round(self.korean_share, 4),
            "english_share": round(self.english_share, 4),
            "largest": [n.to_dict() for n in self.largest],
        }


def body_of(text: str) -> str:
    m = FM_RE.match(text)
    return text[m.end() :] if m else text


def count_bytes(data: bytes) -> tuple[int, int, int, int]:
    """``(words, Hangul syllables, Latin letters, bytes)`` of a note file's content:
    words in the whole body, letters in its prose (code left out)."""
    text, _ = decode_bytes(data)
    body = body_of(text)
    prose = strip_code(body)
    hangul = sum(map(len, _HANGUL_RUN.findall(prose)))
    latin = sum(map(len, _LATIN_RUN.findall(prose)))
    return len(body.split()), hangul, latin, len(data)


def compute_stats(
    root: Path,
    docs: Iterable[NoteRow],
    top: int = 5,
    counts: dict[str, tuple[int, int, int, int]] | None = None,
) -> NotebookStats:
    """Statistics of the indexed notes ``docs`` (from ``index.stored_notes``) under ``root``.

    ``counts`` holds what :func:`count_bytes` gives for a note's path, where known
    (``catalog.note_counts``); other notes are read, and their counts added to it.
    """
    if counts is None:
        counts = {}
    rows = list(docs)
    graph = LinkGraph(rows)
    stats = NotebookStats(notes=len(rows))
    stats.tags = len({t.lower() for row in rows for t in row.tags})
    for slug in graph.notes:
        out = graph.outgoing(slug)
        stats.links += len(out)
        stats.broken_links += sum(1 for link in out if link.broken)
    stats.orphans = len(graph.orphans())
    sizes: list[NoteSize] = []
    for slug, row in graph.notes.items():
        path = row.path
        known = counts.get(path)
        if known is None:
            try:
                known = counts[path] = count_bytes((root / path).read_bytes())
            except OSError:
                continue
        words, hangul, latin, size = known
        stats.words += words
        stats.hangul += hangul
        stats.latin += latin
        sizes.append(NoteSize(slug, row.title, words, size))
    sizes.sort(key=lambda n: (-n.words, n.slug))
    stats.largest = sizes[:top]
    return stats
