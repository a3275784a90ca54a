"""kb: search, read and add to a folder of Markdown notes, Korean-aware.

The Typer app: the group, the global options, and the list of commands. Each command
lives in its own module under :mod:`kb.commands` (parse options -> call
:mod:`kb.core` -> hand the result to :mod:`kb.render`, print once); they are
registered at the bottom of this file, in the order ``kb --help`` lists them.
``KbError`` becomes ``Error: ...`` on stderr and exit 1, in one place
(:class:`KbGroup`). Heavy modules (Whoosh, Rich) are imported inside the commands,
so ``kb --help`` stays fast.
"""

# No ``from __future__ import annotations`` here: Typer would eval() every command's
# string annotations on each run (~8 ms of start-up); tests/test_startup.py checks.
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from .commands import (
    add,
    edit,
    find,
    grep,
    index,
    info,
    links,
    lsp,
    notes_list,
    recent,
    related,
    rename,
    rm,
    search,
    server,
    show,
    stats,
    tags,
    templates,
    today,
)
from .commands.common import BuildProgress, error, notebook, say_waiting
from .errors import KbError

__version__ = "0.1.0"


# Typer vendors click in newer releases; find its exception base either way.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


#: Commands that only read the notes and the index: safe to run again after a rebuild.
_READ_ONLY = {"search", "show", "tags", "list", "links", "related", "recent", "stats", "info"}


class KbGroup(TyperGroup):
    """Translates domain errors into one line on stderr and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        saved = [*ctx._protected_args, *ctx.args]  # to run a read-only command again
        try:
            try:
                return super().invoke(ctx)
            except Exception as exc:
                if not (saved and saved[0] in _READ_ONLY):
                    raise
                from .index.sync import repair_after  # lazily: only after a failure

                nb = notebook(ctx)
                if not repair_after(exc, nb.place, on_wait=say_waiting, progress=BuildProgress):
                    raise
                nb.close()  # the index is sound again: the command opens it anew
                ctx._protected_args, ctx.args = saved[:1], saved[1:]
                return super().invoke(ctx)
        except KbError as exc:
            error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            error("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `kb list | head`: the reader went away; not an error worth a trace.
            try:
                fd = sys.stdout.fileno()  # (kb.server's stream has none: the client went away)
            except (OSError, ValueError):
                raise typer.Exit(0) from None
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise
        except Exception as exc:
            if os.environ.get("KB_DEBUG"):
                raise
            error(f"internal error: {type(exc).__name__}: {exc} (set KB_DEBUG=1 for a traceback)")
            raise typer.Exit(1) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # keep the order the commands are defined in

    def _main_shell_completion(self, ctx_args: Any, prog_name: str, complete_var: Any = None) -> None:
        _quote_bash_completions()
        super()._main_shell_completion(ctx_args, prog_name, complete_var)


def _quote_bash_completions() -> None:
    """Bash inserts a completion as it is: `my note` would become two words. Escape it
    as bash's own file-name completion does (`my\\ note`); zsh and fish quote themselves."""
    import importlib
    import re

    completion = importlib.import_module(_CLICK_EXCEPTION.__module__.rpartition(".")[0] + ".shell_completion")
    base = completion.get_completion_class("bash")
    if base is None or getattr(base, "kb_quoted", False):
        return

    class QuotedBash(base):  # type: ignore[misc, valid-type]
        kb_quoted = True

        def format_completion(self, item: Any) -> str:
            return re.sub(r"([^\w@%+=:,./-])", r"\\\1", super().format_completion(item))

    completion.add_completion_class(QuotedBash, "bash")


class QueryCommand(TyperCommand):
    """A command whose free words are a query: only the command's own options are options.

    ``kb search rag -tutorial`` is the query ``rag -tutorial``, not ``-t utorial``: before
    Click parses, a word that is not exactly one of the command's option names (or
    ``--name=value``) goes after ``--``. A word starting with ``--`` that names no option is
    a usage error, as it is most likely a mistyped option (put it after ``--`` to search it).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", "") == "option":
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not (param.is_flag or param.count)
        options: list[str] = []
        words: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                words += args[i:]
                break
            name = arg.partition("=")[0] if arg.startswith("--") else arg
            if name not in takes_value:
                if arg.startswith("--") and len(arg) > 2 and not ctx.resilient_parsing:
                    options.append(arg)  # Click says "No such option" (and suggests one)
                else:
                    words.append(arg)
                continue
            options.append(arg)
            if takes_value[name] and name == arg:
                if i < len(args):
                    options.append(args[i])
                    i += 1
                elif not ctx.resilient_parsing:
                    ctx.fail(f"Option '{arg}' requires an argument.")
        return super().parse_args(ctx, [*options, "--", *words])


app = typer.Typer(
    cls=KbGroup,
    help=__doc__.split("\n\n")[0] if __doc__ else None,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kb {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    dir: Annotated[
        Optional[Path],
        typer.Option(
            "--dir",
            "-d",
            help="Notebook folder (else $KB_DIR, else ./notes, else ~/notes).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """kb: search, read and add to a folder of Markdown notes, Korean-aware."""
    ctx.ensure_object(dict)["dir"] = dir


# The commands, in the order `kb --help` lists them (see kb/commands/__init__.py).
app.command(cls=QueryCommand)(search.search)
app.command()(show.show)
app.command("related")(related.related_notes)
app.command()(add.add)
app.command()(tags.tags)
app.command("list")(notes_list.notes_list)
app.command("find", cls=QueryCommand)(find.find_notes)
app.command()(index.index)
app.command()(info.info)
app.command()(edit.edit)
app.command("links")(links.note_links)
app.command()(rename.rename)
app.command("mv", help="Same as `kb rename`: move a note and rewrite every link to it.")(rename.rename)
app.command("rm")(rm.remove)
app.command()(recent.recent)
app.command("stats")(stats.notebook_stats)
app.command("today")(today.today_note)
app.command("templates")(templates.list_templates_cmd)
app.command("grep")(grep.grep_notes)
app.command("lsp")(lsp.lsp_server)
app.command("server")(server.server_cmd)


def run() -> None:
    """Console-script entry point."""
    app()
