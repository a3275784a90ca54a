"""``kb server``: the resident server of this kb installation: what it holds, or stop it."""

from typing import Annotated

import typer


def server_cmd(
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop the server (the next read-only command starts one).")
    ] = False,
) -> None:
    """The resident server that answers read-only commands: its process, memory and open
    notebooks (exit 1: none runs); `--stop` stops it. KB_SERVER=0 turns it off."""
    import os

    from ..wire import ask

    if stop:
        if ask("--kb-server-stop") is None:
            typer.echo("no kb server runs", err=True)
            raise typer.Exit(1)
        typer.echo("kb server stopped")
        return
    answer = ask("--kb-server-status")
    if answer is None:
        off = " (KB_SERVER=0: none is used)" if os.environ.get("KB_SERVER") == "0" else ""
        typer.echo(f"no kb server runs{off}; the next read-only command starts one", err=True)
        raise typer.Exit(1)
    typer.echo(answer.decode("utf-8", "replace"), nl=False)
