"""``kb rm``: move a note to ``.trash/`` in the notebook, after asking."""

from typing import Annotated

import typer

from .common import SLUG_ARG, say, shown, sync_after_write
from .hits import resolve


def _notes_link(n: int, adverb: str = "") -> str:
    return f"{n} note {adverb}links" if n == 1 else f"{n} notes {adverb}link"


def remove(
    ctx: typer.Context,
    slug: Annotated[str, SLUG_ARG],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Move a note to .trash/ in the notebook (asks first); links to it become broken."""
    from ..notes import trash_file

    nb, row = resolve(ctx, slug)
    graph = nb.links
    linking = [link.source for link in graph.backlinks_of(row.slug)]
    if not yes:
        extra = f" {_notes_link(len(linking))} to it." if linking else ""
        typer.confirm(f"Move {row.slug} ({graph.title(row.slug)}) to .trash/?{extra}", abort=True)
    dest = trash_file(nb.root, row.path)
    sync_after_write(nb)
    msg = f"[green]Moved[/] [bold]{shown(row.slug)}[/] to {shown(dest.relative_to(nb.root).as_posix())}"
    if linking:
        listed = ", ".join(linking[:5]) + (" ..." if len(linking) > 5 else "")
        msg += f"\n{_notes_link(len(linking), 'still ')} to it: {shown(listed)}"
        msg += " (see `kb list --broken-links`)"
    say(msg)
