"""``kb show``: one note rendered, with its backlinks and the most similar notes."""

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import NoteNotFound
from .common import HIT_ARG, JSON, print_json, print_paged
from .hits import resolve

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from ..core import Notebook
    from ..noterow import NoteRow
    from ..notes import Note
    from ..render import Rendered


def show(
    ctx: typer.Context,
    slug: Annotated[str, HIT_ARG],
    raw: Annotated[bool, typer.Option("--raw", help="Print the file as it is.")] = False,
    as_json: Annotated[bool, JSON] = False,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Never page (kb pages long notes only on a terminal).")
    ] = False,
) -> None:
    """Show one note, rendered, with the notes that link to it."""
    nb, row = resolve(ctx, slug, numbered_too=True)
    from . import common

    key = kept = None
    if not (raw or as_json) and common.POOL is not None:
        # in kb.server the notebook stays open: a note rendered before for the same terminal
        # is printed as it was (the key is taken before the file is read: a change after it
        # gives the next request another key)
        from .. import render

        key = _view_key(nb, row, common.stdout(), render.code_theme())
        kept = nb.views.get(key) if key is not None else None
    if kept is not None:
        print_paged(kept, pager=not no_pager)
        return
    try:
        note = nb.read(row)
    except OSError as exc:
        raise NoteNotFound(f"cannot read {row.path}: {exc.strerror or exc}") from None
    if raw:
        from ..notes import decode_bytes

        text, _ = decode_bytes((nb.root / row.path).read_bytes())
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        return
    if as_json:
        graph = nb.links
        print_json(
            {
                "slug": note.slug,
                "title": note.title,
                "path": note.path,
                "tags": note.tags,
                "date": note.date.isoformat() if note.date else None,
                "links": note.links,
                "backlinks": [link.source for link in graph.backlinks_of(row.slug)],
                "body": note.body,
                "warnings": note.warnings,
            }
        )
        return
    from .. import render

    view = _view(nb, row, note, render.code_theme())
    if key is not None:  # laid out once and kept, for the next kb show of the note
        view = render.laid_out(common.stdout(), view)
        _keep(nb.views, key, view)
    print_paged(view, pager=not no_pager)


def _view(nb: "Notebook", row: "NoteRow", note: "Note", theme: str) -> "RenderableType":
    from .. import render

    graph = nb.links
    backlinks = [(link.source, graph.title(link.source)) for link in graph.backlinks_of(row.slug)]

    def title_of(target: str) -> str | None:
        found = graph.resolve(target, row.slug).slug
        return graph.title(found) if found else None

    similar = [(h.slug, h.title) for h in nb.related(row, limit=5, note=note)]
    return render.note_view(
        note,
        str(nb.root / note.path),
        backlinks=backlinks,
        title_of=title_of,
        code_theme=theme,
        related=similar,
    )


#: At most this many characters of rendered notes kept on a notebook (:attr:`Notebook.views`;
#: as segments, ~35 bytes a character: ~35 MB at most).
MAX_KEPT_CHARS = 1_000_000


def _view_key(nb: "Notebook", row: "NoteRow", console: "Console", theme: str) -> tuple[object, ...] | None:
    """What a rendered note depends on besides the index version (the notebook drops its
    views when that changes: backlinks, related notes, link titles): the file as it is
    now, and how this request's terminal lays it out. None when the file cannot be read."""
    try:
        st = os.stat(nb.root / row.path)
    except OSError:
        return None
    return ("show", row.path, st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, console.width,
            console.color_system, console.no_color, console.encoding, console.legacy_windows,
            console.is_terminal, theme, os.environ.get("TZ"))


def _keep(views: "dict[object, Rendered]", key: tuple[object, ...], kept: "Rendered") -> None:
    views[key] = kept
    total = sum(v.size for v in views.values())
    for old in list(views):  # the oldest first
        if total <= MAX_KEPT_CHARS or old == key:
            break
        total -= views.pop(old).size
