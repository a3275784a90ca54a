"""kb/render.py's faster note rendering gives Rich's own output, byte for byte."""

import io
import random
import re

import pytest
from rich.console import Console
from rich.markdown import Markdown
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text

from kb import render

CODE = [
    ("python", "def f(x):\n    return x + 1\n"),
    ("python", "\n\nx = 1\n\n\n"),  # blank lines first and last
    ("js", "const veryLongName = someFunction(argumentNumberOne, argumentNumberTwo, argumentNumberThree);"),
    ("sh", "echo '한글 주석과 긴 줄: 쿠버네티스 파드가 재시작되는 이유는 liveness probe 실패' | grep 파드"),
    ("go", "func main() {\n\tif x {\n\t\tfmt.Println(\"tab\")\n\t}\n}"),  # tabs
    ("text", "plain text, no lexer\n  indented   with   blanks   "),
    ("no-such-language", "x = 1 # an unknown lexer"),
    ("yaml", "emoji: 🚀🚀🚀\nzwj: 👩‍💻\ncombining: e\u0301e\u0301e\u0301"),
    ("jsx", "return <p className='small'>©\ufe0f {year}</p>;"),  # a variation selector: its own segment
    ("", ""),
    ("python", "x" * 38),  # exactly the width of a 40-cell block at 40 columns
    ("python", "y" * 39),  # one cell more: wrapped by Rich
    ("sql", "SELECT *\n  FROM notes\n WHERE title LIKE '%파드%'   \n"),
    ("python", "a = 1\r\nb = '\x07bell'\r\n\x0c\nc = \"\"\"multi\nline\nstring\"\"\"\n\n\n"),  # CRLF
    ("html", "<div>\n  <p>한글</p>\n</div>\n"),  # lexers within a lexer
    ("diff", "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new"),
]

CONSOLES = [(80, None), (40, "truecolor"), (23, "256"), (7, "standard"), (3, "truecolor"), (2, None)]


def _console(width: int, colours: str | None) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=colours is not None, color_system=colours,
                   legacy_windows=False)


@pytest.mark.parametrize("theme", ["monokai", "ansi_dark", "default"])
@pytest.mark.parametrize(("width", "colours"), CONSOLES)
def test_code_segments_are_riches_own(theme: str, width: int, colours: str | None) -> None:
    for lexer, code in CODE:
        console = _console(width, colours)
        syntax = Syntax(code.rstrip(), lexer or "text", theme=theme, word_wrap=True, padding=1)
        want = list(console.render(syntax, console.options))
        got = render.code_segments(syntax, console, console.options)
        if width - 2 < 1:
            assert got is None  # too narrow: Rich's way
            continue
        assert got == want, (lexer, code)


def test_code_segments_leave_other_syntax_to_rich() -> None:
    console = _console(80, "truecolor")
    for syntax in (Syntax("x = 1", "python", line_numbers=True, word_wrap=True, padding=1),
                   Syntax("x = 1", "python", padding=1)):  # no word wrap
        assert render.code_segments(syntax, console, console.options) is None


NOTE = """# 제목

Some *text* with `code` and a [link](https://example.com).

```python
def f():
    return "한글"  # a comment long enough to be wrapped at the narrower widths of this test
```

- a list item

  ```sh
  kubectl get pods -n kube-system
  ```

  1. nested
     ```
     plain code in a nested list
     ```

> quoted
> ```js
> const x = 1;
> ```

    indented code block

| a | b |
|---|---|
| 1 | 2 |
"""


def _plain_ids(text: str) -> str:
    """Rich gives every hyperlink a random id each time it renders it."""
    return re.sub(r"\x1b]8;id=\d+;", "\x1b]8;id=;", text)


@pytest.mark.parametrize(("width", "colours"), CONSOLES[:4])
@pytest.mark.parametrize("theme", ["monokai", "ansi_dark"])
def test_note_body_renders_as_riches_markdown(width: int, colours: str | None, theme: str) -> None:
    outs = []
    for markdown in (Markdown(NOTE, code_theme=theme), render.note_body(NOTE, code_theme=theme)):
        console = _console(width, colours)
        console.print(markdown)
        outs.append(_plain_ids(console.file.getvalue()))
    assert outs[0] == outs[1]


@pytest.mark.parametrize(("width", "colours"), CONSOLES[:3])
def test_laid_out_prints_what_print_prints(width: int, colours: str | None) -> None:
    from kb.notes import parse_text

    note = parse_text("n.md", "---\ntags: [a]\n---\n" + NOTE)

    def view() -> object:
        return render.note_view(note, "n.md", backlinks=[("b", "B")], related=[("c", "C")])

    outs = []
    for how in ("print", "laid out", "laid out, not cropped again"):
        console = _console(width, colours)
        if how == "print":
            console.print(view())
        else:
            kept = render.laid_out(console, view())
            assert kept.height == len(console.render_lines(view(), console.options, pad=False))
            console.print(kept, crop=how == "laid out")
        outs.append(_plain_ids(console.file.getvalue()))
    assert outs[0] == outs[1] == outs[2]


WORDS = ["the", "pod", "쿠버네티스", "파드가", "재시작된다", "liveness", "probe", " ", "  ", "   ", "🚀",
         "👩‍💻",
         "e\u0301", "©\ufe0f", "x" * 30, "긴" * 25, "https://example.com/a/very/long/path/that/never/ends",
         "(괄호)", ",", ".", "\n", "\n\n", "a\u200bb", "ｆｕｌｌ"]
STYLES = [None, None, "bold", "italic red", "markdown.code", "markdown.link_url"]


def _random_text(rng: random.Random) -> Text:
    text = Text(justify=rng.choice(["left"] * 6 + [None, "center"]))
    for _ in range(rng.randint(0, 40)):
        piece = "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        style = rng.choice(STYLES + [Style(link="https://example.com")])
        text.append(piece, style)
    return text


@pytest.mark.parametrize("colours", [None, "standard", "256", "truecolor"])
def test_text_segments_are_riches_own(colours: str | None) -> None:
    rng = random.Random(17)
    fast = 0
    for n in range(400):
        text = _random_text(rng)
        width = rng.choice([1, 2, 3, 5, 9, 17, 20, 33, 40, 61, 80, 117])
        console = _console(width, colours)
        options = console.options if n % 5 else console.options.update(width=max(width - 3, 1))
        want = list(console.render(text, options))
        got = render.text_segments(text, console, options)
        if got is not None:
            fast += 1
            assert got == want, (text.plain, text.spans, width)
    assert fast > 300  # most texts take the fast way (not: centred, not justified)


def test_text_segments_leave_other_text_to_rich() -> None:
    console = _console(40, "truecolor")
    for text in (Text("a\tb", justify="left"), Text("x", justify="center"),
                 Text("x", style="bold", justify="left"), Text("x", justify="left", no_wrap=True),
                 Text("x", justify="left", overflow="ellipsis")):
        assert render.text_segments(text, console, console.options) is None
    overlapping = Text("abc", justify="left")
    overlapping.stylize("bold", 0, 2)
    overlapping.stylize("red", 1, 3)
    assert render.text_segments(overlapping, console, console.options) is None


def test_idle_steps_compile_the_common_lexers_ahead() -> None:
    """After kb.server's idle steps, a common fence's lexer has its rules compiled (what
    its first code block paid: 2-55 ms a language); the rendering is the same."""
    import subprocess
    import sys

    code = """
from pygments.lexers import find_lexer_class_by_name
from kb import render
classes = [find_lexer_class_by_name(n) for n in ("css", "python", "kotlin", "sql", "js", "yaml")]
assert not any("_tokens" in c.__dict__ for c in classes)
for _ in render.idle_steps():
    pass
assert all("_tokens" in c.__dict__ for c in classes)
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
    # the same output with and without the steps (a fresh process each)
    show = """
import io
from rich.console import Console
from kb import render
if %s:
    for _ in render.idle_steps():
        pass
c = Console(file=io.StringIO(), width=70, color_system="truecolor", force_terminal=True)
v = render.laid_out(c, render.note_body("x\\n\\n```css\\na { color: red }\\n```\\n```py\\nx = 1\\n```\\n"))
c.print(v)
print(c.file.getvalue())
"""
    outs = [subprocess.run([sys.executable, "-c", show % flag], capture_output=True, text=True,
                           timeout=120).stdout for flag in ("False", "True")]
    assert outs[0] == outs[1] and "color" in outs[0]


CELL_PIECES = ["a", " ", "쿠버네티스", "파드", "🚀", "👩‍💻", "©\ufe0f", "\ufe0f", "\u200d", "e\u0301",
               "\x00", "\x07", "\x1b", "\x7f", "\u200b", "ｆｕｌｌ", "中文", "\u3000", "ㄱ",
               "\U0001f1f0\U0001f1f7", "\t", "é"]


def _random_cells(rng: random.Random) -> str:
    return "".join(rng.choice(CELL_PIECES) for _ in range(rng.randint(0, 30)))


def test_cells_counts_as_rich_counts() -> None:
    from rich.cells import cell_len

    for codepoint in [*range(0, 0x3400), *range(0xAC00, 0xD7A4, 7), *range(0xE000, 0x30000, 13)]:
        ch = chr(codepoint)
        assert render._cells(ch) == cell_len(ch), hex(codepoint)
        assert render._cells(ch * 3 + "가") == cell_len(ch * 3 + "가"), hex(codepoint)
    rng = random.Random(5)
    for _ in range(3000):
        text = _random_cells(rng)
        assert render._cells(text) == cell_len(text), repr(text)


def test_divide_line_breaks_where_rich_breaks() -> None:
    from rich._wrap import divide_line

    rng = random.Random(7)
    for _ in range(3000):
        line = "".join(rng.choice(WORDS + CELL_PIECES[:12]) for _ in range(rng.randint(0, 25)))
        line = line.replace("\n", " ")
        width = rng.choice([1, 2, 3, 5, 9, 17, 40, 80])
        assert render._divide_line(line, width) == divide_line(line, width, fold=True), (line, width)


def test_crop_lines_are_riches_lines() -> None:
    from rich.segment import Segment

    rng = random.Random(11)
    styles = [None, Style(bold=True), Style(color="red", bgcolor="blue")]
    for _ in range(1500):
        segments = []
        for _ in range(rng.randint(0, 12)):
            text = _random_cells(rng) + rng.choice(["", "\n", "\n\n", "x\ny"])
            control = [(1,)] if rng.random() < 0.05 else None
            segments.append(Segment(text, rng.choice(styles), control))
        width = rng.choice([1, 2, 3, 7, 20, 80])
        pad, new_lines, style = rng.random() < 0.5, rng.random() < 0.5, rng.choice(styles)
        want = list(Segment.split_and_crop_lines(segments, width, style=style, pad=pad,
                                                 include_new_lines=new_lines))
        assert list(render._crop_lines(segments, width, style, pad, new_lines)) == want


LISTS = """- 쿠버네티스 파드가 재시작되는 이유는 대부분 liveness probe 실패이며,
  이 줄은 좁은 폭에서 여러 번 접힌다
- `code` **굵게** *기울임* [링크](https://example.com)
  - 중첩된 항목 👩‍💻 🚀 ©\ufe0f
    > 인용 안의 긴 한국어 문장은 네 칸 들여쓰기 뒤에 접힌다, 줄바꿈 위치는 Rich와 같아야 한다

8. 여덟
9. 아홉
10. 열: 번호의 폭이 달라진다

> - 인용 안의 목록
> - 두 번째 항목: ｆｕｌｌ width 문자와 中文
>
> > 중첩 인용
"""


@pytest.mark.parametrize(("width", "colours"), CONSOLES)
def test_lists_and_quotes_render_as_riches_markdown(width: int, colours: str | None) -> None:
    outs = []
    for markdown in (Markdown(LISTS), render.note_body(LISTS)):
        console = _console(width, colours)
        console.print(markdown)
        outs.append(_plain_ids(console.file.getvalue()))
    assert outs[0] == outs[1]


def test_divide_line_is_linear_on_long_blanks() -> None:
    import time

    for line in (" " * 300_000, " " * 300_000 + "x", "x" + " " * 300_000, ("가 " * 100_000) + " " * 100_000):
        start = time.perf_counter()
        render._divide_line(line, 80)
        assert time.perf_counter() - start < 2.0
