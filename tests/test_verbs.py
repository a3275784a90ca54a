"""Native Korean verbs in their other forms (issue 10): a question says 늘리고, 되돌리려면,
가린, 남게, the note says 늘려, 되돌린다, 가려진, 남아. The analyzer files a stem term
(``~늘리``) beside every form it reads as a predicate (:func:`kb.jamo.verb_stem`, rules of
the grammar at the level of jamo, no list of verbs), and a query word searches its stem
term as another form of itself.

Each note pair below has a note that uses the verb in another form and a note that holds
the query's noun more (so on kb before stems, which never met the verb, the other note
came first or was all there was).
"""

from __future__ import annotations

import pytest
from indexed import indexed

from kb.analysis import analyze, iter_terms, query_terms
from kb.config import Notebook
from kb.search import search

STEMS = [
    # one verb, many forms: an ending, a fused 받침, a contraction, the past, a passive
    ("늘리고", "늘리"), ("늘려", "늘리"), ("늘려서", "늘리"), ("늘린다", "늘리"), ("늘렸다", "늘리"),
    ("늘리기", "늘리"), ("줄이려면", "줄이"), ("줄여", "줄이"), ("되돌리려면", "되돌리"),
    ("되돌린다", "되돌리"), ("되돌리기", "되돌리"), ("넘기려면", "넘기"), ("넘겨", "넘기"),
    ("바꾸면", "바꾸"), ("바꿔", "바꾸"), ("바꿨는데", "바꾸"), ("가린", "가리"), ("가려진", "가리"),
    ("가려져", "가리"), ("남게", "남"), ("남아", "남"), ("남았습니다", "남"), ("막으려면", "막"),
    ("막아서", "막"), ("맺고", "맺"), ("끊나요", "끊"), ("읽기", "읽"), ("가져와", "가져오"),
    ("느린가요", "느리"), ("있습니다", "있"),
    # 만들- drops its ㄹ before ㄴ, ㅂ, ㅅ: every form meets without it
    ("만들면", "만드"), ("만들기", "만드"),
]
NOT_VERBS = [
    # nouns that end like a verb form: 리/기/지/고/면 after a noun, a Sino-Korean 과/화, a 받침
    "메모리", "쿼리", "크기", "이미지", "메시지", "사고", "광고", "측면", "화면", "확인", "파일", "기준",
    "결과", "최적화", "교과서", "사용자", "에러", "람다", "이름", "데이터", "쿠버네티스",
]


@pytest.mark.parametrize(("word", "stem"), STEMS)
def test_verb_stem(word: str, stem: str) -> None:
    from kb.jamo import verb_stem

    assert verb_stem(word) == stem


@pytest.mark.parametrize("word", NOT_VERBS)
def test_nouns_have_no_verb_stem(word: str) -> None:
    from kb.jamo import verb_stem

    assert verb_stem(word) == ""


def test_forms_of_one_verb_share_one_stem_term() -> None:
    question = [t for t, *_ in iter_terms("늘리고 되돌리려면 넘기려면 바꾸면 가린 남게")]
    note = [t for t, *_ in iter_terms("늘려 되돌린다 넘겨 바꿔 가려진 남아")]
    stems = ["~늘리", "~되돌리", "~넘기", "~바꾸", "~가리", "~남"]
    assert [t for t in question if t.startswith("~")] == stems
    assert [t for t in note if t.startswith("~")] == stems


def test_the_word_stays_beside_its_stem() -> None:
    # the stem is an extra term at the word's position (as an identifier's parts), the word
    # is kept as the particle table reads it; queries and frontmatter terms have no stems
    assert [(t, p) for t, p, _, _ in iter_terms("메모리를 늘려서 해결")] == [
        ("메모리", 0), ("늘려서", 1), ("~늘리", 1), ("해결", 2)]
    assert query_terms("늘려서") == ["늘려서"]
    assert analyze("메모리를 늘려서") == ["메모리", "늘려서"]


def test_sino_korean_verbs_stay_with_the_table() -> None:
    from kb.analysis import predicate_stem

    assert predicate_stem("확인하고") == "" and analyze("확인하고") == ["확인"]
    assert predicate_stem("렌더링할지") == ""  # a noun with 하다: no stem term 렌더링
    assert predicate_stem("바꿔도") == "바꾸"  # a particle after the verb form


NOTES = {
    # the verb in another form than the question's, once; its noun once
    "swap.md": "---\ntitle: 스왑 설정\n---\n메모리가 모자라면 스왑 공간을 늘려서 버틴다.\n",
    "cache.md": "---\ntitle: 캐시 메모리\n---\n메모리 계층과 메모리 대역폭, 메모리 지연.\n",
    "blur.md": "---\ntitle: 모자이크\n---\n얼굴이 가려진 화면은 블러 처리한다.\n",
    "window.md": "---\ntitle: 화면 관리\n---\n화면 크기, 화면 위치, 화면 배치를 정한다.\n",
    "volume.md": "---\ntitle: 볼륨\n---\n컨테이너를 지워도 데이터가 남아 있다.\n",
    "data.md": "---\ntitle: 데이터 모델\n---\n데이터 정규화와 데이터 타입, 데이터 구조.\n",
    "rollback.md": "---\ntitle: 롤백\n---\n릴리스를 이전 리비전으로 되돌린다.\n",
    "release.md": "---\ntitle: 릴리스 노트\n---\n릴리스 주기와 릴리스 브랜치, 릴리스 태그.\n",
    **{f"other{i}.md": f"---\ntitle: 기타 {i}\n---\n{text}\n" for i, text in enumerate(
        ["파드와 서비스.", "인덱스와 쿼리 계획.", "함수와 클로저.", "로그 수집.", "빌드 캐시.",
         "타입 추론."])},
}


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> tuple[Notebook, object]:
    return indexed(tmp_path_factory.mktemp("verbs"), NOTES)


@pytest.mark.parametrize(("query", "note"), [
    ("메모리 늘리고", "swap.md"),
    ("가린 화면", "blur.md"),
    ("데이터가 남게", "volume.md"),
    ("릴리스 되돌리기", "rollback.md"),
])
def test_a_verb_finds_the_note_that_writes_another_form(notebook: tuple[Notebook, object], query: str,
                                                        note: str) -> None:
    nb, ix = notebook
    r = search(nb, query, ix=ix)
    assert r.hits and r.hits[0].path == note
    assert "showing results for" not in r.notice  # a form of the verb, not a typo fix


def test_explain_shows_the_stem(notebook: tuple[Notebook, object]) -> None:
    nb, ix = notebook
    r = search(nb, "메모리 늘리고", ix=ix, explain=True)
    plans = {p.text: p for p in r.explanation.words}  # type: ignore[union-attr]
    verb = plans["늘리고"]
    assert verb.stem == "늘리"
    assert ("~늘리",) in {v.terms for v in verb.variants if v.kind == "verb"}


# One grammar, two readings (kb.jamo._split_stems): the query's guesses follow the same fused-final
# table as the index's one stem.
@pytest.mark.parametrize(("word", "stem"),
                         [("되돌린다", "되돌리"), ("받아온다", "받아오"), ("빠진다", "빠지")])
def test_query_guesses_read_a_present_ending_fused_into_the_stem(word: str, stem: str) -> None:
    from kb.jamo import predicate_stems, verb_stem

    assert stem in predicate_stems(word)
    assert verb_stem(word) == stem


@pytest.mark.parametrize(("word", "wrong"), [("함수", "하"), ("변수", "벼"), ("감지", "가"), ("분수", "부")])
def test_query_guesses_fuse_no_ending_the_table_does_not_list(word: str, wrong: str) -> None:
    # ㅁ makes a noun of a verb and takes no ending after it; ㄴ is no ending before 수
    from kb.jamo import predicate_stems

    assert wrong not in predicate_stems(word)
