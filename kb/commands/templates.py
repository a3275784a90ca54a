"""``kb templates``: the notebook's note templates."""

import sys
from typing import Annotated

import typer

from .common import JSON, notebook, print_json, stderr


def list_templates_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, JSON] = False,
) -> None:
    """The notebook's note templates (.kb/templates/NAME.md) for `kb add --template NAME`."""
    from ..templates import list_templates, templates_dir

    nb = notebook(ctx)
    found = list_templates(nb.root)
    if as_json:
        print_json([{"name": t.name, "path": str(t.path), "first_line": t.first_line} for t in found])
        return
    if not found:
        stderr().print(f"no templates yet: add NAME.md files to {templates_dir(nb.root)}", markup=False)
        return
    width = max(len(t.name) for t in found)
    for t in found:
        sys.stdout.write(f"{t.name:<{width}}  {t.first_line}\n")
