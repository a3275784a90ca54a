"""``kb grep``: every line of the notes a regular expression matches, as ripgrep prints them."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import KbError
from .common import complete_tags, notebook, opened, print_paged, say_waiting, shown_path, stderr

if TYPE_CHECKING:
    from ..noterow import NoteRow


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
            "--tag", "-t", help="Only notes with this tag (repeatable).", autocompletion=complete_tags
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
    from ..core import NoteFilter
    from ..grep import compile_pattern
    from ..grepindex import grep_notebook, lookup_of

    pat = compile_pattern(pattern, fixed=fixed, ignore_case=ignore_case, word=word)
    nb = notebook(ctx)
    if nb.is_open:  # a long-lived notebook (kb.server): brought up to date, what it keeps kept
        nb.fresh(on_wait=say_waiting)
        stats = nb.stats
    else:  # (no Whoosh to open for grep)
        stats = nb.sync(on_wait=say_waiting)
    for path, msg in stats.warnings if stats else ():
        stderr().print(f"warning: {path}: {msg}", style="yellow", soft_wrap=True, markup=False)
    terminal = sys.stdout.isatty() and not (as_json or vimgrep or files_only or count)
    rows: dict[str, NoteRow] = {}
    if tag or terminal:
        rows = {r.path: r for r in opened(ctx).rows()}
    filt = NoteFilter(tags=tuple(tag or ()), path_glob=path_glob, sort="path")
    allow: Any = None
    if tag:
        allow = {r.path for r in filt.apply(rows.values())}.__contains__
    elif path_glob:
        allow = filt.path_matches
    stamp = None if stats is None or stats.generation is None else (str(nb.root), stats.generation)
    hits = grep_notebook(
        nb.root, nb.place.index_dir, pat, stamp=stamp, allow=allow, limit=limit, lookup=lookup_of(nb)
    )
    b = before if before is not None else context or 0
    a = after if after is not None else context or 0
    if terminal:
        return _grep_terminal(hits, rows, b, a, no_pager)
    return _grep_plain(nb.root, hits, b, a, files_only, count, as_json, vimgrep)


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

    from ..grep import byte_column, byte_offset, with_context
    from ..notes import slug_of

    out = sys.stdout.buffer
    found = False

    def emit(line: str) -> None:
        out.write(line.encode("utf-8", "surrogateescape") + b"\n")

    shown_of = _shown(root)
    for rel, text, matches in hits:
        found = True
        shown = shown_of(rel)
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


def _shown(root: Path) -> Any:
    """:func:`shown_path` for the notes of ``root``, the notebook's part worked out once."""
    import os
    from functools import partial

    top = shown_path(root, "")  # the notebook's folder as shown (absolute: not below here)
    if top == ".":
        return str
    if not os.path.isabs(top):
        return (top + os.sep).__add__
    if (os.getcwd() + os.sep).startswith(os.path.join(root, "")):
        return partial(shown_path, root)  # here is inside the notebook: note by note
    return os.path.join(root, "").__add__


def _grep_terminal(hits: Any, rows: "dict[str, NoteRow]", before: int, after: int, no_pager: bool) -> bool:
    from .. import render
    from ..grep import with_context
    from ..notes import slug_of

    groups = []
    for rel, text, matches in hits:
        slug = slug_of(rel)
        row = rows.get(rel)
        title = row.title if row is not None else slug
        groups.append((slug, title, with_context(text, matches, before, after)))
    if groups:
        print_paged(render.grep_view(groups), pager=not no_pager)
    return bool(groups)
