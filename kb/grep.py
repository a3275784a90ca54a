"""`kb grep`: the lines of the notes that match a regular expression, as ripgrep finds them.

The engine, apart from the index and the terminal:

- :func:`compile_pattern` turns the pattern and the flags (``-F``, ``-i``, ``-w``) into a
  Python ``re`` pattern, or raises :class:`BadPattern` with one line saying where it is wrong.
- :func:`file_text` decodes a file as rg reads it: the whole file (kb's index size cap does
  not apply), a UTF-8 BOM dropped, UTF-16 with a BOM transcoded, a file with a NUL byte
  skipped as binary; ``\\r\\n`` is left alone (rg keeps the ``\\r`` in the line, so ``$``
  does not match before it), undecodable bytes kept as surrogates (they match nothing
  but themselves).
- :func:`search_file` gives every matching line (number, text, match spans) of a file's
  bytes, lines split at ``\\n`` only, as rg does. Two engines, one meaning: a pattern
  whose every part means the same in RE2 (:func:`to_re2`: literals, classes, ``\\d \\w \\s``,
  ``.``, ``^ $``, groups, alternation, repeats; ``-w`` as the characters around the word
  taken and the word a group) is run by RE2 (the ``google-re2`` wheel) over the whole
  file's bytes at once, in linear time, and the offsets are mapped to lines. Anything else
  (look-arounds, back-references, ``\\b``, inline flags, ``-i`` with non-ASCII letters, a
  file RE2 would read otherwise: invalid UTF-8 for a pattern with ``.`` or ``[^...]``,
  ``İ ı`` under ``-i``) is run by Python's ``re`` (:func:`match_lines`) under a time
  budget per file (:data:`BUDGET_S`): a pattern that backtracks past it stops kb grep
  with one line (exit 2) instead of running for ever.
- :func:`requirement` reads the parsed pattern and says which literal pieces every match
  must contain (``kubectl (get|describe) pods?`` needs ``kubectl`` and ``get`` or
  ``describe`` and ``pod``); :mod:`kb.grepindex` uses it to read only the notes that
  can match.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import KbError


class BadPattern(KbError):
    """A regular expression that does not compile (exit 2, as grep and rg)."""

    exit_code = 2


class PatternTooSlow(KbError):
    """Python's ``re`` backtracked past :data:`BUDGET_S` on one file (exit 2)."""

    exit_code = 2


#: Seconds Python's ``re`` may spend on one file, plus this much per MB of it.
BUDGET_S = 2.0
BUDGET_PER_MB_S = 2.0


@dataclass(frozen=True)
class Pattern:
    """A compiled grep pattern; ``whole_text`` when matching the whole text at once (with
    ``re.M``) gives exactly the matches of matching line by line."""

    regex: re.Pattern[str]
    whole_text: bool
    need: Any  # a requirement, see :func:`requirement`
    fast: Any = None  # the same pattern for RE2 (on UTF-8 bytes), when it means the same there
    folds_dotted_i: bool = False  # -i: Python's re matches İ and ı with i, RE2 does not
    any_char: bool = True  # it can match a character it does not name (., [^...], \W...)
    word: bool = False  # -w: ``fast`` takes the word's edges too; the match is its group 1


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
    fast, any_char = _compile_re2(parsed, word)
    ic = bool(parsed.state.flags & re.IGNORECASE)
    return Pattern(regex, whole, requirement(parsed), fast, ic, any_char, word)


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


_DOTTED_I = (b"\xc4\xb0", b"\xc4\xb1")  # İ ı in UTF-8


def search_file(pat: Pattern, data: bytes, name: str = "") -> tuple[str, list[LineMatch]] | None:
    """``(text, matching lines)`` of a file's bytes, None when nothing matches or the file
    is binary. RE2 runs over the bytes when it can (see the module's doc); else Python's
    ``re`` over the text :func:`file_text` gives, within the time budget (``name`` for
    its message)."""
    if pat.fast is not None and not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" not in data:
        raw = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        if not (pat.folds_dotted_i and (_DOTTED_I[0] in raw or _DOTTED_I[1] in raw)):
            # Invalid UTF-8: Python's re sees one surrogate per bad byte, which RE2 does not
            # match at all; the same lines unless the pattern can match a surrogate.
            if not pat.any_char or raw.isascii():
                return _re2_lines(pat, raw)
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return _re2_lines(pat, raw)
    text = file_text(data)
    if text is None:
        return None
    matches = _budgeted(pat, text, name)
    return (text, matches) if matches else None


#: Files are read one after the other into a buffer of this size, and RE2 runs over it
#: once to find those with a match (a file that does not fit is read alone).
CHUNK = 1 << 22
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def search_files(
    prefix: str, rels: Iterable[str], pat: Pattern
) -> Iterator[tuple[str, str, list[LineMatch]]]:
    """``(rel, text, matching lines)`` of each file ``prefix + rel`` that matches, in the
    order given, as :func:`search_file` finds them (an unreadable file is skipped).

    With RE2 the files are read into one buffer, ``\n`` between them (no RE2 pattern
    matches a ``\n``, and each file's lines start and end as they do alone), and one
    search over it finds the files with a match; only those are searched line by line.
    A file RE2 cannot read as Python would (a BOM, a NUL byte, ``İ ı`` under ``-i``,
    invalid UTF-8 for a pattern that can match any character) goes to :func:`search_file`.
    """
    if pat.fast is None:
        for rel in rels:
            data = _read(prefix + rel)
            hit = None if data is None else search_file(pat, data, rel)
            if hit is not None:
                yield rel, hit[0], hit[1]
        return
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    batch: list[tuple[str, int, int, bool]] = []  # (rel, start, end, alone) in buf
    pos = 0
    try:
        for rel in rels:
            try:
                fd = os.open(prefix + rel, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            whole: bytes | None = None
            try:
                n = os.readv(fd, [view[pos : CHUNK - 1]])  # room for the \n after it
                if pos + n == CHUNK - 1 and batch:  # it may go on: read it again, first in
                    yield from _scan(pat, buf, batch, pos)
                    batch, pos = [], 0
                    n = os.preadv(fd, [view[: CHUNK - 1]], 0)
                if pos + n == CHUNK - 1:  # larger than the buffer: alone
                    whole = _read_fd(fd)
            except OSError:
                continue
            finally:
                os.close(fd)
            if whole is not None:
                hit = search_file(pat, whole, rel)
                if hit is not None:
                    yield rel, hit[0], hit[1]
                continue
            end = pos + n
            alone = buf.startswith(_BOMS, pos, end) or buf.find(0, pos, end) >= 0
            if pat.folds_dotted_i and not alone:
                alone = buf.find(_DOTTED_I[0], pos, end) >= 0 or buf.find(_DOTTED_I[1], pos, end) >= 0
            batch.append((rel, pos, end, alone))
            buf[end] = 10
            pos = end + 1
        if batch:
            yield from _scan(pat, buf, batch, pos)
    finally:
        view.release()


def _scan(
    pat: Pattern, buf: bytearray, batch: list[tuple[str, int, int, bool]], size: int
) -> Iterator[tuple[str, str, list[LineMatch]]]:
    """The hits of the files of ``batch``, read into ``buf[:size]``: RE2 over all of it
    once, each match given to the file it is in (one past a file's last line, an empty
    line the ``\n`` after it makes, is not one of its matches)."""
    if pat.any_char:
        _mark_invalid_utf8(buf, batch, [b[1] for b in batch], size)
    fast = pat.fast
    found: dict[int, list[tuple[int, int]]] = {}
    i, last = 0, len(batch) - 1
    following = batch[1][1] if last else size + 1  # where the next file starts
    with memoryview(buf) as view:  # (RE2 takes a memoryview faster than a bytearray)
        if pat.word:
            matches = _word_spans(fast, view, size)
        else:
            matches = (m.span() for m in fast.finditer(view, 0, size))
        for span in matches:
            while span[0] >= following:
                i += 1
                following = batch[i + 1][1] if i < last else size + 1
            if i in found:
                found[i].append(span)
            else:
                found[i] = [span]
    for i, (rel, a, b, alone) in enumerate(batch):
        if alone:
            with memoryview(buf) as view:
                hit = search_file(pat, bytes(view[a:b]), rel)
        elif i in found:
            hit = _lines_of(buf, a, b, found[i])
        else:
            continue
        if hit is not None:
            yield rel, hit[0], hit[1]


def _mark_invalid_utf8(
    buf: bytearray, batch: list[tuple[str, int, int, bool]], starts: list[int], size: int
) -> None:
    """The files of ``batch`` holding invalid UTF-8 go to :func:`search_file` (RE2 does
    not match a byte there that Python's ``re`` sees as a surrogate)."""
    from bisect import bisect_right
    from codecs import utf_8_decode

    pos = 0
    with memoryview(buf) as view:
        while pos < size:
            try:
                utf_8_decode(view[pos:size], "strict", True)
                return
            except UnicodeDecodeError as exc:
                i = bisect_right(starts, pos + exc.start) - 1
                rel, a, b, _ = batch[i]
                batch[i] = (rel, a, b, True)
                pos = starts[i + 1] if i + 1 < len(batch) else size


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb", buffering=0) as fh:
            return fh.readall()
    except OSError:
        return None


def _read_fd(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    with open(fd, "rb", buffering=0, closefd=False) as fh:
        return fh.readall()


def _re2_lines(pat: Pattern, raw: bytes) -> tuple[str, list[LineMatch]] | None:
    """RE2 over the whole text (its pattern cannot match a ``\n``), offsets mapped to
    lines: one pass, one call into RE2 per match."""
    n = len(raw) - 1 if raw.endswith(b"\n") else len(raw)  # no empty last line, as rg
    matches = _word_spans(pat.fast, raw, n) if pat.word else (m.span() for m in pat.fast.finditer(raw, 0, n))
    return _lines_of(raw, 0, len(raw), matches)


def _lines_of(
    raw: bytes | bytearray, start: int, end: int, matches: Iterable[tuple[int, int]]
) -> tuple[str, list[LineMatch]] | None:
    """The text of the file ``raw[start:end]`` and its lines holding ``matches`` (spans in
    ``raw``, in order; those past its last line left out)."""
    if start == end:
        return None
    n = end - 1 if raw[end - 1] == 10 else end  # no empty last line, as rg
    out: list[LineMatch] = []
    line_no, ls, le = 1, start, start - 1  # the current line: number, start, end (none yet)
    spans: list[tuple[int, int]] = []
    for a, b in matches:
        if a > n:
            break
        if a > le:  # a match on a later line
            if spans:
                out.append(_line_match(raw, line_no, ls, le, spans))
                spans = []
            nl = raw.rfind(b"\n", ls, a)
            if nl >= 0:
                line_no += raw.count(b"\n", ls, nl + 1)
                ls = nl + 1
            le = raw.find(b"\n", a, n)
            if le < 0:
                le = n
        if a == b and ((a < le and raw[a] & 0xC0 == 0x80) or (spans and spans[-1][1] == a - ls)):
            continue  # inside a character; or empty right after a match (as rg)
        spans.append((a - ls, b - ls))
    if spans:
        out.append(_line_match(raw, line_no, ls, le, spans))
    if not out:
        return None
    return raw[start:end].decode("utf-8", "surrogateescape"), out


def _word_spans(fast: Any, body: bytes | memoryview, n: int) -> Iterator[tuple[int, int]]:
    """The spans of group 1 (the word) of ``-w``'s RE2 pattern in ``body[:n]``, which takes
    the characters around the word: the next search starts one character before the
    previous word's end (its last character may be the next one's edge)."""
    pos = floor = 0  # where the next search starts; where the next word may start
    while pos <= n:
        m = fast.search(body, pos, n)
        if m is not None and m.start(1) < floor:
            # the word just given again (at a line start, where ``^`` is its left edge):
            # the next one has its edge at pos (the word's last character) or later
            after = _edge_only(fast).search(body, pos, n)
            m = fast.search(body, floor, n)
            if after is not None and (m is None or after.start(1) <= m.start(1)):
                m = after
        if m is None:
            return
        a, b = m.span(1)
        yield a, b
        if b > a:
            pos, floor = b - 1, b
        else:
            pos = b + 1
            while pos < n and body[pos] & 0xC0 == 0x80:
                pos += 1  # the next character, not the next byte
            floor = pos


def _edge_only(fast: Any) -> Any:
    """``-w``'s RE2 pattern whose word must follow a character (no line start)."""
    return _edge_only_of(fast.pattern)


@functools.lru_cache(maxsize=32)  # a long-lived server greps many patterns: bounded
def _edge_only_of(pattern: bytes) -> Any:
    import re2  # type: ignore[import-not-found,import-untyped]

    edge = f"[^{_CLASS_OF['word']}\\n]".encode()
    return re2.compile(pattern.replace(b"(?:^|" + edge + b")", edge, 1))


def _line_match(
    body: bytes | bytearray, line_no: int, ls: int, le: int, spans: list[tuple[int, int]]
) -> LineMatch:
    line = body[ls:le]
    if line.isascii():
        return LineMatch(line_no, line.decode("ascii"), spans)
    text = line.decode("utf-8", "surrogateescape")
    return LineMatch(line_no, text, [(_chars(line, a), _chars(line, b)) for a, b in spans])


def _chars(line: bytes | bytearray, offset: int) -> int:
    return len(line[:offset].decode("utf-8", "surrogateescape"))


def _budgeted(pat: Pattern, text: str, name: str) -> list[LineMatch]:
    """:func:`match_lines` under a time budget (see :func:`lines_within`)."""
    budget = BUDGET_S + BUDGET_PER_MB_S * len(text) / 1e6
    found = lines_within(budget, pat, text)
    if found is None:
        where = f" on {name}" if name else ""
        raise PatternTooSlow(
            f"the pattern backtracks too much{where} (Python's re took over {budget:.1f} s): "
            "without back-references, look-arounds and \\b it runs in linear time"
        )
    return found


def lines_within(seconds: float, pat: Pattern, text: str) -> list[LineMatch] | None:
    """:func:`match_lines` with Python's ``re``, or None past ``seconds`` (an interval
    timer: ``re`` checks for signals while it backtracks). Off the main thread, no limit."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return match_lines(pat, text)

    def expired(signum: int, frame: Any) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return match_lines(pat, text)
    except _Expired:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class _Expired(Exception):
    pass


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


# --------------------------------------------------------------------------- RE2

#: Python's ``\s`` for text: the characters ``str.isspace()`` takes, ``\n`` left out (a
#: line never holds one).
_SPACE = (
    r"\t\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
#: Python's ``\d`` is Unicode's Nd; ``\w`` is ``str.isalnum()`` or ``_``: L and N.
_CLASS_OF = {"digit": r"\p{Nd}", "word": r"\p{L}\p{N}_", "space": _SPACE}


def _compile_re2(parsed: Any, word: bool = False) -> tuple[Any, bool]:
    """The pattern for RE2 when it means there what it means to Python's ``re`` line by
    line, else None; and whether it can match a character it does not name (a ``.``, a
    negated class: in the RE2 syntax :func:`to_re2` writes, ``.`` and ``[^`` say so)."""
    flags = parsed.state.flags
    if flags & (re.ASCII | re.LOCALE):
        return None, True
    try:
        body = to_re2(parsed, bool(flags & re.IGNORECASE), bool(flags & re.DOTALL))
    except RecursionError:
        return None, True
    if body is None:
        return None, True
    try:
        import re2  # type: ignore[import-not-found,import-untyped]
    except ImportError:
        return None, True
    if word:  # -w without look-arounds: the characters around taken, the word in group 1
        edge = f"[^{_CLASS_OF['word']}\\n]"
        body = f"(?:^|{edge})({body})(?:$|{edge})"
    try:
        fast = re2.compile(("(?m)" + ("(?i)" if flags & re.IGNORECASE else "") + body).encode())
    except Exception:  # re2.error, or over its limits (repeat counts, memory)
        return None, True
    return fast, "." in body or "[^" in body


def to_re2(items: Any, ic: bool, dotall: bool) -> str | None:
    """RE2 syntax with the meaning the parsed Python pattern has on one line, or None."""
    from re import _constants as c  # type: ignore[attr-defined]

    out: list[str] = []
    for op, av in items:
        if op is c.LITERAL:
            if av == _NL:
                return "[^\\x00-\\x{10ffff}]"  # matches nothing: no line holds a \n
            if ic and not _caseless_ok(av):
                return None
            out.append(_lit(av))
        elif op is c.NOT_LITERAL:
            if ic and not _caseless_ok(av):
                return None
            out.append(f"[^{_lit(av)}\\n]")
        elif op is c.ANY:
            out.append("[^\\n]" if dotall else ".")
        elif op is c.IN:
            cls = _class(av, ic)
            if cls is None:
                return None
            out.append(cls)
        elif op is c.CATEGORY:
            name, neg = _category(av)
            if name is None:
                return None
            out.append(f"[^{_CLASS_OF[name]}\\n]" if neg else f"[{_CLASS_OF[name]}]")
        elif op is c.AT:
            if av in (c.AT_BEGINNING, c.AT_BEGINNING_LINE, c.AT_BEGINNING_STRING):
                out.append("^")
            elif av in (c.AT_END, c.AT_END_LINE, c.AT_END_STRING):
                out.append("$")
            else:
                return None  # \b, \B: RE2's are ASCII
        elif op is c.SUBPATTERN:
            _, add, remove, sub = av
            if add or remove:
                return None
            inner = to_re2(sub, ic, dotall)
            if inner is None:
                return None
            out.append(f"(?:{inner})")
        elif op is c.BRANCH:
            alts = [to_re2(alt, ic, dotall) for alt in av[1]]
            if any(a is None for a in alts):
                return None
            out.append("(?:" + "|".join(alts) + ")")  # type: ignore[arg-type]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            lo, hi, sub = av
            if lo > 1000 or (hi is not c.MAXREPEAT and hi > 1000):
                return None
            inner = to_re2(sub, ic, dotall)
            if inner is None:
                return None
            count = f"{{{lo},}}" if hi is c.MAXREPEAT else f"{{{lo},{hi}}}"
            out.append(f"(?:{inner}){count}" + ("?" if op is c.MIN_REPEAT else ""))
        else:  # look-arounds, back-references, atomic groups, possessive repeats...
            return None
    return "".join(out)


def _lit(code: int) -> str:
    ch = chr(code)
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\x{{{code:x}}}"


def _caseless_ok(code: int) -> bool:
    """Under ``-i``, RE2 and Python match the same characters with this one: an ASCII
    one (RE2 folds k with K and s with ſ as Python does; files with İ ı go to Python), or
    one without case."""
    if code < 128:
        return True
    ch = chr(code)
    return ch.lower() == ch and ch.upper() == ch and ch.casefold() == ch


def _category(av: Any) -> tuple[str | None, bool]:
    """``(name in _CLASS_OF, negated)`` of a ``\\d \\w \\s`` category (or its negation)."""
    from re import _constants as c  # type: ignore[attr-defined]

    for name in ("DIGIT", "WORD", "SPACE"):
        for neg, infix in ((False, ""), (True, "NOT_")):
            if av in (getattr(c, f"CATEGORY_{infix}{name}"), getattr(c, f"CATEGORY_UNI_{infix}{name}")):
                return name.lower(), neg
    return None, False


def _class(items: Any, ic: bool) -> str | None:
    """A ``[...]`` class for RE2, ``\\n`` out of it (a negated one takes it in)."""
    from re import _constants as c  # type: ignore[attr-defined]

    neg = False
    parts: list[str] = []
    for op, av in items:
        if op is c.NEGATE:
            neg = True
        elif op is c.LITERAL:
            if ic and not _caseless_ok(av):
                return None
            if av != _NL:
                parts.append(_lit(av))
        elif op is c.RANGE:
            lo, hi = av
            if lo <= 0xDCFF and hi >= 0xDC80:
                return None  # takes the surrogates that stand for undecodable bytes
            if ic and hi >= 128:
                if hi - max(lo, 128) > 70000 or not all(_caseless_ok(x) for x in range(max(lo, 128), hi + 1)):
                    return None
            for a, b in ((lo, min(hi, _NL - 1)), (max(lo, _NL + 1), hi)):
                if a <= b:
                    parts.append(_lit(a) if a == b else f"{_lit(a)}-{_lit(b)}")
        elif op is c.CATEGORY:
            name, negc = _category(av)
            if name is None or negc:
                return None  # \D \W \S inside a class: RE2 cannot subtract
            parts.append(_CLASS_OF[name])
        else:
            return None
    if neg:
        return "[^" + "".join(parts) + "\\n]"
    if not parts:
        return "[^\\x00-\\x{10ffff}]"
    return "[" + "".join(parts) + "]"


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
