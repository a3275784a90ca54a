"""kb: search, read and add to a folder of Markdown notes, Korean-aware.

Each command parses its options, calls the core (notes, index, search), hands
the result to ``render`` and prints once. ``KbError`` becomes ``Error: ...`` on
stderr and exit 1, in one place (:class:`KbGroup`). Heavy modules (Whoosh, Rich)
are imported inside the commands, so ``kb --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from .errors import EditorFailed, KbError, NoteNotFound

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from .config import Notebook

__version__ = "0.1.0"


# Typer vendors click in newer releases; find its exception base either way.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class KbGroup(TyperGroup):
    """Translates domain errors into one line on stderr and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KbError as exc:
            _error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _error("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # `kb list | head`: the reader went away; not an error worth a trace.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise
        except Exception as exc:
            if os.environ.get("KB_DEBUG"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (set KB_DEBUG=1 for a traceback)")
            raise typer.Exit(1) from None

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # keep the order the commands are defined in


app = typer.Typer(
    cls=KbGroup,
    help=__doc__.split("\n\n")[0] if __doc__ else None,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _error(message: str) -> None:
    from rich.markup import escape

    _stderr().print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)


def _print(renderable: RenderableType) -> None:
    _stdout().print(renderable)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _notebook(ctx: typer.Context) -> Notebook:
    from .config import find_notebook

    obj = ctx.ensure_object(dict)
    if "nb" not in obj:
        obj["nb"] = find_notebook(obj.get("dir"))
    return obj["nb"]


def _open(ctx: typer.Context) -> Any:
    """The synced index; sync warnings go to stderr once, when a file is (re)indexed."""
    from .index import open_index

    nb = _notebook(ctx)
    ix, stats = open_index(nb)
    if stats and stats.warnings:
        from rich.markup import escape

        err = _stderr()
        for path, msg in stats.warnings:
            err.print(f"[yellow]warning:[/] {escape(path)}: {escape(msg)}", soft_wrap=True)
    return ix


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


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[
        list[str], typer.Argument(help='Words, "a phrase", prefix*, -not, a OR b, tag:x, title:x.')
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many hits.")] = 10,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="Only notes with this tag (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Search the notes, best first, with highlighted snippets."""
    from .search import search as run_search

    ix = _open(ctx)
    result = run_search(_notebook(ctx), " ".join(query), limit=limit, tags=tag or (), ix=ix)
    if as_json:
        _print_json([h.to_dict() for h in result.hits])
        if result.notice:
            _stderr().print(result.notice, style="yellow")
        return
    from . import render

    _print(render.search_results(result))


@app.command()
def show(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Slug, unique slug prefix, or title.")],
    raw: Annotated[bool, typer.Option("--raw", help="Print the file as it is.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Show one note, rendered."""
    from .index import stored_notes
    from .notes import read_note
    from .search import resolve_slug

    nb = _notebook(ctx)
    doc = resolve_slug(stored_notes(_open(ctx)), slug)
    try:
        note = read_note(nb.root, doc["path"])
    except OSError as exc:
        raise NoteNotFound(f"cannot read {doc['path']}: {exc.strerror or exc}") from None
    if raw:
        from .notes import decode_bytes

        text, _ = decode_bytes((nb.root / doc["path"]).read_bytes())
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        return
    if as_json:
        _print_json(
            {
                "slug": note.slug,
                "title": note.title,
                "path": note.path,
                "tags": note.tags,
                "date": note.date.isoformat() if note.date else None,
                "links": note.links,
                "body": note.body,
                "warnings": note.warnings,
            }
        )
        return
    from . import render

    _print(render.note_view(note, str(nb.root / note.path)))


@app.command()
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Title of the new note.")],
    tag: Annotated[Optional[list[str]], typer.Option("--tag", "-t", help="A tag (repeatable).")] = None,
    body: Annotated[
        Optional[str], typer.Option("--body", "-b", help="The note's text (else stdin, else $EDITOR).")
    ] = None,
    slug: Annotated[
        Optional[str], typer.Option("--slug", help="File name without .md (default: from the title).")
    ] = None,
) -> None:
    """Add a new note with frontmatter; it is searchable at once."""
    from .errors import BadSlug, IndexLocked
    from .index import sync_index
    from .notes import note_path, parse_tags, render_new_note, slugify, write_new_note

    nb = _notebook(ctx)
    title = title.strip()
    if not title:
        raise BadSlug("the title is empty")
    the_slug = slug if slug is not None else slugify(title)
    path = note_path(nb.root, the_slug)
    if path.exists():
        raise KbError(f"{path.relative_to(nb.root)} already exists; kb never overwrites a note (use --slug)")
    tags = parse_tags(tag or [])
    if body is None:
        body = _read_body(title)
    write_new_note(path, render_new_note(title, tags, body))
    rel = path.relative_to(nb.root).as_posix()
    try:
        sync_index(nb)
    except IndexLocked:
        _stderr().print("index busy; the note is saved and the next kb command will index it", style="yellow")
    _print(f"[green]Created[/] [bold]{rel[:-3]}[/]  ({path})")


def _read_body(title: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.read()
    if not sys.stdout.isatty():
        return ""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="kb-", suffix=".md")
    os.close(fd)
    try:
        run_editor(tmp)
        return Path(tmp).read_text(encoding="utf-8", errors="replace")
    finally:
        os.unlink(tmp)


def run_editor(path: str) -> None:
    """Open ``path`` in $VISUAL / $EDITOR (with arguments, like ``code -w``), else vi."""
    import shlex
    import subprocess

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError:
        raise EditorFailed(f"cannot parse the editor command {editor!r}; fix $EDITOR") from None
    try:
        code = subprocess.call([*argv, path])
    except OSError as exc:
        raise EditorFailed(f"cannot start editor {argv[0]!r}: {exc.strerror}; set $EDITOR") from None
    if code != 0:
        raise EditorFailed(f"editor {argv[0]!r} exited with status {code}; nothing was saved")


@app.command()
def tags(
    ctx: typer.Context,
    tag: Annotated[Optional[str], typer.Argument(help="List the notes with this tag.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Tags with their note counts, or the notes of one tag."""
    from collections import Counter

    from .index import stored_notes

    docs = stored_notes(_open(ctx))
    if tag is not None:
        wanted = tag.lstrip("#").lower()
        rows = sorted((d for d in docs if wanted in {t.lower() for t in d["tags"]}), key=lambda d: d["slug"])
        if not rows:
            raise KbError(f"no note has the tag '{tag}'; run `kb tags` to see them all")
        _list_out(rows, as_json)
        return
    counts = Counter(t for d in docs for t in {t.lower() for t in d["tags"]})
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if as_json:
        _print_json([{"tag": t, "count": n} for t, n in ordered])
        return
    from . import render

    _print(render.tag_counts(ordered))


def _list_out(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        _print_json(
            [
                {
                    "slug": r["slug"],
                    "title": r.get("title"),
                    "path": r["path"],
                    "tags": r["tags"],
                    "date": r["date"].isoformat() if r.get("date") else None,
                }
                for r in rows
            ]
        )
        return
    from . import render

    _print(render.notes_table(rows))


@app.command("list")
def notes_list(
    ctx: typer.Context,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="Only notes with this tag (repeatable).")
    ] = None,
    sort: Annotated[str, typer.Option("--sort", "-s", help="date, title or modified.")] = "date",
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List notes with title, tags and date (newest first)."""
    import datetime as dt

    from .index import stored_notes

    if sort not in ("date", "title", "modified"):
        raise typer.BadParameter("use date, title or modified", param_hint="--sort")
    rows = stored_notes(_open(ctx))
    for t in tag or []:
        wanted = t.lstrip("#").lower()
        rows = [r for r in rows if wanted in {x.lower() for x in r["tags"]}]
    if sort == "title":
        rows.sort(key=lambda r: (r.get("title") or "").casefold())
    elif sort == "modified":
        rows.sort(key=lambda r: r.get("mtime") or 0.0, reverse=True)
    else:
        rows.sort(key=lambda r: r.get("date") or dt.datetime.min, reverse=True)
    if limit:
        rows = rows[:limit]
    _list_out(rows, as_json)


@app.command()
def index(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over from the files.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Bring the index up to date with the notes (every command does this itself)."""
    from .index import sync_index

    nb = _notebook(ctx)
    err = _stderr()
    if err.is_terminal and not as_json:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[dim]{task.description}"),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None)

            def progress(i: int, total: int, path: str) -> None:
                bar.update(task, completed=i, total=total, description=path[-50:])

            stats = sync_index(nb, rebuild=rebuild, progress=progress)
    else:
        stats = sync_index(nb, rebuild=rebuild)
    if as_json:
        _print_json(stats.to_dict())
        return
    from . import render

    _print(render.index_stats(stats))


@app.command()
def info(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Where the notebook and its index are, how many notes, and whether the index is fresh."""
    from .index import index_info

    data = index_info(_notebook(ctx))
    if as_json:
        _print_json(data.to_dict())
        return
    from . import render

    _print(render.info_view(data))


def run() -> None:
    """Console-script entry point."""
    app()
