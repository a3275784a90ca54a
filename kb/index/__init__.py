"""The search index: a disposable cache of the notebook, kept in its index folder.

Leaves first, one orchestrator on top (nothing here imports upwards):

- :mod:`kb.index.catalog`: the notes catalog (``notes.bin``), note rows without Whoosh;
- :mod:`kb.index.sync`: open, create, sync and rebuild the Whoosh index; the freshness check.

This file imports nothing, so importing a leaf never loads the orchestrator.
"""
