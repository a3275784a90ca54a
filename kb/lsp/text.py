"""What the language server reads in a note's text: positions, links under the cursor,
what is being completed, headings. Pure functions over strings; no pygls, no index.

LSP positions are ``(line, character)`` where ``character`` counts UTF-16 code units
unless the client negotiated UTF-8 or UTF-32 (``positionEncoding``). Python strings
count code points, so ``😀`` is one character here, two UTF-16 units and four UTF-8
bytes: every position crossing the protocol goes through :class:`Lines`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..links import link_occurrences, md_target
from ..notes import FENCE_RE, FM_RE

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"

# A line ends at \r\n, \n or \r (the LSP's rule).
_LINE_END = re.compile(r"\r\n|\n|\r")


def _units(text: str, encoding: str) -> int:
    """How many code units of ``encoding`` ``text`` takes."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _chars_for_units(line: str, units: int, encoding: str) -> int:
    """The number of characters of ``line`` that ``units`` code units cover (clamped to the
    line; a unit count inside a character rounds to the character's end)."""
    if encoding == UTF32 or line.isascii():
        return max(0, min(units, len(line)))
    count = 0
    for i, c in enumerate(line):
        if count >= units:
            return i
        count += _units(c, encoding)
    return len(line)


class Lines:
    """A text's lines, for turning character offsets into LSP positions and back."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0] + [m.end() for m in _LINE_END.finditer(text)]

    def _line_text(self, line: int) -> str:
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset(self, line: int, character: int) -> int:
        """The character offset into the text of an LSP position (clamped to the text)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        return self.starts[line] + _chars_for_units(self._line_text(line), character, self.encoding)

    def position(self, offset: int) -> tuple[int, int]:
        """The LSP ``(line, character)`` of a character offset."""
        import bisect

        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        start = self.starts[line]
        return line, _units(self.text[start:offset], self.encoding)

    def line_of(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self.starts, max(0, offset)) - 1


# --------------------------------------------------------------------------- links in a text


@dataclass(frozen=True)
class LinkSpan:
    """One link in a text. ``target`` is what the resolver takes (a wiki-link target as
    written, or the slug a relative Markdown link names); ``start``/``end`` span the whole
    link, ``target_start``/``target_end`` only the part a rename rewrites."""

    kind: str  # "wiki" or "md"
    target: str
    written: str  # the target as it stands in the text
    anchor: str  # after '#', "" if none
    start: int
    end: int
    target_start: int
    target_end: int


def links_in(text: str, source_path: str) -> list[LinkSpan]:
    """Every link of ``text`` (a note at ``source_path``), in order, code skipped, as
    :func:`kb.links.link_occurrences` finds them."""
    out = []
    for occ in link_occurrences(text):
        written = text[occ.start : occ.end]
        if occ.kind == "wiki":
            start = text.rfind("[[", 0, occ.start)
            close = text.find("]]", occ.end)
            end = close + 2 if close >= 0 else occ.end
            rest = text[occ.end : max(occ.end, close)]
            anchor = rest[1:].split("|", 1)[0].strip() if rest.startswith("#") else ""
            target: str | None = written
        else:
            start = text.rfind("[", 0, text.rfind("](", 0, occ.start) + 1)
            close = text.find(")", occ.end)
            end = close + 1 if close >= 0 else occ.end
            rest = text[occ.end : max(occ.end, close)]
            anchor = rest[1:].split()[0] if rest.startswith("#") and rest[1:].split() else ""
            target = md_target(written, source_path)
            if target is None:
                continue
        out.append(LinkSpan(occ.kind, target, written, anchor, max(start, 0), end, occ.start, occ.end))
    return out


def link_at(links: list[LinkSpan], offset: int) -> LinkSpan | None:
    """The link whose text holds ``offset`` (its closing bracket counted)."""
    for link in links:
        if link.start <= offset <= link.end:
            return link
        if link.start > offset:
            break
    return None


# --------------------------------------------------------------------------- completion


@dataclass(frozen=True)
class Completing:
    """What the cursor is completing: a wiki-link target, a Markdown link path or a tag,
    what was typed of it so far, and where that typed part starts (a character offset)."""

    kind: str  # "wiki", "md", "heading" or "tag"
    typed: str
    start: int
    closed: bool = False  # the link's closing brackets already follow the cursor
    target: str = ""  # for "heading": the note the link names (``[[note#`` -> ``note``)


# Only the end of the line before the cursor is looked at, so these never scan far.
_WIKI_OPEN = re.compile(r"\[\[([^\[\]|#\n]*)\Z")
_WIKI_HEADING = re.compile(r"\[\[([^\[\]|#\n]+)#([^\[\]|#\n]*)\Z")
_MD_OPEN = re.compile(r"\]\(([^()\s]*)\Z")
_HASH_TAG = re.compile(r"(?:^|(?<=[\s(]))#([^\W\d_][\w\-/]*|)\Z")
_FM_TAGS_KEY = re.compile(r"^(?:tags?)[ \t]*:", re.I)
_FM_KEY = re.compile(r"^[^\s#-][^:]*:")
# The last word of a tags line: it starts where a separator (or the line's start) is just
# before it, so the search tries each run of word characters once (linear time).
_TAG_WORD = re.compile(r"(?<![^\s,\[\]'\"#])[^\s,\[\]'\"#]*\Z")
#: How much of the line before the cursor is looked at.
_LOOK_BACK = 300


def frontmatter_end(text: str) -> int:
    """The offset where the frontmatter block ends (0 when there is none)."""
    m = FM_RE.match(text.replace("\r", " ") if "\r" in text[:200_000] else text)
    return m.end() if m else 0


def completing(text: str, offset: int) -> Completing | None:
    """What is being completed at ``offset`` in ``text``, or None."""
    line_start = max(text.rfind("\n", 0, offset) + 1, offset - _LOOK_BACK)
    before = text[line_start:offset]
    after = text[offset : offset + 2]
    m = _WIKI_OPEN.search(before)
    if m:
        return Completing("wiki", m.group(1), line_start + m.start(1), closed=after == "]]")
    m = _WIKI_HEADING.search(before)
    if m:
        return Completing("heading", m.group(2), line_start + m.start(2), closed=after == "]]",
                          target=m.group(1).strip())
    m = _MD_OPEN.search(before)
    if m:
        return Completing("md", m.group(1), line_start + m.start(1), closed=after[:1] == ")")
    fm_end = frontmatter_end(text)
    if offset < fm_end:
        if _in_tags_field(text, line_start, before):
            word = _TAG_WORD.search(before)
            assert word is not None
            return Completing("tag", word.group(0), line_start + word.start())
        return None
    m = _HASH_TAG.search(before)
    if m and not _in_code(text, offset):
        return Completing("tag", m.group(1), line_start + m.start(1))
    return None


def _in_tags_field(text: str, line_start: int, before: str) -> bool:
    """Whether a frontmatter line is the value of ``tags:`` (on its line or a ``- item`` under it)."""
    if _FM_TAGS_KEY.match(before):
        return True
    if not before.lstrip().startswith("-"):
        return False
    # a list item: the nearest key above it decides
    pos = line_start
    for _ in range(1000):
        if pos <= 0:
            return False
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        line = text[prev_start : pos - 1]
        if _FM_KEY.match(line):
            return bool(_FM_TAGS_KEY.match(line))
        pos = prev_start
    return False


def _in_code(text: str, offset: int) -> bool:
    """Whether ``offset`` is inside inline code on its line or a fenced block."""
    line_start = text.rfind("\n", 0, offset) + 1
    if text.count("`", line_start, offset) % 2:
        return True
    return sum(1 for m in _FENCE_LINE.finditer(text, 0, line_start)) % 2 == 1


_FENCE_LINE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)


# --------------------------------------------------------------------------- headings


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    start: int  # offset of the line
    end: int  # offset of the line's end


# The closing `#`s are cut in Python: a lazy `(.*?)[ \t#]*$` is quadratic on a run of blanks.
_ATX = re.compile(r"^(#{1,6})[ \t]+([^\n]*)", re.M)


def headings(text: str) -> list[Heading]:
    """The ``#`` headings outside fenced code and the frontmatter, in order."""
    skip_to = frontmatter_end(text)
    fences = [(m.start(), m.end()) for m in FENCE_RE.finditer(text, skip_to)]
    out: list[Heading] = []
    i = 0
    for m in _ATX.finditer(text, skip_to):
        while i < len(fences) and fences[i][1] <= m.start():
            i += 1
        if i < len(fences) and fences[i][0] <= m.start():
            continue
        title = m.group(2).rstrip("\r").rstrip(" \t#").strip() or m.group(2).strip()
        if title:
            out.append(Heading(len(m.group(1)), title, m.start(), m.end()))
    return out


def anchor_key(text: str) -> str:
    """A heading or ``#anchor`` reduced to compare them: ``## Pod 생성 (v2)`` and
    ``#pod-생성-v2`` both give ``pod생성v2``."""
    return "".join(c for c in text.casefold() if c.isalnum())


def heading_for(text: str, anchor: str) -> Heading | None:
    key = anchor_key(anchor)
    if not key:
        return None
    return next((h for h in headings(text) if anchor_key(h.title) == key), None)
