"""Issue 16 (low 4): `kb rm` keeps notes inside the notebook, and a relative
XDG_CACHE_HOME does not give one index per working directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli import app
from kb.config import index_dir_for


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("where", [".trash", ".trash/k8s"])
def test_rm_refuses_a_trash_that_is_a_symlink_out_of_the_notebook(
    notebook_dir: Path, tmp_path: Path, where: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = notebook_dir / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    r = run("rm", "k8s/rbac", "--yes")
    assert r.exit_code == 1
    assert f"{where} in the notebook is a symbolic link" in r.stderr.replace("\n", "")
    assert (notebook_dir / "k8s" / "rbac.md").is_file()
    assert list(outside.rglob("*")) == []


def test_rm_still_trashes_into_a_plain_trash_folder(notebook_dir: Path) -> None:
    (notebook_dir / ".trash" / "k8s").mkdir(parents=True)
    r = run("rm", "k8s/rbac", "--yes")
    assert r.exit_code == 0, r.output
    assert (notebook_dir / ".trash" / "k8s" / "rbac.md").is_file()


def test_a_relative_xdg_cache_home_is_ignored(notebook_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("KB_INDEX_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relcache")
    seen = set()
    for cwd in (tmp_path, notebook_dir, Path("/")):
        monkeypatch.chdir(cwd)
        seen.add(index_dir_for(notebook_dir.resolve()))
    assert len(seen) == 1
    (index_dir,) = seen
    assert index_dir.is_absolute() and index_dir.parent == tmp_path / "home" / ".cache" / "kb"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "abs"))
    assert index_dir_for(notebook_dir.resolve()).parent == tmp_path / "abs" / "kb"


def test_no_relcache_folder_appears_where_kb_runs(notebook_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("KB_INDEX_DIR", "KB_DEBUG")}
    env.update(KB_DIR=str(notebook_dir), XDG_CACHE_HOME="relcache", HOME=str(tmp_path / "home"), KB_WATCH="0")
    time.sleep(0.03)
    p = subprocess.run([sys.executable, "-m", "kb", "search", "파드", "--json"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert not (work / "relcache").exists()
    assert list((tmp_path / "home" / ".cache" / "kb").iterdir())
