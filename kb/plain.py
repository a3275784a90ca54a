"""A note's Markdown read as plain lines, the text snippets show and lines are found in.

:func:`snippet_lines` is what ``kb search`` lays its snippets out on and what the line of a
hit's first match is counted in (:func:`line_at`); the index keeps it for each note
(:mod:`kb.index.lines`), so the language server finds a line without reading the Markdown.
A leaf: it imports nothing of kb.
"""

from __future__ import annotations

import re

#: Characters of a note scanned for the snippet window (and read as plain lines).
SNIPPET_SCAN_CHARS = 200_000

# Markdown read as plain text, a line at a time: every pattern is bounded by the
# characters it cannot contain, so a hostile line costs linear time.
_FENCE_LINE_RE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")
#: A character some Markdown below starts with: a line without any is plain text.
_MARKUP_RE = re.compile(r"[`~*_#>+|\[<&-]")
#: What a rule or a block mark (quote, heading, list item) starts with, after spaces and tabs.
_RULE_MARKS = ("-", "*", "_")
_BLOCK_MARKS = (">", "#", "-", "*", "+")
_RULE_RE = re.compile(r"[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_RULE_RE = re.compile(r"[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")
_BLOCK_MARKS_RE = re.compile(r"[ \t]*(?:>[ \t]*)*(?:#{1,6}(?:[ \t]+|$)|[-*+][ \t]+(?:\[[ xX]\][ \t]+)?)?")
_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_MD_LINK_RE = re.compile(r"!?\[([^\[\]\n]*)\]\([^()\n]*\)")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]*)>")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->")
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>\n]*)?/?>")
_MD_EMPHASIS_RE = re.compile(r"\*\*|__|~~|`+")
#: ``*강조*는``, ``_강조_`` but not ``2*3*4`` or ``max_active_runs``: a mark next to a Latin
#: letter or digit is no emphasis here.
_MD_ITALIC_RE = re.compile(r"(?<![A-Za-z0-9*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![A-Za-z0-9*])"
                           r"|(?<![A-Za-z0-9_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![A-Za-z0-9_])")
_NUMBERED_HEADING_RE = re.compile(r"(\d{1,9}[.)][ \t]+)#{1,6}(?:[ \t]+|$)")
_MD_WIKILINK_RE = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]*))?\]\]")
#: HTML's own element names: ``<span>`` is markup, ``List<String>`` in prose is not.
_HTML_ELEMENTS = frozenset(
    "a abbr b big blockquote br center cite code col colgroup dd del details dfn div dl dt em "
    "figcaption figure font h1 h2 h3 h4 h5 h6 hr i iframe img input ins kbd label li mark ol p "
    "picture pre q s samp section small source span strike strong style sub summary sup svg table "
    "tbody td tfoot th thead tr tt u ul var video wbr".split()
)


def _html_tag(m: re.Match[str]) -> str:
    name = m.group(2).lower()
    if name in _HTML_ELEMENTS or (m.group(3) and "=" in m.group(3) and not m.group(1)):
        return " " if name in ("br", "p", "div", "td", "th", "li", "tr", "hr") else ""
    return m.group(0)


def _heading_text(line: str) -> str:
    """A heading's text without closing hashes or an ``{#anchor}`` (string ops: linear)."""
    line = line.rstrip()
    if line.endswith("}") and "{#" in line:
        line = line[: line.rfind("{#")].rstrip()
    bare = line.rstrip("#")
    if bare != line and (not bare or bare[-1] in " \t"):
        line = bare.rstrip()
    return line


def _inline_text(line: str) -> str:
    """One line of Markdown without its inline markup: links read as their text."""
    if "[[" in line:
        line = _MD_WIKILINK_RE.sub(lambda m: (m.group(2) or m.group(1)).strip(), line)
    if "](" in line:
        line = _MD_LINK_RE.sub(r"\1", line)
    if "<" in line:
        line = _AUTOLINK_RE.sub(r"\1", line)
        close = line.rfind("-->")
        if close >= 0:  # no `<!--` after the last `-->` is scanned to the end of the line
            line = _HTML_COMMENT_RE.sub("", line[: close + 3]) + line[close + 3 :]
        line = _HTML_TAG_RE.sub(_html_tag, line)
    if "&" in line:
        import html

        line = html.unescape(line)
    if "**" in line or "__" in line or "~~" in line or "`" in line:
        line = _MD_EMPHASIS_RE.sub("", line)
    if "*" in line or "_" in line:
        line = _MD_ITALIC_RE.sub(lambda m: m.group(1) or m.group(2), line)
    return line


def snippet_lines(body: str, title: str) -> tuple[str, list[tuple[int, int]]]:
    """A note's text as a snippet shows it, and where its lines came from.

    Readable text, not Markdown: no heading, quote or list marks (a heading ends in ``:``),
    no code fences, table rows as ``a · b · c / d · e · f``, links as their text, no HTML;
    a first heading that repeats the title is left out, and so are lines left empty.
    Returns the text (lines joined by ``\\n``) and, for each line of it, ``(offset in
    the text, line of the body from 0)``.
    """
    out: list[str] = []
    where: list[tuple[int, int]] = []
    offset = 0
    fence = ""
    first = True
    row = was_row = False
    for number, raw in enumerate(body[:SNIPPET_SCAN_CHARS].split("\n")):
        was_row, row = row, False
        if not _MARKUP_RE.search(raw):
            line = raw.strip()  # plain text (half the lines): nothing to read as Markdown
        elif fence:
            m = _FENCE_LINE_RE.match(raw)
            closes = m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)
            if closes and not raw[m.end() :].strip():
                fence = ""
                continue
            line = raw.strip()  # code: as it is
        elif ("`" in raw or "~" in raw) and (m := _FENCE_LINE_RE.match(raw)):
            fence = m.group(1)
            continue
        elif (raw.lstrip(" \t")[:1] in _RULE_MARKS and _RULE_RE.match(raw)) or (
                "-" in raw and _TABLE_RULE_RE.match(raw)):
            row = was_row  # a table's |---| line: the rows around it are one table
            continue
        else:
            line = raw.lstrip(" \t")
            heading = False
            if line[:1] in _BLOCK_MARKS:
                marks = _BLOCK_MARKS_RE.match(raw)
                line = raw[marks.end():] if marks else raw
                heading = bool(marks and "#" in marks.group(0))
            if line[:1].isdigit() and "#" in line:
                line = _NUMBERED_HEADING_RE.sub(r"\1", line, count=1)  # `1. ##### 상호 배제`
            if heading:
                line = _heading_text(line)
            cells = line.strip()
            if cells.startswith("|") or (cells.endswith("|") and cells.count("|") >= 2):
                line = " · ".join(c for c in (_inline_text(c).strip() for c in
                                              _CELL_SPLIT_RE.split(cells.strip("|"))) if c)
                row = bool(line)
                if row and was_row:
                    line = "/ " + line  # rows apart: `a · b / c · d`
            else:
                line = _inline_text(line).strip()
            if first and line and heading and line == title.strip():
                first = False
                continue
            if heading and line and line[-1] not in ".:!?)…":
                line += ":"  # `설치: pip install ...`, not `설치 pip install ...`
        if not line:
            continue
        first = False
        where.append((offset, number))
        out.append(line)
        offset += len(line) + 1
    return "\n".join(out), where


def line_at(where: list[tuple[int, int]], body_line: int, offset: int | None) -> int:
    """The line of the file (from 1) of an offset into a note's :func:`snippet_lines` text
    (``where``: its lines' offsets and body lines; ``body_line``: the frontmatter's lines;
    None: the body's first line)."""
    import bisect

    if offset is None or not where:
        return body_line + 1
    k = bisect.bisect_right(where, (offset, 1 << 62)) - 1
    return body_line + where[max(k, 0)][1] + 1


def numbered(text: str, where: list[tuple[int, int]]) -> list[int]:
    """The body line of each ``\n``-separated line of a :func:`snippet_lines` text (``where``
    without the offsets, which the text itself gives: see :func:`line_in`). A line that
    holds a newline of its own (``&#10;`` unescaped) counts for each of its parts."""
    if text.count("\n") + 1 == len(where):
        return [number for _, number in where]
    out: list[int] = []
    for k, (offset, number) in enumerate(where):
        end = where[k + 1][0] - 1 if k + 1 < len(where) else len(text)
        out.extend([number] * (text.count("\n", offset, end) + 1))
    return out


def line_in(text: str, numbers: list[int], body_line: int, offset: int | None) -> int:
    """:func:`line_at` for a text and its :func:`numbered` lines: the line of the file
    (from 1) of an offset into the text (None: the body's first line)."""
    if offset is None or not numbers:
        return body_line + 1
    return body_line + numbers[min(text.count("\n", 0, offset), len(numbers) - 1)] + 1
