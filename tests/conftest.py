"""Every test runs against a copy of a small fixture notebook, never the real one.

``KB_DIR`` points at the copy and ``KB_INDEX_DIR`` at a fresh folder, so each
test starts with no index and nothing outside ``tmp_path`` is touched.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.config import Notebook, find_notebook

FIXTURE = Path(__file__).parent / "fixtures" / "notebook"
BUNDLED = Path(__file__).parent.parent / "notes"


@pytest.fixture(autouse=True)
def notebook_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "notebook"
    shutil.copytree(FIXTURE, root)
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("KB_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    # No background watcher unless a test asks for one (tests/test_watch.py).
    monkeypatch.setenv("KB_WATCH", "0")
    return root


@pytest.fixture
def settled(notebook_dir: Path) -> Path:
    """The notebook copy, past kb's racy window (index.sync.RACY_NS): a first sync records
    every file as known, so a second one finds nothing to re-read. Only the tests that
    count on that wait for it (25 ms), not every test."""
    time.sleep(0.025)
    return notebook_dir


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
