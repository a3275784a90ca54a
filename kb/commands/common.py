"""What every command shares: the notebook of this run, printing, progress, option types.

Imported by ``kb --help`` (through :mod:`kb.cli`), so it imports only Typer and the
standard library at the top; Rich and the core come inside the functions that use them.
"""

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console, RenderableType

    from ..core import Notebook
    from ..index.sync import IndexStats


# --------------------------------------------------------------------------- output


def stdout() -> "Console":
    from rich.console import Console

    return Console(highlight=False)


def stderr() -> "Console":
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def error(message: str) -> None:
    """``Error: message`` on stderr, the message as plain text."""
    from rich.markup import escape

    from ..notes import strip_controls

    stderr().print(f"[bold red]Error:[/] {escape(strip_controls(message, '?'))}", soft_wrap=True)


def shown(text: object) -> str:
    """User text (a path, a slug) for a Rich markup message: no markup, no terminal controls."""
    from rich.markup import escape

    from ..notes import strip_controls

    return escape(strip_controls(str(text), "?"))


def warn(path: str, message: str) -> None:
    stderr().print(f"[yellow]warning:[/] {shown(path)}: {shown(message)}", soft_wrap=True)


def say(markup: str) -> None:
    """One message line (Rich markup, user text escaped by the caller), never wrapped."""
    stdout().print(markup, soft_wrap=True)


def show(renderable: "RenderableType") -> None:
    stdout().print(renderable)


def emit(view: "RenderableType", page: bool = False) -> None:
    """Print a view: on a terminal as laid out (through the pager when ``page`` and it is
    taller than the screen); piped, its plain lines (tab-separated for a table) if it has them."""
    console = stdout()
    plain = getattr(view, "plain", None)
    if not console.is_terminal and callable(plain):  # (a Rich Text's `plain` is its text, not this)
        sys.stdout.write(plain())
        return
    print_paged(view, pager=page)


def nothing(view: "RenderableType") -> None:
    """Nothing found: say why on stderr (stdout stays empty, as grep's) and exit 1."""
    err = stderr()
    plain = getattr(view, "plain", None)
    if callable(plain) and not err.is_terminal:
        sys.stderr.write(plain())
    else:
        err.print(view, soft_wrap=True, markup=False)
    raise typer.Exit(1)


def print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_paged(renderable: "RenderableType", pager: bool = True) -> None:
    """Print, through the pager when stdout is a terminal and the text is taller than it."""
    console = stdout()
    crop = getattr(renderable, "crop", True)  # a list lays out its lines to fit already
    if not (pager and console.is_terminal):
        console.print(renderable, crop=crop)
        return
    height = getattr(renderable, "height", None)  # a list knows it without being laid out
    if height is None and crop:
        from ..render import laid_out

        renderable = laid_out(console, renderable)  # laid out once, for the height and the print
        height = renderable.height
    elif height is None:
        height = len(console.render_lines(renderable, console.options, pad=False))
    if height <= console.height:
        console.print(renderable, crop=crop)
        return
    if not (os.environ.get("MANPAGER") or os.environ.get("PAGER")):
        os.environ.setdefault("LESS", "FRX")  # like git: raw colours, quit if short, keep the screen
    command = os.environ.get("MANPAGER") or os.environ.get("PAGER") or "less"
    styles = "less" in command and ("-R" in command or "r" in os.environ.get("LESS", "").lower())
    # In kb.server, stdout is the client's: the text goes to it, and the client runs the pager.
    with console.pager(pager=getattr(sys.stdout, "kb_pager", None), styles=styles):
        console.print(renderable, crop=crop)


def list_out(rows: list[Any], as_json: bool, page: bool = True, why: str = "No notes.") -> None:
    """Print note rows as a list (or JSON); none: ``why`` on stderr and exit 1."""
    if as_json:
        print_json([r.to_dict() for r in rows])
        if not rows:
            raise typer.Exit(1)
        return
    if not rows:
        nothing(why)
    from .. import render

    emit(render.notes_table(rows), page=page)


# --------------------------------------------------------------------------- the notebook


def say_waiting() -> None:
    stderr().print("waiting for another kb process to finish updating the index...", style="dim")


#: Set by :mod:`kb.server`: gives a run its notebook from the server's pool of open ones
#: (``--dir`` value -> :class:`kb.core.Notebook`, found as :meth:`Notebook.find` does).
POOL: "Callable[[Any], Notebook] | None" = None


def notebook(ctx: typer.Context) -> "Notebook":
    """This run's notebook (``--dir``, ``$KB_DIR``...), its index not opened yet; a rename
    a killed kb left half-done is finished first, and said so."""
    obj = ctx.ensure_object(dict)
    if "nb" not in obj:
        from ..core import Notebook

        obj["nb"] = nb = POOL(obj.get("dir")) if POOL is not None else Notebook.find(obj.get("dir"))
        nb.repair_wait, nb.repair_progress = say_waiting, BuildProgress  # a repair after a failed read: said
        outcome = nb.finished_rename
        if outcome is not None:
            for path, msg in outcome.warnings:
                warn(path, msg)
            stderr().print(shown(outcome.summary()), style="yellow", soft_wrap=True)
    return obj["nb"]


def opened(ctx: typer.Context) -> "Notebook":
    """This run's notebook with its index synced; sync warnings go to stderr once, when a
    file is (re)indexed, and so does a notice about the answers (a rebuild is running)."""
    nb = notebook(ctx)
    obj = ctx.ensure_object(dict)
    if not (nb.is_open and obj.get("synced")):  # a pooled notebook (kb.server) is open already
        with BuildProgress() as progress:
            nb.open_index(on_wait=say_waiting, progress=progress)
        obj["synced"] = True
        tell(nb.stats)
    return nb


def tell(stats: "IndexStats | None") -> None:
    """A sync's warnings and notice, on stderr."""
    if stats and (stats.warnings or stats.notice):
        for path, msg in stats.warnings:
            warn(path, msg)
        if stats.notice:
            stderr().print(stats.notice, style="yellow", soft_wrap=True)


BUSY = "index busy; the next kb command will bring it up to date"


def sync_after_write(nb: "Notebook", busy: str = BUSY) -> None:
    """Re-index after kb changed files; a busy index is not an error (the next command syncs)."""
    from ..errors import IndexLocked

    try:
        with BuildProgress() as progress:
            nb.sync(wait=5.0, progress=progress)
    except IndexLocked:
        stderr().print(busy, style="yellow")


class BuildProgress:
    """Tells the user what a sync does, on stderr: when a full build starts, a bar on a
    terminal and one line otherwise; ``every_sync`` (``kb index``): a bar for any sync,
    naming the steps after the notes. An ``index.Progress`` (duck-typed: the CLI imports
    no core module at start-up); a context manager that ends the bar.

    A first build (or one asked for) of fewer than :attr:`QUIET_NOTES` notes is said
    only once it has lasted :attr:`QUIET_SECONDS`: a small notebook's takes a blink.
    """

    QUIET_NOTES = 200
    QUIET_SECONDS = 0.3

    def __init__(self, every_sync: bool = False) -> None:
        import time

        self.clock = time.perf_counter
        self.every_sync = every_sync
        self.terminal = sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None
        self.built = ""
        self.told = False
        self.start = 0.0

    def building(self, why: str, total: int) -> None:
        from ..index.sync import BUILD_REASONS

        self.start = self.clock()
        notes = f"{total} note{'' if total == 1 else 's'}"
        self.built = f"{BUILD_REASONS.get(why, 'building the index')}: {notes}"
        if total >= self.QUIET_NOTES or why not in ("new", "asked"):
            self._tell()

    def note(self, done: int, total: int, path: str) -> None:
        if self.built and not self.told and self.clock() - self.start >= self.QUIET_SECONDS:
            self._tell()
        if self.bar is not None or (self.terminal and self.every_sync):
            self._bar("indexing").update(self.task, completed=done, total=total, description=path[-50:])

    def step(self, name: str) -> None:
        if self.built and not self.told and self.clock() - self.start >= self.QUIET_SECONDS:
            self._tell()
        if self.bar is not None:
            self.bar.update(self.task, description=f"[bold]{name}...")

    def _tell(self) -> None:
        self.told = True
        if self.terminal:
            self._bar(self.built.partition(":")[0])
        elif not self.every_sync:
            sys.stderr.write(f"kb: {self.built}...\n")
            sys.stderr.flush()

    def _bar(self, title: str) -> Any:
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn(title), BarColumn(), MofNCompleteColumn(),
                                TextColumn("[dim]{task.description}"), console=stderr(), transient=True)
            self.task = self.bar.add_task("", total=None)
            self.bar.start()
        return self.bar

    def __enter__(self) -> "BuildProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
            if self.told and not self.every_sync and exc[0] is None:
                stderr().print(f"{self.built}, done in {self.clock() - self.start:.1f} s", style="dim")


# --------------------------------------------------------------------------- completion and options


def _completion_rows(ctx: typer.Context) -> list[Any]:
    """Note rows for shell completion, from the index as it is: never syncs or builds
    one (a missing or damaged index gives no completions) and never raises."""
    try:
        from ..core import Notebook

        return Notebook.open(ctx.find_root().params.get("dir"), sync=False).rows()
    except Exception:
        return []


def complete_slugs(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Slugs starting with what was typed, with titles as help (Typer keeps only prefixes)."""
    rows = sorted(_completion_rows(ctx), key=lambda r: r.slug)
    return [(r.slug, r.title) for r in rows if r.slug.startswith(incomplete)]


def complete_tags(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tags starting with what was typed, the most used first."""
    from ..core import tag_counts

    return [t for t, _ in tag_counts(_completion_rows(ctx)) if t.startswith(incomplete)]


SLUG_ARG = typer.Argument(help="Slug, unique slug prefix, or title.", autocompletion=complete_slugs)
HIT_ARG = typer.Argument(
    help="Slug, unique slug prefix, title, or N: hit N of the last `kb search`.",
    autocompletion=complete_slugs,
)
NO_PAGER = typer.Option("--no-pager", help="Never page (kb pages long lists only on a terminal).")
JSON = typer.Option("--json", help="JSON output.")


def tag_option(help: str = "Only notes with this tag (repeatable).") -> Any:
    return typer.Option("--tag", "-t", help=help, autocompletion=complete_tags)


def shown_path(root: Path, rel: str) -> str:
    """A note's path as editors and shells can open it from here: relative to the current
    folder when the note is below it, else absolute."""
    full = os.path.join(root, rel)
    try:
        rel_here = os.path.relpath(full)
    except ValueError:
        return full
    return full if rel_here.startswith("..") else rel_here
