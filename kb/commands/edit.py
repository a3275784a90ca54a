"""``kb edit``: open a note in the editor (at a line), re-index it when the editor exits."""

import os
from typing import Annotated, Optional

import typer

from ..errors import EditorFailed, NoteNotFound
from .common import complete_slugs, say, sync_after_write
from .editor import run_editor
from .hits import resolve_at


def edit(
    ctx: typer.Context,
    slug: Annotated[
        str,
        typer.Argument(help="Slug, unique slug prefix, title, N (hit N of the last `kb search`, opened at "
                            "its match) or path:line as search shows it.", autocompletion=complete_slugs),
    ],
    at: Annotated[
        Optional[str], typer.Argument(help="+N: open at line N (as vi does).", show_default=False)
    ] = None,
    line: Annotated[Optional[int], typer.Option("--line", "-l", min=1, help="Open at this line.")] = None,
) -> None:
    """Open a note in $VISUAL or $EDITOR (else vi) and re-index it when the editor exits."""
    from ..index.manifest import signature

    if at is not None:
        if not (at.startswith("+") and at[1:].isdigit() and at[1:].isascii() and int(at[1:]) >= 1):
            raise typer.BadParameter(f"expected +N (a line number), not {at!r}", param_hint="'+N'")
        line = int(at[1:])
    try:
        nb, row, hit_line = resolve_at(ctx, slug)
    except NoteNotFound:
        path_part, sep, number = slug.rpartition(":")  # `kb edit k8s/rbac.md:12`, as search prints it
        if not (sep and path_part and number.isdigit() and number.isascii()):
            raise
        nb, row, hit_line = resolve_at(ctx, path_part, numbered_too=False)
        hit_line = int(number) or None
    path = nb.root / row.path
    before = signature(os.stat(path))
    try:
        run_editor(str(path), on_failure="the note is re-indexed as it is on disk", line=line or hit_line)
    except EditorFailed:
        sync_after_write(nb)  # the editor may have saved before failing; cheap if not
        raise
    sync_after_write(nb)
    from rich.markup import escape

    name = escape(row.slug)
    if not path.exists():
        say(f"[yellow]{name} is gone[/] (moved or deleted in the editor); the index knows")
    elif signature(os.stat(path)) != before:
        say(f"[green]Saved[/] [bold]{name}[/]")
    else:
        say(f"No changes to [bold]{name}[/]")
