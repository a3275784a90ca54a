"""An all-English query is answered first by the notes that write its words (issue 10,
English inflections): a Korean note that holds a word only in Hangul (the alias table's
``컨테이너`` for ``container``, a sound-alike) holds it at GUESS_CREDIT of its weight, so an
English note holding every word in its body ranks above a Korean note titled with their
Hangul spellings. The Korean note is still found (``register CPU`` may need it)."""

from __future__ import annotations

from pathlib import Path

from indexed import found, indexed

from kb.search import search

NOTES = {
    "ko.md": "# 컨테이너 런타임\n\n컨테이너 런타임은 이미지를 받아 실행한다. 레지스트리의 images 목록.\n",
    "en.md": "# Pulling\n\nA container runtime pulls images from a registry and starts them.\n",
    "hangul.md": "# 컨테이너 이미지\n\n컨테이너 런타임이 이미지를 실행한다.\n",
    "other.md": "# Other\n\nNothing about it here.\n",
}


def test_an_english_query_ranks_the_note_writing_its_words_first(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    got = found(nb, ix, "container runtime images")
    assert got[:1] == ["en.md"]
    # a note holding the words only in Hangul is ranked lower, not left out
    assert "hangul.md" in got and "ko.md" in got
    r = search(nb, "container runtime images", limit=5, ix=ix, explain=True)
    assert r.explanation is not None
    assert "held at 0.1 of its weight by a note that has only it in Hangul" in r.explanation.combined


def test_a_query_with_a_hangul_word_is_not_affected(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    r = search(nb, "container runtime 이미지", limit=5, ix=ix, explain=True)
    assert r.explanation is not None
    assert "in Hangul" not in r.explanation.combined
