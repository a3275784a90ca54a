"""``kb show 2``: the hits of the last search, kept in the index folder, and reading a
note argument that may be such a number (show, edit, links, related)."""

import os
from typing import TYPE_CHECKING, Any

import typer

from ..errors import NoteNotFound
from .common import opened

if TYPE_CHECKING:
    from ..config import Notebook as Place
    from ..core import Notebook
    from ..noterow import NoteRow

def remember_hits(place: "Place", query: str, hits: list[Any]) -> None:
    """Keep the hits' slugs and lines for `kb show N`, readable only by the user (best effort).
    marshal, not json: the plain search path imports no json (tests/test_startup.py)."""
    import marshal

    from ..index.manifest import LAST_SEARCH  # lazily: kb --help loads no index module

    data = {"root": str(place.root), "query": query, "hits": [(h.slug, h.line or 0) for h in hits]}
    tmp = place.index_dir / f"{LAST_SEARCH}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps(data))
        os.replace(tmp, place.index_dir / LAST_SEARCH)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def last_hits(place: "Place") -> "tuple[str, list[tuple[str, int | None]]] | None":
    """The query and hits of the last search in this notebook, None if there was none."""
    import marshal

    from ..index.manifest import LAST_SEARCH  # lazily: kb --help loads no index module

    try:
        with open(place.index_dir / LAST_SEARCH, "rb") as fh:
            data = marshal.loads(fh.read(1 << 20))
        if data.get("root") != str(place.root):
            return None
        return str(data["query"]), [(str(slug), line if isinstance(line, int) and line > 0 else None)
                                     for slug, line in data["hits"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, EOFError):
        return None


def numbered(nb: "Notebook", text: str) -> "tuple[NoteRow, int | None] | None":
    """Note and line of hit ``text`` of the last search; None if ``text`` is not a number
    or is a note's slug (a note `1.md` wins over hit 1). Raises :class:`NoteNotFound`
    for a number with no such hit."""
    want = text.strip()
    if not want.isdigit() or not want.isascii():
        return None
    if nb.row_of(want) is not None:
        return None  # a note `1.md` at the top of the notebook (not `chapter1/1.md`: one of many)
    last = last_hits(nb.place)
    if last is None:
        raise NoteNotFound(f"no note '{text}', and no search to number its hits yet: "
                           "run `kb search ...`, then `kb show 1`")
    query, hits = last
    n = int(want)
    if not 1 <= n <= len(hits):
        raise NoteNotFound(f"the last search ({query}) had {len(hits)} hit{'s' if len(hits) != 1 else ''}; "
                           f"there is no hit {n}")
    slug, line = hits[n - 1]
    row = nb.row_of(slug)
    if row is None:
        raise NoteNotFound(f"hit {n} of the last search, {slug}, is gone (moved or deleted since); "
                           "search again")
    return row, line


def resolve(ctx: typer.Context, ref: str, numbered_too: bool = False) -> "tuple[Notebook, NoteRow]":
    """The notebook (index synced) and the note ``ref`` names (``numbered_too``: or hit N
    of the last search, see :func:`resolve_at`)."""
    nb, row, _ = resolve_at(ctx, ref, numbered_too)
    return nb, row


def resolve_at(
    ctx: typer.Context, ref: str, numbered_too: bool = True
) -> "tuple[Notebook, NoteRow, int | None]":
    """:func:`resolve`, and the line of the match when ``ref`` is a hit's number.

    A number is hit N of the last search unless it is a note's slug; a number beyond
    the hits (or with no search yet) is read as a slug."""
    nb = opened(ctx)
    hit_error = None
    if numbered_too:
        try:
            found = numbered(nb, ref)
        except NoteNotFound as exc:
            found, hit_error = None, exc
        if found is not None:
            return nb, found[0], found[1]
    try:
        return nb, nb.note(ref), None
    except NoteNotFound:
        if hit_error is not None:
            raise hit_error from None
        raise
