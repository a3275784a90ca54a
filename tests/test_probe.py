"""kb.index.probe: the quick check never misses a change; the forked check and the
two-process scan give the same answers as the plain ones."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest
from test_sync import _docs

from kb.config import Notebook
from kb.index.probe import fresh_count, scan
from kb.index.sync import open_index, sync_index


def _past_racy_window() -> None:
    import time

    from kb.index.probe import RACY_NS

    time.sleep(RACY_NS / 1e9 + 0.01)


def _settled(nb: Notebook) -> None:
    """Sync, then again once the files are past the racy window: the quick check must pass."""
    import time

    from kb.index.probe import RACY_NS

    sync_index(nb)
    time.sleep(RACY_NS / 1e9 + 0.01)
    sync_index(nb)
    assert fresh_count(nb) == len(_docs(nb))


def _edit_keeping_size_and_mtime(path: Path) -> None:
    st = path.stat()
    data = path.read_bytes()
    path.write_bytes(data[:-2] + (b"XY" if data[-2:] != b"XY" else b"ZW"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize(
    "change",
    [
        "edit_same_size_same_mtime",
        "replace_same_size_same_mtime",
        "append",
        "add_top",
        "add_in_subfolder",
        "add_in_new_subfolder",
        "delete",
        "rename",
        "replace_by_symlink",
    ],
)
def test_quick_check_never_misses_a_change(nb: Notebook, notebook_dir: Path, change: str) -> None:

    _settled(nb)
    sa = notebook_dir / "k8s" / "serviceaccount.md"
    if change == "edit_same_size_same_mtime":
        _edit_keeping_size_and_mtime(sa)
    elif change == "replace_same_size_same_mtime":
        st = sa.stat()
        tmp = sa.with_name(".swap")
        tmp.write_bytes(sa.read_bytes().replace(b"build-robot", b"xuild-robot"))
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(tmp, sa)
    elif change == "append":
        with open(sa, "a") as fh:
            fh.write("x")
    elif change == "add_top":
        (notebook_dir / "new.md").write_text("new")
    elif change == "add_in_subfolder":
        (notebook_dir / "k8s" / "new.md").write_text("new")
    elif change == "add_in_new_subfolder":
        (notebook_dir / "k8s" / "deep").mkdir()
        (notebook_dir / "k8s" / "deep" / "new.md").write_text("new")
    elif change == "delete":
        sa.unlink()
    elif change == "rename":
        sa.rename(notebook_dir / "k8s" / "sa.md")
    elif change == "replace_by_symlink":
        sa.unlink()
        sa.symlink_to(notebook_dir / "rag.md")
    assert fresh_count(nb) is None
    stats = sync_index(nb)
    assert stats.changed


def test_quick_check_tolerates_non_notes_then_settles(nb: Notebook, notebook_dir: Path) -> None:
    import time

    from kb.index.probe import RACY_NS

    _settled(nb)
    (notebook_dir / "image.png").write_bytes(b"png")
    assert fresh_count(nb) is None  # a folder changed: look closer
    assert not sync_index(nb).changed  # ...and nothing to index
    time.sleep(RACY_NS / 1e9 + 0.01)
    sync_index(nb)
    assert fresh_count(nb) == 8  # the new folder mtime is recorded


def test_racily_clean_file_is_read_again(nb: Notebook, notebook_dir: Path) -> None:
    from kb.index.probe import RACY_NS

    sync_index(nb)
    path = notebook_dir / "rag.md"
    path.write_text("# 첫 판\n")
    assert sync_index(nb).updated == 1  # just written: recorded as racy
    st = path.stat()
    path.write_text("# 둘 판\n")  # same size, possibly the same timestamp tick
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    import time

    time.sleep(RACY_NS / 1e9 + 0.01)
    assert sync_index(nb).updated == 1
    assert _docs(nb)["rag.md"].title == "둘 판"


def test_forked_probe_gives_the_same_answers(nb: Notebook, notebook_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.index.probe as index_mod
    from kb.index.probe import FreshnessProbe

    monkeypatch.setattr(index_mod, "PROBE_MIN_MANIFEST_BYTES", 0)
    _settled(nb)
    probe = FreshnessProbe(nb)
    assert probe.pid  # really forked
    assert probe.result() == 8
    (notebook_dir / "k8s" / "rbac.md").write_text("바뀐 내용")
    probe = FreshnessProbe(nb)
    assert probe.pid and probe.result() is None
    ix, stats = open_index(nb)  # the stale answer leads to a sync
    assert stats is not None and stats.updated == 1


@pytest.mark.parametrize("change", ["add_in_subfolder", "add_in_new_subfolder", "delete", "rename", "append"])
def test_listing_reuse_gives_the_same_scan(nb: Notebook, notebook_dir: Path, change: str) -> None:


    _settled(nb)
    manifest = marshal.loads((nb.index_dir / "manifest.bin").read_bytes())
    sa = notebook_dir / "k8s" / "serviceaccount.md"
    if change == "add_in_subfolder":
        (notebook_dir / "k8s" / "new.md").write_text("new")
    elif change == "add_in_new_subfolder":
        (notebook_dir / "k8s" / "deep" / "deeper").mkdir(parents=True)
        (notebook_dir / "k8s" / "deep" / "deeper" / "new.md").write_text("new")
    elif change == "delete":
        sa.unlink()
    elif change == "rename":
        sa.rename(notebook_dir / "moved.md")
    elif change == "append":
        with open(sa, "a") as fh:
            fh.write("x")
    _past_racy_window()  # else two scans a few ms apart may judge a new file differently
    assert scan(nb.root, manifest) == scan(nb.root)


@pytest.mark.parametrize("change", ["none", "append", "delete", "add_in_subfolder"])
def test_two_process_stat_gives_the_same_scan(nb: Notebook, notebook_dir: Path, change: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:

    import kb.index.probe as index_mod

    _settled(nb)
    manifest = marshal.loads((nb.index_dir / "manifest.bin").read_bytes())
    sa = notebook_dir / "k8s" / "serviceaccount.md"
    if change == "append":
        with open(sa, "a") as fh:
            fh.write("x")
    elif change == "delete":
        sa.unlink()
    elif change == "add_in_subfolder":
        (notebook_dir / "k8s" / "new.md").write_text("new")
    _past_racy_window()  # else two scans a few ms apart may judge a new file differently
    serial = scan(nb.root, manifest)
    forks: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(index_mod, "PARALLEL_STAT_MIN", 1)
    monkeypatch.setattr(index_mod.os, "fork", counting_fork)
    assert scan(nb.root, manifest) == serial
    assert forks  # the child really did half of it
