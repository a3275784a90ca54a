"""``kb related``: the notes most like one note."""

from typing import Annotated

import typer

from ..errors import NoteNotFound
from .common import HIT_ARG, JSON, emit, print_json
from .hits import resolve


def related_notes(
    ctx: typer.Context,
    slug: Annotated[str, HIT_ARG],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many notes.")] = 10,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Notes most like this one (shared distinctive words), best first."""
    nb, row = resolve(ctx, slug, numbered_too=True)
    try:
        hits = nb.related(row, limit=limit)
    except OSError as exc:
        raise NoteNotFound(f"cannot read {row.path}: {exc.strerror or exc}") from None
    if as_json:
        print_json([h.to_dict() for h in hits])
        return
    from .. import render

    emit(render.related_view(row.slug, row.title, hits))
