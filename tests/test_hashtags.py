"""Issue 15 (2): a hashtag is `#word` in prose; heading anchors, CSS colours, HTML
attributes, URL fragments and code are not tags.

On the corpus, before: 3,484 tags, 2,049 named like a `](#...)` anchor, `ecf1e8` in the
top ten.
"""

from __future__ import annotations

import pytest

from kb.notes import parse_text


def tags_of(body: str) -> list[str]:
    return parse_text("a.md", body).tags


@pytest.mark.parametrize(
    ("body", "tags"),
    [
        ("#쿠버네티스 정리", ["쿠버네티스"]),
        ("관련: #cka #시험대비", ["cka", "시험대비"]),
        ("(#rag) 참고", ["rag"]),
        ("문장 끝 #llm.", ["llm"]),
        ("<p>#html-안의-태그</p>", ["html-안의-태그"]),
        ("## 제목 #tag", ["tag"]),
        ("line\n#second-line", ["second-line"]),
        ("#k8s/rbac 경로형", ["k8s/rbac"]),
    ],
)
def test_hashtags_in_prose_are_tags(body: str, tags: list[str]) -> None:
    assert tags_of(body) == tags


@pytest.mark.parametrize(
    "body",
    [
        "[교착 상태](#교착-상태)를 보라",  # a heading anchor
        "[다른 노트](other.md#교착-상태)",
        "[x]( #with-blank)",
        "[ref]: #reference-anchor",
        "  [ref]: https://example.com/page#frag",
        "background-color: #ecf1e8;",  # CSS values: hex colours
        "| primary | #fafafa |",
        "color #fff and #FFFFFF80 and #abcd",
        '<span style="color: #abc123">x</span>',  # HTML attributes
        '<a href="#section">x</a>',
        '<div\n  style="background: #eee; font: #bold">',
        "<style>\n#main { color: red }\n.x { background: #ccc }\n</style>",
        "<script>\n#notatag\n</script>",
        "<!-- #commented-out -->",
        "https://example.com/page#section",  # URL fragments
        "<https://example.com/#anchor>",
        "[[note#heading]] and [[#same-note-heading]]",  # wiki-link anchors
        "`#inline-code`",
        "```\n#fenced\n```",
        "C# and F# and issue #123 and x#y and &#39;",
        "## 제목 {#custom-id}",
        "\\#escaped",
        '"#quoted"',
    ],
)
def test_not_hashtags(body: str) -> None:
    assert tags_of(body) == [], body


def test_real_tags_stay_next_to_anchors_and_colours() -> None:
    body = (
        "# 교착 상태\n\n[교착 상태](#교착-상태) 참고. #운영체제 #os\n\n"
        '<span style="color: #ecf1e8">강조</span> #deadlock\n'
    )
    assert tags_of(body) == ["운영체제", "os", "deadlock"]


def test_hex_colours_are_not_tags_but_longer_hex_like_words_are() -> None:
    from kb.notes import hashtags

    assert hashtags("#ecf1e8 #fff #facade #decade1 #abcdefabc") == ["decade1", "abcdefabc"]


def test_frontmatter_tags_are_kept_whatever_they_look_like() -> None:
    """Only hashtags in the text are judged; a tag written in the frontmatter is a tag."""
    assert parse_text("a.md", "---\ntags: [fff, 교착-상태]\n---\n").tags == ["fff", "교착-상태"]
