"""How much a word of a question names its topic, learned from the notebook's counts.

A question typed into a search box mixes the topic (``도커 컨테이너 데이터``) with the
asker's own words (``지워도``, ``남게``, ``자꾸``, ``물어보면``). Rarity alone (idf) cannot
tell them apart: a verb form the notes seldom use is as rare as a topic word. What
does tell them apart is how a word is used where it occurs: a topic word comes back
again and again in the notes that are about it (``컨테이너`` 5.8 times a note that has
it, ``pod`` 13.9), a word of the asker's wording turns up once and is gone (``남게``
1.06, ``지워`` 1.0, ``끝에`` 1.2). This is Church and Gale's burstiness (the
adaptation of a term: "a word that occurs once in a document is likely to occur
again if it is a content word"), read from the index's own counts: the occurrences
of a term over the notes holding it.

:func:`topic_share` turns that into a factor of a word's weight in a question
(:mod:`kb.search` scales each word's weight by it): 1 for a word used like a topic,
less for one used once a note, never below :data:`MIN_SHARE`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from typing import Any

#: A word used this many times a note (or more) where it occurs counts as a topic word.
TOPIC_BURST = 2.5
#: Pseudo-counts that pull a rare word's ratio towards 1 + (TOPIC_BURST - 1) / 2: two
#: notes that each say it once prove little.
PRIOR_NOTES = 2.0
#: The least share of its weight a question word keeps.
MIN_SHARE = 0.3
#: The body is where a word's use shows (a title says each word once).
FIELD = "body"


def burstiness(reader: Any, term: str) -> float:
    """Occurrences of ``term`` per note holding it in the body, smoothed towards the
    middle for terms in few notes; 0 when no note's body has it."""
    if (FIELD, term) not in reader:
        return 0.0
    df = reader.doc_frequency(FIELD, term)
    if not df:
        return 0.0
    cf = reader.frequency(FIELD, term)
    prior = 1.0 + (TOPIC_BURST - 1.0) / 2.0
    return (cf + PRIOR_NOTES * prior) / (df + PRIOR_NOTES)


def topic_share(reader: Any, terms: Iterable[str]) -> float:
    """The factor of a question word's weight: the burstiness of its most bursty form
    (the typed terms, or a form searched in their place: ``파드`` is seldom written in a
    notebook that says ``pod``), against :data:`TOPIC_BURST`."""
    best = 0.0
    for t in terms:
        best = max(best, burstiness(reader, t))
    if best <= 0.0:
        return 1.0  # nothing known of it: leave its weight alone
    share = (best - 1.0) / (TOPIC_BURST - 1.0)
    return max(MIN_SHARE, min(1.0, share))


# --------------------------------------------------------------------------- headings

#: Notes of a question's first hits whose headings are read (:func:`heading_shares`).
HEADING_POOL = 30
#: Characters of a note, and marked lines (headings, fences) in them, read for its headings:
#: a hostile note costs no more than a long one.
HEADING_SCAN_CHARS = 200_000
MAX_MARKED_LINES = 2_000
#: A note whose headings hold all of a question's weight scores this much more (in between
#: by the share they hold): a heading names what its section answers.
HEADING_BONUS = 0.3


def word_terms(q: Any) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """The terms one word of a query matches (its terms and their other forms), and the
    phrases it matches (a compound split, a multi-word alias), from the leaves of its query."""
    singles: set[str] = set()
    phrases: list[tuple[str, ...]] = []
    leaves = [q] if q.is_leaf() else list(q.leaves())
    for leaf in leaves:
        words = getattr(leaf, "words", None)
        if words:
            phrases.append(tuple(words))
        else:
            text = getattr(leaf, "text", None)
            if isinstance(text, str):
                singles.add(text)
    return frozenset(singles), tuple(phrases)


def _marked_lines(body: str) -> list[str]:
    """The lines of ``body`` whose first character after spaces and tabs starts a heading
    or a code fence (``#``, three backticks, ``~~~``), in order. ``str.find`` jumps to each mark and
    on to the next line: every character is looked at a few times, however the text is
    made, and the plain lines (most of a note) never reach Python."""
    body = body[:HEADING_SCAN_CHARS]
    starts: set[int] = set()
    for mark in ("#", "```", "~~~"):
        i = body.find(mark)
        while i >= 0 and len(starts) < 3 * MAX_MARKED_LINES:
            start = body.rfind("\n", 0, i) + 1
            if not body[start:i].strip(" \t"):
                starts.add(start)
            end = body.find("\n", i)
            if end < 0:
                break
            i = body.find(mark, end + 1)
    out = []
    for start in sorted(starts)[:MAX_MARKED_LINES]:
        end = body.find("\n", start)
        out.append(body[start:] if end < 0 else body[start:end])
    return out


def fenced(lines: Iterable[str]) -> Iterator[tuple[bool, str]]:
    """Each line of a Markdown text that is no code fence, and whether it stands in a code
    block (between a fence and the next of the same kind)."""
    fence = ""
    for line in lines:
        s = line.lstrip(" \t")
        if s.startswith(("```", "~~~")):
            mark = s[:3]
            if not fence:
                fence = mark
            elif mark == fence:
                fence = ""
            continue
        yield bool(fence), line


def headings(body: str) -> list[str]:
    """The ATX headings of a Markdown text (``## 테스트 하나만 실행하기``), code blocks
    skipped (linear in the text)."""
    out: list[str] = []
    for in_code, line in fenced(_marked_lines(body)):
        if in_code:
            continue
        text = line.lstrip(" \t").lstrip("#")
        if text[:1] in (" ", "\t") or not text:
            out.append(text.strip())
    return out


def heading_terms(body: str) -> set[str]:
    """The index terms of a note's headings."""
    from .analysis import iter_terms

    return {t for t, _, _, _ in iter_terms("\n".join(headings(body)))}


def heading_share(found: set[str], words: list[tuple[frozenset[str], tuple[tuple[str, ...], ...], float]]
                  ) -> tuple[float, list[str]]:
    """The share of a question's word weight that the terms of a note's headings
    (``found``) hold, and those terms: a word counts when one of its terms (or every
    word of one of its phrases) stands in some heading."""
    total = sum(w for _, _, w in words)
    if total <= 0.0 or not found:
        return 0.0, []
    held = 0.0
    matched: list[str] = []
    for singles, phrases, w in words:
        hits = sorted(singles & found)
        for p in phrases:
            if all(t in found for t in p):
                hits.extend(p)
        if hits:
            held += w
            matched.extend(hits)
    return held / total, sorted(set(matched))


# --------------------------------------------------------------------------- list-only words

#: A question's word that a note holds only in its list items and table rows (an index,
#: a table of contents, a list of links) costs the note this much of its score, in
#: between by the share of the question's weight such words hold (:func:`listed_share`).
LIST_PENALTY = 0.5
#: The least share of a note's lines (code out, blank lines out) that are list items or
#: table rows for the note to keep :func:`listed_terms`.
MIN_ITEM_LINES = 0.2
#: A line that is a list item (``-``, ``*``, ``+``, ``1.``, ``1)``) or a table row (``|``).
_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]|[ \t]*\|")
_WORD = re.compile(r"\w+")


def listed_terms(body: str) -> list[str]:
    """The index terms of a note's list items and table rows that the rest of its text
    (prose, headings; code blocks out) does not hold: what the note names in a list and
    never explains; none for a note of fewer than :data:`MIN_ITEM_LINES` item lines. A
    term counts as held by the rest when some word of it starts with the term (a stem,
    ``되돌리`` of ``되돌리려면``), so a doubt keeps a term out. Read at index time
    (:mod:`kb.index.schema`); only the item words the rest lacks are analyzed."""
    from .analysis import iter_terms

    items: list[str] = []
    rest: list[str] = []
    for in_code, line in fenced(body[:HEADING_SCAN_CHARS].split("\n")):
        if not in_code:
            (items if _ITEM.match(line) else rest).append(line)
    lines = len(items) + sum(1 for line in rest if line.strip())
    if len(items) < MIN_ITEM_LINES * lines:
        return []  # a note of prose with a list or two: it explains what it lists
    held = set(_WORD.findall("\n".join(rest).lower()))
    words = sorted(held)
    # Only the item words whose parts are not all words of the rest are analyzed (the
    # terms of a word are its stem and parts: those of a word the rest has are held).
    new = {w for w in "\n".join(items).lower().split() if not held.issuperset(_WORD.findall(w))}
    out: set[str] = set()
    for term, _, _, _ in iter_terms("\n".join(sorted(new))):
        if term in out:
            continue
        key = term.lstrip("~")
        i = bisect.bisect_left(words, key)
        if not (i < len(words) and words[i].startswith(key)):
            out.add(term)
    return sorted(out)[:MAX_LISTED_TERMS]


def listed_share(reader: Any, listed: dict[int, frozenset[str]], words: list[tuple[frozenset[str], float]]
                 ) -> dict[int, tuple[float, list[int]]]:
    """For each note of ``listed`` (a note's number -> its :func:`listed_terms`, kept with
    its stored fields) holding some of a question's words (``(terms, weight)``) only in
    its list items or table rows: the share of the question's weight those words hold,
    and which words. A word is listed-only in a note when one of its terms is listed there
    and none of its :data:`MAX_OTHER_FORMS` shortest other terms is in the note's body (read
    from the index for those notes only)."""
    total = sum(w for _, w in words)
    if total <= 0.0 or not any(listed.values()):
        return {}
    from .scoring import segments

    leaves = segments(reader)
    out: dict[int, tuple[float, list[int]]] = {}
    for i, (terms, w) in enumerate(words):
        if w < MIN_LISTED_PART * total:
            continue  # a question word's or a grammar word's weight: not worth reading
        pending = sorted(d for d, held in listed.items() if not terms.isdisjoint(held))
        for t in sorted(terms, key=lambda t: (len(t), t))[:MAX_OTHER_FORMS]:  # likelier in the note first
            if not pending:
                break
            ask = [d for d in pending if t not in listed[d]]
            if ask:
                found = _holding(leaves, "body", t, ask)
                pending = [d for d in pending if d not in found]
        for d in pending:
            share, which = out.get(d, (0.0, []))
            out[d] = (share + w / total, [*which, i])
    return out


#: A word of less than this share of a question's weight is not read for it.
MIN_LISTED_PART = 0.05
#: A word's terms looked for in a note's body (the shortest: its stems and plain forms).
MAX_OTHER_FORMS = 8
#: The most terms a note keeps as :func:`listed_terms` (a hostile list of a million words).
MAX_LISTED_TERMS = 5_000


def _holding(leaves: list[tuple[Any, int]], field: str, term: str, docs: list[int]) -> set[int]:
    """Those of ``docs`` (sorted, top-level numbers) whose ``field`` holds ``term``, read
    segment by segment (``leaves``: each segment's reader and first number), only in the
    segments some of them are in."""
    from .scoring import docs_holding, segment_docs

    btext = term.encode("utf-8")
    found: set[int] = set()
    for leaf, offset, local in segment_docs(leaves, docs):
        if (field, btext) in leaf:
            found.update(d + offset for d in docs_holding(leaf.postings(field, btext), local))
    return found
