"""``kb find``'s widgets: pre-rendered lines (the list, the preview), the query line,
the keys, the tag picker and the full view."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.screen import ModalScreen, Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Input, OptionList, Static

from .. import render
from .source import Item, PreviewJob, Rendered, render_preview

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
        width = self.scrollable_content_region.width
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
        width = max(self.scrollable_content_region.width - 2, 10)
        self._laid_out_at = self.scrollable_content_region.width
        table = render.find_rows([(i.title, i.slug, i.tags, i.date) for i in self.items])
        lines = render.rendered_lines(table, width) if self.items else []
        self.lines = [Strip(line) for line in lines]
        self.virtual_size = Size(width + 2, len(self.lines))
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        if self.scrollable_content_region.width != self._laid_out_at:
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
        width = self.scrollable_content_region.width
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
        app: Any = self.app  # the FindApp (not imported: it imports this module)
        rendered = render_preview(app.source, job, whole=True)
        assert rendered is not None
        app.call_from_thread(self._put, rendered)  # a worker: Textual reports what it raises

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


