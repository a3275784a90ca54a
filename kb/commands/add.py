"""``kb add``: a new note with frontmatter (from ``--body``, stdin, ``$EDITOR`` or a template)."""

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import KbError
from .common import notebook, show, shown, sync_after_write, tag_option
from .editor import run_editor


def add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Title of the new note.")],
    tag: Annotated[Optional[list[str]], tag_option("A tag (repeatable).")] = None,
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
    from ..errors import BadSlug
    from ..notes import note_path, parse_tags, render_new_note, slugify, strip_controls, write_new_note

    nb = notebook(ctx)
    title = strip_controls(title).strip()  # no terminal escapes into a note's title
    if not title:
        raise BadSlug("the title is empty")
    the_slug = slug if slug is not None else slugify(title)
    path = note_path(nb.root, the_slug)
    if path.exists():
        raise KbError(f"{path.relative_to(nb.root)} already exists; kb never overwrites a note (use --slug)")
    tags = parse_tags(tag or [])
    text = templated(nb.root, template, title, path, tags, field or [], body)
    if text is None:
        if body is None:
            body = read_body(title)
        text = render_new_note(title, tags, body)
    write_new_note(path, text)
    rel = path.relative_to(nb.root).as_posix()
    sync_after_write(nb, busy="index busy; the note is saved and the next kb command will index it")
    show(f"[green]Created[/] [bold]{shown(rel[:-3])}[/]  ({shown(path)})")


def templated(
    root: Path, name: Optional[str], title: str, path: Path, tags: list[str], fields: list[str],
    body: Optional[str],
) -> Optional[str]:
    """The new note's text from template ``name`` (else ``default.md`` if there is one), or None."""
    from ..templates import DEFAULT, TemplateError, find_template, parse_fields

    if name is None and fields:
        name = DEFAULT
    found = find_template(root, name or DEFAULT)
    if found is None:
        if name is not None and name != DEFAULT:
            raise TemplateError(f"no template '{name}' in {root / '.kb' / 'templates'} (see `kb templates`)")
        if not fields:
            return None
    import datetime as dt

    from ..notes import slug_of
    from ..templates import context_of, note_text, render_template

    values = parse_fields(fields)
    when = dt.datetime.now().astimezone()
    if body is None:
        body = read_body(title) if not sys.stdin.isatty() else ""
    slug = slug_of(path.relative_to(root).as_posix())
    context = context_of(title, slug, tags, values, body, when)
    rendered = render_template(found, context) if found is not None else body
    if found is not None and body.strip() and "body" not in found.read_text("utf-8", "replace"):
        rendered = rendered.rstrip("\n") + "\n\n" + body  # a template without {{ body }}
    return note_text(rendered, title, tags, values, when)


def body_source() -> str:
    """Where `kb add` takes the text from: "stdin" (piped in), "editor", or "none" (no terminal)."""
    if not sys.stdin.isatty():
        return "stdin"
    return "editor" if sys.stdout.isatty() else "none"


def read_body(title: str) -> str:
    source = body_source()
    if source == "stdin":
        # Bytes, decoded like a note file (UTF-8, else CP949, else replaced): a
        # non-UTF-8 pipe under a strict locale is not a traceback.
        buffer = getattr(sys.stdin, "buffer", None)
        if buffer is None:
            return sys.stdin.read()
        from ..notes import decode_bytes

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
