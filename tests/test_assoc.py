"""Word pairs learned from the notebook's translated notes (kb/assoc.py, issue 10).

A notebook that keeps notes with their translations teaches kb that ``배포`` is
``deploy``; a Korean question then finds a note that only says ``deploy``. Each
notebook is written here; the search tests fail on kb before kb/assoc.py (checked
when written)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from indexed import indexed

from kb.config import Notebook
from kb.index.sync import open_index, sync_index
from kb.search import search

CODE = """```sh
appctl-{i} build --target prod-{i}
appctl-{i} push registry.example/app{i}
appctl-{i} release --channel stable-{i}
```
"""


#: What each pair's sections say, worded differently each time (as real notes are): only
#: 설치/install and 배포/deploy come back in every pair.
START = [("서버에 설치하는 방법", "how to install it on a server"),
         ("노트북에 설치하는 순서", "the order to install it on a laptop"),
         ("설치 전에 확인할 것", "what to check before you install"),
         ("클러스터 설치 요약", "a summary of the cluster install")]
SHIP = [("배포하려면 아래 명령을 씁니다", "deploy it with the commands below"),
        ("배포는 몇 분 걸립니다", "a deploy takes minutes"),
        ("배포 전에 테스트를 돌립니다", "run the tests before a deploy"),
        ("야간 배포 절차", "the nightly deploy steps")]


def twin_notes(count: int = 4) -> dict[str, str]:
    """``count`` notes in Korean and their English translations (same headings, same code)."""
    notes = {}
    for i in range(count):
        code = CODE.format(i=i)
        notes[f"ko/app{i}.md"] = (
            f"# 앱 {i} 안내\n\n오늘 정리한 문서.\n\n"
            f"## 시작\n\n오늘 {START[i][0]}.\n\n"
            f"## 배포\n\n오늘 {SHIP[i][0]}.\n\n{code}"
        )
        notes[f"en/app{i}.md"] = (
            f"# App {i} guide\n\nQuickly written notes.\n\n"
            f"## Start\n\nQuickly: {START[i][1]}.\n\n"
            f"## Deploy\n\nQuickly: {SHIP[i][1]}.\n\n{code}"
        )
    return notes


OTHERS = {
    # an English note that never says 배포, and a Korean one about something else
    "rollout.md": "# Rollout\n\nWe deploy the billing service on fridays; the deploy pipeline "
                  "waits for checks.\n",
    "memo.md": "# 메모\n\n서버 설정을 어떻게 하나요? 설정 파일을 먼저 본다.\n",
}


def partners(nb: Notebook, term: str) -> list[str]:
    from kb.assoc import Associations

    return [other for other, _ in Associations(nb.index_dir).partners(term)]


def test_a_korean_question_finds_an_english_note_through_learned_pairs(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, {**twin_notes(), **OTHERS})
    paths = [h.path for h in search(nb, "배포는 어떻게 하나요", ix=ix).hits]
    assert "rollout.md" in paths
    # the typed word still comes first: the notes that say 배포 rank above the translation
    assert paths[0].startswith("ko/")


def test_explain_shows_the_learned_pair(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, {**twin_notes(), **OTHERS})
    result = search(nb, "배포는 어떻게 하나요", ix=ix, explain=True)
    assert result.explanation is not None
    variants = [v for w in result.explanation.words for v in w.variants if v.kind == "learned"]
    assert [v.terms for v in variants] == [("deploy",)]
    assert 0 < variants[0].weight < 1.0
    assert "배포 ~ deploy" in variants[0].why


def test_what_is_learned_and_what_is_not(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, {**twin_notes(), **OTHERS})
    assert "deploy" in partners(nb, "배포")
    assert "배포" in partners(nb, "deploy")
    assert "install" in partners(nb, "설치")
    # 오늘 and quickly are in every section of their notes: together always, by chance
    assert partners(nb, "오늘") == []
    assert "quickly" not in partners(nb, "배포")


def test_no_twins_no_pairs(tmp_path: Path) -> None:
    """Notes that are not translations of each other (the code differs) teach nothing."""
    notes = twin_notes()
    for i in range(4):
        notes[f"en/app{i}.md"] = notes[f"en/app{i}.md"].replace("appctl", "otherctl")
    nb, ix = indexed(tmp_path, {**notes, **OTHERS})
    assert partners(nb, "배포") == []
    assert "rollout.md" not in [h.path for h in search(nb, "배포는 어떻게 하나요", ix=ix).hits]


def test_a_korean_word_finds_the_english_note_below_the_korean_ones(tmp_path: Path) -> None:
    """A query with a Korean word uses the pairs too (the note may say it only in
    English), weighted below the typed word: the notes that say 배포 come first. Fails on
    the code before (questions only)."""
    nb, ix = indexed(tmp_path, {**twin_notes(), **OTHERS})
    paths = [h.path for h in search(nb, "배포", ix=ix).hits]
    assert "rollout.md" in paths
    assert paths[0].startswith("ko/") and paths.index("rollout.md") > 3


def test_an_english_query_does_not_use_the_pairs(tmp_path: Path) -> None:
    """An English query searches its own words (and their forms, glosses, sounds): a note
    that only says 배포 is not what ``deploy`` asked for."""
    nb, ix = indexed(tmp_path, {**twin_notes(), **OTHERS})
    result = search(nb, "deploy", ix=ix, explain=True)
    assert result.explanation is not None
    assert not [v for w in result.explanation.words for v in w.variants if v.kind == "learned"]


def test_a_sync_learns_new_twins_and_forgets_removed_ones(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, OTHERS)
    assert partners(nb, "배포") == []
    for name, text in twin_notes().items():
        (nb.root / name).parent.mkdir(parents=True, exist_ok=True)
        (nb.root / name).write_text(text, encoding="utf-8")
    stats = sync_index(nb)
    assert not stats.rebuilt
    assert "deploy" in partners(nb, "배포")
    ix, _ = open_index(nb, sync=False)
    assert "rollout.md" in [h.path for h in search(nb, "배포는 어떻게 하나요", ix=ix).hits]
    shutil.rmtree(nb.root / "en")
    assert not sync_index(nb).rebuilt
    assert partners(nb, "배포") == []


def test_an_edit_elsewhere_keeps_the_table(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    for name, text in {**twin_notes(), **OTHERS}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    time.sleep(0.1)  # not racily clean (kb.index.probe.RACY_NS): the next sync reads only what changed
    nb = Notebook(root=root, index_dir=tmp_path / "index", source="test")
    sync_index(nb)
    table = nb.index_dir / "assoc.tbl"
    before = table.stat().st_mtime_ns
    (nb.root / "memo.md").write_text("# 메모\n\n서버 설정을 바꿨다.\n", encoding="utf-8")
    assert not sync_index(nb).rebuilt
    assert table.stat().st_mtime_ns == before
    assert "deploy" in partners(nb, "배포")


@pytest.mark.parametrize("body, share, prints", [
    ("한국어 문장입니다", 0.9, 0),
    ("English prose only", 0.0, 0),
    ("설명\n```\nkubectl apply -f app.yaml\n# 한국어 주석이 있는 줄\n```\n[링크](https://example.com/x)",
     0.9, 2),
])
def test_note_traits(body: str, share: float, prints: int) -> None:
    from kb.assoc import note_traits

    got_share, got_prints = note_traits(body)
    assert abs(got_share - share) < 0.15
    assert len(got_prints) == prints


def named_twins(count: int = 4, rename: bool = False) -> dict[str, str]:
    """Translations kept by name (``glossary/en/x.md`` and ``glossary/ko/x.md``) with no code
    or links in common: a glossary's entries."""
    notes = {}
    for i in range(count):
        notes[f"glossary/ko/{'entry' if rename else 'app'}{i}.md"] = (
            f"# 앱 {i} 안내\n\n오늘 정리한 문서.\n\n"
            f"## 시작\n\n오늘 {START[i][0]}.\n\n## 배포\n\n오늘 {SHIP[i][0]}.\n")
        notes[f"glossary/en/app{i}.md"] = (
            f"# App {i} guide\n\nQuickly written notes.\n\n"
            f"## Start\n\nQuickly: {START[i][1]}.\n\n## Deploy\n\nQuickly: {SHIP[i][1]}.\n")
    return notes


def test_translations_kept_by_name_are_twins(tmp_path: Path) -> None:
    """Fails on the code before: twins were found by shared code lines and links only."""
    nb, ix = indexed(tmp_path, {**named_twins(), **OTHERS})
    assert "deploy" in partners(nb, "배포")
    assert "rollout.md" in [h.path for h in search(nb, "배포는 어떻게 하나요", ix=ix).hits]


def test_notes_of_different_names_are_not_twins_by_name(tmp_path: Path) -> None:
    nb, _ = indexed(tmp_path, {**named_twins(rename=True), **OTHERS})
    assert partners(nb, "배포") == []


def test_a_sync_finds_a_twin_by_name(tmp_path: Path) -> None:
    notes = named_twins()
    nb, _ = indexed(tmp_path, {k: v for k, v in notes.items() if "/en/" not in k or k.endswith("app0.md")})
    assert partners(nb, "배포") == []
    time.sleep(0.025)
    for rel, text in notes.items():
        (nb.root / rel).write_text(text, encoding="utf-8")
    sync_index(nb)
    assert "deploy" in partners(nb, "배포")
