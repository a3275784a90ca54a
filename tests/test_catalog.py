"""The notes catalog (kb/catalog.py): the same rows as Whoosh's stored fields after any
sync, a fallback to Whoosh whenever it cannot be trusted, ``kb stats`` unchanged, and
long lists laid out as Rich's Table lays them out."""

from __future__ import annotations

import io
import os
import time
from dataclasses import astuple, replace
from pathlib import Path

import pytest
from rich.console import Console

from kb import render
from kb.config import Notebook
from kb.index import catalog
from kb.index.sync import open_index, stored_notes, sync_index
from kb.noterow import NoteRow
from kb.notes import slug_of
from kb.stats import compute_stats


def _whoosh_notes(nb: Notebook) -> list[NoteRow]:
    """What stored_notes gave before the catalog: Whoosh's stored fields, read directly."""
    ix, _ = open_index(nb, sync=False)
    with ix.searcher() as s:
        docs = [dict(d) for d in s.all_stored_fields()]
    rows = [
        NoteRow.of(d["path"], slug=slug_of(d["path"]), title=d.get("title"),
                   tags=[t for t in (d.get("tags") or "").split(",") if t], date=d.get("date"),
                   mtime=d.get("mtime"), links=d.get("links"))
        for d in docs
    ]
    return sorted(rows, key=lambda r: r.path)


def _catalog_notes(nb: Notebook) -> list[NoteRow] | None:
    ix, _ = open_index(nb, sync=False)
    loaded = catalog.load(nb.index_dir, nb.root, ix.latest_generation())
    return None if loaded is None else catalog.notes_of(loaded[0])


def _same(a: list[NoteRow], b: list[NoteRow]) -> None:
    assert [r.path for r in a] == [r.path for r in b]
    for x, y in zip(a, b, strict=True):
        assert x == y
        assert [type(v) for v in astuple(x)] == [type(v) for v in astuple(y)]


def _settle() -> None:
    time.sleep(0.03)  # past kb's racy window, so the next sync sees the edit for sure


def _stats_the_old_way(nb: Notebook) -> dict:
    """kb stats as it was computed before the catalog: every file read."""
    return compute_stats(nb.root, _whoosh_notes(nb), top=20).to_dict()


def test_rebuild_writes_the_catalog_of_the_index(nb: Notebook) -> None:
    sync_index(nb)
    assert (nb.index_dir / catalog.CATALOG).exists()
    rows = _catalog_notes(nb)
    assert rows is not None and len(rows) == 8
    _same(rows, _whoosh_notes(nb))
    ix, _ = open_index(nb, sync=False)
    _same(stored_notes(ix), _whoosh_notes(nb))


def test_add_edit_delete_rename_keep_the_catalog_equal(nb: Notebook, notebook_dir: Path) -> None:
    sync_index(nb)
    steps = [
        lambda: (notebook_dir / "new.md").write_text("# 새 노트\n\n#태그 [[rag]] 정족수\n"),
        lambda: (notebook_dir / "rag.md").write_text("---\ntitle: RAG 바뀜\ntags: [a, b]\n---\n[[x]]\n"),
        lambda: (notebook_dir / "empty.md").unlink(),
        lambda: os.rename(notebook_dir / "k8s" / "rbac.md", notebook_dir / "k8s" / "rbac2.md"),
        lambda: (notebook_dir / "aaa-first.md").write_text("# 앞에 오는 노트\n"),
    ]
    for step in steps:
        _settle()
        step()
        _settle()
        stats = sync_index(nb)
        assert stats.changed and not stats.rebuilt
        rows = _catalog_notes(nb)
        assert rows is not None, "the sync left a catalog for its generation"
        _same(rows, _whoosh_notes(nb))
        new_way = compute_stats(nb.root, rows, top=20, counts=dict(_counts(nb)))
        assert new_way.to_dict() == _stats_the_old_way(nb)
    assert (nb.index_dir / catalog.CATALOG_DELTA).exists()  # small syncs wrote deltas, not whole catalogs


def _counts(nb: Notebook) -> dict:
    ix, _ = open_index(nb, sync=False)
    return catalog.notes_and_counts(ix)[1]


def test_a_large_delta_is_folded_into_a_new_catalog(
    nb: Notebook, notebook_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_index(nb)
    monkeypatch.setattr(catalog, "COMPACT_AT", 0)  # every change: a whole new notes.bin
    for i in range(3):
        _settle()
        (notebook_dir / f"n{i}.md").write_text(f"# 노트 {i}\n\nbody {i}\n")
        _settle()
        sync_index(nb)
        _same(_catalog_notes(nb) or [], _whoosh_notes(nb))
    assert not (nb.index_dir / catalog.CATALOG_DELTA).exists()


def test_rebuilt_index_equals_incremental_catalog(nb: Notebook, notebook_dir: Path) -> None:
    sync_index(nb)
    _settle()
    (notebook_dir / "zz.md").write_text("# 끝\n")
    (notebook_dir / "airflow.md").write_text("# Airflow 2\n\n#dag 파드\n")
    _settle()
    sync_index(nb)
    incremental = _catalog_notes(nb)
    sync_index(nb, rebuild=True)
    rebuilt = _catalog_notes(nb)
    assert incremental is not None and rebuilt is not None
    # the same file, but read at another time is not the point here
    assert [replace(r, mtime=None) for r in incremental] == [replace(r, mtime=None) for r in rebuilt]


@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated", "old generation", "bad delta"])
def test_an_untrusted_catalog_falls_back_to_whoosh(
    nb: Notebook, notebook_dir: Path, damage: str
) -> None:
    sync_index(nb)
    _settle()
    (notebook_dir / "new.md").write_text("# 새 노트\n")
    _settle()
    sync_index(nb)  # a notes.bin and a delta
    path, delta = nb.index_dir / catalog.CATALOG, nb.index_dir / catalog.CATALOG_DELTA
    ix, _ = open_index(nb, sync=False)
    if damage == "missing":
        catalog.drop(nb.index_dir)
    elif damage == "corrupt":
        path.write_bytes(path.read_bytes()[:40] + b"\x00garbage" * 20)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "old generation":
        delta.unlink()  # notes.bin alone describes the generation before
    else:
        delta.write_bytes(b"not marshal")
    assert catalog.load(nb.index_dir, nb.root, ix.latest_generation()) is None
    _same(stored_notes(ix), _whoosh_notes(nb))
    # ... and the fallback left a trusted catalog behind, equal to Whoosh again.
    _same(_catalog_notes(nb) or [], _whoosh_notes(nb))


def test_a_catalog_of_another_generation_is_not_used(nb: Notebook) -> None:
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    gen = ix.latest_generation()
    rows = catalog.load(nb.index_dir, nb.root, gen)
    assert rows is not None
    fake = dict(rows[0])
    fake["ghost.md"] = (None, "유령", [], None, 0.0, [])
    catalog.save(nb.index_dir, nb.root, gen + 1, fake, {})  # as if a sync died before its commit
    assert catalog.load(nb.index_dir, nb.root, gen) is None
    assert "ghost.md" not in {r.path for r in stored_notes(ix)}


def test_an_index_from_before_the_catalog_gets_one(
    nb: Notebook, runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb import stats
    from kb.cli import app

    sync_index(nb)
    before = runner.invoke(app, ["stats", "--json", "--top", "20"])
    catalog.drop(nb.index_dir)  # as an index built before this change
    again = runner.invoke(app, ["stats", "--json", "--top", "20"])  # reads the files, keeps counts
    assert again.exit_code == 0 and again.stdout == before.stdout
    assert set(_counts(nb)) == {r.path for r in _whoosh_notes(nb)}

    def no_reading(data: bytes) -> tuple[int, int, int, int]:
        raise AssertionError("kb stats read a file")

    monkeypatch.setattr(stats, "count_bytes", no_reading)
    third = runner.invoke(app, ["stats", "--json", "--top", "20"])
    assert third.exit_code == 0 and third.stdout == before.stdout


def test_stats_output_is_the_old_way(nb: Notebook, runner) -> None:
    from kb.cli import app

    result = runner.invoke(app, ["stats", "--json", "--top", "20"])
    assert result.exit_code == 0
    import json

    assert json.loads(result.stdout) == _stats_the_old_way(nb)


def _print(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, highlight=False, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


WORDS = ["파드", "생성된다", "kubernetes", "rbac", "x", "아주긴한국어제목입니다", "[draft]", "a-b", "노트"]


def _rows(n: int, seed: int) -> list[dict]:
    import random

    rnd = random.Random(seed)

    def words(k: int) -> str:
        return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, k)))

    return [
        NoteRow.of(f"s/{words(2).replace(' ', '-')}{i}.md", title=words(8), tags=words(3).split())
        for i in range(n)
    ]


def test_many_rows_are_aligned() -> None:
    rows = _rows(250, 7)
    out = _print(render.notes_table(rows), 250).splitlines()
    from rich.cells import cell_len

    assert len(out) == len(rows) + 1
    assert all(line == line.rstrip() and cell_len(line) <= 250 for line in out)  # no padding
    from rich.cells import set_cell_size

    title_at = out[0].index("title")
    for line, r in zip(out[1:], rows, strict=True):
        assert line.startswith(r.slug + " ") or line == r.slug  # nothing after it: no blanks
        assert line[len(set_cell_size(line, title_at)) :].startswith(r.title)  # the title column lines up
