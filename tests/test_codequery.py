"""Code queries as written (issue 10): classes of code tokens kb used to miss or rank below
notes that only share their words."""

from __future__ import annotations

from pathlib import Path

from indexed import indexed

from kb.search import search

FILLER = "\n".join(f"문단 {i}: 설명 텍스트가 이어집니다." for i in range(20))


def _first(nb, ix, query: str) -> str:  # type: ignore[no-untyped-def]
    hits = search(nb, query, limit=10, ix=ix).hits
    return hits[0].path if hits else ""


def test_cli_words_in_a_row_in_code_rank_first(tmp_path: Path) -> None:
    # docker compose up: no symbol, but written as a command in one note's code block;
    # the other note is about docker and says the words apart.
    nb, ix = indexed(tmp_path, {
        "docker.md": "# docker\n\ndocker 정리. compose 파일을 쓰고 up 하면 된다. docker docker compose\n"
                     + FILLER + "\n",
        "deploy.md": "# 배포\n\n서버에서 실행:\n\n```bash\ndocker compose up -d\n```\n" + FILLER + "\n",
    })
    assert _first(nb, ix, "docker compose up") == "deploy.md"


def test_double_colon_path_is_matched_as_written(tmp_path: Path) -> None:
    # thread::sleep is code; a note that says "thread" and "sleep" in a row in prose is not it.
    nb, ix = indexed(tmp_path, {
        "threads.md": "# Thread\n\nthread sleep 상태는 thread sleep 으로 부른다. thread thread\n",
        "rust.md": "# 동시성\n\n" + FILLER + "\n\n```rust\nthread::sleep(Duration::from_millis(1));\n```\n",
    })
    assert _first(nb, ix, "thread::sleep") == "rust.md"


def test_lowercase_identifier_inside_a_dotted_name(tmp_path: Path) -> None:
    # create_file_writer written only as tf.summary.create_file_writer
    nb, ix = indexed(tmp_path, {
        "tb.md": "# 텐서보드\n\n```python\nw = tf.summary.create_file_writer('/tmp/x')\n```\n",
        "other.md": "# 파일\n\ncreate a file. writer 설명.\n",
    })
    assert _first(nb, ix, "create_file_writer") == "tb.md"


def test_a_heading_that_names_the_code_ranks_first(tmp_path: Path) -> None:
    # Both notes hold notifyAll(); the one whose heading names it is about it.
    nb, ix = indexed(tmp_path, {
        "short.md": "# 스레드\n\n`wait()` 와 `notifyAll()` 를 쓴다.\n",
        "about.md": "# 동기화\n\n" + FILLER + "\n\n## `notifyAll()`\n\n모든 스레드를 깨운다. `notifyAll()`\n"
                    + FILLER + "\n",
    })
    assert _first(nb, ix, "notifyAll()") == "about.md"


def test_an_annotation_is_searched_as_written(tmp_path: Path) -> None:
    # @Getter is Lombok's annotation; notes that say getter (a method, a plugin) are not it
    nb, ix = indexed(tmp_path, {
        "getter.md": "# Getter plugin\n\ngetter 플러그인. getter 설정과 getter 목록.\n",
        "methods.md": "# getter 메서드\n\ngetter 와 setter 를 만든다.\n",
        "jpa.md": "# 엔티티\n\n" + FILLER + "\n\n```java\n@Getter\n@Entity\nclass Member {}\n```\n",
    })
    assert _first(nb, ix, "@Getter") == "jpa.md"
    # a name no note writes with @ is searched without it, and kb says so
    r = search(nb, "@setter", limit=5, ix=ix)
    assert [h.path for h in r.hits] == ["methods.md"]
    assert "setter" in r.notice
