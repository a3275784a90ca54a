"""``kb find``: search as you type, with a preview, straight into the editor.

A full-screen view on Textual (imported only by this command): a query line, the
ranked hits, and the selected note rendered and scrolled to its first match. Every
change of the query runs kb's own search (:func:`kb.search.search`: the analyzer,
aliases and syntax of ``kb search``), off the UI thread, on one index opened for the
whole session.

Typing is never debounced: each change is submitted to a :class:`Latest` runner, a
single thread that always runs the newest query it was given and drops the ones it
had no time to start; a result is shown only when it is newer than the one on screen,
so a slow old query never overwrites a newer one, and the list is replaced in one
refresh when the answer is there (a half-composed Hangul syllable does not blank it).

The only place this module reaches into kb's core is :class:`Source`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, OptionList, Static

from . import render

if TYPE_CHECKING:
    from .core import Notebook
    from .noterow import NoteRow
    from .notes import Note
    from .search import Hit, SearchResult

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
        self._by_path: dict[str, NoteRow] | None = None

    def rows(self) -> dict[str, NoteRow]:
        """Every indexed note by path (read again after :meth:`sync` changed the index)."""
        if self._by_path is None:
            self._by_path = {r.path: r for r in self.nb.rows()}
        return self._by_path

    def item(self, row: NoteRow | None, hit: Hit | None = None) -> Item:
        date = row.date if row is not None else None
        if hit is not None:
            return Item(hit.path, hit.slug, hit.title, list(hit.tags), date, hit)
        assert row is not None
        return Item(row.path, row.slug, row.title, list(row.tags), date)

    def answer(self, query: str) -> Answer:
        """The hits of ``query`` (as ``kb search`` finds them, without snippets), or the
        most recently modified notes when it has no words."""
        from .core import NoteFilter
        from .errors import KbError
        from .search import has_words

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
        from .noterow import NoteRow

        return self.nb.read(NoteRow.of(path))

    def body(self, path: str) -> tuple[str, int]:
        """The note's body as search reads it, and the lines of the file above it."""
        from .notes import read_body_at

        return read_body_at(self.root, path)

    def sync(self) -> bool:
        """Bring the index up to date with the files (after the editor, or a note gone);
        True when something changed."""
        from .errors import KbError

        try:
            changed = self.nb.fresh()
        except KbError:  # busy: the next sync will do
            return False
        if changed:
            self._by_path = None
        return changed

    def tag_counts(self) -> list[tuple[str, int]]:
        return self.nb.tag_counts()


def spans_of(terms: set[str]) -> Callable[[str], list[tuple[int, int]]]:
    """Where a line of text holds one of the search's terms, as the snippets highlight
    them (whole surface words, by kb's analyzer)."""
    from .analysis import iter_terms

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
                self._done(seq, job, result)


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
PREVIEW_LINES = 40
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


def render_preview(source: Source, job: PreviewJob, whole: bool = False) -> Rendered:
    """The note of ``job.item`` rendered ``job.width`` wide around its first match (``whole``:
    all of it), the search's terms highlighted."""
    item, width = job.item, job.width
    try:
        source.locate(item, set(job.terms))
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
    lines += laid_out(render.note_body(window, code_theme=_code_theme()))
    if below:
        lines += laid_out(render.message(f"… {below} more lines (Ctrl-F: the whole note)"))
    if not job.terms:
        return Rendered(lines, None)
    marks = spans_of(set(job.terms))
    render.mark_lines(lines, marks, stop=header)  # the title, but its first match is the body's
    first = render.mark_lines(lines, marks, start=header, stop=header + MARK_LINES)
    return Rendered(lines, first)


def _code_theme() -> str:
    return os.environ.get("KB_CODE_THEME") or "monokai"


# --------------------------------------------------------------------------- widgets


class Lines(ScrollView):
    """Pre-rendered lines drawn through Textual's line API (cheap to scroll)."""

    DEFAULT_CSS = "Lines { height: 1fr; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lines: list[Strip] = []

    def show(self, lines: list[list[Any]], top: int = 0) -> None:
        self.lines = [Strip(line) for line in lines]
        width = max((s.cell_length for s in self.lines), default=0)
        self.virtual_size = Size(width, len(self.lines))
        self.scroll_to(0, top, animate=False, immediate=True)
        # again once laid out: a widget just shown may not know its height yet, and a
        # scroll beyond what it can show then would stop short
        self.call_after_refresh(self.scroll_to, 0, top, animate=False, immediate=True)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        k = scroll_y + y
        width = self.size.width
        if k >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        return self.lines[k].crop_extend(scroll_x, scroll_x + width, self.rich_style)


class Preview(Lines):
    """The selected note, rendered and scrolled to its first match."""

    DEFAULT_CSS = "Preview { height: 1fr; }"
    can_focus = False

    def show_rendered(self, rendered: Rendered) -> None:
        # the first match a few lines from the top, with what leads to it above
        self.show(rendered.lines, max(0, (rendered.first or 0) - 3))


class HitList(Lines):
    """The hits, one line each, the cursor's marked with ``>`` (visible without colour)."""

    DEFAULT_CSS = "HitList { height: 1fr; }"
    COMPONENT_CLASSES = {"hit-list--cursor"}
    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items: list[Item] = []
        self.cursor = 0
        self._laid_out_at = -1

    def set_items(self, items: list[Item]) -> None:
        self.items = items
        self.cursor = 0
        self._lay_out()
        self.scroll_to(0, 0, animate=False, immediate=True)

    def _lay_out(self) -> None:
        width = max(self.size.width - 2, 10)
        self._laid_out_at = self.size.width
        table = render.find_rows([(i.title, i.slug, i.tags, i.date) for i in self.items])
        lines = render.rendered_lines(table, width) if self.items else []
        self.lines = [Strip(line) for line in lines]
        self.virtual_size = Size(width + 2, len(self.lines))
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_at:
            self._lay_out()

    def move(self, delta: int) -> None:
        if not self.items:
            return
        self.cursor = max(0, min(len(self.items) - 1, self.cursor + delta))
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(0, self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + self.size.height:
            self.scroll_to(0, self.cursor - self.size.height + 1, animate=False, immediate=True)
        self.refresh()

    @property
    def selected(self) -> Item | None:
        return self.items[self.cursor] if self.items else None

    def on_click(self, event: events.Click) -> None:
        """A click selects the row (a double click opens it, as Enter)."""
        k = self.scroll_offset.y + event.y
        if 0 <= k < len(self.items):
            self.app.action_move(k - self.cursor)  # type: ignore[attr-defined]
            if event.chain == 2:
                self.app.action_edit()  # type: ignore[attr-defined]

    def render_line(self, y: int) -> Strip:
        from rich.segment import Segment

        k = self.scroll_offset.y + y
        width = self.size.width
        if k >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        mine = k == self.cursor
        lead = Strip([Segment("> " if mine else "  ", self.rich_style)], 2)
        strip = Strip.join([lead, self.lines[k]]).crop_extend(0, width, self.rich_style)
        if mine:
            strip = strip.apply_style(self.get_component_rich_style("hit-list--cursor"))
        return strip


class QueryInput(Input):
    """The query line: ``?`` on an empty line shows the keys instead of being typed."""

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "?" and not self.value:
            event.stop()
            event.prevent_default()
            self.app.action_help()  # type: ignore[attr-defined]
            return
        await super()._on_key(event)


KEYS = [
    ("type", "search as you type (kb search syntax: tag:x, \"a phrase\", -word, a OR b)"),
    ("↑ ↓  Ctrl-P Ctrl-N", "move in the list (PgUp PgDn: a page)"),
    ("Enter", "open the note in $VISUAL/$EDITOR at its first match; back here after"),
    ("Ctrl-F", "show the note full-screen"),
    ("Ctrl-T", "narrow by tag (adds tag:NAME to the query)"),
    ("Ctrl-Y", "copy the note's slug (to the terminal's clipboard)"),
    ("Shift-↑ Shift-↓", "scroll the preview"),
    ("Tab", "move between the query and the list (there j k move, / types)"),
    ("? F1", "these keys (? on an empty query line or in the list)"),
    ("Esc  Ctrl-C  q", "leave (q in the list, the full view and here)"),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1,enter", "dismiss", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 100%; height: auto; max-height: 100%;
                          border: round $primary; padding: 0 1; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(render.keys_view(KEYS, "Esc, q or ? closes this"))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class TagScreen(ModalScreen[str | None]):
    """Pick a tag (typing filters them); the query is narrowed to it."""

    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("down,ctrl+n", "move(1)", show=False),
                Binding("up,ctrl+p", "move(-1)", show=False)]
    DEFAULT_CSS = """
    TagScreen { align: center middle; }
    TagScreen > Vertical { width: 60; max-width: 100%; height: 80%; border: round $primary;
                           background: $surface; }
    """

    def __init__(self, counts: list[tuple[str, int]]) -> None:
        super().__init__()
        self.counts = counts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(placeholder="tag", id="tag-query")
            yield OptionList(id="tags")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, text: str) -> None:
        want = text.strip().lower().lstrip("#")
        tags = self.query_one(OptionList)
        tags.clear_options()
        tags.add_options([render.message(f"{tag}  ({n})", "") for tag, n in self.counts if want in tag][:500])
        self._shown = [tag for tag, _ in self.counts if want in tag][:500]
        tags.highlighted = 0 if self._shown else None

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        k = self.query_one(OptionList).highlighted
        self.dismiss(self._shown[k] if k is not None and self._shown else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._shown[event.option_index])

    def action_move(self, delta: int) -> None:
        tags = self.query_one(OptionList)
        if self._shown:
            tags.highlighted = max(0, min(len(self._shown) - 1, (tags.highlighted or 0) + delta))

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteScreen(Screen[None]):
    """One note full-screen; Enter edits it, Esc or q goes back."""

    BINDINGS = [Binding("escape,q", "back", "back"), Binding("enter", "edit", "edit"),
                Binding("down,j", "scroll(1)", show=False), Binding("up,k", "scroll(-1)", show=False),
                Binding("pagedown,space", "page(1)", show=False), Binding("pageup,b", "page(-1)", show=False),
                Binding("home,g", "top", show=False), Binding("end,G", "bottom", show=False)]

    def __init__(self, item: Item, terms: frozenset[str]) -> None:
        super().__init__()
        self.item, self.terms = item, terms

    def compose(self) -> ComposeResult:
        yield Lines(id="full")
        yield Static(f" {self.item.slug}   Esc/q back  Enter edit  ↑↓ PgUp PgDn scroll", id="full-status",
                     markup=False)

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        job = PreviewJob(self.item, self.terms, max(self.size.width - 1, 20))
        self.run_worker(lambda: self._full_note(job), thread=True, exclusive=True, group="full")

    def _full_note(self, job: PreviewJob) -> None:  # a worker thread: a long note takes a while
        app: FindApp = self.app  # type: ignore[assignment]
        rendered = render_preview(app.source, job, whole=True)
        app.call_from_thread(self._put, rendered)

    def _put(self, rendered: Rendered) -> None:
        if self.is_attached:
            self.query_one(Lines).show(rendered.lines, max(0, (rendered.first or 0) - 3))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        self.app.call_later(self.app.action_edit)  # type: ignore[attr-defined]

    def action_scroll(self, n: int) -> None:
        self.query_one(Lines).scroll_relative(y=n, animate=False)

    def action_page(self, n: int) -> None:
        view = self.query_one(Lines)
        view.scroll_relative(y=n * max(view.size.height - 2, 1), animate=False)

    def action_top(self) -> None:
        self.query_one(Lines).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(Lines).scroll_end(animate=False)


# --------------------------------------------------------------------------- the app


class FindApp(App[str | None]):
    """``kb find``'s screen; returns the chosen note's slug (or path) in print mode."""

    TITLE = "kb find"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layers: base; }
    #top { height: 1; }
    #prompt { width: 2; color: $accent; }
    #query { border: none; height: 1; padding: 0; width: 1fr; background: $background; }
    #count { width: auto; color: $text-muted; padding: 0 0 0 1; }
    #body { layout: horizontal; height: 1fr; }
    HitList { width: 45%; height: 1fr; border-top: solid $primary-darken-2; scrollbar-size-vertical: 1; }
    HitList > .hit-list--cursor { background: $accent 35%; text-style: bold; }
    Preview { width: 1fr; height: 1fr; border-top: solid $primary-darken-2;
              border-left: solid $primary-darken-2; scrollbar-size-vertical: 1; }
    #status { height: 1; color: $text-muted; }
    .-narrow #body { layout: vertical; }
    .-narrow HitList { width: 100%; height: 40%; min-height: 4; }
    .-narrow Preview { width: 100%; border-left: none; }
    #full { height: 1fr; }
    #tag-query { border: none; height: 1; padding: 0 1; background: $background; }
    #tags { border: none; height: 1fr; }
    #full-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+c", "leave", "leave", priority=True, show=False),
        Binding("escape", "leave", "leave", show=False),
        Binding("down,ctrl+n", "move(1)", "down", show=False),
        Binding("up,ctrl+p", "move(-1)", "up", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("shift+down", "scroll_preview(3)", show=False),
        Binding("shift+up", "scroll_preview(-3)", show=False),
        Binding("ctrl+f", "full", show=False),
        Binding("ctrl+t", "tags", show=False),
        Binding("ctrl+y", "copy", show=False),
        Binding("f1", "help", show=False),
        Binding("tab", "switch_focus", show=False, priority=True),
    ]
    #: Actions of the main screen (not run while a dialog or the full view is up).
    MAIN_ACTIONS = {"move", "page", "scroll_preview", "full", "tags", "copy", "edit", "switch_focus",
                    "leave"}

    def __init__(self, source: Source, query: str = "", print_mode: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.initial = query
        #: "slug" or "path": Enter prints it and leaves instead of opening the editor.
        self.print_mode = print_mode
        self.answer: Answer | None = None
        self._shown_seq = 0
        self._asked_seq = 0
        self._preview_seq = 0
        self._preview_due = False
        self._changed_at = 0.0
        self._preview_cache: dict[tuple[str, frozenset[str], int], Rendered] = {}
        self._synced_for_gone: set[str] = set()
        #: Called with the query whenever its hits are on screen (benchmarks, tests).
        self.on_shown: Callable[[Answer], None] | None = None
        self.searches = Latest(self._search, self._searched, "kb-find-search")
        self.previews = Latest(self._preview_job, self._rendered, "kb-find-preview")

    @property
    def busy(self) -> bool:
        """A search or a preview asked for is not on screen yet."""
        return self._shown_seq < self._asked_seq or self._preview_due

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static(">", id="prompt")
            yield QueryInput(value=self.initial, placeholder="type to search; ? keys", id="query",
                             select_on_focus=False)
            yield Static("", id="count", markup=False)
        with Horizontal(id="body"):
            yield HitList(id="hits")
            yield Preview(id="preview")
        yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        self._set_narrow(self.size.width)
        self.query_one(QueryInput).focus()
        self._status("")
        self._ask(Query(self.initial))

    def on_resize(self, event: events.Resize) -> None:
        self._set_narrow(event.size.width)
        self._preview_cache.clear()
        self._ask_preview()

    def _set_narrow(self, width: int) -> None:
        self.screen.set_class(width < SIDE_BY_SIDE, "-narrow")

    # ---------------------------------------------------------------- searching

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "query":
            self._ask(Query(event.value))

    def _ask(self, query: Query) -> None:
        self._changed_at = time.monotonic()
        self._asked_seq = self.searches.submit(query)

    def _search(self, query: Query) -> Answer:  # the search thread
        started = time.perf_counter()
        if query.sync:
            self.source.sync()
        answer = self.source.answer(query.text)
        answer.asked, answer.started, answer.finished = query.at, started, time.perf_counter()
        return answer

    def _searched(self, seq: int, query: Query, answer: Any) -> None:  # the search thread
        try:
            self.call_from_thread(self._show, seq, query, answer)
        except RuntimeError:  # the app is closing
            pass

    def _show(self, seq: int, query: Query, answer: Answer | Exception) -> None:
        if seq <= self._shown_seq:
            return  # a newer answer is on screen already
        self._shown_seq = seq
        if isinstance(answer, Exception):
            answer = Answer(query.text, [], 0, error=f"search failed: {answer}")
        self.answer = answer
        with self.batch_update():
            self.query_one(HitList).set_items(answer.items)
            self._count()
            self._status(answer.error or answer.notice)
            self._ask_preview()
        if self.on_shown is not None:
            self.on_shown(answer)

    def _count(self) -> None:
        answer = self.answer
        if answer is None:
            return
        if not answer.query.strip():
            text = f"{len(answer.items)} recent" if answer.total else "no notes yet"
        else:
            text = f"{answer.total} note{'s' if answer.total != 1 else ''}"
        self.query_one("#count", Static).update(text)

    def _status(self, text: str) -> None:
        answer = self.answer
        if not text and answer is not None and not answer.items:
            if not answer.query.strip():
                text = f"No notes in {self.source.root}: add one with `kb add`."
            else:
                text = f"No notes match {answer.query!r}."
        keys = "Enter edit  ^F full  ^T tag  ^Y copy  ? keys  Esc quit"
        if self.print_mode:
            keys = f"Enter print {self.print_mode}  ^F full  ^T tag  ? keys  Esc quit"
        self.query_one("#status", Static).update(text or keys)

    # ---------------------------------------------------------------- preview

    def _ask_preview(self) -> None:
        item = self.query_one(HitList).selected
        preview = self.query_one(Preview)
        if item is None:
            self._preview_seq, self._preview_due = -1, False
            preview.show([])
            return
        width = max(preview.size.width - 1, 20)
        terms = frozenset(self.answer.terms) if self.answer else frozenset()
        key = (item.path, terms, width)
        if key in self._preview_cache:
            self._preview_seq = -1  # no preview on its way is wanted now
            self._preview_due = False
            preview.show_rendered(self._preview_cache[key])
            return
        self._preview_seq = self.previews.submit(PreviewJob(item, terms, width, 2 * preview.size.height))
        self._preview_due = True

    def _preview_job(self, job: PreviewJob) -> Rendered | None:  # the preview thread
        # The search comes first: one thread's Python runs at a time (the GIL), and a
        # preview rendering while the next keystroke's search runs slowed it ~2x.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not (
                self.searches.idle() and time.monotonic() - self._changed_at >= PREVIEW_QUIET):
            if self.previews.replaced():
                return None
            time.sleep(0.005)
        if self.previews.replaced():
            return None
        return render_preview(self.source, job)

    def _rendered(self, seq: int, job: PreviewJob, rendered: Any) -> None:  # the preview thread
        try:
            self.call_from_thread(self._show_preview, seq, job, rendered)
        except RuntimeError:
            pass

    def _show_preview(self, seq: int, job: PreviewJob, rendered: Rendered | Exception | None) -> None:
        if rendered is None:
            return  # given up for a newer one
        if isinstance(rendered, Exception):
            lines = render.rendered_lines(render.message(f"cannot show the note: {rendered}", "yellow"),
                                          job.width)
            rendered = Rendered(lines, None)
        elif not rendered.gone:
            if len(self._preview_cache) > 64:
                self._preview_cache.clear()
            self._preview_cache[(job.item.path, job.terms, job.width)] = rendered
        if seq != self._preview_seq:
            return
        self._preview_due = False
        self.query_one(Preview).show_rendered(rendered)
        if rendered.gone and job.item.path not in self._synced_for_gone:
            self._synced_for_gone.add(job.item.path)  # once a note: a file the index keeps is no loop
            self._refresh()

    def _refresh(self) -> None:
        """Bring the index up to date, then search the query again."""
        self._preview_cache.clear()
        self._status("updating the index...")
        self._ask(Query(self.query_one(QueryInput).value, sync=True))

    # ---------------------------------------------------------------- keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MAIN_ACTIONS and len(self.screen_stack) > 1:
            return False
        return True

    def action_move(self, delta: int) -> None:
        hits = self.query_one(HitList)
        before = hits.cursor
        hits.move(delta)
        if hits.cursor != before:
            self._ask_preview()

    def action_page(self, delta: int) -> None:
        hits = self.query_one(HitList)
        self.action_move(delta * max(hits.size.height - 1, 1))

    def action_scroll_preview(self, n: int) -> None:
        self.query_one(Preview).scroll_relative(y=n, animate=False)

    def action_switch_focus(self) -> None:
        if self.focused is self.query_one(HitList):
            self.query_one(QueryInput).focus()
        else:
            self.query_one(HitList).focus()

    def on_key(self, event: events.Key) -> None:
        """In the list: j/k move, q leaves, ? shows the keys, any other letter goes to the query."""
        if self.focused is not self.query_one(HitList) or len(self.screen_stack) > 1:
            return
        moves = {"j": 1, "k": -1}
        if event.character in moves:
            self.action_move(moves[event.character])
        elif event.key == "enter":
            self.action_edit()
        elif event.character == "q":
            self.action_leave()
        elif event.character == "?":
            self.action_help()
        elif event.character and event.is_printable:
            query = self.query_one(QueryInput)
            query.focus()
            if event.character != "/":
                query.insert_text_at_cursor(event.character)
        else:
            return
        event.stop()
        event.prevent_default()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "query":
            self.action_edit()

    def action_leave(self) -> None:
        self.exit(None)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_full(self) -> None:
        item = self.query_one(HitList).selected
        if item is not None:
            terms = frozenset(self.answer.terms) if self.answer else frozenset()
            self.push_screen(NoteScreen(item, terms))

    def action_tags(self) -> None:
        def narrowed(tag: str | None) -> None:
            if tag:
                query = self.query_one(QueryInput)
                text = query.value.rstrip()
                query.value = f"{text} tag:{tag}".lstrip()
                query.cursor_position = len(query.value)

        self.push_screen(TagScreen(self.source.tag_counts()), narrowed)

    def action_copy(self) -> None:
        item = self.query_one(HitList).selected
        if item is not None:
            self.copy_to_clipboard(item.slug)
            self.notify(f"copied {item.slug}", timeout=2, markup=False)

    def action_edit(self) -> None:
        """Enter: open the selected note in the editor at its first match (print mode:
        print it and leave); the index is brought up to date when the editor exits."""
        item = self.query_one(HitList).selected
        if item is None:
            return
        if self.print_mode:
            self.exit(item.path if self.print_mode == "path" else item.slug)
            return
        path = self.source.root / item.path
        if not path.exists():
            self._status(f"{item.slug} is gone (deleted or moved); updating the list")
            self._refresh()
            return
        terms = set(self.answer.terms) if self.answer else set()
        self.source.locate(item, terms)
        from contextlib import nullcontext

        # headless (tests) there is no terminal to hand over
        with nullcontext() if self.is_headless else self.suspend():
            error = open_editor(str(path), item.line)
        while isinstance(self.screen, NoteScreen):
            self.pop_screen()
        self._refresh()
        if error:
            self.notify(error, severity="error", timeout=6, markup=False)


def open_editor(path: str, line: int | None) -> str:
    """Run the user's editor on ``path`` at ``line`` (``kb edit``'s way); the error, or ""."""
    from .cli import run_editor
    from .errors import KbError

    try:
        run_editor(path, on_failure="the note is re-indexed as it is on disk", line=line)
    except KbError as exc:
        return str(exc)
    return ""


def run(nb: Notebook, query: str = "", print_mode: str | None = None) -> str | None:
    """Run ``kb find`` until the user leaves; the chosen slug or path in print mode."""
    import sys

    from .errors import KbError

    if not (sys.stdin.isatty() and sys.__stderr__ is not None and sys.__stderr__.isatty()):
        raise KbError("kb find is interactive and needs a terminal (use `kb search` in scripts)")
    app = FindApp(Source(nb), query, print_mode)
    try:
        chosen = app.run()
    finally:
        app.searches.stop()
        app.previews.stop()
    if app.return_code:  # Textual printed what went wrong
        raise KbError("kb find stopped on an error (above)")
    return chosen
