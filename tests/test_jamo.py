"""Hangul letters, keyboard layouts, sound keys (kb.jamo) and English stems (kb.english), as tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.english import letters_key, light_stem
from kb.jamo import (
    choseong,
    is_choseong_only,
    partial_tail,
    sounds_like,
    syllable_distance,
    to_hangul_layout,
    to_latin_layout,
    typo_distance,
)


@pytest.mark.parametrize(
    ("word", "initials"), [("쿠버네티스", "ㅋㅂㄴㅌㅅ"), ("리액트", "ㄹㅇㅌ"), ("값", "ㄱ"), ("k8s", "k8s")]
)
def test_choseong(word: str, initials: str) -> None:
    assert choseong(word) == initials


def test_what_counts_as_initials_or_a_half_typed_syllable() -> None:
    assert is_choseong_only("ㅋㅂㄴㅌㅅ") and not is_choseong_only("ㅋ") and not is_choseong_only("ㅏㅕ")
    assert partial_tail("쿠버네ㅌ") == ("쿠버네", "ㅌ")
    assert partial_tail("쿠버네티스") is None and partial_tail("ㅌ") is None


@pytest.mark.parametrize(
    ("typed", "meant", "distance"),
    [
        ("리엑트", "리액트", 0.5),  # ㅔ/ㅐ
        ("메세지", "메시지", 0.5),  # ㅔ/ㅣ
        ("쿠버네티즈", "쿠버네티스", 0.5),  # ㅈ/ㅅ
        ("데이타", "데이터", 0.5),  # ㅏ/ㅓ
        ("캐쉬", "캐시", 0.5),  # ㅟ/ㅣ
        ("알고리듬", "알고리즘", 1.0),  # ㄷ/ㅈ: not a typist's slip
        ("kuberentes", "kubernetes", 1.0),  # two letters swapped
        ("파드", "파드", 0.0),
    ],
)
def test_typo_distance(typed: str, meant: str, distance: float) -> None:
    assert typo_distance(typed, meant) == distance
    if len(typed) == len(meant) and typed[0] >= "가":
        assert syllable_distance(typed, meant) == distance


@pytest.mark.parametrize(
    ("keys", "hangul"),
    [("znqjspxltm", "쿠버네티스"), ("dkssudgktpdy", "안녕하세요"), ("rhkgkrwk", "과학자"),
     ("rhkdgkrwk", "광학자"), ("dlfrdj", "읽어")],
)
def test_keys_typed_in_korean_mode(keys: str, hangul: str) -> None:
    assert to_hangul_layout(keys) == hangul
    assert to_latin_layout(hangul) == keys


def test_hangul_typed_in_english_mode() -> None:
    assert to_latin_layout("ㅏㅕㅠㄷㅊ시") == "kubectl"
    assert to_latin_layout("k8s") is None and to_hangul_layout("k8s") is None


@given(st.text(alphabet="qwertyuiopasdfghjklzxcvbnm", min_size=1, max_size=20))
def test_layouts_round_trip(keys: str) -> None:
    hangul = to_hangul_layout(keys)
    assert hangul is not None and to_latin_layout(hangul) == keys


@pytest.mark.parametrize(
    ("hangul", "latin", "alike"),
    [
        ("레플리카셋", "replicaset", True),
        ("엔드포인트", "endpoint", True),
        ("미들웨어", "middleware", True),
        ("쿠버네티스", "kubernetes", True),
        ("하이드레이션", "hydration", True),
        ("파이프라인", "pipeline", True),
        ("네임스페이스", "namespace", True),
        ("캐시", "cache", True),
        ("넉스트", "nuxt", True),
        ("그라파", "grafana", True),  # 그라파나, its 나 read as a particle by the analyzer
        ("받나요", "partner", False),
        ("업로드", "applied", False),
        ("미들웨어", "model", False),
        ("컨테이너", "continue", False),
        ("정의", "json", False),
        ("사이퍼", "cipher", True),
        ("사이퍼", "java", False),  # ㅅ is never j
        ("스위트", "suite", True),
    ],
)
def test_loanwords_by_sound(hangul: str, latin: str, alike: bool) -> None:
    assert sounds_like(hangul, latin) is alike


@pytest.mark.parametrize(
    ("words", "stem"),
    [
        (["parse", "parses", "parsed", "parsing"], "pars"),
        (["file", "files", "filing", "filed"], "fil"),
        (["configure", "configured", "configuration", "configurations"], "configur"),
        (["study", "studies", "studied"], "studi"),
        (["recursion", "recursive"], "recurs"),
        (["loose", "loosely"], "loos"),
        (["run", "runs", "running"], "run"),
    ],
)
def test_light_stem_folds_forms(words: list[str], stem: str) -> None:
    assert {light_stem(w) for w in words} == {stem}


def test_light_stem_leaves_code_alone() -> None:
    assert light_stem("max_active_runs") == "max_active_runs"
    assert light_stem("useeffect") == "useeffect"
    assert letters_key("kuberentes") == letters_key("kubernetes")


@pytest.mark.parametrize(
    ("hangul", "latin", "alike"),
    [
        # letters English writes that Korean does not say, or says otherwise
        ("트래블", "travel", True),  # no vowel for an unstressed e before a last l or n
        ("레이블", "label", True),
        ("버튼", "button", True),
        ("토큰", "token", True),
        ("커튼", "curtain", True),
        ("룰스", "rules", True),  # the silent e of a plural
        ("스코프", "scopes", True),  # a plural written as its singular
        ("클래스", "classes", True),
        ("캡처", "capture", True),  # -ture is 처
        ("아키텍처", "architecture", True),
        ("해시맵", "hashmap", True),  # sh before a consonant is 시
        ("매치드", "matched", True),
        ("콜백", "callback", True),  # a before ll is ㅗ
        ("인스톨", "install", True),
        ("빌드", "build", True),  # a silent u
        ("큐비트", "qubit", True),  # a u after q is the vowel when no vowel follows
        ("비전", "vision", True),  # a voiced -sion is 전
        ("퀘스천", "question", True),
        ("오브", "of", True),
        ("드롭트", "dropped", True),
        ("깃", "git", True),  # a tense consonant for either
        # a particle or ending after a 받침 is no unstressed vowel
        ("같은", "curtain", False),
        ("맛을", "model", False),
        ("앱을", "apple", False),  # nor after a silent e's l (apple -> appl: 애플)
        ("탑을", "tuple", False),
        ("애플", "apple", True),
        # Korean writes b, v as ㅂ, p, f as ㅍ, d as ㄷ, t as ㅌ, g as ㄱ, k, c as ㅋ
        ("포럼", "volume", False),
        ("필드", "build", False),
        ("메탈", "medal", False),
        ("메달", "metal", False),
        ("인덴트", "intent", False),
        ("라디오", "ratio", False),
        ("데커", "teacher", False),
        ("노트", "nodes", False),
    ],
)
def test_loanword_spellings(hangul: str, latin: str, alike: bool) -> None:
    assert sounds_like(hangul, latin) is alike


@pytest.mark.parametrize(
    ("hangul", "latin", "alike"),
    [
        # silent letters
        ("나이프", "knife", True),
        ("썸네일", "thumbnail", True),
        ("람다", "lambda", True),
        ("칼럼", "column", True),
        ("디자인", "design", True),
        ("디자이너", "designer", True),
        ("캐슬", "castle", True),
        ("리스너", "listener", True),
        ("시그널", "signal", True),  # the g of gn before a vowel is said
        ("칼럼니스트", "columnist", True),
        # t before an unstressed i and a vowel is sh
        ("이니셜", "initial", True),
        ("크리덴셜", "credential", True),
        # a soft g after n, not in an -ing
        ("엔진", "engine", True),
        ("엔지니어링", "engineering", True),
        ("현장", "hanging", False),
    ],
)
def test_silent_and_soft_letters(hangul: str, latin: str, alike: bool) -> None:
    assert sounds_like(hangul, latin) is alike
