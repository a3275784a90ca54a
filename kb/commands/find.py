"""``kb find``: search as you type, with a preview (the screen is :mod:`kb.find`, on Textual)."""

import sys
from typing import Annotated, Optional

import typer

from .common import opened


def find_notes(
    ctx: typer.Context,
    query: Annotated[
        Optional[list[str]], typer.Argument(help="Start with this query (kb search syntax).")
    ] = None,
    print_: Annotated[bool, typer.Option("--print", help="Enter prints the note's slug and leaves.")] = False,
    path: Annotated[bool, typer.Option("--path", help="With --print: print its path instead.")] = False,
) -> None:
    """Search as you type, with a preview; Enter opens the note in $EDITOR at its match.

    Keys: up/down move, Enter edit, Ctrl-F full view, Ctrl-T tag, Ctrl-Y copy, ? keys, Esc leave.
    With --print (or stdout not a terminal) Enter prints the slug: `kb show $(kb find --print)`."""
    from ..find.app import run as run_find

    mode = "path" if path else "slug" if print_ or not sys.stdout.isatty() else None
    nb = opened(ctx)  # a build's progress and sync warnings shown before the screen is taken
    chosen = run_find(nb, " ".join(query or ()), print_mode=mode)
    if chosen:
        typer.echo(str(nb.root / chosen) if path else chosen)
    elif mode:
        raise typer.Exit(1)
