"""`kb grep`: the lines of the notes that match a regular expression, as ripgrep finds them.

The engine, apart from the index and the terminal:

- :func:`compile_pattern` turns the pattern and the flags (``-F``, ``-i``, ``-w``) into a
  Python ``re`` pattern, or raises :class:`BadPattern` with one line saying where it is wrong.
- :func:`file_text` decodes a file as rg reads it: the whole file (kb's index size cap does
  not apply), a UTF-8 BOM dropped, UTF-16 with a BOM transcoded, a file with a NUL byte
  skipped as binary; ``\\r\\n`` is left alone (rg keeps the ``\\r`` in the line, so ``$``
  does not match before it), undecodable bytes kept as surrogates (they match nothing
  but themselves).
- :func:`match_lines` gives every matching line (number, text, match spans) of one text,
  lines split at ``\\n`` only, as rg does.
- :func:`requirement` reads the parsed pattern and says which literal pieces every match
  must contain (``kubectl (get|describe) pods?`` needs ``kubectl`` and ``get`` or
  ``describe`` and ``pod``); :mod:`kb.grepindex` uses it to read only the notes that
  can match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import KbError


class BadPattern(KbError):
    """A regular expression that does not compile (exit 2, as grep and rg)."""

    exit_code = 2


@dataclass(frozen=True)
class Pattern:
    """A compiled grep pattern; ``whole_text`` when matching the whole text at once (with
    ``re.M``) gives exactly the matches of matching line by line."""

    regex: re.Pattern[str]
    whole_text: bool
    need: Any  # a requirement, see :func:`requirement`


@dataclass
class LineMatch:
    """One matching line: 1-based number, its text (without ``\\n``), match spans in it."""

    line: int
    text: str
    spans: list[tuple[int, int]] = field(default_factory=list)


def compile_pattern(
    pattern: str, fixed: bool = False, ignore_case: bool = False, word: bool = False
) -> Pattern:
    """The pattern as rg would take it (``-F``, ``-i``, ``-w``); :class:`BadPattern` if it is wrong."""
    import re._parser as sre_parse  # type: ignore[import-not-found]

    source = re.escape(pattern) if fixed else pattern
    flags = re.IGNORECASE if ignore_case else 0
    try:
        parsed = sre_parse.parse(source, flags)
    except re.error as exc:
        raise BadPattern(_bad(pattern, exc)) from None
    except (RecursionError, OverflowError):
        raise BadPattern("the pattern is too deeply nested") from None
    whole = _line_safe(parsed, bool(parsed.state.flags & re.DOTALL))
    if word:
        # rg 14's -w: the match neither starts after nor ends before a word character.
        source = rf"(?<!\w)(?:{source})(?!\w)"
    try:
        regex = re.compile(source, flags | re.MULTILINE)
    except re.error as exc:
        raise BadPattern(_bad(pattern, exc)) from None
    except (RecursionError, OverflowError):
        raise BadPattern("the pattern is too deeply nested") from None
    return Pattern(regex, whole, requirement(parsed))


def _bad(pattern: str, exc: re.error) -> str:
    where = f" at position {exc.pos + 1}" if exc.pos is not None else ""
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return f"bad regular expression{where} of {shown!r}: {exc.msg} (use -F for a plain string)"


# --------------------------------------------------------------------------- reading files


def file_text(data: bytes) -> str | None:
    """The text rg searches in a file's bytes, or None for a binary file (a NUL byte)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")  # the BOM is consumed
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", "surrogateescape")


def read_text(path: str) -> str | None:
    with open(path, "rb") as fh:
        return file_text(fh.read())


# --------------------------------------------------------------------------- matching


def match_lines(pat: Pattern, text: str) -> list[LineMatch]:
    """Every line of ``text`` the pattern matches, in order, with the spans of its matches."""
    if not text:
        return []  # an empty file has no line, not one empty line
    if text.endswith("\n"):
        text = text[:-1]  # no empty last line after the final newline, as rg
    out: list[LineMatch] = []
    finditer = pat.regex.finditer
    if pat.whole_text:
        line_no, line_start = 1, 0
        current: LineMatch | None = None
        last_end = -1
        for m in finditer(text):
            start, end_ = m.span()
            if start == end_ == last_end:
                continue  # as Rust's regex (rg): no empty match right after a match
            last_end = end_
            if start > line_start:  # move to the line holding the match
                nl = text.rfind("\n", line_start, start)
                if nl >= 0:
                    line_no += text.count("\n", line_start, nl + 1)
                    line_start = nl + 1
            if current is None or current.line != line_no:
                end = text.find("\n", line_start)
                current = LineMatch(line_no, text[line_start : end if end >= 0 else len(text)])
                out.append(current)
            current.spans.append((start - line_start, end_ - line_start))
        return out
    for i, line in enumerate(text.split("\n"), 1):
        spans = _spans(finditer(line))
        if spans:
            out.append(LineMatch(i, line, spans))
    return out


def _spans(matches: Any) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in matches:
        span = m.span()
        if span[0] == span[1] and spans and spans[-1][1] == span[0]:
            continue  # as Rust's regex (rg): no empty match right after a match
        spans.append(span)
    return spans


def byte_column(line: str, index: int) -> int:
    """1-based byte column of ``line[index]`` in UTF-8, as rg counts columns."""
    return len(line[:index].encode("utf-8", "surrogateescape")) + 1


def byte_offset(line: str, index: int) -> int:
    return len(line[:index].encode("utf-8", "surrogateescape"))


# --------------------------------------------------------------------------- pattern analysis

_NL = ord("\n")


def _line_safe(parsed: Any, dotall: bool) -> bool:
    """True if no part of the pattern can see or match a ``\\n`` or the string's ends
    (lookarounds, ``\\A``, ``\\Z``, ``\\B``, a class or ``.`` that takes ``\\n``, back-references):
    then one ``re.M`` search over the whole text finds exactly the line-by-line matches."""
    from re import _constants as c  # type: ignore[attr-defined]

    unsafe_cats = {
        c.CATEGORY_SPACE,
        c.CATEGORY_NOT_WORD,
        c.CATEGORY_NOT_DIGIT,
        c.CATEGORY_LINEBREAK,
        c.CATEGORY_UNI_SPACE,
        c.CATEGORY_UNI_NOT_WORD,
        c.CATEGORY_UNI_NOT_DIGIT,
        c.CATEGORY_UNI_LINEBREAK,
        c.CATEGORY_LOC_NOT_WORD,
    }

    def safe_items(items: Any, dotall: bool) -> bool:
        for op, av in items:
            if op is c.LITERAL:
                if av == _NL:
                    return False
            elif op is c.NOT_LITERAL:
                if av != _NL:
                    return False
            elif op is c.ANY:
                if dotall:
                    return False
            elif op is c.IN:
                for iop, iav in av:
                    if iop is c.NEGATE:
                        return False
                    if iop is c.LITERAL and iav == _NL:
                        return False
                    if iop is c.RANGE and iav[0] <= _NL <= iav[1]:
                        return False
                    if iop is c.CATEGORY and iav in unsafe_cats:
                        return False
            elif op is c.AT:
                if av in (
                    c.AT_BEGINNING_STRING,
                    c.AT_END_STRING,
                    c.AT_NON_BOUNDARY,
                    c.AT_UNI_NON_BOUNDARY,
                    c.AT_LOC_NON_BOUNDARY,
                ):
                    return False
            elif op is c.SUBPATTERN:
                _, add, remove, sub = av
                d = (dotall or bool(add & re.DOTALL)) and not (remove & re.DOTALL)
                if not safe_items(sub, d):
                    return False
            elif op is c.BRANCH:
                if not all(safe_items(alt, dotall) for alt in av[1]):
                    return False
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                if not safe_items(av[2], dotall):
                    return False
            elif op is c.ATOMIC_GROUP:
                if not safe_items(av, dotall):
                    return False
            elif op is c.CATEGORY:
                if av in unsafe_cats:
                    return False
            else:  # ASSERT, ASSERT_NOT, GROUPREF, GROUPREF_EXISTS, anything new
                return False
        return True

    try:
        return safe_items(parsed, dotall)
    except RecursionError:
        return False


# A requirement is None (anything may match), ("lit", text), ("and", [reqs]) or ("or", [reqs]).


def requirement(parsed: Any) -> Any:
    """Which literal strings every match must contain, as an and/or tree (None: no clue).

    Sound by construction: a literal is taken only from a run of plain characters that
    every match of its sequence passes through; a repeat that may occur zero times, a
    class, a lookaround or a back-reference contribute nothing.
    """
    try:
        return _simplify(_req_seq(parsed))
    except RecursionError:
        return None


def _req_seq(items: Any) -> Any:
    from re import _constants as c  # type: ignore[attr-defined]

    parts: list[Any] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            parts.append(("lit", "".join(run)))
            run.clear()

    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is c.SUBPATTERN:
            parts.append(_req_seq(av[3]))
        elif op is c.ATOMIC_GROUP:
            parts.append(_req_seq(av))
        elif op is c.BRANCH:
            parts.append(("or", [_req_seq(alt) for alt in av[1]]))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            if av[0] >= 1:
                parts.append(_req_seq(av[2]))
        # anything else (a class, ., an anchor, a lookaround...) gives no literal
    flush()
    return ("and", parts)


def _simplify(req: Any) -> Any:
    if req is None or req[0] == "lit":
        return req
    kids = [_simplify(k) for k in req[1]]
    if req[0] == "and":
        kids = [k for k in kids if k is not None]
        if not kids:
            return None
        return kids[0] if len(kids) == 1 else ("and", kids)
    if not kids or any(k is None for k in kids):  # one branch without a literal: no clue
        return None
    return kids[0] if len(kids) == 1 else ("or", kids)


def with_context(
    text: str, matches: list[LineMatch], before: int, after: int
) -> list[list[tuple[int, str, list[tuple[int, int]] | None]]]:
    """Blocks of ``(line, text, spans or None for a context line)``, as rg groups them
    (blocks whose lines touch are merged; rg prints ``--`` between blocks)."""
    if not (before or after):
        return [[(m.line, m.text, m.spans) for m in matches]]
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    by_line = {m.line: m for m in matches}
    blocks: list[list[tuple[int, str, list[tuple[int, int]] | None]]] = []
    last = 0
    for m in matches:
        lo, hi = max(1, m.line - before), min(len(lines), m.line + after)
        if blocks and lo <= last + 1:
            lo = last + 1
        else:
            blocks.append([])
        for n in range(lo, hi + 1):
            hit = by_line.get(n)
            blocks[-1].append((n, lines[n - 1], hit.spans if hit else None))
        last = max(last, hi)
    return blocks
