"""``kb find``: search as you type, with a preview, straight into the editor.

A full-screen view on Textual (imported only by this command): a query line, the
ranked hits, and the selected note rendered and scrolled to its first match. Every
change of the query runs kb's own search (the analyzer, aliases and syntax of
``kb search``), off the UI thread, on one index opened for the whole session.

Typing is never debounced: each change is submitted to a :class:`~kb.find.source.Latest`
runner, a single thread that always runs the newest query it was given and drops the
ones it had no time to start; a result is shown only when it is newer than the one on
screen, so a slow old query never overwrites a newer one, and the list is replaced in
one refresh when the answer is there (a half-composed Hangul syllable does not blank it).

``source.py``: the notebook as the view uses it (its one door to :mod:`kb.core`), the
search and preview threads, the preview's layout; no Textual. ``widgets.py``: the list,
the preview, the dialogs. ``app.py``: the screen and its keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core import Notebook


def run(nb: Notebook, query: str = "", print_mode: str | None = None) -> str | None:
    """Run ``kb find`` until the user leaves; the chosen slug or path in print mode."""
    import sys

    from ..errors import KbError
    from .app import FindApp
    from .source import Source

    if not (sys.stdin.isatty() and sys.__stderr__ is not None and sys.__stderr__.isatty()):
        raise KbError("kb find is interactive and needs a terminal (use `kb search` in scripts)")
    app = FindApp(Source(nb), query, print_mode)
    try:
        chosen = app.run()
    finally:
        app.searches.stop()
        app.previews.stop()
    if app.return_code:  # Textual printed what went wrong
        raise KbError("kb find stopped on an error (above)")
    return chosen

