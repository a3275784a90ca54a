"""The search index: a disposable cache of the notebook, kept in its index folder.

Leaves first, one orchestrator on top (nothing here imports upwards; see ARCHITECTURE.md):

- :mod:`kb.index.schema`: what a note is in Whoosh (fields, document, stored tags);
- :mod:`kb.index.manifest`: the names of every file of the index folder, the manifest;
- :mod:`kb.index.lock`: the sync lock and the rebuild marker;
- :mod:`kb.index.probe`: what changed on disk, and the quick freshness check;
- :mod:`kb.index.catalog`: note rows without Whoosh (the notes catalog);
- :mod:`kb.index.sync`: open, sync, rebuild and repair the index (the orchestrator).

This file imports nothing, so importing a leaf never loads the orchestrator.
"""
