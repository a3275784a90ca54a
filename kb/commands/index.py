"""``kb index``: bring the index up to date (or rebuild it), with a summary."""

from typing import Annotated

import typer

from .common import JSON, BuildProgress, notebook, print_json, say_waiting, show


def index(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over from the files.")] = False,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Bring the index up to date with the notes (every command does this itself)."""
    nb = notebook(ctx)
    # No quick check first: the walk that follows is itself as cheap (it reuses the
    # manifest's listing), so the check would be paid twice when something changed.
    with BuildProgress(every_sync=not as_json) as progress:
        stats = nb.sync(rebuild=rebuild, progress=progress, on_wait=say_waiting, check_first=False)
    if as_json:
        print_json(stats.to_dict())
        return
    from .. import render

    show(render.index_stats(stats))
