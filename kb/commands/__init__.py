"""One module per ``kb`` command (as zk's ``internal/cli/cmd/*.go``).

Adding a command:

1. Write ``kb/commands/NAME.py`` with one function whose signature is the command's
   options (``Annotated[..., typer.Option(...)]``; no ``from __future__ import
   annotations``: Typer would eval() them on every run) and whose docstring is its help.
   It translates: options -> a :class:`kb.core.NoteFilter` or core call
   (``common.opened(ctx)`` gives the run's :class:`kb.core.Notebook`, index synced;
   ``common.notebook(ctx)`` without opening the index) -> a view from :mod:`kb.render`
   or ``common.print_json`` for ``--json`` (add its keys to tests/test_result_contract.py).
2. Import only Typer, the standard library and :mod:`kb.commands.common` at the top;
   everything heavier (the core, Whoosh, Rich, render) inside the function, so
   ``kb --help`` does not pay for it (tests/test_startup.py).
3. Raise :class:`kb.errors.KbError` subclasses for the user's mistakes; ``kb.cli``
   prints them as one line. Exit 1 for "nothing found" with ``common.nothing``.
4. Register it in ``kb/cli.py`` (the list at the bottom, in help order) and document it
   in the README's command table (tests/test_docs.py checks).
"""
