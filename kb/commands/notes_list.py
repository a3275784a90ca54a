"""``kb list``: notes with title, tags and date, filtered and sorted (or their broken links)."""

from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from .common import JSON, NO_PAGER, emit, list_out, nothing, opened, print_json, tag_option

if TYPE_CHECKING:
    import datetime as dt


def notes_list(
    ctx: typer.Context,
    tag: Annotated[Optional[list[str]], tag_option()] = None,
    sort: Annotated[str, typer.Option("--sort", "-s", help="date, title or modified.")] = "date",
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="At most this many.")] = None,
    as_json: Annotated[bool, JSON] = False,
    since: Annotated[
        Optional[str],
        typer.Option("--since", help="Only notes dated since: 12h, 7d, 2w, 1m, 1y ago, or a date."),
    ] = None,
    before: Annotated[
        Optional[str], typer.Option("--before", help="Only notes dated before: a date, or 7d etc. ago.")
    ] = None,
    orphans: Annotated[bool, typer.Option("--orphans", help="Only notes with no links in or out.")] = False,
    broken_links: Annotated[
        bool, typer.Option("--broken-links", help="List the broken links of the notes instead of the notes.")
    ] = False,
    no_pager: Annotated[bool, NO_PAGER] = False,
) -> None:
    """List notes with title, tags and date (newest first; exit 1: none)."""
    from ..core import NoteFilter

    if sort not in ("date", "title", "modified"):
        raise typer.BadParameter("use date, title or modified", param_hint="--sort")
    nb = opened(ctx)
    filt = NoteFilter(
        tags=tuple(tag or ()),
        since=_when(since, "--since"),
        before=_when(before, "--before"),
        orphans=orphans,
        sort="slug" if broken_links else sort,
        limit=None if broken_links else limit,
    )
    rows = nb.rows(filt)
    if broken_links:
        _broken_out(nb.links, [r.slug for r in rows], as_json, page=not no_pager)
        return
    why = "No notes."
    known = dict(nb.tag_counts()) if tag else {}
    for t in tag or []:
        if t.lstrip("#").lower() not in known:
            why = f"no note has the tag '{t}'; run `kb tags` to see them all"
    list_out(rows, as_json, page=not no_pager, why=why)


def _when(value: Optional[str], option: str) -> "dt.datetime | None":
    """``--since``/``--before`` as a time (``7d``, a date), or a usage error naming the option."""
    if value is None:
        return None
    from ..notes import parse_when

    try:
        return parse_when(value)
    except (ValueError, OverflowError) as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _broken_out(graph: Any, sources: list[str], as_json: bool, page: bool = True) -> None:
    broken = [link for slug in sources for link in graph.outgoing(slug) if link.broken]
    if as_json:
        print_json([{"source": b.source, "target": b.target, "reason": b.reason} for b in broken])
        if not broken:
            raise typer.Exit(1)
        return
    from .. import render

    rows = []
    for b in broken:
        hint = graph.suggest(b.target) if b.reason == "no such note" else []
        rows.append((b.source, b.target, b.reason + (f"; did you mean {', '.join(hint)}?" if hint else "")))
    view = render.broken_links_table(rows)
    if not rows:
        nothing(view)
    emit(view, page=page)
