"""What ``kb find`` shows, without Textual: the notebook as the view uses it
(:class:`Source`, its one door to :mod:`kb.core`), the threads that search and render
(:class:`Latest`), and a note's preview laid out around its first match."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .. import render

if TYPE_CHECKING:
    from ..core import Notebook
    from ..noterow import NoteRow
    from ..notes import Note
    from ..search import Hit, SearchResult

#: Hits asked of the search per query (the list shows what fits; the rest scroll).
HIT_LIMIT = 50
#: Notes listed when the query is empty: the most recently modified.
RECENT_LIMIT = 100
#: Lines of a note's preview searched for matches to highlight.
MARK_LINES = 5000
#: Below this width the list sits above the preview instead of beside it.
SIDE_BY_SIDE = 110


# --------------------------------------------------------------------------- the core


@dataclass
class Item:
    """One row of the list: a hit of the query, or a recent note when there is none."""

    path: str
    slug: str
    title: str
    tags: list[str]
    date: dt.datetime | None
    hit: Hit | None = None

    @property
    def line(self) -> int | None:
        return self.hit.line if self.hit is not None else None


@dataclass
class Answer:
    """What the list shows for one query: its items and a line about them."""

    query: str
    items: list[Item]
    total: int
    notice: str = ""
    terms: set[str] = field(default_factory=set)
    error: str = ""
    #: perf_counter() when the search thread started and finished it (benchmarks/find_latency.py).
    asked: float = 0.0
    started: float = 0.0
    finished: float = 0.0


class Source:
    """The notebook as ``kb find`` uses it: its one door to kb's core (:class:`kb.core.Notebook`).

    Used from the search thread, except :meth:`locate`, :meth:`read` and :meth:`body`
    (the preview thread: they read a file) and :meth:`tag_counts` (the UI)."""

    def __init__(self, nb: Notebook) -> None:
        self.nb = nb
        self.root: Path = nb.root

    def rows(self) -> dict[str, NoteRow]:
        """Every indexed note by path (read again after :meth:`sync` changed the index)."""
        return self.nb.by_path()

    def item(self, row: NoteRow | None, hit: Hit | None = None) -> Item:
        date = row.date if row is not None else None
        if hit is not None:
            return Item(hit.path, hit.slug, hit.title, list(hit.tags), date, hit)
        assert row is not None
        return Item(row.path, row.slug, row.title, list(row.tags), date)

    def answer(self, query: str) -> Answer:
        """The hits of ``query`` (as ``kb search`` finds them, without snippets), or the
        most recently modified notes when it has no words."""
        from ..core import NoteFilter
        from ..errors import KbError
        from ..search import has_words

        if not query.strip():
            recent = self.nb.rows(NoteFilter(sort="recent", limit=RECENT_LIMIT))
            return Answer(query, [self.item(r) for r in recent], len(self.rows()))
        if not has_words(query):
            return Answer(query, [], 0, error="nothing to search for (`-word` only excludes)")
        try:
            result: SearchResult = self.nb.search(query, limit=HIT_LIMIT, snippets=False)
        except KbError as exc:
            return Answer(query, [], 0, error=str(exc))
        by_path = self.rows()
        items = [self.item(by_path.get(h.path), h) for h in result.hits]
        notice = result.notice
        if result.suggestions:
            notice = (notice + "; " if notice else "") + f"did you mean: {', '.join(result.suggestions)}?"
        return Answer(query, items, result.total, notice=notice, terms=set(result.terms),
                      error=result.notice if result.no_words else "")

    def locate(self, item: Item, terms: set[str]) -> None:
        """Find the line of the item's first match (``kb search``'s ``line``), once."""
        if item.hit is not None and item.hit.line is None:
            self.nb.snippet(item.hit, terms)

    def read(self, path: str) -> Note:
        from ..noterow import NoteRow

        return self.nb.read(NoteRow.of(path))

    def body(self, path: str) -> tuple[str, int]:
        """The note's body as search reads it, and the lines of the file above it."""
        from ..notes import read_body_at

        return read_body_at(self.root, path)

    def sync(self) -> bool:
        """Bring the index up to date with the files (after the editor, or a note gone);
        True when something changed."""
        from ..errors import KbError

        try:
            return self.nb.fresh()
        except KbError:  # busy: the next sync will do
            return False

    def tag_counts(self) -> list[tuple[str, int]]:
        return self.nb.tag_counts()


def spans_of(terms: set[str]) -> Callable[[str], list[tuple[int, int]]]:
    """Where a line of text holds one of the search's terms, as the snippets highlight
    them (whole surface words, by kb's analyzer)."""
    from ..analysis import iter_terms

    def spans(text: str) -> list[tuple[int, int]]:
        if not terms or not text.strip():
            return []
        return [(a, b) for t, _, a, b in iter_terms(text) if t in terms]

    return spans


# --------------------------------------------------------------------------- threads

J = TypeVar("J")
R = TypeVar("R")


class Latest(Generic[J, R]):
    """Runs jobs one at a time in one thread, always the newest submitted; a job
    replaced before it started never runs. ``done(seq, job, result or exception)``
    is called in that thread after each job (``seq`` grows with each submit)."""

    def __init__(self, run: Callable[[J], R], done: Callable[[int, J, Any], None], name: str) -> None:
        self._run, self._done = run, done
        self._cond = threading.Condition()
        self._pending: tuple[int, J] | None = None
        self._running = False
        self._seq = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: J) -> int:
        with self._cond:
            self._seq += 1
            self._pending = (self._seq, job)
            self._cond.notify()
            return self._seq

    def idle(self) -> bool:
        """Nothing running nor waiting to run."""
        return self._pending is None and not self._running

    def replaced(self) -> bool:
        """A newer job waits: the running one may give up (its answer would be dropped)."""
        return self._pending is not None

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                assert self._pending is not None
                seq, job = self._pending
                self._pending = None
                self._running = True
            try:
                result: Any = self._run(job)
            except Exception as exc:  # shown in the status line, never a dead thread
                result = exc
            finally:
                self._running = False
            if not self._stopped:
                try:
                    self._done(seq, job, result)
                except Exception:  # never a dead thread: the next job must still run
                    pass


@dataclass(frozen=True)
class Query:
    text: str
    sync: bool = False  # bring the index up to date first (after the editor)
    at: float = field(default_factory=time.perf_counter)  # when it was asked


@dataclass(frozen=True)
class PreviewJob:
    item: Item
    terms: frozenset[str]
    width: int
    #: Lines of the body to lay out (the pane's height and then some; the full view: all).
    lines: int = 0


@dataclass
class Rendered:
    """A preview laid out: its lines, and the first line with a match (None: none)."""

    lines: list[list[Any]]
    first: int | None
    gone: bool = False


#: Lines of a note's body the preview lays out at least, from a few lines above the first
#: match (more on a tall pane): rendering a long note whole took up to ~0.7 s on the corpus.
PREVIEW_LINES = 24
LEAD_LINES = 6
#: A preview is rendered once the query has not changed for this long (seconds): while
#: keys come faster, the hits follow each one and the preview of the newest follows them.
PREVIEW_QUIET = 0.06
_FENCE_RE = re.compile(r"[ \t]{0,3}(`{3,}|~{3,})")


def body_window(body: str, line: int | None, lines: int = PREVIEW_LINES) -> tuple[str, int, int]:
    """The part of ``body`` to render: from :data:`LEAD_LINES` above its line ``line``
    (0-based; None: the top), at most ``lines`` lines; with how many lines were left out
    above and below. A start inside a fenced code block moves up to its opening fence."""
    rows = body.split("\n")
    start = 0 if line is None or line < 2 * LEAD_LINES else min(line, len(rows)) - LEAD_LINES
    fence, opener = "", 0
    for k in range(start):
        m = _FENCE_RE.match(rows[k])
        if m is None:
            continue
        mark = m.group(1)
        if not fence:
            fence, opener = mark, k
        elif mark[0] == fence[0] and len(mark) >= len(fence) and not rows[k][m.end():].strip():
            fence = ""
    if fence:
        start = opener
    end = min(len(rows), start + lines)
    return "\n".join(rows[start:end]), start, len(rows) - end


def render_preview(source: Source, job: PreviewJob, whole: bool = False,
                   abandon: Callable[[], bool] = lambda: False) -> Rendered | None:
    """The note of ``job.item`` rendered ``job.width`` wide around its first match (``whole``:
    all of it), the search's terms highlighted. None when ``abandon()`` says so between
    steps (a search started: it comes first, and brings its own preview)."""
    item, width = job.item, job.width
    try:
        source.locate(item, set(job.terms))
        if abandon():
            return None
        note = source.read(item.path)
        body, offset = source.body(item.path)
    except FileNotFoundError:
        text = f"{item.slug} is gone (deleted or moved since the list was made); updating the list"
        return Rendered(render.rendered_lines(render.message(text, "yellow"), width), None, gone=True)
    except OSError as exc:
        text = f"cannot read {item.path}: {exc.strerror or exc}"
        return Rendered(render.rendered_lines(render.message(text, "yellow"), width), None)
    line = item.line - offset - 1 if item.line and item.line > offset else None
    window, above, below = (body, 0, 0) if whole else body_window(body, line, max(job.lines, PREVIEW_LINES))

    def laid_out(view: Any) -> list[list[Any]]:
        return render.rendered_lines(view, width)

    lines = laid_out(render.note_header(note, item.path))
    for warning in note.warnings:
        lines += laid_out(render.message(f"warning: {warning}", "yellow"))
    if above:
        lines += laid_out(render.message(f"… {above} lines above (Ctrl-F: the whole note)"))
    header = len(lines)
    if abandon():
        return None
    lines += laid_out(render.note_body(window, code_theme=render.code_theme()))
    if below:
        lines += laid_out(render.message(f"… {below} more lines (Ctrl-F: the whole note)"))
    if not job.terms:
        return Rendered(lines, None)
    if abandon():
        return None
    marks = spans_of(set(job.terms))
    render.mark_lines(lines, marks, stop=header)  # the title, but its first match is the body's
    first = render.mark_lines(lines, marks, start=header, stop=header + MARK_LINES)
    return Rendered(lines, first)
