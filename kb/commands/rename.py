"""``kb rename`` (and ``kb mv``): move a note and rewrite every link to it."""

from typing import Annotated

import typer

from .common import SLUG_ARG, say, shown, stderr, stdout, sync_after_write, warn
from .hits import resolve


def rename(
    ctx: typer.Context,
    slug: Annotated[str, SLUG_ARG],
    new: Annotated[
        str, typer.Argument(help="The new slug, a path inside the notebook (ending in / keeps the name).")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the changes as a unified diff; change nothing.")
    ] = False,
) -> None:
    """Rename or move a note and rewrite every link to it (also `kb mv`); never overwrites."""
    from ..links import apply_rename, plan_rename, rename_target

    nb, row = resolve(ctx, slug)
    new_slug = rename_target(nb.root, row.slug, row.path, new)
    plan = plan_rename(nb.root, nb.rows(), row.slug, new_slug)
    err = stderr()
    files = len(plan.linking_files)
    links_n = sum(c.links for c in plan.linking_files)
    summary = f"{links_n} link{'s' if links_n != 1 else ''} in {files} other note{'s' if files != 1 else ''}"
    if plan.changes[0].links:
        summary += f" and {plan.changes[0].links} in the note itself"
    if dry_run:
        from .. import render

        out = stdout()
        for change in plan.changes:
            if change.before != change.after or change.moved:
                out.print(render.diff_view(change.diff()), soft_wrap=True, end="")
        for path_, msg in plan.warnings:
            warn(path_, msg)
        err.print(
            f"dry run: would move {shown(row.slug)} -> {shown(new_slug)} and rewrite {summary}",
            soft_wrap=True,
        )
        return
    warnings = plan.warnings + apply_rename(nb.root, plan)
    sync_after_write(nb)
    for path_, msg in warnings:
        warn(path_, msg)
    head = f"[green]Renamed[/] [bold]{shown(row.slug)}[/] -> [bold]{shown(new_slug)}[/]"
    lines = [f"{head}; rewrote {summary}"]
    lines += [f"  {shown(c.path)} ({c.links})" for c in plan.linking_files]
    say("\n".join(lines))
