"""``kb today``: open the daily note, made from the `daily` template if new."""

import sys
from typing import Annotated, Optional

import typer

from .common import notebook, stderr, sync_after_write
from .editor import run_editor


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

    from ..notes import note_path, render_new_note, write_new_note
    from ..templates import (
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
    nb = notebook(ctx)
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
        sync_after_write(nb)
        stderr().print(f"[green]Created[/] [bold]{escape(slug)}[/]", soft_wrap=True)
    if no_edit:
        sys.stdout.write(f"{path}\n")
        return
    run_editor(str(path), on_failure="the note is re-indexed as it is on disk")
    sync_after_write(nb)
