"""Loanwords and their spellings (kb.expand): a Hangul word the notes show to be the
spelling of one English word is not a slip for a word of another (스트링 string, 스트림
stream); two spellings of one English word are nearly the same word (디렉토리/디렉터리);
of an absent word's English look-alikes, the one whose vowels Korean would write so comes
first (인턴드 interned, not intend); a corrected word ranks as if typed so. Each test
fails on kb before these mechanisms (main 59914c0, checked when written)."""

from __future__ import annotations

from pathlib import Path

from indexed import found, indexed

from kb.config import Notebook
from kb.expand import TYPO_WEIGHT
from kb.search import search

FILLER = {f"en/misc-{i}.md": f"# Misc {i}\n\nPlain notes about item {i}, written in English.\n"
          for i in range(120)}


def variants(nb: Notebook, ix: object, query: str, kind: str) -> list[tuple[tuple[str, ...], float]]:
    r = search(nb, query, ix=ix, explain=True)
    assert r.explanation is not None
    return [(v.terms, v.weight) for w in r.explanation.words for v in w.variants if v.kind == kind]


def test_a_loanword_is_no_slip_for_another_loanword(tmp_path: Path) -> None:
    """스트링 (string, one note) is one jamo from 스트림 (stream, in many): two words the
    notes both use, not a misspelling. 메세지 and 메시지 both sound like message: kept."""
    notes = dict(FILLER)
    for i in range(6):
        notes[f"ko/stream-{i}.md"] = f"# 스트림 {i}\n\n스트림 은 stream 이다. 메시지 는 message 이다.\n"
    notes["ko/string.md"] = "# 문자열\n\n스트링 은 string 이다. 메세지 를 보낸다.\n"
    nb, ix = indexed(tmp_path, notes)
    assert [t for t, _ in variants(nb, ix, "스트링", "typo")] == []
    assert [t for t, _ in variants(nb, ix, "메세지", "typo")] == [("메시지",)]


def test_two_spellings_of_one_english_word_weigh_nearly_as_the_word(tmp_path: Path) -> None:
    """디렉토리 and 디렉터리 are both directory: the other spelling is no guess at a slip."""
    notes = dict(FILLER)
    for i in range(8):
        notes[f"ko/dir-{i}.md"] = f"# 구조 {i}\n\n디렉터리 directory 를 만든다 {i}.\n"
    for i in range(4):
        notes[f"ko/old-{i}.md"] = f"# 옛 구조 {i}\n\n디렉토리 를 만든다 {i}.\n"
    nb, ix = indexed(tmp_path, notes)
    got = variants(nb, ix, "디렉토리", "typo")
    assert [t for t, _ in got] == [("디렉터리",)]
    assert got[0][1] > TYPO_WEIGHT


def test_an_absent_loanword_reaches_the_english_word_its_vowels_spell(tmp_path: Path) -> None:
    """인턴드 sounds like indent, intent, intend and interned; ㅓ is the r-coloured vowel
    of in-ter-ned (intend would be 인텐드), so interned is searched even though the
    others are commoner and as long as 인턴드 romanized."""
    notes = dict(FILLER)
    for word in ("indent", "intent", "intend"):
        for i in range(3):
            notes[f"en/{word}-{i}.md"] = f"# Notes {word} {i}\n\nWe {word} the string {i}.\n"
    notes["en/interned.md"] = "# Interned String\n\nAn interned string is kept once in the pool.\n"
    nb, ix = indexed(tmp_path, notes)
    assert ("interned",) in [t for t, _ in variants(nb, ix, "인턴드", "sound")]
    assert found(nb, ix, "인턴드 string")[0] == "en/interned.md"


def test_a_corrected_word_ranks_as_if_typed(tmp_path: Path) -> None:
    """인터패이스 is corrected to 인터페이스 ("showing results for"): the note where the
    query's words stand together ranks first, as it does for the query typed right."""
    notes = dict(FILLER)
    notes["ko/apart.md"] = ("# 메모\n\n인터페이스 인터페이스 인터페이스 를 쓴다. 다른 이야기가 길게 "
                            "이어진다. 그리고 나중에 확장 확장 을 한다.\n")
    notes["ko/together.md"] = ("# 소개\n\n클래스처럼 인터페이스 확장 이 가능하다. 다른 이야기가 "
                               "길게 이어진다. 멤버를 복사한다.\n")
    nb, ix = indexed(tmp_path, notes)
    assert found(nb, ix, "인터페이스 확장")[0] == "ko/together.md"
    assert found(nb, ix, "인터패이스 확장")[0] == "ko/together.md"
