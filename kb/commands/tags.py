"""``kb tags``: every tag with its note count, or the notes of one tag."""

from typing import Annotated, Optional

import typer

from .common import JSON, NO_PAGER, complete_tags, emit, list_out, nothing, opened, print_json


def tags(
    ctx: typer.Context,
    tag: Annotated[
        Optional[str], typer.Argument(help="List the notes with this tag.", autocompletion=complete_tags)
    ] = None,
    as_json: Annotated[bool, JSON] = False,
    no_pager: Annotated[bool, NO_PAGER] = False,
) -> None:
    """Tags with their note counts, or the notes of one tag (exit 1: none)."""
    from ..core import NoteFilter

    nb = opened(ctx)
    if tag is not None:
        rows = nb.rows(NoteFilter(tags=(tag,), sort="slug"))
        why = f"no note has the tag '{tag}'; run `kb tags` to see them all"
        list_out(rows, as_json, page=not no_pager, why=why)
        return
    ordered = nb.tag_counts()
    if as_json:
        print_json([{"tag": t, "count": n} for t, n in ordered])
        if not ordered:
            raise typer.Exit(1)
        return
    from .. import render

    view = render.tag_counts(ordered)
    if not ordered:
        nothing(view)
    emit(view, page=not no_pager)
