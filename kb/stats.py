"""Numbers about a notebook: notes, words, tags, links, Korean vs English, largest notes.

Built from the index's stored fields (which notes, their tags and links) plus one
read of each file for its words. Frontmatter is cut with a regular expression, not
parsed as YAML, so this stays quick on a thousand notes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .links import LinkGraph
from .notes import _FM_RE, decode_bytes, strip_code

_HANGUL_SYLLABLE = re.compile(r"[\uac00-\ud7a3]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


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
    m = _FM_RE.match(text)
    return text[m.end() :] if m else text


def compute_stats(root: Path, docs: list[Mapping[str, Any]], top: int = 5) -> NotebookStats:
    """Statistics of the indexed notes ``docs`` (from ``index.stored_notes``) under ``root``."""
    stats = NotebookStats(notes=len(docs))
    stats.tags = len({t.lower() for d in docs for t in d.get("tags") or []})
    graph = LinkGraph(docs)
    for slug in graph.notes:
        out = graph.outgoing(slug)
        stats.links += len(out)
        stats.broken_links += sum(1 for link in out if link.broken)
    stats.orphans = len(graph.orphans())
    sizes: list[NoteSize] = []
    for slug, doc in graph.notes.items():
        try:
            data = (root / str(doc["path"])).read_bytes()
        except OSError:
            continue
        text, _ = decode_bytes(data)
        body = body_of(text)
        words = len(body.split())
        prose = strip_code(body)
        stats.words += words
        stats.hangul += len(_HANGUL_SYLLABLE.findall(prose))
        stats.latin += len(_LATIN_LETTER.findall(prose))
        sizes.append(NoteSize(slug, str(doc.get("title") or slug), words, len(data)))
    sizes.sort(key=lambda n: (-n.words, n.slug))
    stats.largest = sizes[:top]
    return stats
