"""Parsing notes (frontmatter variants, tags, dates, links, odd bytes), slugs, writing."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.errors import BadSlug, NoteExists
from kb.notes import (
    decode_bytes,
    iter_note_files,
    note_path,
    parse_text,
    read_note,
    render_new_note,
    slugify,
    validate_slug,
    write_new_note,
)


def test_title_from_frontmatter_any_case() -> None:
    assert parse_text("a.md", "---\nTitle: 제목\n---\n# 다른 제목\n").title == "제목"
    assert parse_text("a.md", "---\nTITLE: 큰 제목\n---\nbody").title == "큰 제목"


def test_title_falls_back_to_heading_then_file_name() -> None:
    assert parse_text("a.md", "intro\n\n# 첫 제목\n\n## 둘째\n").title == "첫 제목"
    assert parse_text("dir/Ch4-2 정규화의 목적.md", "본문만 있다").title == "Ch4-2 정규화의 목적"
    # A heading inside a code block is not a title.
    assert parse_text("x.md", "```\n# comment\n```\n").title == "x"


def test_title_as_number_or_date() -> None:
    assert parse_text("a.md", "---\ntitle: 2024\n---\n").title == "2024"
    assert parse_text("a.md", "---\ntitle: 2024-01-02\n---\n").title == "2024-01-02"


@pytest.mark.parametrize(
    ("front", "tags"),
    [
        ("tags: [rag, llm]", ["rag", "llm"]),
        ("tags:\n  - rag\n  - 검색", ["rag", "검색"]),
        ("tags: rag, llm", ["rag", "llm"]),
        ("tags: rag llm", ["rag", "llm"]),
        ("tag: kubernetes", ["kubernetes"]),
        ("tags: [rag, '', null, rag]", ["rag"]),
        ("tags: 42", ["42"]),
        ("tags: [[a, b], c]", ["a", "b", "c"]),
        ("tags:", []),
        ("Tags: ['#시험대비']", ["시험대비"]),
    ],
)
def test_tag_forms(front: str, tags: list[str]) -> None:
    assert parse_text("a.md", f"---\n{front}\n---\nbody\n").tags == tags


def test_inline_hashtags_outside_code() -> None:
    body = "관련: #cka #시험대비 and #cka again\n\n```\n#not-a-tag\n```\nand `#inline` x#y #123\n"
    assert parse_text("a.md", body).tags == ["cka", "시험대비"]


def test_frontmatter_and_inline_tags_merge_without_duplicates() -> None:
    note = parse_text("a.md", "---\ntags: [rag]\n---\n#RAG #llm\n")
    assert note.tags == ["rag", "llm"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("date: 2024-03-02", dt.datetime(2024, 3, 2)),
        ("date: 2024/02/15", dt.datetime(2024, 2, 15)),
        (
            "date: 2018-02-20 22:59:38 +0900",
            dt.datetime(2018, 2, 20, 22, 59, 38, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        ),
        ("created: '2021-07-01 10:00'", dt.datetime(2021, 7, 1, 10, 0)),
        ("Date: 2024.01.05", dt.datetime(2024, 1, 5)),
    ],
)
def test_date_forms(value: str, expected: dt.datetime) -> None:
    assert parse_text("a.md", f"---\n{value}\n---\n").date == expected


def test_bad_date_is_none_not_an_error() -> None:
    assert parse_text("a.md", "---\ndate: someday\n---\n").date is None


def test_unparsable_frontmatter_keeps_body_and_warns() -> None:
    note = parse_text("a.md", "---\ntitle: [broken\n---\n본문 정족수를\n")
    assert "정족수를" in note.body
    assert "---" not in note.body
    assert note.warnings and "not valid YAML" in note.warnings[0]


@pytest.mark.parametrize("front", ["- a\n- b", "just a string", "42"])
def test_frontmatter_that_is_not_a_mapping(front: str) -> None:
    note = parse_text("a.md", f"---\n{front}\n---\n본문\n")
    assert note.body.strip() == "본문"
    assert note.warnings and "not a mapping" in note.warnings[0]


def test_empty_frontmatter_block() -> None:
    note = parse_text("a.md", "---\n---\n# 제목\n")
    assert note.title == "제목" and not note.warnings


def test_links() -> None:
    body = (
        "[[k8s/rbac]] [[rag|RAG 노트]] [[Some Title#section]] [x](other.md) [y](../up.md) [z](../../out.md) "
        "[web](https://example.com/a.md) `[[in-code]]`"
    )
    assert parse_text("dir/a.md", body).links == ["k8s/rbac", "rag", "Some Title", "dir/other", "up"]


def test_decode_bom_crlf_and_lone_cr() -> None:
    text, warnings = decode_bytes(b"\xef\xbb\xbf# t\r\nline\rnext\n")
    assert text == "# t\nline\nnext\n" and warnings == []


def test_decode_cp949() -> None:
    text, warnings = decode_bytes("교착상태에서 벗어나기".encode("cp949"))
    assert text == "교착상태에서 벗어나기"
    assert "CP949" in warnings[0]


def test_decode_garbage_is_replaced_with_a_warning() -> None:
    text, warnings = decode_bytes(b"abc \xff\xfe\xfd def")
    assert "abc" in text and "def" in text
    assert warnings and "UTF-8" in warnings[0]


def test_decode_binary() -> None:
    text, warnings = decode_bytes(b"\x00\x01\x02PNG")
    assert text == "" and "binary" in warnings[0]


def test_nfd_is_normalised_to_nfc() -> None:
    import unicodedata

    nfd = unicodedata.normalize("NFD", "파드가 있다")
    note = parse_text(unicodedata.normalize("NFD", "노트.md"), nfd)
    assert note.body == "파드가 있다" and note.slug == "노트"
    assert note.path == unicodedata.normalize("NFD", "노트.md")  # the file's own name, to open it


def test_read_fixture_notes(notebook_dir: Path) -> None:
    files = dict(iter_note_files(notebook_dir))
    assert sorted(files) == [
        "airflow.md",
        "broken.md",
        "empty.md",
        "euckr.md",
        "k8s/rbac.md",
        "k8s/serviceaccount.md",
        "rag.md",
        "windows.md",
    ]
    assert read_note(notebook_dir, "empty.md").title == "empty"
    assert read_note(notebook_dir, "windows.md").title == "BOM 노트"
    assert read_note(notebook_dir, "euckr.md").title == "옛날 노트"
    rbac = read_note(notebook_dir, "k8s/rbac.md")
    assert rbac.tags == ["kubernetes", "rbac"]
    assert rbac.links == ["rag", "k8s/serviceaccount"]
    assert rbac.slug == "k8s/rbac"


def test_date_falls_back_to_mtime(notebook_dir: Path) -> None:
    os.utime(notebook_dir / "empty.md", (1_600_000_000, 1_600_000_000))
    assert read_note(notebook_dir, "empty.md").date == dt.datetime.fromtimestamp(1_600_000_000)


# --------------------------------------------------------------------------- slugs and writing


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("쿠버네티스 RBAC 정리", "쿠버네티스-rbac-정리"),
        ("Airflow Executors!", "airflow-executors"),
        ("  C++ / Rust: 비교  ", "c-rust-비교"),
        ("snake_case title", "snake-case-title"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug


@pytest.mark.parametrize(
    "bad",
    [
        "../escape",
        "a/../../b",
        "/etc/passwd",
        "a//b",
        "CON",
        "dir/nul.txt",
        ".hidden",
        "a\x00b",
        "x" * 300,
        "C:\\x",
        "",
        "a/ b",
    ],
)
def test_bad_slugs_are_refused(bad: str) -> None:
    with pytest.raises(BadSlug):
        validate_slug(bad)


def test_note_path_refuses_a_symlink_out(tmp_path: Path) -> None:
    root = tmp_path / "nb"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(BadSlug):
        note_path(root, "out/evil")
    assert note_path(root, "k8s/new") == root / "k8s" / "new.md"


def test_note_path_refuses_a_symlink_to_a_sibling_with_the_same_start(tmp_path: Path) -> None:
    # `notes/out` -> `../notes2`: "/x/notes2" starts with "/x/notes" but is outside it
    # (a check without the separator would let the note be written there).
    root = tmp_path / "notes"
    root.mkdir()
    (tmp_path / "notes2").mkdir()
    (root / "out").symlink_to("../notes2")
    with pytest.raises(BadSlug):
        note_path(root, "out/evil")
    with pytest.raises(BadSlug):
        note_path(root, "out/deeper/evil")
    (root / "in").symlink_to("../notes/k8s")  # a symlink that stays inside is fine
    assert note_path(root, "in/new") == root / "in" / "new.md"


def test_write_new_note_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "w" / "a.md"
    write_new_note(path, "first\n")
    with pytest.raises(NoteExists):
        write_new_note(path, "second\n")
    assert path.read_text() == "first\n"
    assert [p.name for p in path.parent.iterdir()] == ["a.md"]  # no temp file left
    assert oct(path.stat().st_mode & 0o777) == "0o644"


@given(
    title=st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and "\x00" not in s),
    tags=st.lists(
        st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12),
        max_size=4,
        unique_by=str.lower,
    ),
)
def test_new_note_round_trips(title: str, tags: list[str]) -> None:
    import unicodedata

    from hypothesis import assume

    from kb.notes import strip_controls

    # kb keeps no terminal control characters in a title (kb add removes them first).
    title = strip_controls(title).strip()
    assume(title)
    text = render_new_note(title, tags, "본문")
    note = parse_text("n.md", text)
    assert note.title == unicodedata.normalize("NFC", title)
    assert note.tags == [unicodedata.normalize("NFC", t) for t in tags]
    assert note.body.strip() == "본문"


def test_heading_anchor_is_not_a_tag_and_inline_code_stays_in_title() -> None:
    note = parse_text("a.md", "# HMR `hotUpdate()` 훅 {#hmr-hook}\n\n## 동기 {#motivation}\n")
    assert note.tags == []
    assert note.title == "HMR hotUpdate() 훅"


def test_read_body_matches_parsed_body(notebook_dir: Path) -> None:
    from kb.notes import read_body

    for rel, _ in iter_note_files(notebook_dir):
        if rel != "broken.md":
            assert read_body(notebook_dir, rel) == read_note(notebook_dir, rel).body, rel
