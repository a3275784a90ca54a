"""``kb search``: ranked hits with snippets; remembers them for ``kb show N``."""

from typing import Annotated, Optional

import typer

from ..errors import BadQuery
from .common import JSON, emit, nothing, opened, print_json, show, shown, stderr, tag_option
from .hits import remember_hits


def search(
    ctx: typer.Context,
    query: Annotated[
        list[str],
        typer.Argument(help='Words, "a phrase", prefix*, -not, a OR b, tag:x, title:x (no quoting needed).'),
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many hits.")] = 10,
    tag: Annotated[Optional[list[str]], tag_option()] = None,
    as_json: Annotated[bool, JSON] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Show how kb read the query: each word's terms, the other "
                     "forms it searched (aliases, glosses, typos...) with their weights, and what "
                     "each hit matched."),
    ] = False,
) -> None:
    """Search the notes, best first, with highlighted snippets; `kb show N` opens hit N.

    Every word that is not one of these options is part of the query, `-word` too.
    Exit status: 0 found, 1 nothing found, 2 a query with nothing to search for."""
    from ..search import NO_WORDS, has_words

    text = " ".join(query)
    if not has_words(text, tag or ()):  # before the index is opened (or built)
        raise BadQuery(f"{NO_WORDS} (`-word` only excludes)")
    nb = opened(ctx)
    result = nb.search(text, limit=limit, tags=tag or (), explain=explain)
    if as_json:
        hits = [h.to_dict() for h in result.hits]
        if explain and result.explanation is not None:
            print_json({"query": result.query, "explain": result.explanation.to_dict(), "hits": hits})
        else:
            print_json(hits)
        if result.notice:
            stderr().print(result.notice, style="yellow", soft_wrap=True, markup=False)  # names a tag
        if result.suggestions:  # stdout stays pure JSON; the hint goes to stderr
            stderr().print(f"did you mean: {shown(', '.join(result.suggestions))}?", style="yellow")
        if not result.hits:
            raise typer.Exit(1)
        return
    from .. import render

    if explain:
        show(render.explain_view(result))
    view = render.search_results(result)
    if not result.hits:
        nothing(view)
    remember_hits(nb.place, result.query, result.hits)
    emit(view)
