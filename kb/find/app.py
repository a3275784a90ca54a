"""``kb find``'s screen: the query line, the list and the preview; its keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from .. import render
from .source import (
    PREVIEW_QUIET,
    SIDE_BY_SIDE,
    Answer,
    Latest,
    PreviewJob,
    Query,
    Rendered,
    Source,
    render_preview,
)
from .widgets import HelpScreen, HitList, NoteScreen, Preview, QueryInput, TagScreen

if TYPE_CHECKING:
    from ..core import Notebook

# --------------------------------------------------------------------------- the app


class Searched(Message):
    """The search thread's answer to query ``seq``."""

    def __init__(self, seq: int, query: Query, answer: Answer | Exception) -> None:
        super().__init__()
        self.seq, self.query, self.answer = seq, query, answer


class Previewed(Message):
    """The preview thread's rendering for job ``seq`` (None: given up for a newer one)."""

    def __init__(self, seq: int, job: PreviewJob, rendered: Rendered | Exception | None) -> None:
        super().__init__()
        self.seq, self.job, self.rendered = seq, job, rendered


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
    HitList { width: 45%; height: 1fr; border-top: solid $primary-darken-2; scrollbar-size-vertical: 1;
              scrollbar-gutter: stable; }
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
        # a message, not call_from_thread: the thread goes on to the next query at once,
        # and nothing the screen does can raise into it (a closed app drops the message)
        self.post_message(Searched(seq, query, answer))

    def on_searched(self, message: Searched) -> None:
        self._show(message.seq, message.query, message.answer)

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
        self._preview_seq = self.previews.submit(PreviewJob(item, terms, width, preview.size.height + 12))
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
        return render_preview(self.source, job,
                              abandon=lambda: self.previews.replaced() or not self.searches.idle())

    def _rendered(self, seq: int, job: PreviewJob, rendered: Any) -> None:  # the preview thread
        self.post_message(Previewed(seq, job, rendered))

    def on_previewed(self, message: Previewed) -> None:
        self._show_preview(message.seq, message.job, message.rendered)

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
    from ..commands.editor import run_editor
    from ..errors import KbError

    try:
        run_editor(path, on_failure="the note is re-indexed as it is on disk", line=line)
    except KbError as exc:
        return str(exc)
    return ""


def run(nb: Notebook, query: str = "", print_mode: str | None = None) -> str | None:
    """Run ``kb find`` until the user leaves; the chosen slug or path in print mode."""
    import sys

    from ..errors import KbError

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

