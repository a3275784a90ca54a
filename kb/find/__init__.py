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
the preview, the dialogs. ``app.py``: the screen and its keys, and :func:`~kb.find.app.run`.
This file imports nothing: importing a module of the package runs it.
"""
