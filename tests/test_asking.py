"""The words that ask, in the forms people type into a search box and notes never use.

Notes are written in 합니다 or 한다; a question typed to kb is often casual (``해?``,
``맞아?``), or ends in a form no note has (``뭐였지``, ``먹혀요``). By rarity alone each of
these weighed as the query's heaviest topic: a note that happened to say ``해`` ranked
first, and a word no note holds (weight: the rarest) pushed every answer below half of the
query's weight, or brought its sound-alikes (``뭐였지`` ~ ``modsiw``). Each test fails on
the code before this file.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kb.analysis import is_question_word
from kb.config import Notebook
from kb.index.sync import open_index, sync_index
from kb.jamo import could_be_loanword
from kb.search import search

NOTES = {
    # The answers, in the notes' own style.
    "vue-ssr.md": "# Vue 서버 렌더링\n\nrenderToString 함수는 Vue 앱을 HTML 문자열로 바꾼다. "
                  "서버에서 만든 문자열을 응답으로 보낸다.\n",
    "state-sharing.md": "# 컴포넌트 사이의 state 공유\n\n형제 컴포넌트가 같은 state를 써야 하면 "
                        "공통 부모로 state를 올린다.\n",
    "vim-ime.md": "# vim 입력기 전환\n\n한글 입력 상태로 노멀 모드에 돌아오면 명령이 입력되지 않는다. "
                  "노멀 모드로 갈 때 입력기를 영문으로 바꾼다.\n",
    "debugger.md": "# Debugger\n\nSet a breakpoint on a line; the debugger stops at each breakpoint.\n",
    "containers.md": "# Containers\n\nA pod runs one or more containers; each container has its logs.\n",
    # Notes that share a word or two, and say the casual forms.
    "chat-log.md": "# 컴포넌트 state 잡담\n\n오늘은 컴포넌트 state 이거 해? 저거 해? 하다가 "
                   "하나만 고쳤다. 해 봐야 안다.\n",
    "diary.md": "# 일기\n\n서버 점검. 문자열 정리. 그게 뭐 였지? 별일 없었다.\n",
    "pods.md": "# 파드\n\n쿠버네티스 파드는 컨테이너 묶음이다. 파드 로그를 본다.\n",
    "filler-1.md": "# 메모 1\n\n형제 회사와 회의. 회의록 정리.\n",
    "filler-2.md": "# 메모 2\n\n장보기 목록: 우유, 빵.\n",
    "filler-3.md": "# 메모 3\n\n책 읽기: 클린 코드의 함수 장.\n",
}


@pytest.fixture(scope="module")
def nb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Notebook, object]:
    base = tmp_path_factory.mktemp("asking")
    root = base / "notes"
    root.mkdir()
    for name, text in NOTES.items():
        (root / name).write_text(text, encoding="utf-8")
    time.sleep(0.025)
    notebook = Notebook(root=root, index_dir=base / "index", source="test")
    sync_index(notebook)
    ix, _ = open_index(notebook, sync=False)
    return notebook, ix


def _plans(nb: tuple[Notebook, object], query: str) -> tuple[list[str], dict[str, object]]:
    notebook, ix = nb
    r = search(notebook, query, ix=ix, explain=True)
    return [h.path for h in r.hits], {p.text: p for p in r.explanation.words}  # type: ignore[union-attr]


@pytest.mark.parametrize("word", ["뭐였지", "언제였지", "뭐였더라", "무엇인지", "누구한테", "어디였더라",
                                  "보여요", "먹혀요", "깜빡여요", "바꿔요"])
def test_an_interrogative_or_a_polite_predicate_asks(word: str) -> None:
    assert is_question_word(word)


@pytest.mark.parametrize("word", ["왜곡", "몇몇", "문자열", "서버", "해", "필요", "중요", "수요일"])
def test_a_noun_that_begins_like_one_does_not(word: str) -> None:
    assert not is_question_word(word)


def test_a_word_no_note_holds_that_asks_weighs_little(nb: tuple[Notebook, object]) -> None:
    # 뭐였지: no note has it; as the rarest word it outweighed the three topic words together,
    # and no note held half of the query's weight.
    paths, plans = _plans(nb, "서버 문자열 함수 뭐였지")
    assert paths[:1] == ["vue-ssr.md"]
    assert plans["뭐였지"].question and not plans["뭐였지"].variants  # type: ignore[attr-defined]


def test_a_casual_predicate_typed_with_a_question_mark_asks(nb: tuple[Notebook, object]) -> None:
    # 해? is rare in notes written in 한다, so it weighed as a topic and chat-log.md, which
    # says 해 three times, came first.
    paths, plans = _plans(nb, "형제 컴포넌트 state 어떻게 해?")
    assert paths[:1] == ["state-sharing.md"]
    assert plans["해?"].question  # type: ignore[attr-defined]
    assert not plans["컴포넌트"].question  # type: ignore[attr-defined]


def test_a_noun_with_its_particle_and_a_question_mark_is_the_topic(nb: tuple[Notebook, object]) -> None:
    paths, plans = _plans(nb, "쿠버네티스 파드란?")
    assert paths[:1] == ["pods.md"]
    assert not plans["파드란?"].question  # type: ignore[attr-defined]


def test_a_noun_typed_with_a_question_mark_is_the_topic(nb: tuple[Notebook, object]) -> None:
    # 컨테이너 ends in an open syllable, as 해 and 맞아 do, but it is an English word in Hangul;
    # 로그 ends in ㅡ, as no casual predicate does.
    _, plans = _plans(nb, "쿠버네티스 파드 컨테이너?")
    assert not plans["컨테이너?"].question  # type: ignore[attr-defined]
    _, plans = _plans(nb, "쿠버네티스 파드 로그?")
    assert not plans["로그?"].question  # type: ignore[attr-defined]


def test_the_last_word_of_a_question_no_note_holds_asks(nb: tuple[Notebook, object]) -> None:
    # 먹혀요 (a form of 먹히다 no note uses) ends a question (안 asks): the asker's predicate.
    paths, plans = _plans(nb, "한글 입력 노멀 모드 명령이 안 먹혀요")
    assert paths[:1] == ["vim-ime.md"]
    assert plans["먹혀요"].question  # type: ignore[attr-defined]


# A loanword no note holds, last in a query that does not ask, or in one that asks (어떻게):
# spelled as Korean writes English and ending as no predicate does, it is the topic, found in
# English.
@pytest.mark.parametrize("query", ["디버거 라인 브레이크포인트", "디버거 라인 어떻게 브레이크포인트"])
def test_a_loanword_no_note_holds_keeps_its_english(nb: tuple[Notebook, object], query: str) -> None:
    paths, plans = _plans(nb, query)
    plan = plans["브레이크포인트"]
    assert not plan.question  # type: ignore[attr-defined]
    assert ("breakpoint",) in {v.terms for v in plan.variants}  # type: ignore[attr-defined]
    assert paths[:1] == ["debugger.md"]


def test_notes_are_untouched(nb: tuple[Notebook, object]) -> None:
    notebook, _ = nb
    for name, text in NOTES.items():
        assert (Path(notebook.root) / name).read_text(encoding="utf-8") == text


@pytest.mark.parametrize("word", ["짜느라", "떠나자는", "넣었더니", "깜빡여요", "읽었다"])
def test_korean_spellings_no_loanword_uses(word: str) -> None:
    assert not could_be_loanword(word)


@pytest.mark.parametrize("word", ["파이썬", "쓰레드", "쿠버네티스", "인그레스", "레플리카셋",
                                  "브레이크포인트"])
def test_loanword_spellings(word: str) -> None:
    assert could_be_loanword(word)


def test_a_korean_verb_has_no_english_sound_alike(tmp_path: Path) -> None:
    # 짜느라 (busy writing) has the consonants of sunrays; no loanword is spelled with ㅉ.
    root = tmp_path / "notes"
    root.mkdir()
    (root / "sun.md").write_text("# Sunrays\n\nThe sunrays shader. sunrays sunrays.\n", encoding="utf-8")
    (root / "tdd.md").write_text("# TDD\n\n테스트 코드를 먼저 짠다. 개발이 느려지지 않는다.\n",
                                 encoding="utf-8")
    (root / "other.md").write_text("# 메모\n\n테스트 메모.\n", encoding="utf-8")
    time.sleep(0.025)
    notebook = Notebook(root=root, index_dir=tmp_path / "index", source="test")
    sync_index(notebook)
    ix, _ = open_index(notebook, sync=False)
    r = search(notebook, "테스트 코드 짜느라 느려지지 않나", ix=ix, explain=True)
    plan = {p.text: p for p in r.explanation.words}["짜느라"]  # type: ignore[union-attr]
    assert not any(t.isascii() for v in plan.variants for t in v.terms)
    assert "sun.md" not in [h.path for h in r.hits]
