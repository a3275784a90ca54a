"""What the index knows of a note: :class:`NoteRow`, one per indexed note, without its body.

Every listing (``kb list``, ``tags``, ``recent``, ``links``, ``stats``, shell completion,
``kb find``, the language server) works from these rows; reading the file itself is
``notes.read_note``. A leaf module (it imports only :mod:`kb.notes` for ``slug_of``) so
that the catalog that makes the rows, the link graph and the views that read them, and
:mod:`kb.core` that hands them out can all import it without importing each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .notes import slug_of

#: The keys of a note in ``kb list --json`` and ``kb tags TAG --json``, in that order.
LIST_KEYS = ("slug", "title", "path", "tags", "date")
#: The keys of a note in ``kb recent --json``.
RECENT_KEYS = ("slug", "title", "path", "tags", "modified")


@dataclass(frozen=True, slots=True)
class NoteRow:
    """One indexed note. ``path`` is relative to the notebook root, POSIX (``k8s/pods.md``);
    ``title`` is the note's title (the slug when the index holds none); ``date`` is the
    frontmatter date as the index stores it (naive); ``mtime`` the file's modification
    time when indexed; ``links`` the link targets as :func:`kb.notes.parse_links` stored
    them (what :class:`kb.links.LinkGraph` resolves)."""

    path: str
    slug: str
    title: str
    tags: tuple[str, ...] = ()
    date: dt.datetime | None = None
    mtime: float | None = None
    links: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        path: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        tags: Iterable[str] | None = (),
        date: dt.datetime | None = None,
        mtime: float | None = None,
        links: Iterable[str] | None = (),
    ) -> NoteRow:
        """A row from loose values (the slug from the path, the title from the slug when
        missing, ``None`` lists as empty): for the catalog and for tests."""
        slug = slug or slug_of(path)
        return cls(path, slug, title or slug, tuple(tags or ()), date, mtime, tuple(links or ()))

    @property
    def name(self) -> str:
        """The last part of the slug: ``k8s/rbac`` -> ``rbac``."""
        return self.slug.rsplit("/", 1)[-1]

    def has_tags(self, wanted: Iterable[str]) -> bool:
        """Whether the note has every tag of ``wanted`` (casefolded, without ``#``: see
        :func:`tag_key`)."""
        mine = {t.lower() for t in self.tags}
        return all(w in mine for w in wanted)

    def modified(self) -> str:
        """The modification time as local ISO text to the second (``kb recent --json``)."""
        return dt.datetime.fromtimestamp(self.mtime or 0.0).isoformat(timespec="seconds")

    def to_dict(self, keys: Iterable[str] = LIST_KEYS) -> dict[str, Any]:
        """The note as JSON-ready values, the keys of ``kb list --json`` unless ``keys``
        says otherwise (also ``modified``, ``mtime``, ``links``)."""
        return {key: _JSON[key](self) for key in keys}


def tag_key(tag: str) -> str:
    """How a tag is compared in filters: ``#CKA`` -> ``cka``."""
    return tag.lstrip("#").lower()


#: A row's JSON value of each key :meth:`NoteRow.to_dict` knows.
_JSON: dict[str, Any] = {
    "slug": lambda r: r.slug,
    "title": lambda r: r.title,
    "path": lambda r: r.path,
    "tags": lambda r: list(r.tags),
    "date": lambda r: r.date.isoformat() if r.date else None,
    "modified": NoteRow.modified,
    "mtime": lambda r: r.mtime,
    "links": lambda r: list(r.links),
}
