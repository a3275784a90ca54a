"""A question's word that a note holds only in its lists (issue 10, question row).

A note that names many topics in list items or table rows (a table of contents, a list
of links, a README) holds a question's words without explaining any of them; for a
question, the note that explains the topic in prose should rank above it. At index time
each note keeps the terms it has only in list items and table rows
(:func:`kb.topic.listed_terms`, stored with the note's fields as ``listed``); a question's first hits
score ``1 - LIST_PENALTY * part`` times less, ``part`` the share of the question's
weight such words hold in the note. The search tests fail on kb before this (checked
when written: the index has no ``listed`` field and the hub ranks first)."""

from __future__ import annotations

from pathlib import Path

from indexed import indexed

from kb.search import search

FILLER = {f"misc/note-{i}.md": f"# 메모 {i}\n\n오늘 읽은 글 {i} 을 정리한다. 내용은 짧다.\n"
          for i in range(30)}


def test_listed_terms_are_the_terms_only_in_list_items_and_table_rows() -> None:
    from kb.topic import listed_terms

    body = ("# 목차\n\n도커 를 다룬다.\n\n- [도커 볼륨](docker/volume.md)\n* 네트워크 설정\n"
            "1. 이미지 빌드\n| 포트 | 매핑 |\n|---|---|\n\n```\n- 코드블록안\n```\n")
    terms = set(listed_terms(body))
    assert {"볼륨", "네트워크", "이미지", "포트", "매핑"} <= terms
    assert "도커" not in terms  # also in the prose line
    assert "코드블록안" not in terms  # a code block is no list
    assert listed_terms("# 제목\n\n문단만 있는 노트.\n") == []


def test_a_stem_in_the_prose_keeps_the_term_out() -> None:
    """A term counts as held by the prose when a word there starts with it (the prose's
    ``되돌리려면`` holds the list's ``되돌리``): a doubt never makes a term list-only."""
    from kb.topic import listed_terms

    terms = listed_terms("# 릴리스\n\n이전 버전으로 되돌리려면 이렇게 한다.\n\n- 되돌리기\n")
    assert "되돌리" not in terms and "~되돌리" not in terms


def hub_notes() -> dict[str, str]:
    notes = dict(FILLER)
    # A table of contents: every word of the question, each in list items only, often.
    notes["docs/README.md"] = "# 문서\n\n" + "".join(
        f"- [도커 볼륨 만들기 {i}](docker/volume-{i}.md)\n- [도커 볼륨 백업 {i}](docker/backup-{i}.md)\n"
        for i in range(4))
    # The answer: the same words once or twice, in prose.
    notes["docker/storage.md"] = (
        "# 저장소\n\n도커 에서 컨테이너를 지워도 데이터를 남기려면 볼륨 을 만들면 된다. "
        "컨테이너 가 사라져도 데이터 는 호스트 에 남는다.\n")
    return notes


def test_a_question_ranks_the_note_that_explains_above_the_one_that_lists(tmp_path: Path) -> None:
    """Fails on the old code: the table of contents holds every word more often and ranked
    first; now it holds them only in its list items and ranks below the explaining note."""
    nb, ix = indexed(tmp_path, hub_notes())
    r = search(nb, "도커 볼륨은 어떻게 만드나요", ix=ix, explain=True)
    paths = [h.path for h in r.hits]
    assert paths[:2] == ["docker/storage.md", "docs/README.md"]
    assert r.explanation is not None
    hub = next(h for h in r.explanation.hits if h.slug == "docs/README")
    assert ("only in lists", "도커") in hub.matched  # --explain says which words
    mine = next(h for h in r.explanation.hits if h.slug == "docker/storage")
    assert not [t for kind, t in mine.matched if kind == "only in lists"]


def test_not_a_question_is_ranked_as_before(tmp_path: Path) -> None:
    """Only a question's first hits are read this way: the same words without one keep the
    table of contents first."""
    nb, ix = indexed(tmp_path, hub_notes())
    r = search(nb, "도커 볼륨 만들기", ix=ix)
    assert [h.path for h in r.hits][:2] == ["docs/README.md", "docker/storage.md"]


def test_a_word_the_note_also_writes_in_prose_is_not_listed_only(tmp_path: Path) -> None:
    """The list-only rule is per word: a note that lists ``볼륨`` but writes ``도커`` in its
    prose is made lower for ``볼륨`` alone."""
    notes = dict(FILLER)
    notes["docs/index.md"] = "# 문서\n\n도커 를 정리한다.\n\n- 볼륨 만들기\n- 볼륨 지우기\n"
    nb, ix = indexed(tmp_path, notes)
    r = search(nb, "도커 볼륨은 어떻게 만드나요", ix=ix, explain=True)
    assert r.explanation is not None
    hit = next(h for h in r.explanation.hits if h.slug == "docs/index")
    listed = [t for kind, t in hit.matched if kind == "only in lists"]
    assert "볼륨은" in listed and "도커" not in listed  # the typed words
