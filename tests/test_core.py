"""kb.core: Notebook.open, rows with NoteFilter, note(ref), read, links, fresh, search;
NoteRow.to_dict."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from kb.core import Notebook, NoteFilter, NoteRow, resolve_note, tag_counts
from kb.errors import AmbiguousSlug, BadQuery, NoteNotFound


def _slugs(rows: list[NoteRow]) -> list[str]:
    return [r.slug for r in rows]


def test_open_gives_rows_of_every_note(notebook_dir: Path) -> None:
    nb = Notebook.open()
    assert nb.root == notebook_dir
    assert nb.stats is not None and nb.stats.total == len(nb.rows())
    rows = nb.rows()
    assert [r.path for r in rows] == sorted(r.path for r in rows)  # path order
    rbac = next(r for r in rows if r.slug == "k8s/rbac")
    assert rbac.path == "k8s/rbac.md"
    assert rbac.title == "쿠버네티스 RBAC"
    assert rbac.tags == ("kubernetes", "rbac")
    assert isinstance(rbac.date, dt.datetime)
    assert isinstance(rbac.mtime, float)
    assert "serviceaccount" in " ".join(rbac.links)


def test_rows_are_frozen_and_slotted() -> None:
    row = NoteRow.of("a/b.md", title="B")
    assert row.slug == "a/b" and row.name == "b"
    with pytest.raises(AttributeError):
        row.title = "C"  # type: ignore[misc]
    assert not hasattr(row, "__dict__")
    assert NoteRow.of("x.md").title == "x"  # no title: the slug


def test_to_dict_has_the_list_json_keys() -> None:
    row = NoteRow.of("a.md", title="A", tags=["t"], date=dt.datetime(2024, 1, 2, 3, 4), mtime=0.0)
    assert row.to_dict() == {"slug": "a", "title": "A", "path": "a.md", "tags": ["t"],
                             "date": "2024-01-02T03:04:00"}
    assert list(row.to_dict(("slug", "modified"))) == ["slug", "modified"]
    assert NoteRow.of("a.md").to_dict()["date"] is None


def test_filter_by_tags_every_one_case_and_hash_ignored() -> None:
    nb = Notebook.open()
    assert _slugs(nb.rows(NoteFilter(tags=("#Kubernetes",)))) == ["k8s/rbac"]
    assert _slugs(nb.rows(NoteFilter(tags=("#CKA",)))) == ["k8s/serviceaccount"]
    assert _slugs(nb.rows(NoteFilter(tags=("kubernetes", "rbac")))) == ["k8s/rbac"]
    assert nb.rows(NoteFilter(tags=("kubernetes", "cka"))) == []


def test_filter_by_path_glob() -> None:
    nb = Notebook.open()
    assert _slugs(nb.rows(NoteFilter(path_glob="k8s", sort="slug"))) == ["k8s/rbac", "k8s/serviceaccount"]
    assert _slugs(nb.rows(NoteFilter(path_glob="k8s/r*"))) == ["k8s/rbac"]
    assert _slugs(nb.rows(NoteFilter(path_glob="rag.md"))) == ["rag"]


def test_filter_by_date() -> None:
    nb = Notebook.open()
    dated = [r for r in nb.rows() if r.date is not None]
    cut = dt.datetime(2020, 1, 1)
    since = nb.rows(NoteFilter(since=cut))
    before = nb.rows(NoteFilter(before=cut))
    assert since and before
    assert {r.slug for r in since} | {r.slug for r in before} == {r.slug for r in dated}
    assert all(r.date >= cut for r in since) and all(r.date < cut for r in before)  # type: ignore[operator]
    rows = [NoteRow.of("a.md"), NoteRow.of("b.md", date=cut)]
    assert NoteFilter(since=cut).apply(rows) == rows[1:]  # undated: left out
    assert NoteFilter(before=cut + dt.timedelta(1)).apply(rows) == rows[1:]


def test_sorts_and_limit() -> None:
    nb = Notebook.open()
    rows = nb.rows()
    by_title = nb.rows(NoteFilter(sort="title"))
    assert [r.title.casefold() for r in by_title] == sorted(r.title.casefold() for r in rows)
    by_date = nb.rows(NoteFilter())
    dates = [r.date for r in by_date if r.date is not None]
    assert dates == sorted(dates, reverse=True)
    undated = [NoteRow.of("a.md"), NoteRow.of("b.md", date=dt.datetime(2001, 1, 1))]
    assert NoteFilter().apply(undated) == undated[::-1]  # undated last
    assert nb.rows(NoteFilter(sort="title", limit=2)) == by_title[:2]
    assert nb.rows(NoteFilter(sort="path")) == rows
    with pytest.raises(BadQuery):
        NoteFilter(sort="size")


def test_orphans_have_no_links_in_or_out() -> None:
    nb = Notebook.open()
    orphans = nb.rows(NoteFilter(orphans=True, sort="slug"))
    assert _slugs(orphans) == sorted(nb.links.orphans())
    assert "k8s/rbac" not in _slugs(orphans)


def test_note_resolves_slug_prefix_title() -> None:
    nb = Notebook.open()
    assert nb.note("k8s/rbac").path == "k8s/rbac.md"
    assert nb.note("k8s/rbac.md").path == "k8s/rbac.md"
    assert nb.note("serviceacc").path == "k8s/serviceaccount.md"
    assert nb.note("RAG 파이프라인").path == "rag.md"
    with pytest.raises(AmbiguousSlug):
        nb.note("k8s/")
    with pytest.raises(NoteNotFound) as exc:
        nb.note("airflw")
    assert "airflow" in exc.value.candidates


def test_read_parses_the_file() -> None:
    nb = Notebook.open()
    note = nb.read(nb.note("k8s/rbac"))
    assert note.title == "쿠버네티스 RBAC"
    assert "RoleBinding" in note.body


def test_search_is_kb_search() -> None:
    nb = Notebook.open()
    result = nb.search("rbac", limit=3)
    assert result.hits and result.hits[0].slug == "k8s/rbac"
    assert nb.search("rbac", tags=("nosuchtag",)).hits == []


def test_links_backlinks() -> None:
    nb = Notebook.open()
    sources = [link.source for link in nb.links.backlinks_of("k8s/serviceaccount")]
    assert "k8s/rbac" in sources


def test_fresh_sees_a_new_note_and_rereads_rows(notebook_dir: Path) -> None:
    nb = Notebook.open()
    links = nb.links
    assert nb.fresh() is False
    assert nb.links is links  # nothing changed: kept
    new = "---\ntitle: Brand new\ntags: [fresh]\n---\nbody\n"
    (notebook_dir / "new.md").write_text(new, encoding="utf-8")
    assert nb.fresh() is True
    assert nb.note("new").title == "Brand new"
    assert nb.links is not links
    assert _slugs(nb.rows(NoteFilter(tags=("fresh",)))) == ["new"]


def test_by_path_follows_the_index(notebook_dir: Path) -> None:
    nb = Notebook.open()
    by_path = nb.by_path()
    assert by_path == {r.path: r for r in nb.rows()}
    assert nb.fresh() is False and nb.by_path() is by_path  # nothing changed: kept
    (notebook_dir / "later.md").write_text("# Later\nbody\n", encoding="utf-8")
    assert nb.fresh() is True
    assert nb.by_path()["later.md"].title == "Later"
    assert "later.md" not in by_path


def test_a_read_that_finds_the_index_damaged_repairs_it_and_runs_again(tmp_path: Path) -> None:
    """Same-size garbage in the postings (no cheap check sees it) while a notebook is open,
    as in a long-running kb find or kb lsp: the search that reads it gets its answer from
    the index rebuilt, the rows follow and the epoch changes, the repair's progress is told."""
    nb = Notebook.open()
    before = nb.epoch
    assert [h.slug for h in nb.search("rbac").hits][:1] == ["k8s/rbac"]
    for p in (tmp_path / "index").iterdir():
        if p.suffix == ".pst":
            p.write_bytes(os.urandom(p.stat().st_size))
    told: list[str] = []

    class Told:
        def __enter__(self) -> Told:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def building(self, why: str, total: int) -> None:
            told.append(why)

        def note(self, done: int, total: int, path: str) -> None:
            pass

        def step(self, name: str) -> None:
            pass

    nb.repair_progress = Told
    assert [h.slug for h in nb.search("serviceaccount").hits][:1] == ["k8s/serviceaccount"]
    assert told == ["damaged"]
    assert nb.epoch != before  # what was read from the index before is dropped
    assert "k8s/rbac" in _slugs(nb.rows())
    with pytest.raises(ZeroDivisionError):  # a failure that is not the index's: raised as it is
        nb._reading(lambda: 1 // 0)


def test_open_without_sync_never_builds(notebook_dir: Path) -> None:
    nb = Notebook.open(sync=False)
    assert nb.rows() == []  # no index yet, and none was built
    assert not any(Path(os.environ["KB_INDEX_DIR"]).glob("*.toc"))
    Notebook.open().close()
    assert len(Notebook.open(sync=False).rows()) == len(Notebook.open().rows())


def test_open_finishes_nothing_without_a_journal() -> None:
    assert Notebook.find().finished_rename is None


def test_tag_counts_most_used_first() -> None:
    rows = [NoteRow.of("a.md", tags=["X", "y"]), NoteRow.of("b.md", tags=["x"]),
            NoteRow.of("c.md", tags=["x", "X"])]
    assert tag_counts(rows) == [("x", 3), ("y", 1)]


def test_resolve_note_on_plain_rows() -> None:
    rows = [NoteRow.of("k8s/pods.md", title="Pods"), NoteRow.of("pods-old.md", title="Old")]
    assert resolve_note(rows, "pods").slug == "k8s/pods"  # the file name, before prefixes
    assert resolve_note(rows, "old").slug == "pods-old"  # in the title


def test_a_sync_that_changes_nothing_keeps_what_was_read(notebook_dir: Path) -> None:
    # kb grep syncs on every run: in kb.server that must not drop the pooled notebook's rows.
    nb = Notebook.open(notebook_dir)
    graph = nb.links
    nb.sync()
    assert nb.is_open and nb.links is graph
    (notebook_dir / "new-one.md").write_text("# new\n\n[[rag]]\n", encoding="utf-8")
    nb.sync()
    assert nb.links is not graph and nb.row_of("new-one") is not None
