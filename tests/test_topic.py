"""Questions (issue 10): the asker's wording weighs less than the topic (kb/topic.py), and
a word the notebook names in the other script is not also guessed by sound.

Each test's notebook is written here; every test fails on kb before these mechanisms
(checked when written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Notebook
from kb.index.sync import open_index, sync_index
from kb.search import search


def make(tmp_path: Path, notes: dict[str, str]) -> tuple[Notebook, object]:
    root = tmp_path / "notes"
    root.mkdir(parents=True)
    for name, text in notes.items():
        (root / name).write_text(text, encoding="utf-8")
    nb = Notebook(root=root, index_dir=tmp_path / "index", source="test")
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    return nb, ix


FILLER = {
    # notes that use the topic words now and then, as a notebook does
    f"misc{i}.md": f"# 메모 {i}\n\n오늘 본 것: {topic}. 다른 이야기도 조금 적었다.\n"
    for i, topic in enumerate(["도커 이미지 빌드", "컨테이너 네트워크", "데이터 정리", "도커 설치",
                               "데이터 백업", "컨테이너 로그", "데이터 모델", "도커 허브"])
}
TOPIC_NOTES = {
    "a1.md": "# 볼륨\n\n도커 컨테이너의 데이터는 컨테이너와 함께 사라진다. 도커 볼륨에 데이터를 두면 "
             "컨테이너를 새로 만들어도 데이터가 그대로다. 도커는 볼륨을 컨테이너 밖에 둔다.\n"
             "데이터를 지키려면 도커 볼륨을 컨테이너에 붙인다.\n",
    "b2.md": "# 일기\n\n파일을 지워도 기록이 남게 해 두었다. 데이터 이야기는 아니다.\n",
    "c3.md": "# 정리\n\n메모는 지워도 된다. 흔적이 남게 두는 편이 낫다는 사람도 있다.\n",
}


@pytest.fixture
def topics(tmp_path: Path) -> tuple[Notebook, object]:
    return make(tmp_path, {**FILLER, **TOPIC_NOTES})


def test_the_askers_wording_weighs_less_than_the_topic(topics: tuple[Notebook, object]) -> None:
    nb, ix = topics
    hits = search(nb, "도커 컨테이너를 지워도 데이터가 남게 하려면?", ix=ix).hits
    assert hits and hits[0].path == "a1.md"
    # not a question: every word weighs by its rarity alone, as before
    plain = search(nb, "도커 컨테이너를 지워도 데이터가 남게", ix=ix).hits
    assert plain and plain[0].path != "a1.md"


def test_topic_share_reads_burstiness(topics: tuple[Notebook, object]) -> None:
    from kb.topic import MIN_SHARE, topic_share

    _, ix = topics
    with ix.searcher() as s:  # type: ignore[attr-defined]
        r = s.reader()
        assert topic_share(r, ["컨테이너"]) > topic_share(r, ["남게"]) >= MIN_SHARE
        assert topic_share(r, ["없는말"]) == 1.0  # unknown: left alone
        # the best of a word's forms counts (a notebook that writes the other spelling)
        assert topic_share(r, ["남게", "컨테이너"]) == topic_share(r, ["컨테이너"])


def test_explain_says_how_a_question_was_weighed(topics: tuple[Notebook, object]) -> None:
    nb, ix = topics
    ex = search(nb, "도커 컨테이너를 지워도 데이터가 남게 하려면?", ix=ix, explain=True).explanation
    assert ex is not None and "a question" in ex.combined


def test_a_word_named_in_the_other_script_is_not_guessed_by_sound(tmp_path: Path) -> None:
    text = "# 서비스 {}\n\n파드 {}개가 port 80 으로 받는다. pod 는 파드다.\n"
    notes = {f"k{i}.md": text.format(i, i) for i in range(4)}
    notes.update({f"o{i}.md": f"# 잡담 {i}\n\n오늘은 비가 왔다. 산책 {i}번.\n" for i in range(8)})
    nb, ix = make(tmp_path, notes)
    plan = search(nb, "파드", ix=ix, explain=True).explanation.words[0]  # type: ignore[union-attr]
    found = {v.terms for v in plan.variants}
    assert ("pod",) in found  # the notebook's name for it (an alias)
    assert ("port",) not in found  # not also a guess by sound
    # a word with no name in the other script still gets its sound-alikes
    notes2 = {f"k{i}.md": f"# 운영 {i}\n\n레플리카셋 {i}개. replicaset 을 쓴다.\n" for i in range(4)}
    notes2.update({f"o{i}.md": f"# 잡담 {i}\n\n오늘은 비가 왔다.\n" for i in range(8)})
    nb2, ix2 = make(tmp_path / "two", notes2)
    plan2 = search(nb2, "레플리카셋", ix=ix2, explain=True).explanation.words[0]  # type: ignore[union-attr]
    assert ("replicaset",) in {v.terms for v in plan2.variants}


HEADING_NOTES = {
    # the topic word in the title and all through the body, the question's other words scattered
    "organization.md": "---\ntitle: 테스트 구성\n---\n테스트는 단위 테스트와 통합 테스트로 나눈다. 테스트 "
                       "모듈에 테스트를 모은다. 테스트 파일 하나에 테스트 여럿을 둔다. 통합 테스트는 따로 "
                       "실행된다.\n",
    # the answer: one section whose heading holds every word of the question
    "running.md": "# cargo 명령\n\n명령에 옵션을 준다. 병렬로 돌지 않게 할 수도 있다.\n\n"
                  "## 테스트를 하나만 골라 실행하기\n\n이름을 인자로 주면 된다.\n",
}


def test_a_heading_that_holds_the_question_lifts_its_note(tmp_path: Path) -> None:
    nb, ix = make(tmp_path, {**FILLER, **HEADING_NOTES})
    result = search(nb, "테스트 하나만 실행하려면?", ix=ix, explain=True)
    assert [h.path for h in result.hits[:2]] == ["running.md", "organization.md"]
    ex = result.explanation
    assert ex is not None and "headings" in ex.combined
    held = {t for f, t in ex.hits[0].matched if f == "headings"}
    assert {"테스트", "하나", "실행"} <= held


def test_headings_skip_code_blocks() -> None:
    from kb.topic import heading_terms, headings

    body = "# 설치\n\n```sh\n# 주석 실행\npip install kb\n```\n\n## 실행 방법 ##\n#태그 아님\n"
    assert headings(body) == ["설치", "실행 방법 ##"]
    assert heading_terms(body) == {"설치", "실행", "방법"}
