"""``kb show``: one note rendered, with its backlinks and the most similar notes."""

import sys
from typing import Annotated

import typer

from ..errors import NoteNotFound
from .common import HIT_ARG, JSON, print_json, print_paged
from .hits import resolve


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
    try:
        note = nb.read(row)
    except OSError as exc:
        raise NoteNotFound(f"cannot read {row.path}: {exc.strerror or exc}") from None
    if raw:
        from ..notes import decode_bytes

        text, _ = decode_bytes((nb.root / row.path).read_bytes())
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        return
    graph = nb.links
    if as_json:
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

    backlinks = [(link.source, graph.title(link.source)) for link in graph.backlinks_of(row.slug)]

    def title_of(target: str) -> str | None:
        found = graph.resolve(target, row.slug).slug
        return graph.title(found) if found else None

    similar = [(h.slug, h.title) for h in nb.related(row, limit=5)]
    view = render.note_view(
        note,
        str(nb.root / note.path),
        backlinks=backlinks,
        title_of=title_of,
        code_theme=render.code_theme(),
        related=similar,
    )
    print_paged(view, pager=not no_pager)
