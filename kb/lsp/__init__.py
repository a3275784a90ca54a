"""``kb lsp``: a language server for the notebook.

``text`` reads positions, links and headings in a note's text; ``notebook`` holds kb's
index and the editor's open buffers; ``server`` is the pygls server (``serve``), the only
module importing pygls. Importing this package loads none of them.
"""
