"""Every test runs against a copy of a small fixture notebook, never the real one.

``KB_DIR`` points at the copy and ``KB_INDEX_DIR`` at a fresh folder, so each
test starts with no index and nothing outside ``tmp_path`` is touched.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.config import Notebook, find_notebook

FIXTURE = Path(__file__).parent / "fixtures" / "notebook"
BUNDLED = Path(__file__).parent.parent / "notes"


class _SettledCopies:
    """Copies of the fixture notebook that are past kb's racy window (index.probe.RACY_NS),
    so a first sync records every file as known and a second finds nothing to re-read.

    A fresh copy is racy for 20 ms (its files' ctimes are new, and ctime cannot be set
    back); sleeping that long in every test cost ~14 s of a run. Instead copies are made
    :data:`BATCH` at a time, settle once per batch, and each test gets one by ``rename``:
    that leaves the files' ctimes and the folders' mtimes as they were (only the moved
    folder's own ctime changes, which kb does not look at)."""

    BATCH = 40

    def __init__(self, base: Path) -> None:
        self.base = base
        self.ready: list[Path] = []
        self.made = 0

    def take(self, dest: Path) -> None:
        if not self.ready:
            for _ in range(self.BATCH):
                copy = self.base / f"copy-{self.made}"
                self.made += 1
                shutil.copytree(FIXTURE, copy)
                self.ready.append(copy)
            time.sleep(0.025)
        os.rename(self.ready.pop(), dest)


@pytest.fixture(scope="session")
def settled_copies(tmp_path_factory: pytest.TempPathFactory) -> _SettledCopies:
    return _SettledCopies(tmp_path_factory.mktemp("copies"))


@pytest.fixture(autouse=True)
def notebook_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settled_copies: _SettledCopies) -> Path:
    root = tmp_path / "notebook"
    settled_copies.take(root)
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("KB_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    # No background watcher unless a test asks for one (tests/test_watch.py).
    monkeypatch.setenv("KB_WATCH", "0")
    # No resident server either: every kb process runs the command itself (tests/test_server.py
    # starts servers of its own, under their own socket names).
    monkeypatch.setenv("KB_SERVER", "0")
    return root


@pytest.fixture
def nb(notebook_dir: Path) -> Notebook:
    return find_notebook(notebook_dir)


@pytest.fixture
def bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sample notes that ship with the repo, as the notebook."""
    root = tmp_path / "bundled"
    shutil.copytree(BUNDLED, root)
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "bundled-index"))
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
