"""kb.index.sync: added / changed / removed files, healing, repair, and rebuild == incremental."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from kb.config import Notebook
from kb.index.sync import index_info, open_index, stored_notes, sync_index


def _docs(nb: Notebook) -> dict[str, dict]:
    ix, _ = open_index(nb, sync=False)
    return {d.path: d for d in stored_notes(ix)}


def _terms(nb: Notebook) -> dict[str, list[str]]:
    """Every (field, term) -> sorted paths: the searchable content of the index."""
    ix, _ = open_index(nb, sync=False)
    out: dict[str, list[str]] = {}
    with ix.searcher() as s:
        r = s.reader()
        paths = {docnum: f["path"] for docnum, f in r.iter_docs()}
        for field in ("title", "body", "tagtext", "pathtext", "tags", "aliases"):
            for term in r.lexicon(field):
                postings = r.postings(field, term)
                key = f"{field}:{term.decode() if isinstance(term, bytes) else term}"
                out[key] = sorted(paths[d] for d in postings.all_ids() if d in paths)
    return {k: v for k, v in out.items() if v}


def test_first_sync_builds_everything(nb: Notebook) -> None:
    stats = sync_index(nb)
    assert stats.rebuilt and stats.added == 8 and stats.total == 8
    assert str(stats).startswith("8 added, 0 updated, 0 removed, ")
    warned = {p for p, _ in stats.warnings}
    assert {"broken.md", "euckr.md"} <= warned
    assert "k8s/rbac.md" not in warned


def test_second_sync_does_nothing(nb: Notebook) -> None:
    sync_index(nb)
    stats = sync_index(nb)
    assert not stats.changed and str(stats) == "0 added, 0 updated, 0 removed, 0 warnings"


def test_add_change_remove(nb: Notebook, notebook_dir: Path) -> None:
    sync_index(nb)
    (notebook_dir / "new.md").write_text("# 새 노트\n\n정족수를 채운다\n")
    (notebook_dir / "rag.md").write_text("---\ntitle: RAG 바뀜\n---\n바뀐 본문\n")
    (notebook_dir / "empty.md").unlink()
    stats = sync_index(nb)
    assert (stats.added, stats.updated, stats.removed) == (1, 1, 1)
    docs = _docs(nb)
    assert "empty.md" not in docs
    assert docs["new.md"].title == "새 노트"
    assert docs["rag.md"].title == "RAG 바뀜"


def test_same_size_same_mtime_replacement_is_seen(nb: Notebook, notebook_dir: Path) -> None:
    sync_index(nb)
    path = notebook_dir / "k8s" / "serviceaccount.md"
    st = path.stat()
    text = path.read_text()
    swapped = text.replace("build-robot", "xuild-robot")
    assert len(swapped.encode()) == len(text.encode())
    tmp = path.with_name("tmp.swap")
    tmp.write_text(swapped)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)  # new inode, same size, same mtime
    assert sync_index(nb).updated == 1
    path.write_text(swapped.replace("xuild", "yuild"))  # in place, same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert sync_index(nb).updated == 1


def test_rebuild_equals_incremental(nb: Notebook, notebook_dir: Path, tmp_path: Path) -> None:
    sync_index(nb)
    (notebook_dir / "k8s" / "pod.md").write_text("---\ntags: [k8s]\n---\n# Pod\n파드가 뜬다\n")
    (notebook_dir / "airflow.md").write_text("# Airflow\n\nLocalExecutor만 쓴다\n")
    (notebook_dir / "broken.md").unlink()
    shutil.move(notebook_dir / "rag.md", notebook_dir / "k8s" / "rag-moved.md")
    sync_index(nb)
    incremental_docs, incremental_terms = _docs(nb), _terms(nb)

    fresh = Notebook(nb.root, tmp_path / "fresh-index", "test")
    stats = sync_index(fresh, rebuild=True)
    assert stats.rebuilt
    assert _docs(fresh) == incremental_docs
    assert _terms(fresh) == incremental_terms


def _lengths(nb: Notebook) -> dict[str, object]:
    """Field length totals and per-note lengths: what BM25 normalises by."""
    ix, _ = open_index(nb, sync=False)
    with ix.searcher() as s:
        r = s.reader()
        out: dict[str, object] = {f: s.field_length(f) for f in ("title", "body", "tagtext", "pathtext")}
        for docnum, fields in r.iter_docs():
            out[fields["path"]] = [r.doc_field_length(docnum, f) for f in ("title", "body")]
    return out


def test_rebuild_with_two_processes_equals_single(nb: Notebook, tmp_path: Path) -> None:
    sync_index(nb, procs=1)
    multi = Notebook(nb.root, tmp_path / "multi", "test")
    sync_index(multi, rebuild=True, procs=2)
    assert _docs(multi) == _docs(nb)
    assert _terms(multi) == _terms(nb)
    assert _lengths(multi) == _lengths(nb)


def test_damaged_index_is_rebuilt(nb: Notebook) -> None:
    sync_index(nb)
    for f in nb.index_dir.iterdir():
        if f.suffix in (".seg", ".toc"):
            f.write_bytes(b"garbage")
    ix, stats = open_index(nb)
    assert stats is not None and stats.rebuilt
    assert len(stored_notes(ix)) == 8


def test_deleted_index_is_rebuilt(nb: Notebook) -> None:
    sync_index(nb)
    shutil.rmtree(nb.index_dir)
    _, stats = open_index(nb)
    assert stats is not None and stats.rebuilt and stats.total == 8


#: The notebook folders a test treats as read-only (see :func:`_refuse_writes_under`).
_READ_ONLY: list[str] = []
_SEEN: dict[str, int] = {"reads": 0, "writes": 0}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_WRITE_EVENTS = {"os.rename", "os.remove", "os.mkdir", "os.rmdir", "os.symlink", "os.link", "os.chmod",
                 "os.chown", "os.utime", "os.truncate", "os.chflags", "os.mkfifo", "os.mknod"}


def _audit(event: str, args: tuple) -> None:
    """Refuse (EACCES) any write below a folder in ``_READ_ONLY``, as a read-only mount
    would, for root too (root ignores chmod). Counts the reads there, so a test can see
    that it did look."""
    if not _READ_ONLY or not (event == "open" or event in _WRITE_EVENTS):
        return
    paths = [a for a in (args[:2] if event in ("os.rename", "os.symlink", "os.link") else args[:1])
             if isinstance(a, (str, bytes, os.PathLike))]
    below = [p for p in paths if any(os.path.abspath(os.fsdecode(p)).startswith(ro + os.sep)
                                     or os.path.abspath(os.fsdecode(p)) == ro for ro in _READ_ONLY)]
    if not below:
        return
    if event == "open":
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS)
        if not writing:
            _SEEN["reads"] += 1
            return
    _SEEN["writes"] += 1
    raise PermissionError(13, "Permission denied (read-only notebook in this test)", os.fsdecode(below[0]))


def _refuse_writes_under(folder: Path) -> None:
    if not getattr(_audit, "installed", False):
        sys.addaudithook(_audit)
        _audit.installed = True  # type: ignore[attr-defined]
    _READ_ONLY.append(os.path.realpath(folder))
    _SEEN.update(reads=0, writes=0)


def test_read_only_notebook(nb: Notebook, notebook_dir: Path) -> None:
    """A notebook kb cannot write to is indexed and searched all the same, and kb does not
    even try to write there. chmod for a normal user; for root (who ignores it) every
    write below the notebook is refused by an audit hook, as a read-only mount would."""
    for dirpath, _, files in os.walk(notebook_dir):
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o444)
        os.chmod(dirpath, 0o555)
    _refuse_writes_under(notebook_dir)
    try:
        assert sync_index(nb).total == 8
        ix, _ = open_index(nb)
        assert len(stored_notes(ix)) == 8
        assert _SEEN["reads"] >= 8 and _SEEN["writes"] == 0
    finally:
        _READ_ONLY.clear()
        for dirpath, _, _ in os.walk(notebook_dir):
            os.chmod(dirpath, 0o755)


def test_the_read_only_guard_refuses_writes(notebook_dir: Path) -> None:
    _refuse_writes_under(notebook_dir)
    try:
        with pytest.raises(PermissionError):
            (notebook_dir / "new.md").write_text("x")
        with pytest.raises(PermissionError):
            os.replace(notebook_dir / "rag.md", notebook_dir / "rag2.md")
        assert (notebook_dir / "rag.md").read_text(encoding="utf-8")
    finally:
        _READ_ONLY.clear()
    assert _SEEN["writes"] == 2 and not (notebook_dir / "new.md").exists()


def test_index_info_reports_freshness(nb: Notebook, notebook_dir: Path) -> None:
    assert not index_info(nb).fresh
    sync_index(nb)
    info = index_info(nb)
    assert info.fresh and info.notes_indexed == 8
    (notebook_dir / "x.md").write_text("x")
    info = index_info(nb)
    assert not info.fresh and info.pending["added"] == 1


def test_hidden_and_non_markdown_files_are_not_notes(nb: Notebook) -> None:
    sync_index(nb)
    assert set(_docs(nb)) == {
        "airflow.md",
        "broken.md",
        "empty.md",
        "euckr.md",
        "k8s/rbac.md",
        "k8s/serviceaccount.md",
        "rag.md",
        "windows.md",
    }


def test_index_lives_outside_the_notebook(nb: Notebook, notebook_dir: Path) -> None:
    before = sorted(p.relative_to(notebook_dir) for p in notebook_dir.rglob("*"))
    sync_index(nb)
    after = sorted(p.relative_to(notebook_dir) for p in notebook_dir.rglob("*"))
    assert before == after


def test_multiprocess_rebuild_is_trusted_by_the_next_sync(nb: Notebook) -> None:
    sync_index(nb, rebuild=True, procs=2)
    assert not sync_index(nb).changed


def test_nfd_file_names(nb: Notebook, notebook_dir: Path) -> None:
    import unicodedata

    from kb.search import search

    name = unicodedata.normalize("NFD", "맥에서 쓴 노트.md")
    (notebook_dir / name).write_text("# 맥 노트\n\n정족수를 채웠다 단풍잎을\n")
    import time

    from kb.index.probe import RACY_NS

    time.sleep(RACY_NS / 1e9 + 0.01)  # settled, so a second sync has nothing to re-read
    assert sync_index(nb).added == 9
    hits = search(nb, "단풍잎").hits
    assert [h.slug for h in hits] == ["맥에서 쓴 노트"]  # NFC for people
    assert hits[0].snippet  # the file was found again to build it
    assert search(nb, "맥에서").hits  # the file name is searchable, NFC
    assert not sync_index(nb).changed  # no phantom change, no duplicate
    (notebook_dir / name).unlink()
    assert sync_index(nb).removed == 1
    assert search(nb, "단풍잎").hits == []


def test_repair_after_a_whoosh_failure_rebuilds_and_says_run_again(nb: Notebook, tmp_path: Path) -> None:
    from contextlib import contextmanager

    from whoosh import index as windex

    from kb.index.sync import repair_after

    def segments() -> set[str]:  # Whoosh names every new segment at random: a rebuild renames all
        return {n for n in os.listdir(nb.index_dir) if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"}

    notes = sync_index(nb).total
    before = segments()
    assert before
    entered: list[bool] = []

    @contextmanager
    def progress():
        entered.append(True)
        yield None

    assert not repair_after(ValueError("not the index's"), nb, progress=progress)
    assert entered == [] and segments() == before

    (tmp_path / "empty").mkdir()
    try:
        windex.open_dir(str(tmp_path / "empty"))  # raises inside Whoosh
    except Exception as exc:  # noqa: BLE001 - whatever Whoosh raises
        failure = exc
    open_index(nb)  # this process read the current generation: a failure there is damage
    before = segments()
    assert repair_after(failure, nb, progress=progress)
    assert entered == [True]
    assert not segments() & before  # rebuilt: not one segment kept
    assert len(_docs(nb)) == notes
