"""``kb stats``: notes, words, tags, links, Korean vs English share, largest notes."""

from typing import Annotated

import typer

from .common import JSON, opened, print_json, show


def notebook_stats(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", min=0, help="How many of the largest notes to list.")] = 5,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Notes, words, tags, links (and broken ones), Korean vs English share, largest notes."""
    data = opened(ctx).numbers(top=top)
    if as_json:
        print_json(data.to_dict())
        return
    from .. import render

    show(render.stats_view(data))
