"""kb: search, read and add to a folder of Markdown notes, Korean-aware.

Each command parses its options, calls the core (notes, index, search), hands
the result to ``render`` and prints once. ``KbError`` becomes ``Error: ...`` on
stderr and exit 1, in one place (:class:`KbGroup`). Heavy modules (Whoosh, Rich)
are imported inside the commands, so ``kb --help`` stays fast.
"""

# No ``from __future__ import annotations`` here: Typer would eval() every command's
# string annotations on each run (~8 ms of start-up); tests/test_startup.py checks.
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from .errors import BadQuery, EditorFailed, KbError, NoteNotFound

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from .config import Notebook

__version__ = "0.1.0"


# Typer vendors click in newer releases; find its exception base either way.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


#: Commands that only read the notes and the index: safe to run again after a rebuild.
_READ_ONLY = {"search", "show", "tags", "list", "links", "related", "recent", "stats", "info"}


def _from_whoosh(exc: BaseException) -> bool:
    """True if the exception was raised inside Whoosh (reading a damaged index)."""
    tb = exc.__traceback__
    while tb is not None:
        if f"{os.sep}whoosh{os.sep}" in tb.tb_frame.f_code.co_filename:
            return True
        tb = tb.tb_next
    return False


class KbGroup(TyperGroup):
    """Translates domain errors into one line on stderr and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        saved = [*ctx._protected_args, *ctx.args]  # to run a read-only command again
        try:
            try:
                return super().invoke(ctx)
            except Exception as exc:
                if not (saved and saved[0] in _READ_ONLY and _from_whoosh(exc)):
                    raise
                # Damage no cheap check can see (same-size garbage in an index file)
                # shows up only when Whoosh reads it: rebuild (unless another kb just
                # committed a new generation), then answer once more.
                from .index.sync import read_failed

                with _BuildProgress() as progress:
                    read_failed(_notebook(ctx), on_wait=_say_waiting, progress=progress)
                ctx._protected_args, ctx.args = saved[:1], saved[1:]
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


def _stdout() -> "Console":
    from rich.console import Console

    return Console(highlight=False)


def _stderr() -> "Console":
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _error(message: str) -> None:
    from rich.markup import escape

    from .notes import strip_controls

    _stderr().print(f"[bold red]Error:[/] {escape(strip_controls(message, '?'))}", soft_wrap=True)


def _shown(text: object) -> str:
    """User text (a path, a slug) for a Rich markup message: no markup, no terminal controls."""
    from rich.markup import escape

    from .notes import strip_controls

    return escape(strip_controls(str(text), "?"))


def _print(renderable: "RenderableType") -> None:
    _stdout().print(renderable)


def _emit(view: "RenderableType", page: bool = False) -> None:
    """Print a view: on a terminal as laid out (through the pager when ``page`` and it is
    taller than the screen); piped, its plain lines (tab-separated for a table) if it has them."""
    console = _stdout()
    if not console.is_terminal and hasattr(view, "plain"):
        sys.stdout.write(view.plain())
        return
    _print_paged(view, pager=page)


def _nothing(view: "RenderableType") -> None:
    """Nothing found: say why on stderr (stdout stays empty, as grep's) and exit 1."""
    err = _stderr()
    if hasattr(view, "plain") and not err.is_terminal:
        sys.stderr.write(view.plain())
    else:
        err.print(view, soft_wrap=True, markup=False)
    raise typer.Exit(1)


def _print_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _notebook(ctx: typer.Context) -> "Notebook":
    from .config import find_notebook

    obj = ctx.ensure_object(dict)
    if "nb" not in obj:
        obj["nb"] = find_notebook(obj.get("dir"))
        _finish_rename(obj["nb"].root)
    return obj["nb"]


def _finish_rename(root: Path) -> None:
    """Finish a rename a killed kb left half-done (one ``stat`` when there is none)."""
    from .journal import JOURNAL_DIR, JOURNAL_NAME

    if not os.path.lexists(root / JOURNAL_DIR / JOURNAL_NAME):
        return
    from .journal import finish_interrupted

    outcome = finish_interrupted(root)
    if outcome is None:
        return
    err = _stderr()
    for path, msg in outcome.warnings:
        err.print(f"[yellow]warning:[/] {_shown(path)}: {_shown(msg)}", soft_wrap=True)
    err.print(_shown(outcome.summary()), style="yellow", soft_wrap=True)


def _resolve(
    ctx: typer.Context, slug: str, numbered: bool = False
) -> "tuple[Notebook, Any, list[dict[str, Any]], dict[str, Any]]":
    """The notebook, its synced index, every stored note, and the one ``slug`` names
    (``numbered``: or hit N of the last search, see :func:`_resolve_at`)."""
    nb, ix, docs, doc, _ = _resolve_at(ctx, slug, numbered)
    return nb, ix, docs, doc


def _resolve_at(
    ctx: typer.Context, slug: str, numbered: bool = True
) -> "tuple[Notebook, Any, list[dict[str, Any]], dict[str, Any], int | None]":
    """:func:`_resolve`, and the line of the match when ``slug`` is a hit's number.

    A number is hit N of the last search unless it is a note's slug; a number beyond
    the hits (or with no search yet) is read as a slug."""
    from .index.sync import stored_notes
    from .search import resolve_slug

    ix = _open(ctx)
    docs = stored_notes(ix)
    nb = _notebook(ctx)
    hit_error = None
    if numbered:
        try:
            found = _numbered(nb, docs, slug)
        except NoteNotFound as exc:
            found, hit_error = None, exc
        if found is not None:
            return nb, ix, docs, found[0], found[1]
    try:
        return nb, ix, docs, resolve_slug(docs, slug), None
    except NoteNotFound:
        if hit_error is not None:
            raise hit_error from None
        raise


def _say_waiting() -> None:
    _stderr().print("waiting for another kb process to finish updating the index...", style="dim")


class _BuildProgress:
    """Tells the user what a sync does, on stderr: when a full build starts, a bar on a
    terminal and one line otherwise; ``every_sync`` (``kb index``): a bar for any sync,
    naming the steps after the notes. An ``index.Progress`` (duck-typed: cli.py imports
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
        from .index.sync import BUILD_REASONS

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
                                TextColumn("[dim]{task.description}"), console=_stderr(), transient=True)
            self.task = self.bar.add_task("", total=None)
            self.bar.start()
        return self.bar

    def __enter__(self) -> "_BuildProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
            if self.told and not self.every_sync and exc[0] is None:
                _stderr().print(f"{self.built}, done in {self.clock() - self.start:.1f} s", style="dim")


def _open(ctx: typer.Context) -> Any:
    """The synced index; sync warnings go to stderr once, when a file is (re)indexed, and so
    does a notice about the answers (a rebuild is running)."""
    from .index.sync import open_index

    nb = _notebook(ctx)
    with _BuildProgress() as progress:
        ix, stats = open_index(nb, on_wait=_say_waiting, progress=progress)
    if stats and (stats.warnings or stats.notice):
        err = _stderr()
        for path, msg in stats.warnings:
            err.print(f"[yellow]warning:[/] {_shown(path)}: {_shown(msg)}", soft_wrap=True)
        if stats.notice:
            err.print(stats.notice, style="yellow", soft_wrap=True)
    return ix


def _completion_docs(ctx: typer.Context) -> list[dict[str, Any]]:
    """Stored notes for shell completion, from the index as it is: never syncs or builds
    one (a missing or damaged index gives no completions) and never raises."""
    try:
        from .config import find_notebook
        from .index.sync import _previous_index, stored_notes

        nb = find_notebook(ctx.find_root().params.get("dir"))
        ix = _previous_index(nb)  # only this notebook's index, as it is
        return stored_notes(ix) if ix is not None else []
    except Exception:
        return []


def _complete_slugs(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Slugs starting with what was typed, with titles as help (Typer keeps only prefixes)."""
    docs = sorted(_completion_docs(ctx), key=lambda d: d["slug"])
    return [(d["slug"], d.get("title") or "") for d in docs if d["slug"].startswith(incomplete)]


def _complete_tags(ctx: typer.Context, incomplete: str) -> list[str]:
    """Tags starting with what was typed, the most used first."""
    from collections import Counter

    counts = Counter(t for d in _completion_docs(ctx) for t in {t.lower() for t in d["tags"]})
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if t.startswith(incomplete)]


_SLUG_ARG = typer.Argument(help="Slug, unique slug prefix, or title.", autocompletion=_complete_slugs)
_HIT_ARG = typer.Argument(
    help="Slug, unique slug prefix, title, or N: hit N of the last `kb search`.",
    autocompletion=_complete_slugs,
)


def _sync_after_write(nb: "Notebook") -> None:
    """Re-index after kb changed files; a busy index is not an error (the next command syncs)."""
    from .errors import IndexLocked
    from .index.sync import sync_index

    try:
        with _BuildProgress() as progress:
            sync_index(nb, wait=5.0, progress=progress)
    except IndexLocked:
        _stderr().print("index busy; the next kb command will bring it up to date", style="yellow")


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


@app.command(cls=QueryCommand)
def search(
    ctx: typer.Context,
    query: Annotated[
        list[str],
        typer.Argument(help='Words, "a phrase", prefix*, -not, a OR b, tag:x, title:x (no quoting needed).'),
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many hits.")] = 10,
    tag: Annotated[
        Optional[list[str]],
        typer.Option(
            "--tag", "-t", help="Only notes with this tag (repeatable).", autocompletion=_complete_tags
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
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
    from .search import NO_WORDS, has_words
    from .search import search as run_search

    text = " ".join(query)
    if not has_words(text, tag or ()):  # before the index is opened (or built)
        raise BadQuery(f"{NO_WORDS} (`-word` only excludes)")
    ix = _open(ctx)
    result = run_search(_notebook(ctx), text, limit=limit, tags=tag or (), ix=ix, explain=explain)
    if as_json:
        hits = [h.to_dict() for h in result.hits]
        if explain and result.explanation is not None:
            _print_json({"query": result.query, "explain": result.explanation.to_dict(), "hits": hits})
        else:
            _print_json(hits)
        if result.notice:
            _stderr().print(result.notice, style="yellow", soft_wrap=True, markup=False)  # names a tag
        if result.suggestions:  # stdout stays pure JSON; the hint goes to stderr
            _stderr().print(f"did you mean: {_shown(', '.join(result.suggestions))}?", style="yellow")
        if not result.hits:
            raise typer.Exit(1)
        return
    from . import render

    if explain:
        _print(render.explain_view(result))
    view = render.search_results(result)
    if not result.hits:
        _nothing(view)
    _remember_hits(_notebook(ctx), result.query, result.hits)
    _emit(view)


#: The last search's hits, in the index folder: ``kb show 2`` opens the second.
LAST_SEARCH = "last-search.bin"


def _remember_hits(nb: "Notebook", query: str, hits: list[Any]) -> None:
    """Keep the hits' slugs and lines for `kb show N`, readable only by the user (best effort).
    marshal, not json: the plain search path imports no json (tests/test_startup.py)."""
    import marshal

    data = {"root": str(nb.root), "query": query, "hits": [(h.slug, h.line or 0) for h in hits]}
    tmp = nb.index_dir / f"{LAST_SEARCH}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps(data))
        os.replace(tmp, nb.index_dir / LAST_SEARCH)
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _last_hits(nb: "Notebook") -> "tuple[str, list[tuple[str, int | None]]] | None":
    """The query and hits of the last search in this notebook, None if there was none."""
    import marshal

    try:
        with open(nb.index_dir / LAST_SEARCH, "rb") as fh:
            data = marshal.loads(fh.read(1 << 20))
        if data.get("root") != str(nb.root):
            return None
        return str(data["query"]), [(str(slug), line if isinstance(line, int) and line > 0 else None)
                                     for slug, line in data["hits"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, EOFError):
        return None


def _numbered(
    nb: "Notebook", docs: list[dict[str, Any]], text: str
) -> "tuple[dict[str, Any], int | None] | None":
    """Note and line of hit ``text`` of the last search; None if ``text`` is not a number
    or is a note's slug (a note `1.md` wins over hit 1). Raises :class:`NoteNotFound`
    for a number with no such hit."""
    want = text.strip()
    if not want.isdigit() or not want.isascii():
        return None
    if any(d["slug"] == want for d in docs):
        return None  # a note `1.md` at the top of the notebook (not `chapter1/1.md`: one of many)
    last = _last_hits(nb)
    if last is None:
        raise NoteNotFound(f"no note '{text}', and no search to number its hits yet: "
                           "run `kb search ...`, then `kb show 1`")
    query, hits = last
    n = int(want)
    if not 1 <= n <= len(hits):
        raise NoteNotFound(f"the last search ({query}) had {len(hits)} hit{'s' if len(hits) != 1 else ''}; "
                           f"there is no hit {n}")
    slug, line = hits[n - 1]
    doc = next((d for d in docs if d["slug"] == slug), None)
    if doc is None:
        raise NoteNotFound(f"hit {n} of the last search, {slug}, is gone (moved or deleted since); "
                           "search again")
    return doc, line


@app.command()
def show(
    ctx: typer.Context,
    slug: Annotated[str, _HIT_ARG],
    raw: Annotated[bool, typer.Option("--raw", help="Print the file as it is.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Never page (kb pages long notes only on a terminal).")
    ] = False,
) -> None:
    """Show one note, rendered, with the notes that link to it."""
    from .links import LinkGraph
    from .notes import read_note

    nb, ix, docs, doc = _resolve(ctx, slug, numbered=True)
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
                "backlinks": [link.source for link in LinkGraph(docs).backlinks_of(doc["slug"])],
                "body": note.body,
                "warnings": note.warnings,
            }
        )
        return
    from . import render

    graph = LinkGraph(docs)
    backlinks = [(link.source, graph.title(link.source)) for link in graph.backlinks_of(doc["slug"])]

    def title_of(target: str) -> str | None:
        found = graph.resolve(target, doc["slug"]).slug
        return graph.title(found) if found else None

    from .search import related as find_related

    similar = [(h.slug, h.title) for h in find_related(nb, doc["path"], limit=5, ix=ix)]
    view = render.note_view(
        note,
        str(nb.root / note.path),
        backlinks=backlinks,
        title_of=title_of,
        code_theme=os.environ.get("KB_CODE_THEME") or "monokai",
        related=similar,
    )
    _print_paged(view, pager=not no_pager)


@app.command("related")
def related_notes(
    ctx: typer.Context,
    slug: Annotated[str, _HIT_ARG],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many notes.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Notes most like this one (shared distinctive words), best first."""
    from .search import related as find_related

    nb, ix, _, doc = _resolve(ctx, slug, numbered=True)
    try:
        hits = find_related(nb, doc["path"], limit=limit, ix=ix)
    except OSError as exc:
        raise NoteNotFound(f"cannot read {doc['path']}: {exc.strerror or exc}") from None
    if as_json:
        _print_json([h.to_dict() for h in hits])
        return
    from . import render

    _emit(render.related_view(doc["slug"], doc.get("title") or doc["slug"], hits))


def _print_paged(renderable: "RenderableType", pager: bool = True) -> None:
    """Print, through the pager when stdout is a terminal and the text is taller than it."""
    console = _stdout()
    crop = getattr(renderable, "crop", True)  # a list lays out its lines to fit already
    if not (pager and console.is_terminal):
        console.print(renderable, crop=crop)
        return
    height = getattr(renderable, "height", None)  # a list knows it without being laid out
    if height is None:
        height = len(console.render_lines(renderable, console.options, pad=False))
    if height <= console.height:
        console.print(renderable, crop=crop)
        return
    if not (os.environ.get("MANPAGER") or os.environ.get("PAGER")):
        os.environ.setdefault("LESS", "FRX")  # like git: raw colours, quit if short, keep the screen
    command = os.environ.get("MANPAGER") or os.environ.get("PAGER") or "less"
    styles = "less" in command and ("-R" in command or "r" in os.environ.get("LESS", "").lower())
    with console.pager(styles=styles):
        console.print(renderable, crop=crop)


@app.command()
def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Title of the new note.")],
    tag: Annotated[
        Optional[list[str]],
        typer.Option("--tag", "-t", help="A tag (repeatable).", autocompletion=_complete_tags),
    ] = None,
    body: Annotated[
        Optional[str], typer.Option("--body", "-b", help="The note's text (else stdin, else $EDITOR).")
    ] = None,
    slug: Annotated[
        Optional[str], typer.Option("--slug", help="File name without .md (default: from the title).")
    ] = None,
    template: Annotated[
        Optional[str], typer.Option("--template", "-T", help="Start from .kb/templates/NAME.md (Jinja2).")
    ] = None,
    field: Annotated[
        Optional[list[str]],
        typer.Option("--field", "-f", help="A frontmatter field key=value, also {{ key }} (repeatable)."),
    ] = None,
) -> None:
    """Add a new note with frontmatter; it is searchable at once (`default.md` template if any)."""
    from .errors import BadSlug, IndexLocked
    from .index.sync import sync_index
    from .notes import note_path, parse_tags, render_new_note, slugify, strip_controls, write_new_note

    nb = _notebook(ctx)
    title = strip_controls(title).strip()  # no terminal escapes into a note's title
    if not title:
        raise BadSlug("the title is empty")
    the_slug = slug if slug is not None else slugify(title)
    path = note_path(nb.root, the_slug)
    if path.exists():
        raise KbError(f"{path.relative_to(nb.root)} already exists; kb never overwrites a note (use --slug)")
    tags = parse_tags(tag or [])
    text = _templated(nb.root, template, title, path, tags, field or [], body)
    if text is None:
        if body is None:
            body = _read_body(title)
        text = render_new_note(title, tags, body)
    write_new_note(path, text)
    rel = path.relative_to(nb.root).as_posix()
    try:
        with _BuildProgress() as progress:
            sync_index(nb, wait=5.0, progress=progress)
    except IndexLocked:
        _stderr().print("index busy; the note is saved and the next kb command will index it", style="yellow")
    _print(f"[green]Created[/] [bold]{_shown(rel[:-3])}[/]  ({_shown(path)})")


def _templated(
    root: Path, name: Optional[str], title: str, path: Path, tags: list[str], fields: list[str],
    body: Optional[str],
) -> Optional[str]:
    """The new note's text from template ``name`` (else ``default.md`` if there is one), or None."""
    from .templates import DEFAULT, TemplateError, find_template, parse_fields

    if name is None and fields:
        name = DEFAULT
    found = find_template(root, name or DEFAULT)
    if found is None:
        if name is not None and name != DEFAULT:
            raise TemplateError(f"no template '{name}' in {root / '.kb' / 'templates'} (see `kb templates`)")
        if not fields:
            return None
    import datetime as dt

    from .notes import slug_of
    from .templates import context_of, note_text, render_template

    values = parse_fields(fields)
    when = dt.datetime.now().astimezone()
    if body is None:
        body = _read_body(title) if not sys.stdin.isatty() else ""
    slug = slug_of(path.relative_to(root).as_posix())
    context = context_of(title, slug, tags, values, body, when)
    rendered = render_template(found, context) if found is not None else body
    if found is not None and body.strip() and "body" not in found.read_text("utf-8", "replace"):
        rendered = rendered.rstrip("\n") + "\n\n" + body  # a template without {{ body }}
    return note_text(rendered, title, tags, values, when)


def _body_source() -> str:
    """Where `kb add` takes the text from: "stdin" (piped in), "editor", or "none" (no terminal)."""
    if not sys.stdin.isatty():
        return "stdin"
    return "editor" if sys.stdout.isatty() else "none"


def _read_body(title: str) -> str:
    source = _body_source()
    if source == "stdin":
        # Bytes, decoded like a note file (UTF-8, else CP949, else replaced): a
        # non-UTF-8 pipe under a strict locale is not a traceback.
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            return sys.stdin.read()
        from .notes import decode_bytes

        return decode_bytes(buffer.read())[0]
    if source == "none":
        return ""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix="kb-", suffix=".md")
    os.close(fd)
    try:
        run_editor(tmp)
        text = Path(tmp).read_text(encoding="utf-8", errors="replace")
    finally:
        os.unlink(tmp)
    if not text.strip():
        # as git does for an empty commit message: the editor was the way to say "no"
        raise KbError("nothing written; no note created")
    return text


#: How to open an editor at a line: ``+N path`` (vi and most terminal editors),
#: ``path:N`` or VS Code's ``-g path:N``; the editor is named by its command's file name.
_PLUS_LINE = frozenset("vi vim nvim gvim mvim view nano pico rnano emacs emacsclient micro kak joe jed mg "
                       "ne vis gedit mousepad pluma xed".split())
_COLON_LINE = frozenset("hx helix subl sublime_text zed".split())
_GOTO_LINE = frozenset("code code-insiders codium vscodium cursor windsurf".split())


def editor_argv(argv: list[str], path: str, line: int | None) -> list[str]:
    """The editor command for ``path``, at ``line`` when the editor is known to take one."""
    if line is None or not argv:
        return [*argv, path]
    name = os.path.basename(argv[0]).lower().removesuffix(".exe")
    if name in _PLUS_LINE:
        return [*argv, f"+{line}", path]
    if name in _COLON_LINE:
        return [*argv, f"{path}:{line}"]
    if name in _GOTO_LINE:
        return [*argv, "-g", f"{path}:{line}"]
    _stderr().print(f"(kb does not know how to open {_shown(name)} at a line; opening the note at its top)",
                    style="dim", soft_wrap=True)
    return [*argv, path]


def run_editor(path: str, on_failure: str = "nothing was saved", line: int | None = None) -> None:
    """Open ``path`` in $VISUAL / $EDITOR (with arguments, like ``code -w``), else vi."""
    import shlex
    import subprocess

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError:
        raise EditorFailed(f"cannot parse the editor command {editor!r}; fix $EDITOR") from None
    if not argv:
        argv = ["vi"]
    try:
        code = subprocess.call(editor_argv(argv, path, line))
    except OSError as exc:
        raise EditorFailed(f"cannot start editor {argv[0]!r}: {exc.strerror}; set $EDITOR") from None
    if code != 0:
        raise EditorFailed(f"editor {argv[0]!r} exited with status {code}; {on_failure}")


_NO_PAGER = typer.Option("--no-pager", help="Never page (kb pages long lists only on a terminal).")


@app.command()
def tags(
    ctx: typer.Context,
    tag: Annotated[
        Optional[str], typer.Argument(help="List the notes with this tag.", autocompletion=_complete_tags)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    no_pager: Annotated[bool, _NO_PAGER] = False,
) -> None:
    """Tags with their note counts, or the notes of one tag (exit 1: none)."""
    from collections import Counter

    from .index.sync import stored_notes

    docs = stored_notes(_open(ctx))
    if tag is not None:
        wanted = tag.lstrip("#").lower()
        rows = sorted((d for d in docs if wanted in {t.lower() for t in d["tags"]}), key=lambda d: d["slug"])
        why = f"no note has the tag '{tag}'; run `kb tags` to see them all"
        _list_out(rows, as_json, page=not no_pager, why=why)
        return
    counts = Counter(t for d in docs for t in {t.lower() for t in d["tags"]})
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if as_json:
        _print_json([{"tag": t, "count": n} for t, n in ordered])
        if not ordered:
            raise typer.Exit(1)
        return
    from . import render

    view = render.tag_counts(ordered)
    if not ordered:
        _nothing(view)
    _emit(view, page=not no_pager)


def _list_out(rows: list[dict[str, Any]], as_json: bool, page: bool = True, why: str = "No notes.") -> None:
    """Print notes as a list (or JSON); none: ``why`` on stderr and exit 1."""
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
        if not rows:
            raise typer.Exit(1)
        return
    if not rows:
        _nothing(why)
    from . import render

    _emit(render.notes_table(rows), page=page)


@app.command("list")
def notes_list(
    ctx: typer.Context,
    tag: Annotated[
        Optional[list[str]],
        typer.Option(
            "--tag", "-t", help="Only notes with this tag (repeatable).", autocompletion=_complete_tags
        ),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", "-s", help="date, title or modified.")] = "date",
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=1, help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
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
    no_pager: Annotated[bool, _NO_PAGER] = False,
) -> None:
    """List notes with title, tags and date (newest first; exit 1: none)."""
    import datetime as dt

    from .index.sync import stored_notes

    if sort not in ("date", "title", "modified"):
        raise typer.BadParameter("use date, title or modified", param_hint="--sort")
    all_rows = stored_notes(_open(ctx))
    rows = all_rows
    why = "No notes."
    for t in tag or []:
        wanted = t.lstrip("#").lower()
        rows = [r for r in rows if wanted in {x.lower() for x in r["tags"]}]
        if not any(wanted in {x.lower() for x in r["tags"]} for r in all_rows):
            why = f"no note has the tag '{t}'; run `kb tags` to see them all"
    for option, value, keep in (
        ("--since", since, lambda d, cut: d >= cut),
        ("--before", before, lambda d, cut: d < cut),
    ):
        if value is not None:
            from .notes import parse_when

            try:
                cut = parse_when(value)
            except (ValueError, OverflowError) as exc:
                raise typer.BadParameter(str(exc), param_hint=option) from None
            rows = [r for r in rows if r.get("date") is not None and keep(r["date"], cut)]
    if orphans or broken_links:
        from .links import LinkGraph

        graph = LinkGraph(all_rows)
        if orphans:
            lonely = set(graph.orphans())
            rows = [r for r in rows if r["slug"] in lonely]
        if broken_links:
            _broken_out(graph, sorted(r["slug"] for r in rows), as_json, page=not no_pager)
            return
    if sort == "title":
        rows.sort(key=lambda r: (r.get("title") or "").casefold())
    elif sort == "modified":
        rows.sort(key=lambda r: r.get("mtime") or 0.0, reverse=True)
    else:
        rows.sort(key=lambda r: r.get("date") or dt.datetime.min, reverse=True)
    if limit:
        rows = rows[:limit]
    _list_out(rows, as_json, page=not no_pager, why=why)


@app.command()
def index(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start over from the files.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Bring the index up to date with the notes (every command does this itself)."""
    from .index.sync import sync_index

    nb = _notebook(ctx)
    # No quick check first: the walk that follows is itself as cheap (it reuses the
    # manifest's listing), so the check would be paid twice when something changed.
    with _BuildProgress(every_sync=not as_json) as progress:
        stats = sync_index(nb, rebuild=rebuild, progress=progress, on_wait=_say_waiting, check_first=False)
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
    from .index.sync import index_info

    data = index_info(_notebook(ctx))
    if as_json:
        _print_json(data.to_dict())
        return
    from . import render

    _print(render.info_view(data))


def _broken_out(graph: Any, sources: list[str], as_json: bool, page: bool = True) -> None:
    broken = [link for slug in sources for link in graph.outgoing(slug) if link.broken]
    if as_json:
        _print_json([{"source": b.source, "target": b.target, "reason": b.reason} for b in broken])
        if not broken:
            raise typer.Exit(1)
        return
    from . import render

    rows = []
    for b in broken:
        hint = graph.suggest(b.target) if b.reason == "no such note" else []
        rows.append((b.source, b.target, b.reason + (f"; did you mean {', '.join(hint)}?" if hint else "")))
    view = render.broken_links_table(rows)
    if not rows:
        _nothing(view)
    _emit(view, page=page)


def _say(markup: str) -> None:
    """One message line (Rich markup, user text escaped by the caller), never wrapped."""
    _stdout().print(markup, soft_wrap=True)


@app.command()
def edit(
    ctx: typer.Context,
    slug: Annotated[
        str,
        typer.Argument(help="Slug, unique slug prefix, title, N (hit N of the last `kb search`, opened at "
                            "its match) or path:line as search shows it.", autocompletion=_complete_slugs),
    ],
    at: Annotated[
        Optional[str], typer.Argument(help="+N: open at line N (as vi does).", show_default=False)
    ] = None,
    line: Annotated[Optional[int], typer.Option("--line", "-l", min=1, help="Open at this line.")] = None,
) -> None:
    """Open a note in $VISUAL or $EDITOR (else vi) and re-index it when the editor exits."""
    from .index.sync import signature

    if at is not None:
        if not (at.startswith("+") and at[1:].isdigit() and at[1:].isascii() and int(at[1:]) >= 1):
            raise typer.BadParameter(f"expected +N (a line number), not {at!r}", param_hint="'+N'")
        line = int(at[1:])
    try:
        nb, _, _, doc, hit_line = _resolve_at(ctx, slug)
    except NoteNotFound:
        path_part, sep, number = slug.rpartition(":")  # `kb edit k8s/rbac.md:12`, as search prints it
        if not (sep and path_part and number.isdigit() and number.isascii()):
            raise
        nb, _, _, doc, hit_line = _resolve_at(ctx, path_part, numbered=False)
        hit_line = int(number) or None
    path = nb.root / doc["path"]
    before = signature(os.stat(path))
    try:
        run_editor(str(path), on_failure="the note is re-indexed as it is on disk", line=line or hit_line)
    except EditorFailed:
        _sync_after_write(nb)  # the editor may have saved before failing; cheap if not
        raise
    _sync_after_write(nb)
    from rich.markup import escape

    name = escape(doc["slug"])
    if not path.exists():
        _say(f"[yellow]{name} is gone[/] (moved or deleted in the editor); the index knows")
    elif signature(os.stat(path)) != before:
        _say(f"[green]Saved[/] [bold]{name}[/]")
    else:
        _say(f"No changes to [bold]{name}[/]")


@app.command("links")
def note_links(
    ctx: typer.Context,
    slug: Annotated[str, _HIT_ARG],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Links from a note (broken ones marked) and the notes that link to it."""
    from .links import LinkGraph

    _, _, docs, doc = _resolve(ctx, slug, numbered=True)
    graph = LinkGraph(docs)
    outgoing = graph.outgoing_of(doc["slug"])
    backlinks = graph.backlinks_of(doc["slug"])
    if as_json:
        _print_json(
            {
                "slug": doc["slug"],
                "title": graph.title(doc["slug"]),
                "outgoing": [
                    {**link.to_dict(), "title": graph.title(link.slug) if link.slug else None}
                    for link in outgoing
                ],
                "backlinks": [{"slug": link.source, "title": graph.title(link.source)} for link in backlinks],
            }
        )
        return
    from . import render

    rows = []
    for link in outgoing:
        reason = link.reason
        hint = graph.suggest(link.target) if link.broken and reason == "no such note" else []
        if hint:
            reason += f"; did you mean {', '.join(hint)}?"
        rows.append((link.target, link.slug, graph.title(link.slug) if link.slug else "", reason))
    back = [(link.source, graph.title(link.source)) for link in backlinks]
    _stdout().print(render.links_view(doc["slug"], graph.title(doc["slug"]), rows, back), soft_wrap=True)


@app.command()
def rename(
    ctx: typer.Context,
    slug: Annotated[str, _SLUG_ARG],
    new: Annotated[
        str, typer.Argument(help="The new slug, a path inside the notebook (ending in / keeps the name).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the changes as a unified diff; change nothing.")
    ] = False,
) -> None:
    """Rename or move a note and rewrite every link to it (also `kb mv`); never overwrites."""
    from .links import apply_rename, plan_rename, rename_target

    nb, ix, docs, doc = _resolve(ctx, slug)
    new_slug = rename_target(nb.root, doc["slug"], doc["path"], new)
    plan = plan_rename(nb.root, docs, doc["slug"], new_slug)
    err = _stderr()
    files = len(plan.linking_files)
    links_n = sum(c.links for c in plan.linking_files)
    summary = f"{links_n} link{'s' if links_n != 1 else ''} in {files} other note{'s' if files != 1 else ''}"
    if plan.changes[0].links:
        summary += f" and {plan.changes[0].links} in the note itself"
    if dry_run:
        from . import render

        out = _stdout()
        for change in plan.changes:
            if change.before != change.after or change.moved:
                out.print(render.diff_view(change.diff()), soft_wrap=True, end="")
        for path_, msg in plan.warnings:
            err.print(f"[yellow]warning:[/] {_shown(path_)}: {_shown(msg)}", soft_wrap=True)
        err.print(
            f"dry run: would move {_shown(doc['slug'])} -> {_shown(new_slug)} and rewrite {summary}",
            soft_wrap=True,
        )
        return
    warnings = plan.warnings + apply_rename(nb.root, plan)
    _sync_after_write(nb)
    for path_, msg in warnings:
        err.print(f"[yellow]warning:[/] {_shown(path_)}: {_shown(msg)}", soft_wrap=True)
    head = f"[green]Renamed[/] [bold]{_shown(doc['slug'])}[/] -> [bold]{_shown(new_slug)}[/]"
    lines = [f"{head}; rewrote {summary}"]
    lines += [f"  {_shown(c.path)} ({c.links})" for c in plan.linking_files]
    _say("\n".join(lines))


app.command("mv", help="Same as `kb rename`: move a note and rewrite every link to it.")(rename)


def _notes_link(n: int, adverb: str = "") -> str:
    return f"{n} note {adverb}links" if n == 1 else f"{n} notes {adverb}link"


@app.command("rm")
def remove(
    ctx: typer.Context,
    slug: Annotated[str, _SLUG_ARG],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Move a note to .trash/ in the notebook (asks first); links to it become broken."""
    from .links import LinkGraph
    from .notes import trash_file

    nb, ix, docs, doc = _resolve(ctx, slug)
    graph = LinkGraph(docs)
    linking = [link.source for link in graph.backlinks_of(doc["slug"])]
    if not yes:
        extra = f" {_notes_link(len(linking))} to it." if linking else ""
        typer.confirm(f"Move {doc['slug']} ({graph.title(doc['slug'])}) to .trash/?{extra}", abort=True)
    dest = trash_file(nb.root, doc["path"])
    _sync_after_write(nb)
    msg = f"[green]Moved[/] [bold]{_shown(doc['slug'])}[/] to {_shown(dest.relative_to(nb.root).as_posix())}"
    if linking:
        shown = ", ".join(linking[:5]) + (" ..." if len(linking) > 5 else "")
        msg += f"\n{_notes_link(len(linking), 'still ')} to it: {_shown(shown)}"
        msg += " (see `kb list --broken-links`)"
    _say(msg)


@app.command()
def recent(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many notes.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The most recently modified notes, newest first."""
    import datetime as dt

    from .index.sync import stored_notes

    rows = sorted(stored_notes(_open(ctx)), key=lambda r: (-(r.get("mtime") or 0.0), r["slug"]))[:limit]
    if as_json:
        _print_json(
            [
                {
                    "slug": r["slug"],
                    "title": r.get("title"),
                    "path": r["path"],
                    "tags": r["tags"],
                    "modified": dt.datetime.fromtimestamp(r.get("mtime") or 0.0).isoformat(
                        timespec="seconds"
                    ),
                }
                for r in rows
            ]
        )
        return
    from . import render

    _print(render.recent_table(rows))


@app.command("stats")
def notebook_stats(
    ctx: typer.Context,
    top: Annotated[int, typer.Option("--top", min=0, help="How many of the largest notes to list.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Notes, words, tags, links (and broken ones), Korean vs English share, largest notes."""
    from .index.catalog import keep_counts, notes_and_counts
    from .stats import compute_stats

    ix = _open(ctx)
    docs, counts = notes_and_counts(ix)
    data = compute_stats(_notebook(ctx).root, docs, top=top, counts=counts)
    keep_counts(ix, counts)  # those it read files for (an index from before the catalog): next time none
    if as_json:
        _print_json(data.to_dict())
        return
    from . import render

    _print(render.stats_view(data))


@app.command("today")
def today_note(
    ctx: typer.Context,
    yesterday: Annotated[bool, typer.Option("--yesterday", help="Yesterday's note instead.")] = False,
    date: Annotated[Optional[str], typer.Option("--date", help="The note of this day (YYYY-MM-DD).")] = None,
    no_edit: Annotated[
        bool, typer.Option("--no-edit", help="Create it if needed and print its path; no editor.")
    ] = False,
) -> None:
    """Open today's daily note (daily/YYYY-MM-DD.md), made from the `daily` template if new."""
    import datetime as dt

    from rich.markup import escape

    from .notes import note_path, render_new_note, write_new_note
    from .templates import (
        context_of,
        daily_config,
        daily_slug,
        find_template,
        note_text,
        parse_day,
        render_template,
    )

    if yesterday and date:
        raise typer.BadParameter("give --yesterday or --date, not both", param_hint="--date")
    nb = _notebook(ctx)
    conf = daily_config(nb.root)
    now = dt.datetime.now().astimezone()
    day = parse_day(date) if date else now.date() - dt.timedelta(days=1 if yesterday else 0)
    slug = daily_slug(conf, day)
    path = note_path(nb.root, slug)
    if not path.exists():
        when = dt.datetime.combine(day, now.time()).astimezone()
        title = day.isoformat()
        template = find_template(nb.root, conf.template)
        if template is not None:
            rendered = render_template(template, context_of(title, slug, [], {}, "", when))
            text = note_text(rendered, title, [], {}, when)
        else:
            text = render_new_note(title, [], f"# {title}\n", when)
        write_new_note(path, text)
        _sync_after_write(nb)
        _stderr().print(f"[green]Created[/] [bold]{escape(slug)}[/]", soft_wrap=True)
    if no_edit:
        sys.stdout.write(f"{path}\n")
        return
    run_editor(str(path), on_failure="the note is re-indexed as it is on disk")
    _sync_after_write(nb)


@app.command("templates")
def list_templates_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The notebook's note templates (.kb/templates/NAME.md) for `kb add --template NAME`."""
    from .templates import list_templates, templates_dir

    nb = _notebook(ctx)
    found = list_templates(nb.root)
    if as_json:
        _print_json([{"name": t.name, "path": str(t.path), "first_line": t.first_line} for t in found])
        return
    if not found:
        _stderr().print(f"no templates yet: add NAME.md files to {templates_dir(nb.root)}", markup=False)
        return
    width = max(len(t.name) for t in found)
    for t in found:
        sys.stdout.write(f"{t.name:<{width}}  {t.first_line}\n")


@app.command("grep")
def grep_notes(
    ctx: typer.Context,
    pattern: Annotated[
        str,
        typer.Argument(
            help="A Python regular expression (-F: a plain string); `--` first if it starts with -."
        ),
    ],
    fixed: Annotated[
        bool, typer.Option("--fixed-strings", "-F", help="The pattern is a plain string.")
    ] = False,
    ignore_case: Annotated[bool, typer.Option("--ignore-case", "-i", help="Ignore case.")] = False,
    word: Annotated[
        bool, typer.Option("--word-regexp", "-w", help="Only matches that are whole words.")
    ] = False,
    context: Annotated[
        Optional[int], typer.Option("--context", "-C", min=0, help="Lines around each match.")
    ] = None,
    after: Annotated[
        Optional[int], typer.Option("--after-context", "-A", min=0, help="Lines after each match.")
    ] = None,
    before: Annotated[
        Optional[int], typer.Option("--before-context", "-B", min=0, help="Lines before each match.")
    ] = None,
    files_only: Annotated[
        bool, typer.Option("--files-with-matches", "-l", help="Only the paths of matching notes.")
    ] = False,
    count: Annotated[
        bool, typer.Option("--count", "-c", help="The number of matching lines per note.")
    ] = False,
    tag: Annotated[
        Optional[list[str]],
        typer.Option(
            "--tag", "-t", help="Only notes with this tag (repeatable).", autocompletion=_complete_tags
        ),
    ] = None,
    path_glob: Annotated[
        Optional[str], typer.Option("--path", help="Only notes whose path matches this glob (k8s/*).")
    ] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most this many notes.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines: one object per matching line.")
    ] = False,
    vimgrep: Annotated[
        bool, typer.Option("--vimgrep", help="path:line:column:text per match (quickfix).")
    ] = False,
    no_pager: Annotated[bool, typer.Option("--no-pager", help="Never page.")] = False,
) -> None:
    """The lines of the notes that match a regular expression, as ripgrep finds them
    (exit 0: found, 1: nothing, 2: an error)."""
    try:
        found = _grep(
            ctx,
            pattern,
            fixed,
            ignore_case,
            word,
            context,
            after,
            before,
            files_only,
            count,
            tag,
            path_glob,
            limit,
            as_json,
            vimgrep,
            no_pager,
        )
    except KbError as exc:
        exc.exit_code = 2  # as grep and rg: 1 means "nothing found"
        raise
    if not found:
        raise typer.Exit(1)


def _grep(
    ctx: typer.Context,
    pattern: str,
    fixed: bool,
    ignore_case: bool,
    word: bool,
    context: Optional[int],
    after: Optional[int],
    before: Optional[int],
    files_only: bool,
    count: bool,
    tag: Optional[list[str]],
    path_glob: Optional[str],
    limit: Optional[int],
    as_json: bool,
    vimgrep: bool,
    no_pager: bool,
) -> bool:
    from .grep import compile_pattern
    from .grepindex import grep_notebook
    from .index.sync import indexed_files, sync_index

    pat = compile_pattern(pattern, fixed=fixed, ignore_case=ignore_case, word=word)
    nb = _notebook(ctx)
    stats = sync_index(nb, on_wait=_say_waiting)
    for path, msg in stats.warnings:
        _stderr().print(f"warning: {path}: {msg}", style="yellow", soft_wrap=True, markup=False)
    files = indexed_files(nb)
    terminal = sys.stdout.isatty() and not (as_json or vimgrep or files_only or count)
    rows: dict[str, Any] = {}
    if tag or terminal:
        from .index.sync import stored_notes

        rows = {r["path"]: r for r in stored_notes(_open(ctx))}
    allow = _grep_filter(rows, tag, path_glob)
    hits = grep_notebook(nb.root, nb.index_dir, files, pat, allow=allow, limit=limit)
    b = before if before is not None else context or 0
    a = after if after is not None else context or 0
    if terminal:
        return _grep_terminal(hits, rows, b, a, no_pager)
    return _grep_plain(nb.root, hits, b, a, files_only, count, as_json, vimgrep)


def _grep_filter(rows: dict[str, Any], tag: Optional[list[str]], path_glob: Optional[str]) -> Any:
    """The ``allow(relpath)`` of --tag (every tag given) and --path, or None."""
    if not (tag or path_glob):
        return None
    import fnmatch

    wanted = {t.lstrip("#").lower() for t in tag or []}
    ok_tags = {p for p, r in rows.items() if wanted <= {x.lower() for x in r["tags"]}} if wanted else None
    glob = path_glob.strip("/") if path_glob else None

    def allow(rel: str) -> bool:
        if ok_tags is not None and rel not in ok_tags:
            return False
        if glob is None:
            return True
        slug = rel[:-3] if rel.lower().endswith(".md") else rel
        return any(fnmatch.fnmatchcase(x, glob) or fnmatch.fnmatchcase(x, glob + "/*") for x in (rel, slug))

    return allow


def _shown_path(root: Path, rel: str) -> str:
    """A note's path as editors and shells can open it from here: relative to the current
    folder when the note is below it, else absolute."""
    full = os.path.join(root, rel)
    try:
        shown = os.path.relpath(full)
    except ValueError:
        return full
    return full if shown.startswith("..") else shown


def _grep_plain(
    root: Path,
    hits: Any,
    before: int,
    after: int,
    files_only: bool,
    count: bool,
    as_json: bool,
    vimgrep: bool,
) -> bool:
    """Plain lines for pipes, rg's formats: ``path:line:text``, ``-l``, ``-c``, ``--vimgrep``, JSON Lines."""
    import json

    from .grep import byte_column, byte_offset, with_context
    from .notes import slug_of

    out = sys.stdout.buffer
    found = False

    def emit(line: str) -> None:
        out.write(line.encode("utf-8", "surrogateescape") + b"\n")

    for rel, text, matches in hits:
        found = True
        shown = _shown_path(root, rel)
        if files_only:
            emit(shown)
        elif count:
            emit(f"{shown}:{len(matches)}")
        elif as_json:
            for m in matches:
                data = {
                    "slug": slug_of(rel),
                    "path": rel,
                    "line": m.line,
                    "column": byte_column(m.text, m.spans[0][0]),
                    "text": m.text,
                    "submatches": [
                        {"start": byte_offset(m.text, s), "end": byte_offset(m.text, e), "text": m.text[s:e]}
                        for s, e in m.spans
                    ],
                }
                emit(json.dumps(data, ensure_ascii=False))
        elif vimgrep:
            for m in matches:
                for s, _ in m.spans:
                    emit(f"{shown}:{m.line}:{byte_column(m.text, s)}:{m.text}")
        else:
            for i, block in enumerate(with_context(text, matches, before, after)):
                if i and (before or after):
                    emit("--")
                for n, line, spans in block:
                    sep = ":" if spans is not None else "-"
                    emit(f"{shown}{sep}{n}{sep}{line}")
        out.flush()
    return found


def _grep_terminal(hits: Any, rows: dict[str, Any], before: int, after: int, no_pager: bool) -> bool:
    from . import render
    from .grep import with_context
    from .notes import slug_of

    groups = []
    for rel, text, matches in hits:
        slug = slug_of(rel)
        title = (rows.get(rel) or {}).get("title") or slug
        groups.append((slug, title, with_context(text, matches, before, after)))
    if groups:
        _print_paged(render.grep_view(groups), pager=not no_pager)
    return bool(groups)


@app.command("lsp")
def lsp_server(ctx: typer.Context) -> None:
    """Run kb's language server on stdin/stdout, for an editor (links, backlinks, search)."""
    try:
        from .lsp.server import serve
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise KbError(f"kb lsp needs pygls: pip install 'pygls>=2,<3' ({exc})") from None
    directory = ctx.ensure_object(dict).get("dir")
    raise typer.Exit(serve(str(directory) if directory else None))


def run() -> None:
    """Console-script entry point."""
    app()
