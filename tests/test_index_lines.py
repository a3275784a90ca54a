"""The plain lines of each note the index keeps (kb.index.lines): written by a rebuild and
kept up to date by an incremental sync, used only for the file they were made from, never
wrong for a damaged file; an index from before them is rebuilt with them."""

from __future__ import annotations

import marshal
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from indexed import indexed  # noqa: E402

from kb.index.lines import Kept, learn_dict, pack, unpack  # noqa: E402
from kb.index.manifest import LINES, LINES_DELTA, MANIFEST, signature  # noqa: E402
from kb.index.sync import sync_index  # noqa: E402
from kb.notes import read_body_at  # noqa: E402
from kb.plain import numbered, snippet_lines  # noqa: E402

NOTES = {
    "k8s.md": "---\ntitle: 쿠버네티스\ntags: [k8s]\n---\n# 쿠버네티스\n\n파드가 모여 클러스터를 이룬다.\n\n"
              "## 파드 생성\n\n- `kubectl run` 으로 만든다 &#10; 둘째 줄\n"
              "| 표 | 칸 |\n|---|---|\n| a | b |\n",
    "git.md": "# Git\n\n브랜치를 **합친다**. [[k8s|쿠버]] 참고.\n",
    "empty.md": "",
}


def _expected(root: Path, rel: str, title: str) -> tuple[int, tuple[str, list[int]]]:
    body, body_line = read_body_at(root, rel)
    text, where = snippet_lines(body, title)
    return body_line, (text, numbered(text, where))


def _kept(nb: object, rel: str, title: str) -> object:
    root = nb.root  # type: ignore[attr-defined]
    return Kept(nb.index_dir).get(rel, signature(os.stat(root / rel)), title)  # type: ignore[attr-defined]


def test_a_rebuild_keeps_every_note_as_its_plain_lines(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, NOTES)
    assert (nb.index_dir / LINES).exists() and not (nb.index_dir / LINES_DELTA).exists()
    titles = {"k8s.md": "쿠버네티스", "git.md": "Git", "empty.md": "empty"}
    for rel, title in titles.items():
        assert _kept(nb, rel, title) == _expected(nb.root, rel, title)
    assert _kept(nb, "k8s.md", "another title") is None  # made for another title
    assert Kept(nb.index_dir).get("gone.md", (1, 2, 3, 4), "x") is None


def test_an_edited_note_is_kept_anew_by_the_sync_and_not_before(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, NOTES)
    path = nb.root / "git.md"
    path.write_text("# Git\n\n앞줄\n\n브랜치를 합친다.\n", encoding="utf-8")
    assert _kept(nb, "git.md", "Git") is None  # the file is not the one read: the note is read
    time.sleep(0.03)
    os.utime(path)  # (a signature the sync trusts: not racily clean)
    time.sleep(0.03)
    sync_index(nb)
    assert (nb.index_dir / LINES_DELTA).exists()
    assert _kept(nb, "git.md", "Git") == _expected(nb.root, "git.md", "Git")
    assert _kept(nb, "k8s.md", "쿠버네티스") == _expected(nb.root, "k8s.md", "쿠버네티스")  # (from the base)
    path.unlink()
    sync_index(nb)
    assert "git.md" not in marshal.loads((nb.index_dir / LINES_DELTA).read_bytes())


def test_damaged_or_foreign_files_keep_nothing(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, NOTES)
    good = (nb.index_dir / LINES).read_bytes()
    for damaged in (b"", good[: len(good) // 2], b"x" * 100, good[:-8] + (10**9).to_bytes(8, "little")):
        (nb.index_dir / LINES).write_bytes(damaged)
        assert _kept(nb, "k8s.md", "쿠버네티스") is None
    (nb.index_dir / LINES).write_bytes(good)
    (nb.index_dir / LINES_DELTA).write_bytes(b"not marshal")
    assert _kept(nb, "k8s.md", "쿠버네티스") == _expected(nb.root, "k8s.md", "쿠버네티스")
    text, numbers = "파드가 모여 클러스터를 이룬다\n파드 생성 파드 생성", [0, 2]
    zdict = learn_dict([text, text])
    assert zdict and unpack(pack(text, numbers, zdict), zdict) == (text, numbers)
    assert unpack(pack(text, numbers, zdict), b"another dictionary") is None
    assert unpack(b"\x00garbage", zdict) is None


def test_an_index_from_before_the_kept_lines_is_rebuilt_and_no_note_is_touched(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, NOTES)
    data = marshal.loads((nb.index_dir / MANIFEST).read_bytes())
    data["schema"] = 2  # what kb wrote before it kept the lines
    (nb.index_dir / MANIFEST).write_bytes(marshal.dumps(data))
    (nb.index_dir / LINES).unlink()
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in nb.root.rglob("*")}
    stats = sync_index(nb)
    assert stats.rebuilt and stats.reason == "version"
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in nb.root.rglob("*")} == before
    assert _kept(nb, "k8s.md", "쿠버네티스") == _expected(nb.root, "k8s.md", "쿠버네티스")
    assert not sync_index(nb).rebuilt
