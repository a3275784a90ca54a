"""Rich views of kb's data. The only module that imports Rich; nothing here prints."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text

if TYPE_CHECKING:
    from .index.sync import IndexInfo, IndexStats
    from .noterow import NoteRow
    from .notes import Note
    from .search import SearchResult

_WIKILINK_RE = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]*))?\]\]")


def code_theme() -> str:
    """The Pygments theme of code blocks in a rendered note: ``$KB_CODE_THEME``, else monokai."""
    return os.environ.get("KB_CODE_THEME") or "monokai"


def safe_path(path: object) -> str:
    """A file name fit for the terminal: control characters (an ESC could set the
    clipboard, retitle the window, erase lines) shown as ``?``, as slugs show them."""
    from .notes import strip_controls

    return strip_controls(str(path), "?")


def _tags_text(tags: Iterable[str]) -> Text:
    text = Text()
    for i, tag in enumerate(tags):
        if i:
            text.append(" ")
        text.append(f"#{tag}", style="cyan")
    return text


def search_results(result: SearchResult) -> RenderableType:
    """Numbered hits (title, ``path:line``, tags) with their snippets; or why there are none.

    Piped (:meth:`SearchView.plain`), the same lines without colour, wrapping or padding."""
    return SearchView(result)


class SearchView:
    """The view of a :class:`SearchResult` (see :func:`search_results`)."""

    def __init__(self, result: SearchResult) -> None:
        self.result = result

    def _lines(self) -> list[tuple[Text, bool]]:
        """``(line, is a snippet)`` pairs: a snippet is indented and wrapped on a terminal."""
        result = self.result
        lines: list[tuple[Text, bool]] = []
        if not result.hits:
            lines.append((Text(f"No notes match {result.query!r}.", style="bold"), False))
        if result.notice:
            lines.append((Text(result.notice, style="yellow"), False))
        if result.suggestions:
            line = Text("Did you mean: ")
            for i, s in enumerate(result.suggestions):
                if i:
                    line.append(", ")
                line.append(s, style="bold green")
            line.append("?")
            lines.append((line, False))
        if not result.hits:
            return lines
        for i, hit in enumerate(result.hits, 1):
            head = Text()
            head.append(f"{i:>2}. ", style="dim")
            head.append(hit.title, style="bold")
            head.append(f"  {hit.path}" + (f":{hit.line}" if hit.line else ""), style="green")
            if hit.tags:
                head.append("  ")
                head.append_text(_tags_text(hit.tags))
            lines.append((head, False))
            if hit.snippet:
                snip = Text(hit.snippet)
                for s, e in hit.highlights:
                    snip.stylize("bold reverse yellow", s, e)
                lines.append((snip, True))
        shown = len(result.hits)
        more = f" (showing {shown})" if result.total > shown else ""
        total = f"{result.total} note{'s' if result.total != 1 else ''}{more}"
        lines.append((Text(total, style="dim"), False))
        return lines

    def plain(self) -> str:
        lines = self._lines()
        return "".join(("    " if snippet else "") + line.plain.rstrip() + "\n" for line, snippet in lines)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        indent = Segment("    ")
        for line, snippet in self._lines():
            if not snippet:
                yield line
                continue
            for part in line.wrap(console, max(options.max_width - 4, 10)):
                part.rstrip()
                yield indent
                yield from part.render(console)
                yield Segment.line()


_KIND_LABEL = {
    "alias": "alias",
    "split": "as two words",
    "stem": "same stem",
    "gloss": "glossed",
    "sound": "sounds alike",
    "typo": "likelier spelling",
    "fix": "typo fixed",
    "layout": "keyboard layout",
    "initials": "initials",
    "shorter": "shorter form",
    "parts": "its parts in a row",
    "verb": "another form",
    "learned": "learned",
    "phrase": "sounds alike, as one phrase",
}


def explain_view(result: SearchResult) -> RenderableType:
    """``kb search --explain``: each query word with what kb searched for it (and the
    weights), how the words were combined, and the terms each top hit matched."""
    exp = result.explanation
    parts: list[RenderableType] = [Text(f"Query: {result.query}", style="bold")]
    if exp is None:
        return Group(*parts)
    for plan in exp.words:
        line = Text("  ")
        line.append(plan.text, style="bold")
        typed = " ".join(plan.terms)
        line.append(f"  {typed}" if typed != plan.text else "")
        line.append(" 1.00" if plan.found else " (not in the notes)", style="dim")
        if plan.question:
            line.append("  question word: weighs little", style="dim")
        parts.append(line)
        for v in plan.variants:
            row = Text("    -> ")
            row.append(" ".join(v.terms), style="green")
            row.append(f" {v.weight:.2f} {_KIND_LABEL.get(v.kind, v.kind)}", style="dim")
            if v.why:
                row.append(f" ({v.why})", style="dim")
            parts.append(row)
        if plan.correction:
            parts.append(Text(f"    searched as {plan.correction}", style="yellow"))
    parts.append(Text(f"Combined: {exp.combined}", style="dim"))
    for i, hit in enumerate(exp.hits, 1):
        head = Text(f"{i:>2}. ", style="dim")
        head.append(hit.slug, style="green")
        head.append(f"  {hit.score:.2f}", style="dim")
        parts.append(head)
        by_field: dict[str, list[str]] = {}
        for f, t in hit.matched:
            by_field.setdefault(f, []).append(t)
        for f, terms in by_field.items():
            parts.append(Text(f"    {f}: {', '.join(terms)}", style="dim"))
    return Group(*parts)


def _fmt_date(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.hour == value.minute == value.second == 0 and value.tzinfo is None:
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M")


def readable_links(markdown: str, title_of: Callable[[str], str | None] | None = None) -> str:
    """``[[k8s/rbac|RBAC 노트]]`` -> ``**RBAC 노트**``: readable text for rendering.

    A link without a label shows ``title_of(target)`` when given (the title of the note
    it names, None if broken), else the target without its ``#anchor``. Links inside
    code are left alone (``[[ -f x ]]`` in a shell snippet is not a link).
    """
    from .links import link_occurrences

    def label(m: re.Match[str]) -> str:
        if m.group(2) and m.group(2).strip():
            return f"**{m.group(2).strip()}**"
        target = m.group(1).strip()
        shown = title_of(target) if title_of else None
        return f"**{shown or target.split('#', 1)[0].strip() or target}**"

    wiki = [o for o in link_occurrences(markdown) if o.kind == "wiki"]
    pieces: list[str] = []
    last = 0
    for occ in wiki:
        m = _WIKILINK_RE.match(markdown, markdown.rfind("[[", 0, occ.start))
        if m is None or m.end() <= last:
            continue
        pieces += [markdown[last : m.start()], label(m)]
        last = m.end()
    pieces.append(markdown[last:])
    return "".join(pieces)


def note_view(
    note: Note,
    path_display: str,
    backlinks: list[tuple[str, str]] | None = None,
    title_of: Callable[[str], str | None] | None = None,
    code_theme: str = "monokai",
    related: list[tuple[str, str]] | None = None,
) -> RenderableType:
    parts: list[RenderableType] = [note_header(note, path_display),
                                   note_body(note.body, title_of, code_theme)]
    if backlinks:
        parts.append(_backlinks_section(backlinks))
    if related:
        parts.append(_related_section(related))
    for w in note.warnings:
        parts.insert(1, Text(f"warning: {w}", style="yellow"))
    return Group(*parts)


def note_header(note: Note, path_display: str) -> RenderableType:
    """The panel above a rendered note: its title, tags, date and path."""
    from rich.panel import Panel
    from rich.table import Table

    header = Table.grid(padding=(0, 2))
    header.add_column(style="dim")
    header.add_column()
    if note.tags:
        header.add_row("tags", _tags_text(note.tags))
    header.add_row("date", _fmt_date(note.date))
    header.add_row("path", Text(safe_path(path_display)))  # Text: `[x]` in a folder name is not markup
    return Panel(header, title=Text(note.title, style="bold"), title_align="left", expand=True)


def note_body(markdown: str, title_of: Callable[[str], str | None] | None = None,
              code_theme: str = "monokai") -> RenderableType:
    """A note's Markdown body rendered (wiki links as readable text): Rich's ``Markdown``,
    its code blocks laid out faster (see :func:`code_segments`), the same output."""
    return _markdown_class()(readable_links(markdown.strip(), title_of) or "*empty note*",
                             code_theme=code_theme)


_MARKDOWN: Any = None


def _markdown_class() -> Any:
    """Rich's ``Markdown`` with one parser for every note (its rules built once, not per
    note) and code blocks through :func:`code_segments`. Built on first use: Rich's
    Markdown and Pygments are imported only by the commands that render a note."""
    global _MARKDOWN
    if _MARKDOWN is not None:
        return _MARKDOWN
    from markdown_it import MarkdownIt
    from rich.markdown import BlockQuote, CodeBlock, Heading, ListItem, Markdown, Paragraph
    from rich.segment import Segment
    from rich.syntax import Syntax

    parser = MarkdownIt().enable("strikethrough").enable("table")  # as Rich's Markdown does

    class FastCodeBlock(CodeBlock):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            syntax = Syntax(str(self.text).rstrip(), _lexer(self.lexer_name), theme=_theme(self.theme),
                            word_wrap=True, padding=1)
            segments = code_segments(syntax, console, options)
            if segments is None:
                yield syntax
            else:
                yield from segments

    class FastParagraph(Paragraph):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            self.text.justify = self.justify
            segments = text_segments(self.text, console, options)
            if segments is None:
                yield self.text
            else:
                yield from segments

    class FastHeading(Heading):
        def __rich_console__(self, console: Any, options: Any) -> Any:
            text = self.text.copy()
            text.justify = self.LEVEL_ALIGN.get(self.tag, "left")
            segments = text_segments(text, console, options)
            if segments is None:
                yield text
            else:
                yield from segments

    class FastListItem(ListItem):  # ListItem's, the lines split by _render_lines
        def render_bullet(self, console: Any, options: Any) -> Any:
            lines = _render_lines(console, self.elements, options.update(width=options.max_width - 3),
                                  style=self.style)
            bullet_style = console.get_style("markdown.item.bullet", default="none")
            bullet = Segment(" • ", bullet_style)
            padding = Segment(" " * 3, bullet_style)
            new_line = Segment("\n")
            for k, line in enumerate(lines):
                yield padding if k else bullet
                yield from line
                yield new_line

        def render_number(self, console: Any, options: Any, number: int, last_number: int) -> Any:
            number_width = len(str(last_number)) + 2
            width = options.max_width - number_width
            lines = _render_lines(console, self.elements, options.update(width=width), style=self.style)
            number_style = console.get_style("markdown.item.number", default="none")
            new_line = Segment("\n")
            padding = Segment(" " * number_width, number_style)
            numeral = Segment(f"{number}".rjust(number_width - 1) + " ", number_style)
            for k, line in enumerate(lines):
                yield padding if k else numeral
                yield from line
                yield new_line

    class FastBlockQuote(BlockQuote):  # BlockQuote's, the lines split by _render_lines
        def __rich_console__(self, console: Any, options: Any) -> Any:
            lines = _render_lines(console, self.elements, options.update(width=options.max_width - 4),
                                  style=self.style)
            new_line = Segment("\n")
            padding = Segment("▌ ", self.style)
            for line in lines:
                yield padding
                yield from line
                yield new_line

    class KbMarkdown(Markdown):
        elements = {**Markdown.elements, "fence": FastCodeBlock, "code_block": FastCodeBlock,
                    "paragraph_open": FastParagraph, "heading_open": FastHeading,
                    "list_item_open": FastListItem, "blockquote_open": FastBlockQuote}

        def __init__(self, markup: str, code_theme: str = "monokai") -> None:
            self.markup = markup
            self.parsed = parser.parse(markup)
            self.code_theme = code_theme
            self.justify = None
            self.style = "none"
            self.hyperlinks = True
            self.inline_code_lexer = None
            self.inline_code_theme = code_theme

    _MARKDOWN = KbMarkdown
    return KbMarkdown


#: Pygments' lexer class for each name a code fence gave (None: no such lexer), found once.
_LEXER_CLASSES: dict[str, Any] = {}
#: Rich's syntax theme for each code theme name, made once: ``Syntax(theme=NAME)`` made a
#: new one for every code block, whose token styles were then parsed again (~6% of a
#: long note's time); a theme keeps them (``PygmentsSyntaxTheme._style_cache``).
_THEMES: dict[str, Any] = {}


def _theme(name: str) -> Any:
    """``Syntax.get_theme(name)``, made once per name."""
    theme = _THEMES.get(name)
    if theme is None:
        from rich.syntax import Syntax

        if len(_THEMES) >= 16:
            _THEMES.clear()
        theme = _THEMES[name] = Syntax.get_theme(name)
    return theme


def _lexer(name: str) -> Any:
    """The lexer ``Syntax(code, name)`` uses (Pygments' ``get_lexer_by_name``, else its
    plain-text lexer), its class looked up once per name: a name Pygments does not know
    (``mermaid``, ``astro``, ``rust,ignore``) made it read every installed package's entry
    points, ~10 ms a code block."""
    cls = _lexer_class(name) or _lexer_class("text")
    return cls(stripnl=False, ensurenl=True, tabsize=4)  # Syntax's options (its tab size: 4)


def _lexer_class(name: str) -> Any:
    try:
        return _LEXER_CLASSES[name]
    except KeyError:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            cls = type(get_lexer_by_name(name))
        except ClassNotFound:
            cls = None
        _LEXER_CLASSES[name] = cls
        return cls


#: Code fence names common in notes (GitHub's most used languages and their usual
#: spellings), whose lexers :func:`idle_steps` compiles ahead: a lexer's first use compiles
#: its rules (2-55 ms each: css, kotlin, python, javascript, sql), within a cold ``kb show``.
COMMON_FENCES = ("bash", "sh", "shell", "console", "python", "py", "javascript", "js", "typescript",
                 "ts", "jsx", "tsx", "json", "yaml", "yml", "html", "xml", "css", "scss", "java",
                 "kotlin", "go", "rust", "c", "cpp", "c++", "csharp", "sql", "ruby", "php", "swift",
                 "diff", "toml", "ini", "dockerfile", "markdown", "text")


def idle_steps() -> Iterator[None]:
    """Work a resident process (:mod:`kb.server`) does ahead, a small step per ``next()``,
    while no request waits: what a first rendered note would otherwise pay within its
    command (Rich's Markdown with its parser, the code theme, a lexer's rules compiled
    for each of :data:`COMMON_FENCES`). The output is the same with or without it."""
    import io

    from rich.console import Console

    sample = ("# a\n\ntext `code` **b** [l](x)\n\n- item\n\n> quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
              "```text\nx\n```\n")
    _markdown_class()  # markdown-it's rules built
    yield
    console = Console(file=io.StringIO(), width=80, color_system="truecolor", force_terminal=True)
    laid_out(console, note_body(sample, code_theme=code_theme()))
    yield
    for name in COMMON_FENCES:
        _lexer(name)
        yield


class _Widths(dict):  # type: ignore[type-arg]
    """``str.translate`` table: a character of 2 cells -> two characters, of none ->
    deleted, of one -> itself (Rich's ``get_character_cell_size``), filled as met."""

    def __missing__(self, codepoint: int) -> Any:
        from rich.cells import get_character_cell_size

        size = get_character_cell_size(chr(codepoint))
        found = None if size == 0 else "\0\0" if size == 2 else codepoint
        if len(self) < _WIDTHS_MAX:  # bounded: a note of every character in Unicode
            self[codepoint] = found
        return found


#: At most this many characters in :data:`_WIDTHS` (Hangul syllables are 11,172).
_WIDTHS_MAX = 40_000
_WIDTHS = _Widths()
_SINGLE_CELLS: Any = None


def _cells(text: str) -> int:
    """``rich.cells.cell_len(text)``, the same number, ~2x faster on Hangul: one
    ``str.translate`` instead of a cached lookup per character."""
    global _SINGLE_CELLS
    if _SINGLE_CELLS is None:
        from rich.cells import _is_single_cell_widths

        _SINGLE_CELLS = _is_single_cell_widths
    if _SINGLE_CELLS(text):
        return len(text)
    if "\u200d" in text or "\ufe0f" in text:  # a joiner, an emoji selector: Rich counts them
        from rich.cells import cell_len

        return cell_len(text)
    return len(text.translate(_WIDTHS))


def _divide_line(text: str, width: int) -> list[int]:
    """``rich._wrap.divide_line(text, width, fold=True)``: the same offsets, the cells
    counted by :func:`_cells`, and none for a line that fits the width."""
    if _cells(text) <= width and "\u200d" not in text and "\ufe0f" not in text:
        return []  # every word fits where it is
    from rich._wrap import words  # (its regex matched from each word's end: linear)
    from rich.cells import chop_cells

    breaks: list[int] = []
    offset = 0
    for start, _, word in words(text):
        size = _cells(word.rstrip())
        if width - offset >= size:
            offset += _cells(word)
        elif size > width:
            folded = chop_cells(word, width=width)
            for k, line in enumerate(folded):
                if start:
                    breaks.append(start)
                if k == len(folded) - 1:
                    offset = _cells(line)
                else:
                    start += len(line)
        elif offset and start:
            breaks.append(start)
            offset = _cells(word)
    return breaks


def text_segments(text: Text, console: Any, options: Any) -> list[Any] | None:
    """``list(console.render(text, options))`` for a paragraph of a rendered note (a
    ``Text`` justified left, folded, spans in order and apart), the very same segments
    without Rich's general path (a ``Text`` for every line, its spans divided, cropped,
    padded and joined again: ~20% of a long note's time); None for any other text
    (render it as it is). ``tests/test_render.py`` compares the two."""
    from rich.cells import set_cell_size
    from rich.segment import Segment
    from rich.style import Style

    plain = text.plain
    justify = text.justify or options.justify or "default"
    overflow = text.overflow or options.overflow or "fold"
    no_wrap = text.no_wrap if text.no_wrap is not None else options.no_wrap
    if justify != "left" or overflow != "fold" or no_wrap or text.style or "\t" in plain:
        return None
    spans = text.spans
    last = 0
    for span in spans:  # in order, apart, not empty: each line's spans are its share of them
        if span.start < last or span.end <= span.start or span.end > len(plain):
            return None
        last = span.end
    width = options.max_width
    get_style = console.get_style
    null = Style.null()
    base = get_style("", default=null)  # the style of the lines joined (Text("\n"))
    plain_style = Style.combine((base,))
    out: list[Any] = []
    pending: list[str] = []  # text outside any span since the last cut
    any_span = False
    k = 0  # the first span that may reach into this line
    start = 0
    for hard in plain.split("\n"):
        offsets = _divide_line(hard, width)
        for a, b in zip([0, *offsets], [*offsets, len(hard)], strict=False):
            if b - a > width:  # Text.rstrip_end: blanks beyond the width (in characters) cut
                # (its r"\s+$", without the regex: linear on a long run of blanks)
                b -= min(b - a - len(hard[a:b].rstrip()), b - a - width)
            line = hard[a:b]
            cells = _cells(line)
            if cells > width:  # Text.truncate: cut to the width (half a wide character: a blank)
                line = set_cell_size(line, width)
            if a or start:  # a line after the first: the line break joining them
                pending.append("\n")
            a += start
            end = a + len(line)  # the spans, cut there
            while k < len(spans) and spans[k].end <= a:
                k += 1
            pos = a
            j = k if end > a else len(spans)
            while j < len(spans) and spans[j].start < end:  # (an empty line: none)
                s, e = max(spans[j].start, a), min(spans[j].end, end)
                if s > pos:
                    pending.append(line[pos - a : s - a])
                if pending:
                    out.append(Segment("".join(pending), plain_style))
                    pending.clear()
                style = Style.combine((base, get_style(spans[j].style, default=null)))
                out.append(Segment(line[s - a : e - a], style))
                any_span = True
                pos = e
                j += 1
            pending.append(line[pos - a :])
            if cells < width:
                pending.append(" " * (width - cells))
        start += len(hard) + 1
    if not any_span:
        out = [Segment("".join(pending))]
    elif pending and any(pending):
        out.append(Segment("".join(pending), plain_style))
    if text.end:
        out.append(Segment(text.end))
    return out


def code_segments(syntax: Any, console: Any, options: Any) -> list[Any] | None:
    """``list(console.render(syntax, options))`` for a code block as Rich's Markdown draws
    it (``Syntax(code, lexer, word_wrap=True, padding=1)``), the very same segments, in a
    fraction of the time; None for a ``Syntax`` set up otherwise (render it as it is).

    Rich lays out each line of code through its whole text machinery (wrap, justify,
    crop, pad) and the block again for its padding: ~80% of the time of a note with code.
    Pygments still colours the code (``Syntax.highlight``); a line that fits the width
    (nearly all) is padded and styled here as Rich would; a longer one goes through
    Rich's own ``render_lines``. ``tests/test_render.py`` compares the two on code of
    every kind, widths and colour systems."""
    from rich.segment import Segment
    from rich.style import Style

    top, right, bottom, left = syntax.padding
    width = options.max_width
    code_width = width - left - right
    if (code_width < 1 or options.height is not None or options.overflow == "ignore"
            or syntax.line_numbers or syntax.line_range or syntax.indent_guides or syntax.highlight_lines
            or syntax.code_width is not None or not syntax.word_wrap or syntax.dedent
            or syntax._stylized_ranges or options.legacy_windows):
        return None
    base = syntax._get_base_style()
    transparent = base.transparent_background
    background = Style.null() if transparent else base
    ends_on_nl, code = syntax._process_code(syntax.code)
    lines = _code_lines(syntax, code, ends_on_nl)
    if lines is None:
        return None
    line_options = options.update(width=code_width).update(height=None, justify="left")
    padding = console.get_style(base)
    blank = [Segment(f'{" " * width}\n', padding)]
    lead = [Segment(" " * left, padding)] if left else []
    tail = [Segment(" " * right, padding), Segment.line()] if right else [Segment.line()]
    styled = _Restyle(console, background, padding)
    out: list[Any] = blank * top
    justify = "default" if transparent else "left"  # (Syntax.highlight's)
    for plain, spans in lines:
        row = _fitting_line(plain, spans, base, justify, code_width, styled)
        if row is None:  # wider than the block (or spans Text.render must sort out): Rich's way
            line = Text(plain, style=base, justify=justify)  # as Text.split makes it
            line.spans[:] = spans
            for wrapped in _render_lines(console, line, line_options, style=background, pad=not transparent):
                out += lead
                out += Segment.adjust_line_length(styled.pad_all(wrapped), code_width, style=padding)
                out += tail
            continue
        out += lead
        out += row
        out += tail
    out += blank * bottom
    return out


def _code_lines(syntax: Any, code: str, allow_blank: bool) -> list[tuple[str, list[Any]]] | None:
    """``syntax.highlight(code).split("\\n", allow_blank=...)`` as ``(plain, spans)`` per line,
    straight from the lexer's tokens, the same text and spans (split into lines, none
    empty), without building the whole text first; None for what Rich must do itself."""
    from rich.control import strip_control_codes
    from rich.text import Span

    if syntax.background_color is not None or syntax.line_range:
        return None
    style_of = syntax._theme.get_style_for_token
    lines: list[tuple[str, list[Any]]] = []
    parts: list[str] = []
    spans: list[Any] = []
    col = 0
    last = ""
    tokens = list((syntax.lexer or syntax.default_lexer).get_tokens(code))
    whole = "".join([token for _, token in tokens])
    # strip_control_codes is asked of a token only when some token has a code it strips
    controls = any(code in whole for code in _STRIPPED_CONTROLS)
    for token_type, token in tokens:
        content = strip_control_codes(token) if controls else token
        if not content:
            continue  # no text: its span was empty, and Text.split leaves empty spans out
        style = style_of(token_type)
        last = content[-1]
        for k, piece in enumerate(content.split("\n")):
            if k:
                lines.append(("".join(parts), spans))
                parts, spans, col = [], [], 0
            if piece:
                parts.append(piece)
                if style:
                    spans.append(Span(col, col + len(piece), style))
                col += len(piece)
    if not lines:
        return None  # no line break at all: Text.split keeps the text as it is
    lines.append(("".join(parts), spans))
    if not allow_blank and last == "\n":
        lines.pop()
    return lines


#: The characters ``rich.control.strip_control_codes`` removes.
_STRIPPED_CONTROLS = ("\a", "\b", "\v", "\f", "\r")


#: :attr:`_Restyle.known` of each way a code block is drawn (its text style, background
#: and padding), for the next block.
_RESTYLED: dict[Any, dict[Any, Any]] = {}


class _Restyle:
    """The styles a code line's segments end with: the line's text style, then the block's
    background (Syntax's ``render_lines``), then its padding's style (``Padding``), each
    added as ``Segment.apply_style`` adds them; computed once per token style."""

    def __init__(self, console: Any, background: Any, padding: Any) -> None:
        from rich.style import Style

        self.console, self.background, self.padding = console, background, padding
        self.text_style = console.get_style("", default=Style.null())  # a joined Text's own style
        self.padded_background = padding + background if padding else background
        # kept for the next code blocks drawn alike (the same theme): their token styles
        key = (self.text_style, background, padding)
        if key not in _RESTYLED and len(_RESTYLED) >= 32:
            _RESTYLED.clear()
        self.known: dict[Any, Any] = _RESTYLED.setdefault(key, {})
        if len(self.known) >= 4096:
            self.known.clear()

    def pad_all(self, segments: list[Any]) -> list[Any]:
        from rich.segment import Segment

        if not self.padding:
            return segments
        add = self.padding.__add__
        return [Segment(t, None if c else add(st), c) for t, st, c in segments]

    def final(self, styles: tuple[Any, ...] | None) -> Any:
        """The segment style of text under ``styles`` (line style, token style); None:
        a text without any span (``Text.render`` gives its segment no style)."""
        found = self.known.get(styles)
        if found is None:
            from rich.style import Style

            get = self.console.get_style
            found = None if styles is None else Style.combine(
                [self.text_style, *(get(st, default=Style.null()) for st in styles)])
            if self.background:
                found = self.background + found
            if self.padding:
                found = self.padding + found
            self.known[styles] = found
        return found


def _fitting_line(plain: str, spans: list[Any], line_style: Any, justify: str, width: int,
                  styled: _Restyle) -> list[Any] | None:
    """One line of highlighted code (its text, spans, style and justification, as
    ``Text.split`` gives it) that fits ``width``, laid out as ``Text.wrap`` (padded to the
    width when justified left) and styled as ``Text.render`` would: a segment between any
    two span edges. None when it does not fit, or its spans overlap."""
    from rich.segment import Segment

    if len(plain) > width:
        return None
    cells = _cells(plain)
    if cells > width:
        return None
    end = len(plain)
    last = 0
    for span in spans:
        if span.start < last or span.end > end or span.end < span.start:
            return None
        last = span.end
    text = plain + " " * (width - cells) if justify == "left" else plain
    own = (line_style,) if line_style else ()
    if not own and not spans:
        row = [Segment(text, styled.final(None))]
    else:
        cuts = sorted({0, len(text), *(e for span in spans for e in (span.start, span.end))})
        row = []
        k = 0
        for a, b in zip(cuts, cuts[1:], strict=False):
            while k < len(spans) and spans[k].end <= a:
                k += 1
            covered = k < len(spans) and spans[k].start <= a and spans[k].end > a
            row.append(Segment(text[a:b], styled.final((*own, spans[k].style) if covered else own)))
    # Segment.adjust_line_length, twice (Syntax's lines, then Padding's): each adds the
    # cells the line's segments lack, counted segment by segment (a sign and its emoji
    # variation selector in two segments count one cell less than together)
    shown = sum([_cells(segment.text) for segment in row])
    if shown > width:
        return None
    if shown < width and justify == "left":
        row.append(Segment(" " * (width - shown), styled.padded_background))
    elif shown < width:
        row.append(Segment(" " * (width - shown), styled.padding))
    return row


class Column:
    """A column of a :class:`RowTable`.

    ``cut`` says how a cell too wide for the column is shortened: ``"end"`` (``긴 제…``),
    ``"middle"`` (``vue-ko/src/…/step-9/description``: a slug keeps its end) or
    ``"none"`` (dates, numbers: never cut). Columns that may be cut share the width
    left by the others in proportion to ``weight``, none getting more than it needs.
    """

    def __init__(self, header: str, style: str = "", justify: str = "left", cut: str = "end",
                 weight: float = 1.0) -> None:
        self.header, self.style, self.justify, self.cut, self.weight = header, style, justify, cut, weight


#: Blanks between two columns.
GAP = 2


class RowTable:
    """A list as one line a row, columns two blanks apart, never wrapped.

    On a terminal a row that is too wide is shortened cell by cell (see :class:`Column`),
    so the title of a note survives a long slug; no line ends in blanks. Piped,
    :meth:`plain` gives the rows as tab-separated lines without a header, for
    ``grep``, ``cut`` and ``sort``. A cell costs one ``cell_len`` (double-width
    Hangul counted as the terminal counts it) unless it has to be cut: 38,580 rows take
    ~1 s, where Rich's ``Table`` took 24 s.
    """

    def __init__(
        self, columns: list[Column], rows: list[tuple[str, ...]], caption: str | None = None,
        header: bool = True,
    ) -> None:
        self.columns = columns
        self.rows = [tuple(_one_line(c) for c in row) for row in rows]
        self.caption = caption
        self.header = header
        self._sizes: list[list[int]] | None = None  # cell widths, column by column

    #: Every line fits the width it was laid out for: the console need not crop it again
    #: (``console.print(table, crop=table.crop)``: half the time of a long list).
    crop = False

    def sizes(self) -> list[list[int]]:
        """Each cell's width in terminal cells, column by column (computed once)."""
        if self._sizes is None:
            from rich.cells import cell_len

            self._sizes = [[cell_len(r[i]) for r in self.rows] for i in range(len(self.columns))]
        return self._sizes

    @property
    def height(self) -> int:
        """Lines on a terminal (for the pager's "taller than the screen?")."""
        return int(self.header) + len(self.rows) + (1 if self.caption else 0)

    def plain(self) -> str:
        """Tab-separated lines, one a row, no header (what ``kb list | grep`` sees)."""
        return "".join("\t".join(row).rstrip(" ") + "\n" for row in self.rows)

    def widths(self, max_width: int) -> list[int]:
        """Each column's width in cells at ``max_width``; 0 leaves a column out.

        Columns that may be cut first share the room up to the width of nine cells in
        ten (a few very long titles or tag lists do not take it all), then what is left
        up to their widest cell."""
        from rich.cells import cell_len

        natural, typical = [], []
        for i, col in enumerate(self.columns):
            sizes = sorted(self.sizes()[i])
            head = cell_len(col.header)
            natural.append(max(sizes[-1], head) if sizes and sizes[-1] else 0)  # all empty: left out
            typical.append(max(sizes[(len(sizes) - 1) * 9 // 10], head) if natural[-1] else 0)
        while True:
            shown = [i for i, w in enumerate(natural) if w]
            room = max_width - GAP * (len(shown) - 1) - sum(natural[i] for i in shown
                                                              if self.columns[i].cut == "none")
            flexible = [i for i in shown if self.columns[i].cut != "none"]
            weight = {i: self.columns[i].weight for i in flexible}
            widths = {i: natural[i] for i in shown}
            widths.update(_share(room, {i: typical[i] for i in flexible}, weight))
            more = _share(room - sum(widths[i] for i in flexible),
                          {i: natural[i] - widths[i] for i in flexible}, weight)
            for i, extra in more.items():
                widths[i] += extra
            squeezed = [i for i in flexible if widths[i] < min(natural[i], 4)]
            if not squeezed or len(flexible) == 1:
                return [widths.get(i, 0) for i in range(len(natural))]
            # Too narrow to show anything useful: leave the least weighty column out.
            drop = min(squeezed, key=lambda i: (self.columns[i].weight, -i))
            natural[drop] = typical[drop] = 0

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.cells import cell_len
        from rich.segment import Segment

        widths = self.widths(options.max_width)
        shown = [i for i, w in enumerate(widths) if w]
        styles = [console.get_style(c.style) if c.style else None for c in self.columns]
        bold = console.get_style("bold")
        new_line = Segment.line()
        gap = " " * GAP

        def line(cells: tuple[str, ...], sizes: list[int], header: bool) -> Any:
            end = max((i for i in shown if cells[i]), default=-1)  # no blanks after the last cell
            for n, i in enumerate(shown):
                if i > end:
                    break
                col, width = self.columns[i], widths[i]
                text, size = cells[i], sizes[i]
                if size > width:
                    text = _cut(text, width, col.cut)
                    size = cell_len(text)
                pad = " " * (width - size)
                lead = gap if n else ""
                if col.justify == "right":
                    text = pad + text
                elif i != end:
                    text += pad
                # one segment a cell, the gap before it included: Rich's cost is per segment
                yield Segment(lead + text, bold if header else styles[i])
            yield new_line

        if self.header:
            yield from line(tuple(c.header for c in self.columns),
                            [cell_len(c.header) for c in self.columns], True)
        columns = self.sizes()
        for k, row in enumerate(self.rows):
            yield from line(row, [column[k] for column in columns], False)
        if self.caption:
            yield Segment(self.caption, console.get_style("dim"))
            yield new_line


def _share(room: int, needs: dict[int, int], weights: dict[int, float]) -> dict[int, int]:
    """``room`` cells shared among columns by ``weights``, none getting more than it
    ``needs``: what one does not need goes to the others."""
    given: dict[int, int] = {}
    left = [i for i in needs if needs[i] > 0]
    room = max(room, 0)
    while left:
        total = sum(weights[i] for i in left) or 1.0
        content = [i for i in left if needs[i] <= room * weights[i] / total]
        if not content:
            break
        for i in content:
            given[i] = needs[i]
            room -= needs[i]
        left = [i for i in left if i not in content]
    total = sum(weights[i] for i in left) or 1.0
    shared = 0
    for k, i in enumerate(left):
        given[i] = room - shared if k == len(left) - 1 else int(room * weights[i] / total)
        shared += given[i]
    return {i: given.get(i, 0) for i in needs}


def _one_line(text: str) -> str:
    """A cell as one line: no tab or line break (they would break the columns and TSV)."""
    if "\t" in text or "\n" in text or "\r" in text:
        return " ".join(text.split())
    return text


def _cut(text: str, width: int, how: str) -> str:
    """``text`` shortened to ``width`` cells with an ellipsis: at its end, or in its middle
    keeping the end twice as long as the start (``"none"``: as it is)."""
    if how == "none" or width <= 0:
        return text if how == "none" else ""
    if width == 1:
        return "…"
    if how == "middle":
        head = _take(text, (width - 1) // 3)
        tail = _take_end(text, width - 1 - _cells(head))
        return head + "…" + tail
    return _take(text, width - 1) + "…"


def _take(text: str, width: int) -> str:
    """The longest start of ``text`` at most ``width`` cells wide."""
    if text.isascii():
        return text[:width]
    from rich.cells import get_character_cell_size

    used = 0
    for k, ch in enumerate(text):
        used += get_character_cell_size(ch)
        if used > width:
            return text[:k]
    return text


def _take_end(text: str, width: int) -> str:
    """The longest end of ``text`` at most ``width`` cells wide."""
    if width <= 0:
        return ""
    return _take(text[::-1], width)[::-1]


def tag_counts(counts: list[tuple[str, int]]) -> RenderableType:
    if not counts:
        return Text("No tags yet.")
    # the count first, as `uniq -c` has it: a long tag does not push the counts off to the right
    return RowTable([Column("notes", justify="right", cut="none"), Column("tag", "cyan")],
                    [(str(n), tag) for tag, n in counts])


def notes_table(rows: list[NoteRow], caption: str | None = None) -> RenderableType:
    if not rows:
        return Text("No notes.")
    columns = [Column("slug", "green", cut="middle", weight=1.5), Column("title", weight=2.0),
               Column("tags", "cyan", weight=0.5), Column("date", "dim", cut="none")]
    cells = [
        (r.slug, r.title, " ".join(r.tags), _fmt_date(r.date))
        for r in rows
    ]
    return RowTable(columns, cells, caption=caption)


def index_stats(stats: IndexStats, show_warnings: bool = True) -> RenderableType:
    parts: list[RenderableType] = []
    if show_warnings:
        for path, msg in stats.warnings:
            parts.append(Text.assemble(("warning: ", "yellow"), (safe_path(path), "bold"), f": {msg}"))
    line = Text(str(stats))
    extra = f"  ({stats.total} notes, {stats.seconds:.2f} s"
    extra += ", full rebuild)" if stats.rebuilt else ")"
    line.append(extra, style="dim")
    parts.append(line)
    return Group(*parts)


def info_view(info: IndexInfo) -> RenderableType:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("notebook", Text(f"{safe_path(info.notebook)}  (from {info.source})"))
    grid.add_row("index", Text(safe_path(info.index_dir)))
    grid.add_row("notes", str(info.notes_on_disk))
    grid.add_row("indexed", str(info.notes_indexed))
    if info.fresh:
        fresh = Text("up to date", style="green")
    else:
        p = info.pending
        fresh = Text(
            f"stale: {p['added']} to add, {p['changed']} changed, {p['removed']} removed "
            "(any command brings it up to date)",
            style="yellow",
        )
    grid.add_row("index state", fresh)
    if info.watcher:
        grid.add_row("watcher", info.watcher)
    return grid


# --------------------------------------------------------------------------- links, recent, stats, diffs


def _backlinks_section(backlinks: list[tuple[str, str]]) -> RenderableType:
    head = Text(f"Linked from ({len(backlinks)})", style="bold")
    lines = [head]
    for slug, title in backlinks:
        lines.append(Text.assemble("  ← ", (slug, "green"), f"  {title}" if title != slug else ""))
    return Group(Text(""), *lines)


def _related_section(related: list[tuple[str, str]]) -> RenderableType:
    lines = [Text("Related", style="bold")]
    for slug, title in related:
        lines.append(Text.assemble("  ~ ", (slug, "green"), f"  {title}" if title != slug else ""))
    return Group(Text(""), *lines)


def related_view(slug: str, title: str, hits: list[Any]) -> RenderableType:
    if not hits:
        return Text(f"No notes are like {slug} yet.")
    table = RowTable([Column("slug", "green", cut="middle"), Column("title", weight=2.0),
                      Column("score", "dim", justify="right", cut="none")],
                     [(h.slug, h.title, f"{h.score:.1f}") for h in hits])
    return _Titled(Text.assemble("Notes like ", (title, "bold"), "  ", (slug, "green")), table)


class _Titled:
    """A line above a :class:`RowTable`; piped, only the table's rows."""

    def __init__(self, head: Text, table: RowTable) -> None:
        self.head, self.table = head, table

    @property
    def height(self) -> int:
        return 1 + self.table.height

    def plain(self) -> str:
        return self.table.plain()

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.head
        yield self.table


def links_view(
    slug: str,
    title: str,
    outgoing: list[tuple[str, str | None, str, str]],
    backlinks: list[tuple[str, str]],
) -> RenderableType:
    """``outgoing`` holds ``(target as written, slug or None, title, reason)``."""
    parts: list[RenderableType] = [Text.assemble((title, "bold"), "  ", (slug, "green"))]
    broken = sum(1 for _, s, _, _ in outgoing if s is None)
    head = f"Links to ({len(outgoing)}{f', {broken} broken' if broken else ''})"
    parts.append(Text(head, style="bold"))
    if not outgoing:
        parts.append(Text("  none", style="dim"))
    for target, to, to_title, reason in outgoing:
        if to is None:
            parts.append(Text.assemble("  ✗ ", (target, "bold red"), (f"  broken: {reason}", "red")))
        else:
            parts.append(Text.assemble("  → ", (to, "green"), f"  {to_title}" if to_title != to else ""))
    parts.append(Text(f"Linked from ({len(backlinks)})", style="bold"))
    if not backlinks:
        parts.append(Text("  none", style="dim"))
    for src, src_title in backlinks:
        parts.append(Text.assemble("  ← ", (src, "green"), f"  {src_title}" if src_title != src else ""))
    return Group(*parts)


def broken_links_table(rows: list[tuple[str, str, str]]) -> RenderableType:
    """``rows`` holds ``(source slug, target as written, reason)``."""
    if not rows:
        return Text("No broken links.")
    sources = len({r[0] for r in rows})
    caption = f"{len(rows)} broken link{'s' if len(rows) != 1 else ''} in {sources} note" + (
        "s" if sources != 1 else "")
    return RowTable([Column("note", "green", cut="middle"), Column("links to", "bold red", cut="middle"),
                     Column("why", "dim", weight=2.0)],
                    [(source, f"[[{target}]]", reason) for source, target, reason in rows], caption=caption)


def recent_table(rows: list[NoteRow]) -> RenderableType:
    if not rows:
        return Text("No notes.")
    cells = [(dt.datetime.fromtimestamp(r.mtime or 0.0).strftime("%Y-%m-%d %H:%M"), r.slug, r.title)
             for r in rows]
    return RowTable([Column("modified", "dim", cut="none"), Column("slug", "green", cut="middle"),
                     Column("title", weight=2.0)], cells)


def stats_view(stats: Any) -> RenderableType:
    from rich.table import Table

    """A :class:`kb.stats.NotebookStats` as a small report."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    grid.add_row("notes", f"{stats.notes:,}", "")
    grid.add_row("words", f"{stats.words:,}", "")
    grid.add_row("tags", f"{stats.tags:,}", "")
    grid.add_row("links", f"{stats.links:,}", f"{stats.broken_links:,} broken" if stats.links else "")
    grid.add_row("orphans", f"{stats.orphans:,}", "no links in or out")
    grid.add_row(
        "Korean / English",
        f"{stats.korean_share:.0%} / {stats.english_share:.0%}",
        f"{stats.hangul:,} Hangul syllables, {stats.latin:,} Latin letters (code left out)",
    )
    parts: list[RenderableType] = [grid]
    if stats.largest:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, title_justify="left")
        table.add_column("largest notes", style="green", no_wrap=True)
        table.add_column("title")
        table.add_column("words", justify="right")
        for n in stats.largest:
            table.add_row(Text(n.slug), Text(n.title), f"{n.words:,}")
        parts += [Text(""), table]
    return Group(*parts)


def diff_view(diff: str) -> RenderableType:
    """A unified diff, coloured by line on a terminal. Control characters in the notes'
    lines and names are left out (as ``kb show`` leaves them out): a diff of a note must
    not set the clipboard (OSC 52), retitle the window or erase lines."""
    from .notes import strip_controls

    text = Text()
    for line in strip_controls(diff).splitlines(keepends=True):
        if line.startswith(("+++", "---", "rename ")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line, style=style)
    return text


def grep_view(
    groups: list[tuple[str, str, list[list[tuple[int, str, list[tuple[int, int]] | None]]]]],
) -> RenderableType:
    """``kb grep`` on a terminal: per note a heading (title, slug), then ``LINE: text`` with
    the matches highlighted; context lines as ``LINE- text``, blocks apart by ``--``."""
    from .notes import strip_controls

    parts: list[RenderableType] = []
    for n, (slug, title, blocks) in enumerate(groups):
        if n:
            parts.append(Text(""))
        head = Text()
        head.append(strip_controls(title), style="bold")
        head.append(f"  {slug}", style="green")
        parts.append(head)
        width = len(str(max(line for block in blocks for line, _, _ in block)))
        for b, block in enumerate(blocks):
            if b:
                parts.append(Text("--", style="dim"))
            for line, raw, spans in block:
                row = Text()
                row.append(f"{line:>{width}}", style="cyan" if spans is not None else "dim")
                row.append(": " if spans is not None else "- ", style="dim")
                # one character for one: the spans stay in place
                body = Text(re.sub("[\ud800-\udfff]", "\ufffd", strip_controls(raw, " ")))
                for start, end in spans or ():
                    body.stylize("bold red", start, end)
                row.append(body)
                parts.append(row)
    return Group(*parts)


# --------------------------------------------------------------------------- kb find


def find_rows(rows: list[tuple[str, str, list[str], dt.datetime | None]]) -> RowTable:
    """``kb find``'s list: one line a note (title, slug, tags, date), no header; a long
    title or slug is cut as in ``kb list``, Hangul and emoji counted two cells."""
    cells = [(title, slug, " ".join(f"#{t}" for t in tags), _fmt_date(date)[:10])
             for title, slug, tags, date in rows]
    return RowTable([Column("title", "bold", weight=2.0), Column("slug", "green", cut="middle"),
                     Column("tags", "cyan", weight=0.6), Column("date", "dim", cut="none")],
                    cells, header=False)


def keys_view(keys: list[tuple[str, str]], footer: str) -> RenderableType:
    """Keys and what they do, two columns, the second wrapped to the width."""
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, what in keys:
        table.add_row(key, what)
    return Group(table, Text(footer, style="dim"))


def message(text: str, style: str = "dim") -> RenderableType:
    """One line of plain text (no markup: it may hold a slug or a query)."""
    return Text(text, style=style)


def laid_out(console: Any, renderable: RenderableType) -> Rendered:
    """``renderable`` laid out as ``console.print(renderable)`` lays it out, with its
    height: printing the result gives the same output without laying it out again (a
    long note on a terminal was rendered twice: once to ask whether it needs the pager)."""
    options = console.options.update(justify=None, overflow=None, height=None, no_wrap=None, markup=None,
                                      highlight=None)  # what Console.print passes
    return _split_lines(console.render(renderable, options), options.max_width)


def _split_lines(segments: Iterable[Any], width: int) -> Rendered:
    """``console.render_lines(..., pad=False, new_lines=True)``'s lines of ``segments``,
    joined, and how many (see :func:`_crop_lines`)."""
    out: list[Any] = []
    height = 0
    for line in _crop_lines(segments, width, None, pad=False, new_lines=True):
        out += line
        height += 1
    return Rendered(out, height)


def _render_lines(console: Any, renderable: Any, options: Any, style: Any = None,
                  pad: bool = True) -> list[Any]:
    """``console.render_lines(renderable, options, style=style, pad=pad)``, the same
    lines, their cells counted by :func:`_cells` (see :func:`_crop_lines`)."""
    if options.height is not None:
        return console.render_lines(renderable, options, style=style, pad=pad)  # type: ignore[no-any-return]
    from rich.segment import Segment

    rendered = console.render(renderable, options)
    if style:
        rendered = Segment.apply_style(rendered, style)
    return list(_crop_lines(rendered, options.max_width, style, pad=pad, new_lines=False))


def _crop_lines(segments: Iterable[Any], width: int, style: Any, pad: bool,
                new_lines: bool) -> Iterator[list[Any]]:
    """``Segment.split_and_crop_lines(segments, width, style, pad, new_lines)``: the lines
    of ``segments`` (cut at each line break), each padded or cropped to ``width`` as
    ``Segment.adjust_line_length`` does, the same segments, the cells counted by
    :func:`_cells` (Rich's count was ~10% of a long note's layout)."""
    from rich.cells import set_cell_size
    from rich.segment import Segment

    line: list[Any] = []
    newline = Segment("\n")

    def adjusted() -> list[Any]:  # Segment.adjust_line_length(line, width, style, pad)
        shown = sum([0 if seg.control else _cells(seg.text) for seg in line])
        if shown < width:
            return [*line, Segment(" " * (width - shown), style)] if pad else line[:]
        if shown == width:
            return line[:]
        out: list[Any] = []
        shown = 0
        for seg in line:
            size = 0 if seg.control else _cells(seg.text)
            if shown + size < width or seg.control:
                out.append(seg)
                shown += size
            else:
                out.append(Segment(set_cell_size(seg.text, width - shown), seg.style))
                break
        return out

    for segment in segments:
        if "\n" in segment.text and not segment.control:
            text, segment_style, _ = segment
            while text:
                part, new_line, text = text.partition("\n")
                if part:
                    line.append(Segment(part, segment_style))
                if new_line:
                    cropped = adjusted()
                    if new_lines:
                        cropped.append(newline)
                    yield cropped
                    line.clear()
        else:
            line.append(segment)
    if line:
        yield adjusted()


class Rendered:
    """A view laid out before (:func:`laid_out`'s segments) and its height in lines:
    printed as it is, never laid out or cropped again (``crop``, ``height``: what
    ``commands.common.print_paged`` asks a view). Segments, not the text they make: a
    pager without colours strips their styles, and every pager their links."""

    crop = False

    def __init__(self, segments: list[Any], height: int) -> None:
        self.segments, self.height = segments, height

    @cached_property
    def size(self) -> int:
        """About how many characters it holds (counted once: a cache of views asks again)."""
        return sum(len(segment.text) for segment in self.segments)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        return self.segments


def rendered_lines(renderable: RenderableType, width: int) -> list[list[Any]]:
    """``renderable`` laid out ``width`` cells wide: its lines, each a list of Rich
    ``Segment``s padded to the width (what Textual's line API draws)."""
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style

    console = Console(width=max(width, 1), color_system="truecolor", force_terminal=True, no_color=False,
                      highlight=False, emoji=False, legacy_windows=False, file=_NullWriter())
    lines = console.render_lines(renderable, console.options.update_width(max(width, 1)), pad=True)
    # every segment styled: Textual's filters (NO_COLOR's monochrome) read the style of each
    null = Style.null()
    return [[seg if seg.style is not None else Segment(seg.text, null, seg.control) for seg in line]
            for line in lines]


class _NullWriter:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def mark_lines(
    lines: list[list[Any]], spans_of: Callable[[str], list[tuple[int, int]]], start: int = 0,
    stop: int | None = None, style: str = "bold reverse yellow",
) -> int | None:
    """Highlight, in place, the spans ``spans_of(line text)`` gives in each line from
    ``start`` to ``stop`` (character offsets); the index of the first line with one, or None."""
    from rich.segment import Segment
    from rich.style import Style

    mark = Style.parse(style)
    first = None
    for k in range(start, len(lines) if stop is None else min(stop, len(lines))):
        line = lines[k]
        spans = spans_of("".join(seg.text for seg in line))
        if not spans:
            continue
        if first is None:
            first = k
        out: list[Any] = []
        pos = 0
        for seg in line:
            text, seg_style = seg.text, seg.style
            end = pos + len(text)
            cuts = sorted({pos, end, *(c for s, e in spans for c in (s, e) if pos < c < end)})
            for a, b in zip(cuts, cuts[1:], strict=False):
                inside = any(s <= a and b <= e for s, e in spans)
                piece = text[a - pos : b - pos]
                out.append(Segment(piece, (seg_style + mark) if inside and seg_style else
                                   mark if inside else seg_style, seg.control))
            pos = end
        lines[k] = out
    return first
