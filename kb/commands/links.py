"""``kb links``: a note's links (broken ones marked) and the notes linking to it."""

from typing import Annotated

import typer

from .common import HIT_ARG, JSON, print_json, stdout
from .hits import resolve


def note_links(
    ctx: typer.Context,
    slug: Annotated[str, HIT_ARG],
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """Links from a note (broken ones marked) and the notes that link to it."""
    nb, row = resolve(ctx, slug, numbered_too=True)
    graph = nb.links
    outgoing = graph.outgoing_of(row.slug)
    backlinks = graph.backlinks_of(row.slug)
    if as_json:
        print_json(
            {
                "slug": row.slug,
                "title": graph.title(row.slug),
                "outgoing": [
                    {**link.to_dict(), "title": graph.title(link.slug) if link.slug else None}
                    for link in outgoing
                ],
                "backlinks": [{"slug": link.source, "title": graph.title(link.source)} for link in backlinks],
            }
        )
        return
    from .. import render

    rows = []
    for link in outgoing:
        reason = link.reason
        hint = graph.suggest(link.target) if link.broken and reason == "no such note" else []
        if hint:
            reason += f"; did you mean {', '.join(hint)}?"
        rows.append((link.target, link.slug, graph.title(link.slug) if link.slug else "", reason))
    back = [(link.source, graph.title(link.source)) for link in backlinks]
    stdout().print(render.links_view(row.slug, graph.title(row.slug), rows, back), soft_wrap=True)
