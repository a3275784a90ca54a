"""Rich views of kb's data. The only module that imports Rich; nothing here prints."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

if TYPE_CHECKING:
    from .index import IndexInfo, IndexStats
    from .notes import Note
    from .search import SearchResult

_WIKILINK_RE = re.compile(r"\[\[([^\[\]|\n]+)(?:\|([^\[\]\n]*))?\]\]")


def _tags_text(tags: Iterable[str]) -> Text:
    text = Text()
    for i, tag in enumerate(tags):
        if i:
            text.append(" ")
        text.append(f"#{tag}", style="cyan")
    return text


def search_results(result: SearchResult) -> RenderableType:
    parts: list[RenderableType] = []
    if result.notice:
        parts.append(Text(result.notice, style="yellow"))
    if result.suggestions:
        line = Text("Did you mean: ")
        for i, s in enumerate(result.suggestions):
            if i:
                line.append(", ")
            line.append(s, style="bold green")
        line.append("?")
        parts.append(line)
    if not result.hits:
        parts.insert(0, Text(f"No notes match {result.query!r}.", style="bold"))
        return Group(*parts)
    for i, hit in enumerate(result.hits, 1):
        head = Text()
        head.append(f"{i:>2}. ", style="dim")
        head.append(hit.title, style="bold")
        head.append(f"  {hit.slug}", style="green")
        if hit.tags:
            head.append("  ")
            head.append_text(_tags_text(hit.tags))
        parts.append(head)
        if hit.snippet:
            snip = Text(hit.snippet)
            for s, e in hit.highlights:
                snip.stylize("bold reverse yellow", s, e)
            parts.append(Padding(snip, (0, 0, 0, 4), expand=False))  # no trailing blanks
    shown = len(result.hits)
    more = f" (showing {shown})" if result.total > shown else ""
    parts.append(Text(f"{result.total} note{'s' if result.total != 1 else ''}{more}", style="dim"))
    return Group(*parts)


def _fmt_date(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    if value.hour == value.minute == value.second == 0 and value.tzinfo is None:
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M")


def readable_links(markdown: str, title_of: Callable[[str], str | None] | None = None) -> str:
    """``[[k8s/rbac|RBAC 노트]]`` -> ``**RBAC 노트**``: readable text for rendering.

    A link without a label shows ``title_of(target)`` when given (the title of the note
    it names, None if broken), else the target without its ``#anchor``. Links inside
    code are left alone (``[[ -f x ]]`` in a shell snippet is not a link).
    """
    from .links import link_occurrences

    def label(m: re.Match[str]) -> str:
        if m.group(2) and m.group(2).strip():
            return f"**{m.group(2).strip()}**"
        target = m.group(1).strip()
        shown = title_of(target) if title_of else None
        return f"**{shown or target.split('#', 1)[0].strip() or target}**"

    wiki = [o for o in link_occurrences(markdown) if o.kind == "wiki"]
    pieces: list[str] = []
    last = 0
    for occ in wiki:
        m = _WIKILINK_RE.match(markdown, markdown.rfind("[[", 0, occ.start))
        if m is None or m.end() <= last:
            continue
        pieces += [markdown[last : m.start()], label(m)]
        last = m.end()
    pieces.append(markdown[last:])
    return "".join(pieces)


def note_view(
    note: Note,
    path_display: str,
    backlinks: list[tuple[str, str]] | None = None,
    title_of: Callable[[str], str | None] | None = None,
    code_theme: str = "monokai",
    related: list[tuple[str, str]] | None = None,
) -> RenderableType:
    from rich.markdown import Markdown
    from rich.panel import Panel
    from rich.table import Table

    header = Table.grid(padding=(0, 2))
    header.add_column(style="dim")
    header.add_column()
    if note.tags:
        header.add_row("tags", _tags_text(note.tags))
    header.add_row("date", _fmt_date(note.date))
    header.add_row("path", path_display)
    title = Panel(header, title=Text(note.title, style="bold"), title_align="left", expand=True)
    body = Markdown(readable_links(note.body.strip(), title_of) or "*empty note*", code_theme=code_theme)
    parts: list[RenderableType] = [title, body]
    if backlinks:
        parts.append(_backlinks_section(backlinks))
    if related:
        parts.append(_related_section(related))
    for w in note.warnings:
        parts.insert(1, Text(f"warning: {w}", style="yellow"))
    return Group(*parts)


#: From this many rows on, a list is laid out by :class:`PlainTable`, not Rich's ``Table``.
PLAIN_TABLE_ROWS = 200


class Column:
    """A column of a :class:`PlainTable`: what ``Table.add_column`` would be given."""

    def __init__(self, header: str, style: str = "", justify: str = "left", no_wrap: bool = False) -> None:
        self.header, self.style, self.justify, self.no_wrap = header, style, justify, no_wrap


class PlainTable:
    """Rows of plain text laid out as ``Table(box=None, show_header=True,
    header_style="bold", pad_edge=False)`` lays them out, for long lists.

    Rich measures and renders each cell through its general machinery (~0.6 ms a row:
    24 s for 38,580 notes); here a cell costs one ``cell_len`` (double-width Hangul
    counted as Rich counts it) unless it is too wide for its column, when Rich's own
    ``Text.wrap`` wraps it. Column widths too wide for the console are shrunk by Rich
    itself, so the output is the same text as the ``Table``'s.
    """

    def __init__(self, columns: list[Column], rows: list[tuple[str, ...]]) -> None:
        self.columns = columns
        self.rows = rows

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.cells import cell_len
        from rich.segment import Segment

        cols = self.columns
        n = len(cols)
        # Cell padding (0, 1) without the outer edges: what Rich adds to each column.
        pads = [(0 if i == 0 else 1, 0 if i == n - 1 else 1) for i in range(n)]

        def width_of(text: str) -> int:
            return max(map(cell_len, text.split("\n"))) if "\n" in text else cell_len(text)

        widths = []
        for i, col in enumerate(cols):
            widest = max(width_of(col.header), max((width_of(r[i]) for r in self.rows), default=0))
            widths.append((widest or 1) + sum(pads[i]))
        if sum(widths) > options.max_width:
            widths = self._rich_widths(console, options, width_of)
        inner = [w - sum(p) for w, p in zip(widths, pads, strict=True)]  # < 1: the cell shows nothing
        styles = [console.get_style(c.style) if c.style else None for c in cols]
        bold = console.get_style("bold")
        new_line = Segment.line()

        wrapped: dict[tuple[int, str], list[str]] = {}  # the same title or tags recur: wrap once

        def cell_lines(text: str, i: int) -> list[str]:
            width = inner[i]
            if width < 1:
                return []  # Rich renders nothing into no space
            size = cell_len(text)
            if size <= width and "\n" not in text:
                gap = " " * (width - size)
                return [gap + text if cols[i].justify == "right" else text + gap]
            found = wrapped.get((i, text))
            if found is None:
                col = cols[i]
                lines = Text(text).wrap(console, width, justify=col.justify, overflow="ellipsis",
                                        no_wrap=col.no_wrap)
                found = [_fit(line.plain, width, col.justify, cell_len) for line in lines]
                wrapped[(i, text)] = found
            return found

        def row_segments(cells: tuple[str, ...], header: bool) -> Any:
            parts = [cell_lines(text, i) for i, text in enumerate(cells)]
            height = max(1, *map(len, parts))
            for k in range(height):
                for i, p in enumerate(parts):
                    if k < len(p):
                        left, right = pads[i]
                        yield Segment(" " * left + p[k] + " " * right, bold if header else styles[i])
                    elif widths[i]:
                        yield Segment(" " * widths[i], bold if header else styles[i])
                yield new_line

        yield from row_segments(tuple(c.header for c in cols), True)
        for cells in self.rows:
            yield from row_segments(cells, False)


    def _rich_widths(self, console: Any, options: Any, width_of: Callable[[str], int]) -> list[int]:
        from rich.table import Table

        """Column widths shrunk to the console by Rich itself, on a table of the few rows
        that decide them: per column, the widest cell and the cell with the longest word
        (Rich's widths depend only on those maxima)."""
        from rich.cells import cell_len

        picks = set()
        for i, col in enumerate(self.columns):
            if self.rows:
                picks.add(max(range(len(self.rows)), key=lambda k: width_of(self.rows[k][i])))
                if not col.no_wrap:
                    picks.add(max(range(len(self.rows)),
                                  key=lambda k: max(map(cell_len, self.rows[k][i].split()), default=0)))
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        for col in self.columns:
            justify: Any = col.justify
            table.add_column(col.header, style=col.style, justify=justify, no_wrap=col.no_wrap)
        for k in sorted(picks):
            table.add_row(*(Text(c) for c in self.rows[k]))
        return table._calculate_column_widths(console, options)


def _fit(line: str, width: int, justify: str, cell_len: Callable[[str], int]) -> str:
    """A wrapped line padded to ``width`` cells, on the side ``justify`` says."""
    gap = " " * max(width - cell_len(line), 0)
    return gap + line if justify == "right" else line + gap


def tag_counts(counts: list[tuple[str, int]]) -> RenderableType:
    from rich.table import Table

    if not counts:
        return Text("No tags yet.")
    if len(counts) >= PLAIN_TABLE_ROWS:
        return PlainTable(
            [Column("tag", "cyan"), Column("notes", justify="right")], [(tag, str(n)) for tag, n in counts]
        )
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("tag", style="cyan")
    table.add_column("notes", justify="right")
    for tag, n in counts:
        table.add_row(Text(tag), str(n))
    return table


def notes_table(rows: list[dict[str, Any]], caption: str | None = None) -> RenderableType:
    from rich.table import Table

    if not rows:
        return Text("No notes.")
    cells = [
        (r["slug"], r.get("title") or "", " ".join(r.get("tags") or []), _fmt_date(r.get("date")))
        for r in rows
    ]
    if len(rows) >= PLAIN_TABLE_ROWS and caption is None:
        columns = [Column("slug", "green", no_wrap=True), Column("title"), Column("tags", "cyan"),
                   Column("date", "dim", no_wrap=True)]
        return PlainTable(columns, cells)
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, caption=caption)
    table.add_column("slug", style="green", no_wrap=True)
    table.add_column("title")
    table.add_column("tags", style="cyan")
    table.add_column("date", style="dim", no_wrap=True)
    for row in cells:
        table.add_row(*(Text(c) for c in row))  # Text: a title such as "[draft] x" is not markup
    return table


def index_stats(stats: IndexStats, show_warnings: bool = True) -> RenderableType:
    parts: list[RenderableType] = []
    if show_warnings:
        for path, msg in stats.warnings:
            parts.append(Text.assemble(("warning: ", "yellow"), (path, "bold"), f": {msg}"))
    line = Text(str(stats))
    extra = f"  ({stats.total} notes, {stats.seconds:.2f} s"
    extra += ", full rebuild)" if stats.rebuilt else ")"
    line.append(extra, style="dim")
    parts.append(line)
    return Group(*parts)


def info_view(info: IndexInfo) -> RenderableType:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("notebook", f"{info.notebook}  (from {info.source})")
    grid.add_row("index", str(info.index_dir))
    grid.add_row("notes", str(info.notes_on_disk))
    grid.add_row("indexed", str(info.notes_indexed))
    if info.fresh:
        fresh = Text("up to date", style="green")
    else:
        p = info.pending
        fresh = Text(
            f"stale: {p['added']} to add, {p['changed']} changed, {p['removed']} removed "
            "(any command brings it up to date)",
            style="yellow",
        )
    grid.add_row("index state", fresh)
    if info.watcher:
        grid.add_row("watcher", info.watcher)
    return grid


# --------------------------------------------------------------------------- links, recent, stats, diffs


def _backlinks_section(backlinks: list[tuple[str, str]]) -> RenderableType:
    head = Text(f"Linked from ({len(backlinks)})", style="bold")
    lines = [head]
    for slug, title in backlinks:
        lines.append(Text.assemble("  ← ", (slug, "green"), f"  {title}" if title != slug else ""))
    return Group(Text(""), *lines)


def _related_section(related: list[tuple[str, str]]) -> RenderableType:
    lines = [Text("Related", style="bold")]
    for slug, title in related:
        lines.append(Text.assemble("  ~ ", (slug, "green"), f"  {title}" if title != slug else ""))
    return Group(Text(""), *lines)


def related_view(slug: str, title: str, hits: list[Any]) -> RenderableType:
    from rich.table import Table

    if not hits:
        return Text(f"No notes are like {slug} yet.")
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False,
                  title=Text.assemble("Notes like ", (title, "bold"), "  ", (slug, "green")),
                  title_justify="left")
    table.add_column("slug", style="green", no_wrap=True)
    table.add_column("title")
    table.add_column("score", justify="right", style="dim")
    for h in hits:
        table.add_row(Text(h.slug), Text(h.title), f"{h.score:.1f}")
    return table


def links_view(
    slug: str,
    title: str,
    outgoing: list[tuple[str, str | None, str, str]],
    backlinks: list[tuple[str, str]],
) -> RenderableType:
    """``outgoing`` holds ``(target as written, slug or None, title, reason)``."""
    parts: list[RenderableType] = [Text.assemble((title, "bold"), "  ", (slug, "green"))]
    broken = sum(1 for _, s, _, _ in outgoing if s is None)
    head = f"Links to ({len(outgoing)}{f', {broken} broken' if broken else ''})"
    parts.append(Text(head, style="bold"))
    if not outgoing:
        parts.append(Text("  none", style="dim"))
    for target, to, to_title, reason in outgoing:
        if to is None:
            parts.append(Text.assemble("  ✗ ", (target, "bold red"), (f"  broken: {reason}", "red")))
        else:
            parts.append(Text.assemble("  → ", (to, "green"), f"  {to_title}" if to_title != to else ""))
    parts.append(Text(f"Linked from ({len(backlinks)})", style="bold"))
    if not backlinks:
        parts.append(Text("  none", style="dim"))
    for src, src_title in backlinks:
        parts.append(Text.assemble("  ← ", (src, "green"), f"  {src_title}" if src_title != src else ""))
    return Group(*parts)


def broken_links_table(rows: list[tuple[str, str, str]]) -> RenderableType:
    from rich.table import Table

    """``rows`` holds ``(source slug, target as written, reason)``."""
    if not rows:
        return Text("No broken links.")
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("note", style="green", overflow="fold")
    table.add_column("links to", style="bold red", overflow="fold")
    table.add_column("why", style="dim", overflow="fold")
    for source, target, reason in rows:
        table.add_row(Text(source), Text(f"[[{target}]]"), Text(reason))
    sources = len({r[0] for r in rows})
    table.caption = f"{len(rows)} broken link{'s' if len(rows) != 1 else ''} in {sources} note" + (
        "s" if sources != 1 else ""
    )
    return table


def recent_table(rows: list[dict[str, Any]]) -> RenderableType:
    from rich.table import Table

    if not rows:
        return Text("No notes.")
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("modified", style="dim", no_wrap=True)
    table.add_column("slug", style="green", no_wrap=True)
    table.add_column("title")
    for r in rows:
        when = dt.datetime.fromtimestamp(r.get("mtime") or 0.0)
        table.add_row(when.strftime("%Y-%m-%d %H:%M"), Text(r["slug"]), Text(r.get("title") or ""))
    return table


def stats_view(stats: Any) -> RenderableType:
    from rich.table import Table

    """A :class:`kb.stats.NotebookStats` as a small report."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    grid.add_row("notes", f"{stats.notes:,}", "")
    grid.add_row("words", f"{stats.words:,}", "")
    grid.add_row("tags", f"{stats.tags:,}", "")
    grid.add_row("links", f"{stats.links:,}", f"{stats.broken_links:,} broken" if stats.links else "")
    grid.add_row("orphans", f"{stats.orphans:,}", "no links in or out")
    grid.add_row(
        "Korean / English",
        f"{stats.korean_share:.0%} / {stats.english_share:.0%}",
        f"{stats.hangul:,} Hangul syllables, {stats.latin:,} Latin letters (code left out)",
    )
    parts: list[RenderableType] = [grid]
    if stats.largest:
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, title_justify="left")
        table.add_column("largest notes", style="green", no_wrap=True)
        table.add_column("title")
        table.add_column("words", justify="right")
        for n in stats.largest:
            table.add_row(Text(n.slug), Text(n.title), f"{n.words:,}")
        parts += [Text(""), table]
    return Group(*parts)


def diff_view(diff: str) -> RenderableType:
    """A unified diff, coloured by line on a terminal."""
    text = Text()
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---", "rename ")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        text.append(line, style=style)
    return text


def grep_view(
    groups: list[tuple[str, str, list[list[tuple[int, str, list[tuple[int, int]] | None]]]]],
) -> RenderableType:
    """``kb grep`` on a terminal: per note a heading (title, slug), then ``LINE: text`` with
    the matches highlighted; context lines as ``LINE- text``, blocks apart by ``--``."""
    from .notes import strip_controls

    parts: list[RenderableType] = []
    for n, (slug, title, blocks) in enumerate(groups):
        if n:
            parts.append(Text(""))
        head = Text(strip_controls(title), style="bold")
        head.append(f"  {slug}", style="green")
        parts.append(head)
        width = len(str(max(line for block in blocks for line, _, _ in block)))
        for b, block in enumerate(blocks):
            if b:
                parts.append(Text("--", style="dim"))
            for line, raw, spans in block:
                row = Text(f"{line:>{width}}", style="cyan" if spans is not None else "dim")
                row.append(": " if spans is not None else "- ", style="dim")
                # one character for one: the spans stay in place
                body = Text(re.sub("[\ud800-\udfff]", "\ufffd", strip_controls(raw, " ")))
                for start, end in spans or ():
                    body.stylize("bold red", start, end)
                row.append(body)
                parts.append(row)
    return Group(*parts)
