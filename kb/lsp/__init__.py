"""``kb lsp``: a language server for the notebook (see :mod:`kb.lsp.server`).

``text`` reads positions, links and headings in a note's text; ``notebook`` holds kb's
index and the editor's open buffers; ``server`` is the pygls server. Importing this
package loads none of them.
"""

from __future__ import annotations


def serve(directory: str | None = None) -> int:
    """Run the language server on stdio; its exit code."""
    from .server import serve as run

    return run(directory)
