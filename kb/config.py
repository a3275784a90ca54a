"""Where the notebook is and where its index lives.

Which notebook, first match wins:

1. ``--dir PATH`` (a global option: ``kb --dir PATH search ...``);
2. the ``KB_DIR`` environment variable;
3. the nearest folder named ``notes`` in the current directory or one of its
   parents (so ``kb`` run anywhere in a clone of this repo uses its ``notes/``);
4. ``~/notes``.

The index is a cache outside the notebook: ``KB_INDEX_DIR`` if set, else
``$XDG_CACHE_HOME/kb/<name>-<hash of the notebook's real path>`` (``~/.cache`` when
``XDG_CACHE_HOME`` is unset or, as the XDG spec says, not an absolute path: a relative
one would give one index per working directory). Deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import NotebookMissing


@dataclass(frozen=True)
class Notebook:
    """A notebook folder and the folder of its index cache."""

    root: Path
    index_dir: Path
    source: str  # how it was chosen: "--dir", "KB_DIR", "./notes", "~/notes"


def find_notebook(cli_dir: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> Notebook:
    """Resolve the notebook by the rule in the module docstring."""
    if cli_dir:
        return _checked(Path(cli_dir), "--dir")
    env = os.environ.get("KB_DIR")
    if env:
        return _checked(Path(env), "KB_DIR")
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if folder.name == "notes" and folder.is_dir():
            return _checked(folder, "./notes")
        candidate = folder / "notes"
        if candidate.is_dir():
            return _checked(candidate, "./notes")
    home_notes = Path.home() / "notes"
    if home_notes.is_dir():
        return _checked(home_notes, "~/notes")
    raise NotebookMissing("no notebook found: pass --dir PATH, set KB_DIR, or create a 'notes' folder here")


def _checked(path: Path, source: str) -> Notebook:
    path = path.expanduser()
    if not path.exists():
        raise NotebookMissing(f"notebook folder {path} does not exist (from {source})")
    if not path.is_dir():
        raise NotebookMissing(f"notebook {path} is not a folder (from {source})")
    root = path.resolve()
    return Notebook(root=root, index_dir=index_dir_for(root), source=source)


def index_dir_for(root: Path) -> Path:
    """The index folder of a notebook (see the module docstring)."""
    override = os.environ.get("KB_INDEX_DIR")
    if override:
        return Path(override).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):  # unset, empty or relative: the XDG spec says ignore it
        cache = str(Path.home() / ".cache")
    digest = hashlib.sha1(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return Path(cache) / "kb" / f"{root.name or 'root'}-{digest}"
