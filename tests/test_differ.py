"""Finding the note when the words differ (issue 10): loanwords across scripts, Korean
typos, 초성, keyboard-layout slips, questions, English inflections, code as written.

``fixtures/differ/notes`` is a small notebook written for these tests (file names say
nothing of the answers); ``fixtures/differ/queries.tsv`` holds queries of the five kinds,
judged by reading the notes. Every query there finds no note, or not first, on kb
before these mechanisms (measured: cross-script 2 of 6, typo 0 of 7, english 2 of 5 first).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kb.cli import app
from kb.config import Notebook
from kb.index.sync import open_index, sync_index
from kb.search import search

FIXTURE = Path(__file__).parent / "fixtures" / "differ"
KINDS = ("cross-script", "typo", "question", "code", "english")
# MRR@10 reached on the fixture when written, rounded down (raise when kb improves).
MRR_FLOOR = {"cross-script": 0.91, "typo": 1.0, "question": 1.0, "code": 1.0, "english": 1.0}


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Notebook, object]:
    base = tmp_path_factory.mktemp("differ")
    shutil.copytree(FIXTURE / "notes", base / "notes")
    time.sleep(0.025)
    nb = Notebook(root=base / "notes", index_dir=base / "index", source="test")
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    return nb, ix


def first(fresh: tuple[Notebook, object], query: str) -> str | None:
    nb, ix = fresh
    hits = search(nb, query, ix=ix).hits
    return hits[0].path if hits else None


def load_queries() -> list[tuple[str, str, frozenset[str]]]:
    out = []
    for line in (FIXTURE / "queries.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if line.strip() and not line.startswith("#"):
            kind, text, relevant = line.split("\t")
            out.append((kind, text, frozenset(p.strip() for p in relevant.split("|"))))
    return out


def test_fixture_eval_floors(fresh: tuple[Notebook, object]) -> None:
    nb, ix = fresh
    ranks: dict[str, list[float]] = {k: [] for k in KINDS}
    for kind, text, relevant in load_queries():
        paths = [h.path for h in search(nb, text, ix=ix).hits]
        rank = next((i for i, p in enumerate(paths[:10], 1) if p in relevant), None)
        ranks[kind].append(1 / rank if rank else 0.0)
    mrr = {k: sum(v) / len(v) for k, v in ranks.items()}
    assert all(len(v) >= 5 for v in ranks.values())
    low = {k: round(v, 3) for k, v in mrr.items() if v < MRR_FLOOR[k]}
    assert not low, f"MRR@10 below the floor: {low} (floors {MRR_FLOOR})"


def test_initials_find_the_word(fresh: tuple[Notebook, object]) -> None:
    assert first(fresh, "ㅋㅂㄴㅌㅅ") == "cluster-basics.md"  # 쿠버네티스
    assert first(fresh, "쿠버네ㅌ") == "cluster-basics.md"  # the last syllable half typed


def test_keyboard_layout_slips(fresh: tuple[Notebook, object]) -> None:
    nb, ix = fresh
    r = search(nb, "znqjspxltm", ix=ix)  # 쿠버네티스 typed in English mode
    assert r.hits[0].path == "cluster-basics.md" and "showing results for 쿠버네티스" in r.notice
    r = search(nb, "ㅏㅕㅠㄷㅊ시", ix=ix)  # kubectl typed in Korean mode
    assert r.hits[0].path == "k8s-cli.md" and "showing results for kubectl" in r.notice
    # An English word that reads as Korean is not taken for one when it is a word of the notes.
    assert "showing" not in search(nb, "kubectl", ix=ix).notice


def test_a_gloss_links_the_spellings_everywhere(fresh: tuple[Notebook, object]) -> None:
    nb, ix = fresh
    # glossary.md writes 플럭시네이터(Fluxinator); deploy-ops.md only 플럭시네이터.
    paths = [h.path for h in search(nb, "fluxinator", ix=ix).hits]
    assert "deploy-ops.md" in paths
    plan = search(nb, "fluxinator", ix=ix, explain=True).explanation.words[0]  # type: ignore[union-attr]
    assert any(v.kind == "gloss" and v.terms == ("플럭시네이터",) for v in plan.variants)


@pytest.mark.parametrize(
    ("typed", "note", "fixed"),
    [("리엑트", "frontend-notes.md", "리액트"), ("메세지", "mq.md", "메시지"),
     ("쿠버네티즈", "cluster-basics.md", "쿠버네티스"), ("kubetcl", "k8s-cli.md", "kubectl")],
)
def test_typos_alone_find_the_note(fresh: tuple[Notebook, object], typed: str, note: str, fixed: str) -> None:
    nb, ix = fresh
    r = search(nb, typed, ix=ix)
    assert r.hits and r.hits[0].path == note
    assert f"showing results for {fixed}" in r.notice


def test_symbol_names_are_whole_terms(fresh: tuple[Notebook, object]) -> None:
    assert first(fresh, "C#") == "csharp.md"
    assert first(fresh, "C++") == "cpp.md"
    assert first(fresh, ".NET") == "csharp.md"
    nb, ix = fresh
    assert [h.path for h in search(nb, "C#", ix=ix).hits] == ["csharp.md"]  # not every note with C


def test_code_is_matched_as_written(fresh: tuple[Notebook, object]) -> None:
    assert first(fresh, "--dry-run=client") == "k8s-cli.md"  # -- is not a negation
    assert first(fresh, "Arc::clone") == "rust-shared.md"
    assert first(fresh, "@router.get") == "fastapi-routes.md"
    assert first(fresh, "v-bind:class") == "vue-binding.md"


def test_code_as_written_comes_first(fresh: tuple[Notebook, object]) -> None:
    # logs-cheatsheet.md has kubectl and logs more often and in its title, but not the command.
    nb, ix = fresh
    paths = [h.path for h in search(nb, "kubectl logs --previous", ix=ix).hits]
    assert paths[0] == "troubleshooting.md" and "logs-cheatsheet.md" in paths


def test_english_inflections_meet(fresh: tuple[Notebook, object]) -> None:
    assert first(fresh, "parsing files") == "settings-loader.md"  # the note says: parse a file
    nb, ix = fresh
    r = search(nb, "parsing files", ix=ix)
    assert r.suggestions == [] and "showing" not in r.notice  # a form of the word, not a typo


def test_forms_of_a_word_count_as_one_and_titles_first(fresh: tuple[Notebook, object]) -> None:
    # engine-about.md says "recursive workflows" as typed, in passing; template-calls.md is
    # titled "Recursion in a workflow": other forms of both words, in its title.
    nb, ix = fresh
    assert [h.path for h in search(nb, "recursive workflows", ix=ix).hits][:2] == [
        "template-calls.md", "engine-about.md"]


@pytest.mark.parametrize(
    ("word", "stem"),
    [("막으려면", "막"), ("바꿨는데", "바꾸"), ("돌릴", "돌리"), ("줄여서", "줄이"), ("느린가요", "느리"),
     ("만들면", "만들"), ("줍니다", "주"), ("빨라지나요", "빨라지"), ("해야", "하")],
)
def test_predicate_stems(word: str, stem: str) -> None:
    from kb.jamo import predicate_stems

    assert stem in predicate_stems(word)


def test_a_predicate_matches_its_other_forms(fresh: tuple[Notebook, object]) -> None:
    # image-build.md says 줄일, 줄이는 (the question: 줄이려면); image-registry.md has the same
    # nouns and no such verb.
    nb, ix = fresh
    query = "컨테이너 이미지 크기를 줄이려면 어떻게 하나요"
    r = search(nb, query, ix=ix, explain=True)
    assert [h.path for h in r.hits][:2] == ["image-build.md", "image-registry.md"]
    plans = {p.text: p for p in r.explanation.words}  # type: ignore[union-attr]
    verb = plans["줄이려면"]
    assert verb.stem == "줄이" and not verb.question
    assert {("줄일",), ("줄이",)} <= {v.terms for v in verb.variants if v.kind == "verb"}
    assert plans["하나요"].question and not plans["하나요"].stem  # 하 + 나요 names nothing


def test_grammar_words_name_no_topic(fresh: tuple[Notebook, object]) -> None:
    # config-style.md says 안 three times (안 쓰는, 안 된다); config-reload.md answers: 설정 값이
    # 바뀌면 (a form of 바뀌어요).
    nb, ix = fresh
    r = search(nb, "설정 값이 안 바뀌어요", ix=ix, explain=True)
    assert [h.path for h in r.hits][:2] == ["config-reload.md", "config-style.md"]
    plans = {p.text: p for p in r.explanation.words}  # type: ignore[union-attr]
    assert plans["안"].question and plans["바뀌어요"].stem == "바뀌"


def test_no_did_you_mean_when_the_query_found_its_notes(fresh: tuple[Notebook, object]) -> None:
    nb, ix = fresh
    r = search(nb, "asyncio gather와 create_task 차이", ix=ix)
    assert r.hits[0].path == "asyncio.md" and r.suggestions == []


def test_questions_rank_the_answer_first(fresh: tuple[Notebook, object]) -> None:
    nb, ix = fresh
    # faq.md holds every question word (어떻게, 확인, 하나요) and 파드; the answer holds the topic.
    r = search(nb, "파드가 자꾸 재시작되면 어떻게 확인하나요", ix=ix)
    assert r.hits[0].path == "troubleshooting.md"
    plan = {p.text: p for p in search(nb, "파드가 자꾸 재시작되면 어떻게 확인하나요", ix=ix,
                                     explain=True).explanation.words}  # type: ignore[union-attr]
    assert plan["어떻게"].question and not plan["파드가"].question


def test_explain_shows_what_was_searched(fresh: tuple[Notebook, object],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    nb, _ = fresh
    monkeypatch.setenv("KB_DIR", str(nb.root))
    monkeypatch.setenv("KB_INDEX_DIR", str(nb.index_dir))
    runner = CliRunner()
    r = runner.invoke(app, ["search", "쿠버네티스", "--explain"])
    assert r.exit_code == 0, r.output
    assert "쿠버네티스" in r.stdout and "-> kubernetes" in r.stdout
    r = runner.invoke(app, ["search", "리엑트", "--explain", "--json"])
    import json

    data = json.loads(r.stdout)
    word = data["explain"]["words"][0]
    assert word["word"] == "리엑트" and word["correction"] == "리액트" and not word["found"]
    assert data["hits"][0]["path"] == "frontend-notes.md"


def test_glosses_and_new_words_follow_incremental_syncs(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "notes", tmp_path / "notes")
    time.sleep(0.025)
    nb = Notebook(root=tmp_path / "notes", index_dir=tmp_path / "index", source="test")
    sync_index(nb)

    def paths(q: str) -> list[str]:
        return [h.path for h in search(nb, q).hits]

    assert "gateway.md" in paths("throttling")  # 속도 제한(throttling) in glossary.md
    glossary = (tmp_path / "notes" / "glossary.md").read_text(encoding="utf-8")
    (tmp_path / "notes" / "glossary.md").unlink()
    time.sleep(0.025)
    assert "gateway.md" not in paths("throttling")  # the gloss went with its note
    (tmp_path / "notes" / "terms.md").write_text(glossary, encoding="utf-8")
    time.sleep(0.025)
    assert "gateway.md" in paths("throttling")
    # A loanword the index never had, added by a sync: found by its English spelling.
    (tmp_path / "notes" / "monitoring.md").write_text("# 모니터링\n\n그라파나 대시보드로 지표를 본다.\n",
                                                      encoding="utf-8")
    time.sleep(0.025)
    assert "monitoring.md" in paths("grafana")
    assert (nb.index_dir / "vocab.delta").exists()


def test_an_index_from_before_is_rebuilt_with_the_tables(tmp_path: Path) -> None:
    import marshal

    from kb.index.manifest import MANIFEST

    shutil.copytree(FIXTURE / "notes", tmp_path / "notes")
    time.sleep(0.025)
    nb = Notebook(root=tmp_path / "notes", index_dir=tmp_path / "index", source="test")
    sync_index(nb)
    manifest = nb.index_dir / MANIFEST
    data = marshal.loads(manifest.read_bytes())
    data["analyzer"] = "ko-1"  # an index written before symbol names and the tables
    manifest.write_bytes(marshal.dumps(data))
    for name in ("vocab.tbl", "gloss.tbl"):
        (nb.index_dir / name).unlink()
    stats = sync_index(nb)
    assert stats.rebuilt
    assert (nb.index_dir / "vocab.tbl").exists() and (nb.index_dir / "gloss.tbl").exists()
    from kb.config import is_kb_name

    # every file in the index folder is one kb knows it wrote (and may delete on a rebuild)
    assert [p.name for p in nb.index_dir.iterdir() if not is_kb_name(p.name)] == []
    assert search(nb, "C#").hits[0].path == "csharp.md"


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ㅋㅂㄴㅏㅕ쿠버네티스리엑트znqjxC#+.:-_ ?어떻게 parsing")),
               max_size=24))
def test_every_expansion_is_total(fresh: tuple[Notebook, object], text: str) -> None:
    nb, ix = fresh
    result = search(nb, text, ix=ix, explain=True)
    assert isinstance(result.hits, list) and (result.explanation is not None or not result.hits)


def test_a_sound_alike_the_notebook_pairs_with_the_word_wins(tmp_path: Path) -> None:
    """러스트 sounds like list, last, rest and rust; the commoner three used to fill the
    three sound slots. The notebook writes 러스트 and rust in the same notes, so rust is
    the reading (and the others, which never share a note with 러스트, are dropped)."""
    root = tmp_path / "notes"
    root.mkdir()
    for i in range(3):
        (root / f"ko-{i}.md").write_text(f"# 언어 {i}\n\n러스트 는 빠르다. rust 컴파일러 {i}번 이야기.\n",
                                         encoding="utf-8")
    for i in range(6):
        (root / f"misc-{i}.md").write_text(f"# Misc {i}\n\nThe list, the last item and the rest {i}.\n",
                                           encoding="utf-8")
    (root / "owner-list.md").write_text("# Owner list\n\nA list of ownership records.\n", encoding="utf-8")
    # ...in a notebook of some size: 3 shared notes of 11 are as likely by chance as not
    for i in range(30):
        (root / f"other-{i}.md").write_text(f"# Other {i}\n\nSomething else, {i}.\n", encoding="utf-8")
    (root / "rust-ownership.md").write_text("# Ownership\n\nRust ownership: each value has one owner.\n",
                                            encoding="utf-8")
    time.sleep(0.025)
    nb = Notebook(root=root, index_dir=tmp_path / "index", source="test")
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    r = search(nb, "러스트 ownership", ix=ix, explain=True)
    assert [h.path for h in r.hits][:1] == ["rust-ownership.md"]
    assert r.explanation is not None
    sounds = [v.terms for w in r.explanation.words for v in w.variants if v.kind == "sound"]
    assert sounds == [("rust",)]
