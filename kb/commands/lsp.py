"""``kb lsp``: the notebook's language server (:mod:`kb.lsp`) on stdin/stdout, for an editor."""

import typer


def lsp_server(ctx: typer.Context) -> None:
    """Run kb's language server on stdin/stdout, for an editor (links, backlinks, search)."""
    from ..errors import KbError

    try:
        from ..lsp.server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise KbError(f"kb lsp needs pygls: pip install 'pygls>=2,<3' ({exc})") from None
    directory = ctx.ensure_object(dict).get("dir")
    raise typer.Exit(serve(str(directory) if directory else None))
