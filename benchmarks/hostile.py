"""Hostile notes: every regex kb runs on text, fed input built to make it slow (issue 16).

What it measures
----------------
A regex that backtracks (``(.+?)[ \\t#]*$`` on a long run of blanks, ``[^\\]]*`` from each
``[`` of 40,000) takes time quadratic in its input: seconds at 40 KB, hours at the 2 MB a
note may have, and every kb command waits for the sync that reads the note. Each case
below names one regex (or the function that replaced one) and an input built against
it; the table gives its time at ``--size`` characters (200 KB by default, best of
``--runs``) and at a quarter of that. Linear code grows ~4x from the quarter to the
whole; quadratic code ~16x.

Reference, measured in the same run: the same regex on the same amount of real text
(the notes of the corpus, concatenated). ``x real`` is hostile time / that time, so a
slow machine moves both. The target (issue 16): every regex under ``--budget-ms`` (50 ms)
at 200 KB; a function (``call``) under that or at most ``--note-ratio`` times its time on
real text.

The second table is the time budget per note: each hostile input as the body of a note,
parsed (``notes.parse_text``) and analyzed (``analysis.iter_terms``, what the index
stores), against a real note of the same size, both with the analyzer's word cache
empty (as in a fresh kb process); the target is at most ``--note-ratio`` (3x) the real
note's time.

A case that runs longer than ``--timeout`` seconds is stopped and shown as such (the
same script run against an older kb, ``PYTHONPATH=/path/to/old/kb``, gives its "before"
numbers; cases for functions the older kb lacks show ``n/a``). ``tests/test_hostile.py``
runs the same cases (and checks that every regex in ``kb/`` has one).

Run: ``python benchmarks/hostile.py [--size 200000] [--runs 3] [--timeout 10]
[--corpus DIR] [--json FILE]``. Standard library and kb only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"

#: kb modules whose module-level regexes must all have a case here.


@dataclass(frozen=True)
class Case:
    """``target`` is ``module:name`` in kb; ``method`` how it is run on the input."""

    target: str
    method: str  # finditer, sub, match, search, split, findall, call
    what: str  # the input, as the table shows it
    make: Callable[[int], str]

    @property
    def name(self) -> str:
        return f"{self.target}  {self.what}"


def _rep(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _wrap(head: str, fill: str, tail: str) -> Callable[[int], str]:
    return lambda n: head + _rep(fill, max(n - len(head) - len(tail), 0)) + tail


C = Case
CASES: list[Case] = [
    # analysis: the tokenizer runs on every note and every query
    C("analysis:_WORD_RE", "finditer", "'_' x n", _wrap("", "_", "")),
    C("analysis:_WORD_RE", "finditer", "'a' '-' x n '!'", _wrap("a", "-", "!")),
    C("analysis:_WORD_RE", "finditer", "'a' '_' x n '!'", _wrap("a", "_", "!")),
    C("analysis:_WORD_RE", "finditer", "'a._' x n", _wrap("", "a._", "!")),
    C("analysis:_WORD_RE", "finditer", "'_-' x n", _wrap("", "_-", "")),
    C("analysis:_PART_SPLIT_RE", "split", "\"'\" x n", _wrap("a", "'", "a")),
    C("analysis:_CAMEL_RE", "findall", "'A' x n 'a'", _wrap("", "A", "a")),
    C("analysis:_CAMEL_RE", "findall", "'A0' x n", _wrap("", "A0", "")),
    C("analysis:_DOT_PREFIX_RE", "finditer", "' .a' x n", _wrap("", " .a", "")),
    C("analysis:_DOT_PREFIX_RE", "finditer", "'.' 'a' x n", _wrap(".", "a", "")),
    C("analysis:_symbol_terms", "call", "'a#' x n", _wrap("", "a#", "")),
    C("analysis:_symbol_terms", "call", "' C++' x n", _wrap("", " C++", "")),
    C("analysis:_symbol_terms", "call", "'a' x n '#'", _wrap("", "a", "#")),
    # assoc: every note's traits (code lines, link targets) at index time; twins' sections
    C("assoc:note_traits", "call", "'](' x n", _wrap("", "](", "")),
    C("assoc:note_traits", "call", "'```\\n' x n", _wrap("", "```\n", "")),
    C("assoc:note_traits", "call", "'[a](' x n", _wrap("", "[a](", "")),
    C("assoc:note_traits", "call", "code lines x n", _wrap("```\n", "ab cd ef gh ij kl\n", "")),
    C("assoc:_prose", "call", "'~~~ ```\\n' x n", _wrap("", "~~~ ```\n", "")),
    # jamo: English words read as Korean writes them (query words and the vocabulary's terms)
    C("jamo:_SH_BEFORE_CONSONANT", "sub", "'ash' x n", _wrap("", "ash", "")),
    C("jamo:_CH_BEFORE_CONSONANT", "sub", "'ach' x n", _wrap("", "ach", "")),
    C("jamo:_CLUSTER_END", "search", "'bl' x n 'a'", _wrap("", "bl", "a")),
    C("jamo:_SCHWA", "sub", "'ab' x n 'q'", _wrap("", "ab", "q")),
    C("jamo:_SCHWA", "sub", "'a' 'b' x n 'el'", _wrap("a", "b", "elz")),
    C("jamo:_SCHWA", "sub", "'abe' x n 'lq'", _wrap("", "abe", "lq")),
    # vocab: glosses read from every note at index time
    C("vocab:extract_glosses", "call", "'(' x n", _wrap("", "(", "")),
    C("vocab:extract_glosses", "call", "'가 (a)' x n", _wrap("", "가 (a)", "")),
    C("vocab:extract_glosses", "call", "'가' x n '(a)'", _wrap("", "가", "(a)")),
    C("vocab:extract_glosses", "call", "'a(가 가 가 가)' x n", _wrap("", "a(가 가 가 가)", "")),
    # notes: parsing a note
    C("notes:FM_RE", "match", "'---' then no end", _wrap("---\n", "a\n", "")),
    C("notes:FM_RE", "match", "'\\n---' + blanks x n", _wrap("---\n", "\n---" + " " * 60 + "x", "")),
    C("notes:FM_EMPTY_RE", "match", "'---' + blanks", _wrap("---", " ", "x")),
    C("notes:FENCE_RE", "sub", "unclosed ``` then lines", _wrap("```\n", "x\n", "")),
    C("notes:FENCE_RE", "sub", "blanks x n", _wrap("", " ", "x")),
    C("notes:FENCE_RE", "sub", "``` and ~~~ unclosed", _wrap("```\n~~~\n", "  x\n", "")),
    C("notes:FENCE_RE", "sub", "'`' x n", _wrap("", "`", "")),
    C("notes:INLINE_CODE_RE", "sub", "'`' then no end", _wrap("`", "a", "")),
    C("notes:INLINE_CODE_RE", "sub", "'`a' x n", _wrap("", "`a", "")),
    C("notes:_HEADING_RE", "search", "'# a' blanks 'b'", _wrap("# a", " ", "b")),
    C("notes:_HEADING_RE", "search", "'#' blanks", _wrap("#", " ", "\n")),
    C("notes:_HEADING_RE", "search", "'# ' '#' x n 'x'", _wrap("# ", "#", "x")),
    C("notes:_heading_title", "call", "'# a' blanks 'b'", _wrap("# a", " ", "b")),
    C("notes:_heading_title", "call", "'# a' blanks '{#x}'", _wrap("# a", " ", "{#x}")),
    C("notes:_strip_heading_anchor", "call", "'{#' x n '}'", _wrap("", "{#", "}")),
    C("notes:_strip_heading_anchor", "call", "'a' blanks '{#x} y'", _wrap("a", " ", "{#x} y")),
    C("notes:_HASHTAG_RE", "finditer", "'#' 'a' x n", _wrap("#", "a", "")),
    C("notes:_HASHTAG_RE", "finditer", "'#' x n", _wrap("", "#", "")),
    C("notes:_HASHTAG_RE", "finditer", "' #a' x n", _wrap("", " #a", "")),
    C("notes:_HASHTAG_HINT_RE", "search", "'>#' x n", _wrap("", ">#", "")),
    C("notes:_HASHTAG_HINT_RE", "search", "'a#' x n", _wrap("", "a#", "")),
    C("notes:_NOT_TAG_RE", "sub", "'](' x n", _wrap("", "](", "")),
    C("notes:_NOT_TAG_RE", "sub", "'<a' x n", _wrap("", "<a", "")),
    C("notes:_NOT_TAG_RE", "sub", "'<!--' x n", _wrap("", "<!--", "")),
    C("notes:_NOT_TAG_RE", "sub", "'<style' x n", _wrap("", "<style", "")),
    C("notes:_NOT_TAG_RE", "sub", "'[[' x n", _wrap("", "[[", "")),
    C("notes:_NOT_TAG_RE", "sub", "'[' 'a' x n (ref def)", _wrap("[", "a", "")),
    C("notes:_NOT_TAG_RE", "sub", "blanks x n", _wrap("", " ", "x")),
    C("notes:hashtags", "call", "'#t<i> ' x n", lambda n: " ".join(f"#t{i}" for i in range(n // 7))[:n]),
    C("notes:WIKILINK_RE", "finditer", "'[[' x n", _wrap("", "[[", "")),
    C("notes:WIKILINK_RE", "finditer", "'[[a|' x n", _wrap("", "[[a|", "")),
    C("notes:WIKILINK_RE", "finditer", "'[[a#' x n", _wrap("", "[[a#", "")),
    C("notes:WIKILINK_RE", "finditer", "'[[' 'a' x n", _wrap("[[", "a", "")),
    C("notes:MDLINK_RE", "finditer", "'[' x n", _wrap("", "[", "")),
    C("notes:MDLINK_RE", "finditer", "'[a](' x n", _wrap("", "[a](", "")),
    C("notes:MDLINK_RE", "finditer", "'[a](b.md \"' x n", _wrap("", '[a](b.md "', "")),
    C("notes:MDLINK_RE", "finditer", "'[a](b.md' blanks", _wrap("[a](b.md", " ", "")),
    C("notes:MDLINK_RE", "finditer", "'[a](' 'x.md#' x n", _wrap("[a](", "x.md#", "!")),
    C("notes:MDLINK_RE", "finditer", "'[a](' 'x.md' x n", _wrap("[a](", "x.md", "!")),
    C("notes:parse_links", "call", "'[[l<i>]]' x n",
      lambda n: "".join(f"[[l{i}]]" for i in range(n // 9))[:n]),
    C("notes:parse_links", "call", "'[a](l<i>.md)' x n",
      lambda n: "".join(f"[a](l{i}.md)" for i in range(n // 13))[:n]),
    C("notes:parse_tags", "call", "'t<i> ' x n", lambda n: " ".join(f"t{i}" for i in range(n // 6))[:n]),
    C("notes:_CONTROL_RE", "sub", "ESC x n", _wrap("", "\x1b", "")),
    C("notes:_AGO_RE", "match", "blanks '1'", _wrap("", " ", "1")),
    C("notes:_AGO_RE", "match", "'1' x n 'x'", _wrap("", "1", "x")),
    C("notes:slugify", "call", "'_-' x n", _wrap("", "_-", "")),
    C("notes:slugify", "call", "'가' x n (a long title)", _wrap("", "가", "")),
    # links: rewriting links on rename
    C("links:_YAML_UNSAFE", "search", "':' x n", _wrap("", ":", "")),
    C("links:_WIKI_UNSAFE", "search", "'a' x n", _wrap("", "a", "")),
    C("links:link_occurrences", "call", "'[' x n", _wrap("", "[", "")),
    C("links:link_occurrences", "call", "'[a](' x n", _wrap("", "[a](", "")),
    # render and search: showing a note, snippets, the query
    C("render:_WIKILINK_RE", "finditer", "'[[' x n", _wrap("", "[[", "")),
    C("render:_WIKILINK_RE", "finditer", "'[[a|' x n", _wrap("", "[[a|", "")),
    C("search:_TOKEN_RE", "finditer", "'\"' 'a' x n", _wrap('"', "a", "")),
    C("search:_TOKEN_RE", "finditer", "'\"a ' x n", _wrap("", '"a ', "")),
    C("plain:_MD_EMPHASIS_RE", "sub", "'*' x n", _wrap("", "*", "")),
    C("plain:_MD_WIKILINK_RE", "sub", "'[[' x n", _wrap("", "[[", "")),
    C("plain:_MD_WIKILINK_RE", "sub", "'[[a|' x n", _wrap("", "[[a|", "")),
    # plain: notes read as plain text (snippets), a line at a time
    C("plain:_MARKUP_RE", "search", "'a' x n", _wrap("", "a", "")),
    # search: is an excluded -word an option (the query is capped, but still)
    C("search:_OPTION_RE", "match", "'-a' x n '!'", _wrap("", "-a", "!")),
    C("search:_OPTION_RE", "match", "'-' 'a_' x n '--'", _wrap("-", "a_", "--")),
    C("plain:_FENCE_LINE_RE", "match", "'`' x n", _wrap("", "`", "")),
    C("plain:_FENCE_LINE_RE", "match", "blanks '~' x n", _wrap("   ", "~", "x")),
    C("plain:_RULE_RE", "match", "'- ' x n 'x'", _wrap("", "- ", "x")),
    C("plain:_RULE_RE", "match", "'-' blanks 'x'", _wrap("-", " ", "x")),
    C("plain:_TABLE_RULE_RE", "match", "'|---' x n ' x'", _wrap("", "|---", " x")),
    C("plain:_TABLE_RULE_RE", "match", "'|' '-' x n ' x'", _wrap("|", "-", " x")),
    C("plain:_TABLE_RULE_RE", "match", "'| -' x n", _wrap("", "| -", "")),
    C("plain:_BLOCK_MARKS_RE", "match", "'>' x n", _wrap("", ">", "")),
    C("plain:_BLOCK_MARKS_RE", "match", "'> ' x n '#######'", _wrap("", "> ", "#######")),
    C("plain:_CELL_SPLIT_RE", "split", "'\\|' x n", _wrap("", "\\|", "")),
    C("plain:_MD_LINK_RE", "sub", "'[' x n", _wrap("", "[", "")),
    C("plain:_MD_LINK_RE", "sub", "'[a](' x n", _wrap("", "[a](", "")),
    C("plain:_MD_LINK_RE", "sub", "'[a](' 'x' x n", _wrap("[a](", "x", "")),
    C("plain:_AUTOLINK_RE", "sub", "'<http:' x n", _wrap("", "<http:", "")),
    C("plain:_AUTOLINK_RE", "sub", "'<http:' 'a' x n", _wrap("<http:", "a", "")),
    C("plain:_HTML_COMMENT_RE", "sub", "'<!--' x n '-->'", _wrap("", "<!--", "-->")),
    C("plain:_HTML_COMMENT_RE", "sub", "'<!--' 'x' x n '-->'", _wrap("<!--", "x", "-->")),
    C("plain:_HTML_TAG_RE", "sub", "'<a' x n", _wrap("", "<a", "")),
    C("plain:_HTML_TAG_RE", "sub", "'<a' blanks", _wrap("<a", " ", "")),
    C("plain:_HTML_TAG_RE", "sub", "'<' 'a' x n", _wrap("<", "a", "")),
    C("plain:_MD_ITALIC_RE", "sub", "'*a' x n", _wrap("", "*a", "")),
    C("plain:_MD_ITALIC_RE", "sub", "' *a' x n", _wrap("", " *a", "")),
    C("plain:_MD_ITALIC_RE", "sub", "'_a ' x n", _wrap("", "_a ", "")),
    C("plain:_MD_ITALIC_RE", "sub", "'*' 'a ' x n", _wrap("*", "a ", "")),
    C("plain:_NUMBERED_HEADING_RE", "sub", "'1. ' blanks 'x'", _wrap("1. ", " ", "x")),
    C("plain:_NUMBERED_HEADING_RE", "sub", "'1. ' x n", _wrap("", "1. ", "")),
    C("plain:snippet_lines", "call", "'| a ' x n", _wrap("", "| a ", "")),
    C("plain:snippet_lines", "call", "'> ' x n 'x'", _wrap("", "> ", "x")),
    # a question's first hits are read for their headings (kb/topic.py)
    C("topic:heading_terms", "call", "'\\n#' x n", _wrap("", "\n#", "")),
    C("topic:heading_terms", "call", "'\\n# a' x n", _wrap("", "\n# a", "")),
    C("topic:heading_terms", "call", "'a#' x n", _wrap("", "a#", "")),
    C("topic:heading_terms", "call", "blanks '#'", _wrap("", " ", "#")),
    C("topic:heading_terms", "call", "'```\\n' x n", _wrap("", "```\n", "")),
    # ... and, at index time, for the words a note only lists (list items, table rows)
    C("topic:_ITEM", "match", "blanks x n", _wrap("", " ", "x")),
    C("topic:_ITEM", "match", "'1' x n '.'", _wrap("", "1", ".")),
    C("topic:_WORD", "findall", "'a_' x n", _wrap("", "a_", "")),
    C("topic:listed_terms", "call", "'- a\\n' x n", _wrap("", "- a\n", "")),
    C("topic:listed_terms", "call", "'| ' x n", _wrap("", "| ", "")),
    # kb lsp: the line before the cursor (at most 300 characters of it) and the buffer
    C("lsp.text:_WIKI_OPEN", "search", "'[[' 'a' x n '|'", _wrap("[[", "a", "|")),
    C("lsp.text:_WIKI_OPEN", "search", "'[[' x n", _wrap("", "[[", "")),
    C("lsp.text:_WIKI_HEADING", "search", "'[[' 'a' x n '['", _wrap("[[", "a", "[")),
    C("lsp.text:_WIKI_HEADING", "search", "'[[a#' x n", _wrap("", "[[a#", "")),
    C("lsp.text:_MD_OPEN", "search", "'](' 'a' x n ' '", _wrap("](", "a", " ")),
    C("lsp.text:_MD_OPEN", "search", "'](' x n", _wrap("", "](", "")),
    C("lsp.text:_HASH_TAG", "search", "' #' 'a' x n ' '", _wrap(" #", "a", " ")),
    C("lsp.text:_HASH_TAG", "search", "' #a' x n", _wrap("", " #a", "")),
    C("lsp.text:_TAG_WORD", "search", "'a' x n ','", _wrap("", "a", ",")),
    C("lsp.text:_TAG_WORD", "search", "'a,' x n", _wrap("", "a,", "")),
    C("lsp.text:_FM_TAGS_KEY", "match", "'tags' blanks", _wrap("tags", " ", "x")),
    C("lsp.text:_FM_KEY", "match", "'a' x n", _wrap("", "a", "")),
    C("lsp.text:_FENCE_LINE", "finditer", "blanks x n", _wrap("", " ", "x")),
    C("lsp.text:_FENCE_LINE", "finditer", "'\\n ``' x n", _wrap("", "\n ``", "")),
    C("lsp.text:_ATX", "finditer", "'#' blanks", _wrap("#", " ", "")),
    C("lsp.text:_ATX", "finditer", "'\\n#######' x n", _wrap("", "\n#######", "")),
    C("lsp.text:_LINE_END", "finditer", "'\\r' x n", _wrap("", "\r", "")),
    # kb find: a hit's preview
    C("find.source:_FENCE_RE", "match", "blanks x n", _wrap("", " ", "")),
    # stats
    C("stats:_HANGUL_RUN", "findall", "'가a' x n", _wrap("", "가a", "")),
    C("stats:_LATIN_RUN", "findall", "'a가' x n", _wrap("", "a가", "")),
    # kb grep: the user's own pattern, run on every note (RE2 where it means the same)
    C("grep:search_file", "call", "(a+)+$ on 'a' x n '!'", _wrap("", "a", "!")),
    C("grep:search_file", "call", "(a|aa)*b on 'a' x n", _wrap("", "a", "")),
    C("grep:search_file", "call", "(x+x+)+y on 'x' x n", _wrap("", "x", "")),
]

#: The patterns of the ``grep:search_file`` cases, by the case's ``what``.
GREP_PATTERNS = {"(a+)+$": "(a+)+$", "(a|aa)*b": "(a|aa)*b", "(x+x+)+y": "(x+x+)+y"}


# --------------------------------------------------------------------------- running


class Timeout(Exception):
    pass


def resolve(target: str) -> Any | None:
    """The kb object ``module:name`` names, or None (an older kb without it)."""
    module, name = target.split(":")
    try:
        return getattr(importlib.import_module(f"kb.{module}"), name)
    except (ImportError, AttributeError):
        return None


def run_case(case: Case, text: str) -> Any:
    obj = resolve(case.target)
    if obj is None:
        raise LookupError(case.target)
    if case.method == "call":
        if case.target == "grep:search_file":
            from kb.grep import compile_pattern

            return obj(compile_pattern(GREP_PATTERNS[case.what.split(" on ")[0]]), text.encode())
        if case.target.endswith(("parse_links", "snippet_lines")):
            return obj(text, "a.md")
        return obj(text)
    if case.method == "finditer":
        return sum(1 for _ in obj.finditer(text))
    if case.method == "sub":
        return len(obj.sub(" ", text))
    return getattr(obj, case.method)(text)


def _alarm(*_: Any) -> None:
    raise Timeout()


def timed(fn: Callable[[], Any], runs: int, timeout: float) -> float:
    """Best of ``runs`` in seconds; raises :class:`Timeout` after ``timeout`` seconds.
    (``re`` checks for signals while it matches, so the alarm stops a runaway regex.)"""
    best = float("inf")
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for _ in range(runs):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            start = time.perf_counter()
            try:
                fn()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            best = min(best, time.perf_counter() - start)
    finally:
        signal.signal(signal.SIGALRM, old)
    return best


def patterns_in_kb() -> dict[str, re.Pattern[str]]:
    """Every module-level compiled regex of kb, as ``module:name``."""
    import pkgutil

    import kb

    found: dict[str, re.Pattern[str]] = {}
    for info in pkgutil.walk_packages(kb.__path__, "kb."):
        module = info.name.removeprefix("kb.")
        if module == "__main__":  # (importing it runs the CLI)
            continue
        try:
            mod = importlib.import_module(info.name)
        except ImportError:  # a module of an optional part whose library is missing
            continue
        source = Path(mod.__file__ or "").read_text(encoding="utf-8")
        for name, value in vars(mod).items():
            # defined here, not imported (``from .notes import FM_RE`` is notes')
            if isinstance(value, re.Pattern) and re.search(rf"^{re.escape(name)}\s*[:=]", source, re.M):
                found[f"{module}:{name}"] = value
    return found


def real_text(size: int, corpus: Path) -> str:
    """``size`` characters of real notes, concatenated (the same for every case)."""
    parts: list[str] = []
    total = 0
    for path in sorted(corpus.rglob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        total += len(text)
        if total >= size:
            break
    return "".join(parts)[:size]


def _fmt(seconds: float | None, timeout: float) -> str:
    if seconds is None:
        return "n/a"
    if seconds == float("inf"):
        return f">{timeout:g} s"
    return f"{seconds * 1000:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=200_000, help="characters of each hostile input")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds before a case is stopped")
    ap.add_argument("--budget-ms", type=float, default=50.0, help="target per regex at --size")
    ap.add_argument("--note-ratio", type=float, default=3.0, help="target per note: x a real note")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)
    size, quarter = args.size, args.size // 4

    import kb

    print(f"kb from {Path(kb.__file__).parent}; inputs of {size:,} characters; best of {args.runs}")
    if args.corpus.is_dir():
        real = real_text(size, args.corpus)
    else:
        real = _rep("파드가 생성된다 pod-reader. ", size)
    rows: list[dict[str, Any]] = []
    print(f"\n{'case':58} {'ms':>9} {'ms 1/4':>9} {'growth':>7} {'ms real':>8} {'x real':>7}  ok")
    for case in CASES:
        row: dict[str, Any] = {"case": case.name}
        if resolve(case.target) is None:
            row.update(ms=None, ok=None)
            print(f"{case.name[:58]:58} {'n/a':>9}")
            rows.append(row)
            continue
        text, small = case.make(size), case.make(quarter)
        results: list[float] = []
        for sample in (text, small, real):
            try:
                results.append(timed(lambda c=case, s=sample: run_case(c, s), args.runs, args.timeout))
            except Timeout:
                results.append(float("inf"))
        full, part, ref = results
        growth = full / part if part and full != float("inf") else float("inf")
        # a function (not a regex) may cost what real text costs it, a few times over
        ok = full * 1000 <= args.budget_ms or (
            case.method == "call" and bool(ref) and full / ref <= args.note_ratio
        )
        row.update(ms=full * 1000, ms_quarter=part * 1000, growth=growth, ms_real=ref * 1000,
                   x_real=full / ref if ref else None, ok=ok)
        rows.append(row)
        x_real = f"{full / ref:.1f}" if ref and full != float("inf") else "-"
        print(f"{case.name[:58]:58} {_fmt(full, args.timeout):>9} {_fmt(part, args.timeout):>9} "
              f"{growth:>7.1f} {ref * 1000:>8.2f} {x_real:>7}  {'ok' if ok else 'SLOW'}")

    # ------------------------------------------------------------------ per note
    import kb.analysis
    from kb.analysis import iter_terms
    from kb.notes import parse_text

    def index_note(body: str) -> None:
        # as in a fresh kb process: the analyzer's per-word cache starts empty
        for cache in getattr(kb.analysis, "_CACHE", {}).values():
            cache.clear()
        note = parse_text("hostile.md", body)
        for _ in iter_terms(note.body):
            pass
        for text in (note.title, " ".join(note.tags)):
            for _ in iter_terms(text):
                pass

    try:
        ref_note = timed(lambda: index_note(real), args.runs, args.timeout * 10)
    except Timeout:
        ref_note = float("inf")
    notes: list[dict[str, Any]] = []
    print(f"\nper note (parse + analyze), real note of {size:,} characters: {ref_note * 1000:.1f} ms")
    print(f"{'note body':58} {'ms':>9} {'x real':>7}  ok")
    seen: set[str] = set()
    for case in CASES:
        if case.target.split(":")[0] not in ("analysis", "notes", "links") or case.what in seen:
            continue
        seen.add(case.what)
        body = case.make(size)
        try:
            t = timed(lambda b=body: index_note(b), args.runs, args.timeout)
        except Timeout:
            t = float("inf")
        ratio = t / ref_note if ref_note else float("inf")
        ok = ratio <= args.note_ratio
        notes.append({"body": case.what, "ms": t * 1000, "x_real": ratio, "ok": ok})
        print(f"{case.what[:58]:58} {_fmt(t, args.timeout):>9} {ratio:>7.2f}  {'ok' if ok else 'SLOW'}")

    slow = [r["case"] for r in rows if r.get("ok") is False] + [n["body"] for n in notes if not n["ok"]]
    print(f"\n{len(rows)} regex cases, {len(notes)} note bodies; over budget: {len(slow)}")
    for name in slow:
        print(f"  SLOW  {name}")
    if args.json:
        args.json.write_text(json.dumps({"size": size, "regexes": rows, "notes": notes,
                                         "ref_note_ms": ref_note * 1000}, indent=2, default=str))
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
