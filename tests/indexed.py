"""A notebook written from a dict and indexed, for tests that search it in-process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kb.config import Notebook
from kb.index.sync import open_index, sync_index


def indexed(base: Path, notes: dict[str, str]) -> tuple[Notebook, object]:
    """``notes`` (relative path -> text) written under ``base/notes``, indexed in
    ``base/index``; the notebook and its open index."""
    root = base / "notes"
    for name, text in notes.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    time.sleep(0.025)  # past the file system's time stamp grain: no note is racily clean
    nb = Notebook(root=root, index_dir=base / "index", source="test")
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    return nb, ix


def found(nb: Notebook, ix: object, query: str, limit: int = 5) -> list[str]:
    """The paths of ``kb search``'s hits for ``query``, best first."""
    from kb.search import search

    return [h.path for h in search(nb, query, limit=limit, ix=ix).hits]


def without_kept_lines(session: Any) -> Any:
    """The session with the index's plain lines of the notes (kb.index.lines) removed: the
    notes are read, as those changed since the last sync are."""
    from kb.index.manifest import LINES, LINES_DELTA

    for name in (LINES, LINES_DELTA):
        (session.notes.nb.place.index_dir / name).unlink(missing_ok=True)
    return session
