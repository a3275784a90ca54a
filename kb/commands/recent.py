"""``kb recent``: the most recently modified notes."""

from typing import Annotated

import typer

from .common import JSON, opened, print_json, show


def recent(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many notes.")] = 10,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """The most recently modified notes, newest first."""
    from ..core import NoteFilter
    from ..noterow import RECENT_KEYS

    rows = opened(ctx).rows(NoteFilter(sort="recent", limit=limit))
    if as_json:
        print_json([r.to_dict(RECENT_KEYS) for r in rows])
        return
    from .. import render

    show(render.recent_table(rows))
