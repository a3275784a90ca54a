"""``kb info``: which notebook, where its index is, how many notes, whether it is fresh."""

from typing import Annotated

import typer

from .common import JSON, notebook, print_json, show


def info(
    ctx: typer.Context,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Where the notebook and its index are, how many notes, and whether the index is fresh."""
    data = notebook(ctx).info()
    if as_json:
        print_json(data.to_dict())
        return
    from .. import render

    show(render.info_view(data))
