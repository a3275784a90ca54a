"""What kb stores of a note in Whoosh: the schema, a note's document, its stored tags.

A leaf: it knows notes, the analyzer and what a note only lists (kb.topic), nothing of
where the index lives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..analysis import analyze, korean_analyzer
from ..noterow import NoteRow
from ..notes import Note, nfc
from ..topic import listed_terms

SCHEMA_VERSION = 4  # 2: frontmatter fields (meta); 3: each note's plain lines kept (kb.index.lines);
#  4: the terms a note holds only in list items and table rows (listed, stored)
#: Text fields searched by a plain word, with their weight against the body.
FIELD_BOOSTS = {"title": 4.0, "aliases": 3.0, "tagtext": 2.5, "pathtext": 2.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_BOOSTS)


def make_schema() -> Any:
    # Whoosh lazily: importing this module (search does, for TEXT_FIELDS) must not load it.
    from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

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
        # The terms a note holds only in its list items and table rows (kb.topic.listed_terms):
        # a question's word it only lists, it does not explain.
        listed=STORED(),
    )


#: Frontmatter keys with a field of their own; every other scalar goes to ``meta``.
_OWN_KEYS = {"title", "tags", "tag", "aliases", "alias"}


def meta_terms(meta: dict[str, Any]) -> list[str]:
    """``{"category": "핵심 개념을"}`` -> ``["category=핵심", "category=개념"]``."""
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
        "listed": " ".join(listed_terms(note.body)),
    }


def stored_tags(stored: Any) -> list[str]:
    """The tags of a note as the index stores them (one comma-separated string)."""
    return [t for t in (stored.get("tags") or "").split(",") if t]


def stored_listed(stored: Any) -> frozenset[str]:
    """The terms a note holds only in list items and table rows (:func:`kb.topic.listed_terms`),
    from its stored fields; none from an index without them."""
    return frozenset((stored.get("listed") or "").split())


def stored_row(stored: Any) -> NoteRow:
    """The row of a note from Whoosh's stored fields of it (or from its document, see
    :func:`note_document`). With :func:`stored_tags`, the one place that reads Whoosh's
    mapping of a note by field name: everything past the index reads :class:`NoteRow`."""
    return NoteRow.of(stored["path"], title=stored.get("title"), tags=stored_tags(stored),
                      date=stored.get("date"), mtime=stored.get("mtime"), links=stored.get("links"))

