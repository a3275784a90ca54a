"""kb.index.manifest: a manifest is trusted only for its notebook, versions and generation."""

from __future__ import annotations

import marshal
from pathlib import Path

from kb.config import Notebook
from kb.index.sync import sync_index


def test_other_analyzer_version_triggers_rebuild(nb: Notebook) -> None:
    sync_index(nb)
    manifest = nb.index_dir / "manifest.bin"
    data = marshal.loads(manifest.read_bytes())
    data["analyzer"] = "old"
    manifest.write_bytes(marshal.dumps(data))
    stats = sync_index(nb)
    assert stats.rebuilt and stats.reason == "version"
    assert marshal.loads(manifest.read_bytes())["analyzer"] != "old"


def test_manifest_of_another_generation_is_not_trusted(nb: Notebook) -> None:
    # What a crash between writing the manifest and Whoosh's commit leaves behind.
    sync_index(nb)
    manifest = nb.index_dir / "manifest.bin"
    data = marshal.loads(manifest.read_bytes())
    data["generation"] += 1
    manifest.write_bytes(marshal.dumps(data))
    assert sync_index(nb).rebuilt


def test_index_of_another_notebook_is_rebuilt(nb: Notebook, tmp_path: Path) -> None:
    sync_index(nb)
    other_root = tmp_path / "other"
    other_root.mkdir()
    (other_root / "only.md").write_text("# only\n")
    other = Notebook(other_root, nb.index_dir, "test")  # same KB_INDEX_DIR, other notes
    stats = sync_index(other)
    assert stats.rebuilt and stats.total == 1


def test_garbage_manifest_means_rebuild(nb: Notebook) -> None:
    sync_index(nb)
    (nb.index_dir / "manifest.bin").write_bytes(b"\x00garbage")
    assert sync_index(nb).rebuilt
    (nb.index_dir / "manifest.bin").write_bytes(b"")
    assert sync_index(nb).rebuilt


def test_every_side_file_name_is_in_kb_files() -> None:
    """kb deletes, on a rebuild, only names it knows (config.is_kb_name): each constant
    naming a file of the index folder must be one of them."""
    from kb.index import manifest

    constants = {v for k, v in vars(manifest).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(manifest.KB_FILES)


def test_why_rebuild_names_the_reason(nb: Notebook, tmp_path: Path) -> None:
    from kb.index.manifest import MANIFEST, why_rebuild

    assert why_rebuild(nb.index_dir, nb.root) == "new"
    sync_index(nb)
    path = nb.index_dir / MANIFEST
    data = marshal.loads(path.read_bytes())
    assert why_rebuild(nb.index_dir, tmp_path / "elsewhere") == "other"
    path.write_bytes(marshal.dumps({**data, "schema": -1}))
    assert why_rebuild(nb.index_dir, nb.root) == "version"
    path.write_bytes(b"\x00garbage")
    assert why_rebuild(nb.index_dir, nb.root) == "damaged"
    path.unlink()  # a committed index without its manifest
    assert why_rebuild(nb.index_dir, nb.root) == "damaged"


def test_generation_current_needs_that_toc_and_no_newer(nb: Notebook) -> None:
    from kb.index.manifest import generation_current, load, toc_name

    sync_index(nb)
    gen = load(nb.index_dir, nb.root)["generation"]
    assert generation_current(nb.index_dir, gen)
    assert not generation_current(nb.index_dir, gen - 1)  # a newer one exists
    assert not generation_current(nb.index_dir, "1")  # not a number
    (nb.index_dir / toc_name(gen + 1)).write_bytes(b"")  # committed, not yet recorded
    assert not generation_current(nb.index_dir, gen)
