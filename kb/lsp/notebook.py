"""The notebook as the language server sees it: kb's index, plus the editor's open buffers.

:class:`Notes` is the one adapter between the server and kb's core (open the notebook,
keep it fresh, its note rows, search, the link graph). :class:`Session` adds what the
editor holds: the text of each open note, which counts for that note's links,
diagnostics and completion even before it is saved, and for the links other notes
see (a title changed in an unsaved buffer already changes what ``[[Title]]`` names).

Everything here returns plain data with character offsets; ``server.py`` turns it into
LSP messages. Nothing here imports pygls.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..links import LinkGraph, Resolution
from ..noterow import NoteRow
from ..notes import NOTE_SUFFIX, decode_bytes, nfc, parse_text, slug_of, strip_controls
from .text import LinkSpan, links_in

# --------------------------------------------------------------------------- the adapter

#: What finding a hit's line costs (CPU seconds): about 0.3 ms a note and 0.1 ms a KB of
#: it, at most (measured on the corpus: 0.05-0.3 ms a KB, the small notes dearest).
LOCATE_BASE = 0.0003
LOCATE_PER_BYTE = 0.1e-3 / 1024
#: Characters of note text whose plain lines are kept for the symbol lines (~7 bytes of
#: memory each, with the lines and their offsets).
KEEP_LINES_CHARS = 2_000_000
#: Files whose text key is kept (~200 bytes each).
MAX_SIGS = 50_000


class Notes:
    """kb's notebook (:class:`kb.core.Notebook`), opened once and kept fresh, plus what
    completion asks often: rows by path, a sorted list of prefix keys, recent searches."""

    def __init__(self, directory: str | Path | None, *, opened: bool = True) -> None:
        """The notebook at ``directory`` (kb's rules when None), its index opened and synced
        unless ``opened`` is False: then :meth:`open` does it (the server does it beside
        the handshake, reporting the first build's progress)."""
        from ..core import Notebook

        self.nb = Notebook.find(directory)
        self.root: Path = self.nb.root
        #: Notes' text as plain lines (see :meth:`locate`), by a digest of the text and the
        #: title (an edited note is a new key; the old one ages out), at most
        #: KEEP_LINES_CHARS of text; and the key and frontmatter lines of each file read,
        #: by its path, title and signature
        self._lines: dict[Any, tuple[str, list[int]]] = {}
        self._lines_chars = 0
        self._sigs: dict[Any, tuple[Any, int]] = {}
        #: The plain lines the index keeps (kb.index.lines), and the signatures of its files
        self._kept_table: Any = None
        self._kept_files: list[Any] = []
        self._reset()
        if opened:
            self.open()

    def open(self, progress: Any = None) -> None:
        """Open the index, synced with the files (built on the first run; ``progress``: a
        :class:`kb.index.sync.Progress` told how the build goes)."""
        self.nb.open_index(progress=progress)
        self._reset()

    def _reset(self) -> None:
        self._keys: list[tuple[str, int]] | None = None
        self._key_rows: list[NoteRow] = []
        self._searched: dict[tuple[str, int], Any] = {}
        self._tags: Counter[str] | None = None
        self._kept: Any = None
        self.epoch = self.nb.epoch

    def _current(self) -> None:
        """Drop what was read from another version of the index: besides :meth:`fresh`, the
        core reopens (or rebuilds) it when a read finds it damaged or replaced."""
        if self.nb.epoch != self.epoch:
            self._reset()

    def fresh(self) -> bool:
        """Bring the index up to date with the files (kb's freshness check: a ``stat`` of each
        note when nothing changed); True when it changed. A busy index waits for next time."""
        from ..errors import IndexLocked

        try:
            self.nb.fresh()
        except IndexLocked:
            return False
        changed = self.nb.epoch != self.epoch
        if changed:
            self._reset()
        return changed

    def unchanged(self) -> bool:
        """Whether the files certainly still match the index as it was last opened here:
        kb's freshness check alone (a ``stat`` of each note, in a forked child on a big
        notebook, or the watcher's word), which changes nothing, so it may run in another
        thread while requests are answered. False means "look closer" (:meth:`fresh`)."""
        from ..index.probe import FreshnessProbe

        stats = self.nb.stats
        if stats is None or stats.generation is None:
            return False
        try:
            answer = FreshnessProbe(self.nb.place).answer()
        except Exception:  # whatever went wrong, the full check in the loop will say
            return False
        return answer is not None and answer[1] == stats.generation

    def rows(self) -> list[NoteRow]:
        return self.nb.rows()

    @property
    def links(self) -> LinkGraph:
        return self.nb.links

    def tag_counter(self) -> Counter[str]:
        """How many notes have each tag (lower-cased)."""
        self._current()
        if self._tags is None:
            self._tags = Counter(dict(self.nb.tag_counts()))
        return self._tags

    def by_path(self) -> dict[str, NoteRow]:
        return self.nb.by_path()

    def prefixed(self, want: str, limit: int) -> list[NoteRow]:
        """At most ``limit`` notes whose slug, file name or title starts with ``want``
        (casefolded): a binary search in a sorted list of those keys."""
        import bisect

        self._current()
        if self._keys is None:
            rows = self._key_rows = self.rows()  # (a copy of the list: once an index version)
            self._keys = sorted((key, i) for i, row in enumerate(rows) for key in _prefix_keys(row) if key)
        rows = self._key_rows
        out: dict[int, None] = {}
        at = bisect.bisect_left(self._keys, (want, -1))
        while at < len(self._keys) and self._keys[at][0].startswith(want) and len(out) < limit:
            out[self._keys[at][1]] = None
            at += 1
        return [rows[i] for i in out]

    def prefetch(self, paths: list[str]) -> None:
        """Have the kernel start reading these notes' files now, all at once
        (``posix_fadvise(WILLNEED)``), so that reading them one after the other waits for the
        disk once, not once a file: the hits of a search are mostly notes not read lately
        (25 files from disk: ~35 ms one by one, ~10 ms this way)."""
        advise = getattr(os, "posix_fadvise", None)
        if advise is None:
            return
        for path in paths:
            try:
                fd = os.open(self.root / path, os.O_RDONLY)
            except OSError:
                continue
            try:
                advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            except OSError:
                pass
            finally:
                os.close(fd)

    def locate(self, hit: Any, terms: Any, within: float | None = None) -> None:
        """Find the line of a hit's first match (as ``kb search`` prints it and ``kb find``
        opens the editor at); the hit keeps it, and so do the searches kept here. A note's
        text as plain lines (most of the work: reading and parsing its Markdown) is kept
        for the next searches, by its text (a symbol search as you type finds many of the
        same notes again), found again by the file's signature without reading it (a
        note changed on disk is read again). The index keeps every note's plain lines
        too (:mod:`kb.index.lines`): a note unchanged since the sync read it is not read.
        ``within``: CPU seconds left for it; a note not kept whose reading would take
        longer (by its size: see LOCATE_BASE) is skipped, its line left unknown."""
        from ..index.manifest import signature
        from ..plain import line_in
        from ..snippets import first_match

        if hit.line is not None:
            return
        try:
            st = os.stat(self.root / hit.path)
        except OSError:
            return
        sig = (hit.path, hit.title, st.st_mtime_ns, st.st_size, st.st_ino)
        text_key, body_line = self._sigs.get(sig, (None, 0))
        plain = self._lines.pop(text_key, None) if text_key is not None else None
        if plain is None and (kept := self.kept_lines().get(hit.path, signature(st), hit.title)) is not None:
            body_line, plain = kept
            text_key = ("kept", *sig)
            if self._lines.pop(text_key, None) is None:  # (its key dropped from _sigs when it was full)
                self._lines_chars += len(plain[0])
            if len(self._sigs) >= MAX_SIGS:
                self._sigs.clear()
            self._sigs[sig] = (text_key, body_line)
        if plain is None:
            if within is not None and LOCATE_BASE + st.st_size * LOCATE_PER_BYTE > within:
                return
            read = self._read_plain(hit)
            if read is None:
                return
            text_key, body_line, plain = read
            if len(self._sigs) >= MAX_SIGS:
                self._sigs.clear()
            self._sigs[sig] = (text_key, body_line)
        self._lines[text_key] = plain  # the most recently used last
        while self._lines and self._lines_chars > KEEP_LINES_CHARS:  # the least recently used go
            self._lines_chars -= len(self._lines.pop(next(iter(self._lines)))[0])
        text, numbers = plain
        wanted = terms if isinstance(terms, set) else set(terms)
        hit.line = line_in(text, numbers, body_line, first_match(text, wanted))

    def kept_lines(self) -> Any:
        """The plain lines the index keeps (:class:`kb.index.lines.Kept`), read again when
        their files changed (looked at once an index version)."""
        from ..index.lines import Kept
        from ..index.manifest import LINES, LINES_DELTA

        self._current()
        if self._kept is None:
            files = []
            for name in (LINES, LINES_DELTA):
                try:
                    st = os.stat(self.nb.place.index_dir / name)
                    files.append((st.st_mtime_ns, st.st_size, st.st_ino))
                except OSError:
                    files.append(None)
            if self._kept_files != files:  # (a sync that changes no note keeps them)
                same_base = self._kept_files[:1] == files[:1] and self._kept_table is not None
                self._kept_table = Kept(self.nb.place.index_dir, self._kept_table if same_base else None)
                self._kept_files = files
            self._kept = self._kept_table
        return self._kept

    def _read_plain(self, hit: Any) -> tuple[Any, int, tuple[str, list[int]]] | None:
        """From the note's file: the key of its text, the lines before its body, and the text
        as :func:`kb.plain.snippet_lines` reads it with where its lines come from (kept
        already when another note has the same text); None when it cannot be read."""
        import hashlib

        from ..notes import read_body_at
        from ..plain import numbered
        from ..search import snippet_lines

        try:
            body, body_line = read_body_at(self.root, hit.path)
        except OSError:
            return None
        key = (hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).digest(), hit.title)
        plain = self._lines.pop(key, None)
        if plain is None:
            text, where = snippet_lines(body, hit.title)
            plain = text, numbered(text, where)
            self._lines_chars += len(plain[0])
        return key, body_line, plain

    def search(self, query: str, limit: int = 20, stop: Callable[[], None] | None = None) -> Any:
        """kb's ranked search (``kb search``) without snippets (no note file is read); the
        last answers are kept until the index changes (typing back and forth asks again).
        ``stop``: see :func:`kb.search.search` (a search it abandons is not kept)."""
        key = (query, limit)
        self._current()
        found = self._searched.pop(key, None)
        if found is None:
            found = self.nb.search(query, limit=limit, snippets=False, stop=stop)
            self._current()  # the search found the index damaged or replaced: a new one answered
            if len(self._searched) >= 256:
                self._searched.pop(next(iter(self._searched)))
        self._searched[key] = found
        return found


# --------------------------------------------------------------------------- plain results


@dataclass(frozen=True)
class Problem:
    """A diagnostic: ``text[start:end]`` is what it is about."""

    start: int
    end: int
    message: str
    severity: str  # "error", "warning"
    code: str  # "broken-link", "ambiguous-link", "frontmatter"
    target: str = ""  # the link target, for the code action that creates it


@dataclass(frozen=True)
class Candidate:
    slug: str
    path: str
    title: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    """A span of a note's text: ``path`` relative to the notebook, offsets into ``text``."""

    path: str
    text: str
    start: int
    end: int


@dataclass
class Buffer:
    """An open note as the editor holds it."""

    path: str
    text: str
    version: int = 0
    _links: list[LinkSpan] | None = None
    _doc: NoteRow | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return slug_of(self.path)

    def links(self) -> list[LinkSpan]:
        if self._links is None:
            self._links = links_in(self.text, self.path)
        return self._links

    def doc(self) -> NoteRow:
        """The note's row as the index would store it from this text."""
        if self._doc is None:
            note = parse_text(self.path, self.text)
            self.warnings = note.warnings
            self._doc = NoteRow.of(self.path, title=note.title, tags=note.tags, links=note.links)
        return self._doc


# --------------------------------------------------------------------------- the session


class Session:
    """The notebook plus the open buffers; what every LSP request asks."""

    #: How often (seconds, at least) the files are checked for changes made outside the
    #: editor between requests (saves and watched-file events check at once).
    CHECK_EVERY = 1.0
    #: After this long without a request or an edit, the checks stop until the next one.
    IDLE_AFTER = 300.0
    #: Broken links of one note that get did-you-mean candidates (each costs a comparison
    #: with the nearest names): a note of thousands of broken links stays quick to check.
    MAX_SUGGESTED = 100
    #: Search hits a completion takes (each costs a read of its stored fields: ~1 ms on
    #: 40,000 notes), after the slug and title prefix matches.
    SEARCH_HITS = 15
    #: CPU seconds a workspace-symbol answer spends at most finding the lines of its hits'
    #: first matches (~0.5 ms a note, but up to ~80 ms for a note of a few hundred KB).
    LOCATE_BUDGET = 0.02

    def __init__(self, notes: Notes, clock: Callable[[], float] = time.monotonic) -> None:
        self.notes = notes
        self.root = notes.root
        self.buffers: dict[str, Buffer] = {}
        self._graph: LinkGraph | None = None
        self._graph_key: tuple[Any, ...] = ()
        self._clock = clock
        self._used = clock()
        self._check_took = 0.0

    # ---------------------------------------------------------------- files and buffers

    def relpath(self, path: Path) -> str | None:
        """The note path of a file, relative to the notebook, or None if it is no note."""
        try:
            rel = path.resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return None
        parts = rel.split("/")
        if not rel.lower().endswith(NOTE_SUFFIX) or any(p.startswith(".") for p in parts):
            return None
        return rel

    def open(self, path: str, text: str, version: int = 0) -> None:
        self.buffers[path] = Buffer(path, text, version)

    def change(self, path: str, text: str, version: int = 0) -> None:
        self.open(path, text, version)

    def close(self, path: str) -> None:
        self.buffers.pop(path, None)

    def text(self, path: str) -> str | None:
        """An open buffer's text, else the file's (None if it cannot be read)."""
        buf = self.buffers.get(path)
        if buf is not None:
            return buf.text
        try:
            data = (self.root / path).read_bytes()
        except OSError:
            return None
        return strip_controls(decode_bytes(data)[0])

    def unchanged(self) -> bool:
        """The periodic check's first step, in a thread of its own (it takes a ``stat`` of
        each note, ~0.1-0.4 s of waiting on a big notebook: the requests meanwhile are
        answered): True when nothing changed; else :meth:`refresh` does the rest."""
        start = self._clock()
        same = self.notes.unchanged()
        self._check_took = self._clock() - start
        return same

    def refresh(self) -> bool:
        """Check the files now (on save, on watched-file events, and every few seconds while
        the editor is in use); True when notes changed."""
        start = self._clock()
        changed = self.notes.fresh()
        self._check_took = self._clock() - start
        if changed:
            self._graph = None
        return changed

    def touch(self) -> None:
        """The editor asked something: keep checking the files for a while."""
        self._used = self._clock()

    def next_check(self) -> float | None:
        """Seconds until the files should be checked again, or None when the editor has been
        idle for :attr:`IDLE_AFTER` seconds. A check costs a ``stat`` of each note: it runs at
        most every :attr:`CHECK_EVERY` seconds and takes at most a tenth of the time."""
        if self._clock() - self._used > self.IDLE_AFTER:
            return None
        return max(self.CHECK_EVERY, 10 * self._check_took)

    # ---------------------------------------------------------------- the notes

    def docs(self) -> list[NoteRow]:
        """Every note's row, an open buffer's from its text."""
        if not self.buffers:
            return self.notes.rows()
        merged = dict(self.notes.by_path())
        for path, buf in self.buffers.items():
            merged[path] = buf.doc()
        return list(merged.values())

    def graph(self) -> LinkGraph:
        """The link graph that resolves links as the editor's text has it: the index's, or,
        when an open note is new or has another title than the index knows (which changes
        what ``[[Title]]`` names), one with the open notes' rows. That one is made again
        only when those titles change, not at every keystroke, from the index's graph
        (:meth:`kb.links.LinkGraph.with_rows`: a few ms, not a pass over every note). Links
        are resolved from each note's text (:meth:`references`), not from the rows' link
        lists."""
        stored = self.notes.by_path()
        key = (self.notes.nb.epoch,) + tuple(
            (path, buf.doc().title)
            for path, buf in sorted(self.buffers.items())
            if path not in stored or stored[path].title != buf.doc().title
        )
        if len(key) == 1:
            return self.notes.links
        if self._graph is None or self._graph_key != key:
            rows = [buf.doc() for buf in self.buffers.values()]
            self._graph, self._graph_key = self.notes.links.with_rows(rows), key
        return self._graph

    def doc(self, slug: str) -> NoteRow | None:
        return self.graph().notes.get(slug)

    def resolve(self, link: LinkSpan, source: str) -> Resolution:
        return self.graph().resolve(link.target, slug_of(source))

    def buffer(self, path: str) -> Buffer:
        """The open buffer of ``path``, or one read from the file."""
        buf = self.buffers.get(path)
        if buf is None:
            buf = Buffer(path, self.text(path) or "")
        return buf

    # ---------------------------------------------------------------- features

    def diagnostics(self, path: str) -> list[Problem]:
        """Broken and ambiguous links of a note, and frontmatter kb cannot read."""
        buf = self.buffer(path)
        graph = self.graph()
        out = []
        suggested = 0
        buf.doc()  # parses the text: its warnings
        for warning in buf.warnings:
            if "frontmatter" in warning:
                out.append(Problem(0, min(3, len(buf.text)), f"kb: {warning}", "warning", "frontmatter"))
        for link in buf.links():
            res = graph.resolve(link.target, buf.slug)
            if res.slug is not None:
                continue
            shown = f"[[{link.written}]]" if link.kind == "wiki" else f"({link.written})"
            if res.reason.startswith("ambiguous"):
                message = f"ambiguous link {shown}: it could name {res.reason.partition(': ')[2]}"
                out.append(Problem(link.start, link.end, message, "warning", "ambiguous-link", link.target))
                continue
            message = f"broken link {shown}: no such note"
            suggested += 1
            close = graph.suggest(link.target) if suggested <= self.MAX_SUGGESTED else []
            if close:
                message += f"; did you mean {', '.join(close)}?"
            out.append(Problem(link.start, link.end, message, "error", "broken-link", link.target))
        return out

    def complete_notes(self, typed: str, source: str, limit: int = 30,
                       stop: Callable[[], None] | None = None) -> list[Candidate]:
        """Notes for a link being typed: slug and title prefix matches, then kb's search.
        ``stop``: called between the steps (and inside the search), it may raise to abandon
        a completion the next keystroke made worthless."""
        want = typed.strip().casefold()
        own = slug_of(source)
        out: dict[str, Candidate] = {}

        def add(row: NoteRow) -> None:
            if row.slug != own and row.slug not in out and len(out) < limit:
                out[row.slug] = Candidate(row.slug, row.path, row.title, row.tags)

        if not want:
            import heapq

            for row in heapq.nlargest(limit + 1, self.notes.rows(), key=lambda r: r.mtime or 0):
                add(row)
            return list(out.values())
        prefix = self._prefixed(want, limit)
        for doc in prefix[: limit // 2]:
            add(doc)
        by_path = self.notes.by_path()
        if stop is not None:
            stop()
        result = self.notes.search(typed, limit=self.SEARCH_HITS, stop=stop)
        for hit in result.hits:
            buf = self.buffers.get(hit.path)
            row = buf.doc() if buf is not None else by_path.get(hit.path)
            if row is not None:
                add(row)
        for doc in prefix[limit // 2 :]:
            add(doc)
        return list(out.values())

    def _prefixed(self, want: str, limit: int) -> list[NoteRow]:
        """Notes whose slug, file name or title starts with ``want`` (casefolded), shortest slug
        first: the open buffers' as they are typed, the rest from a sorted key list."""
        found = {r.path: r for r in self.notes.prefixed(want, 4 * limit) if r.path not in self.buffers}
        for buf in self.buffers.values():
            row = buf.doc()
            if any(key.startswith(want) for key in _prefix_keys(row)):
                found[row.path] = row
        return sorted(found.values(), key=lambda r: (len(r.slug), r.slug))

    def headings_of(self, target: str, source: str) -> list[str]:
        """The headings of the note a wiki-link target names from ``source`` (none if broken)."""
        from .text import headings

        slug = self.graph().resolve(target, slug_of(source)).slug
        row = self.doc(slug) if slug is not None else None
        if row is None:
            return []
        return [h.title for h in headings(self.text(row.path) or "")]

    def link_text(self, slug: str, source: str) -> str:
        """How a wiki-link from ``source`` names ``slug``: the shortest end of its path that
        kb's resolver takes to that note (``[[rebase]]`` for ``wiki/git/rebase`` when no other
        note ends so), else the whole slug."""
        graph, here = self.graph(), slug_of(source)
        parts = slug.split("/")
        for i in range(len(parts) - 1, 0, -1):
            text = "/".join(parts[i:])
            if graph.resolve(text, here).slug == slug:
                return text
        return slug

    def complete_tags(self, typed: str, source: str, limit: int = 50) -> list[tuple[str, int]]:
        """Tags of the other notes starting with what was typed (any case), the most used first."""
        counts = Counter(self.notes.tag_counter())
        stored = self.notes.by_path()
        for path in {source, *self.buffers}:
            if path in stored:
                counts.subtract({t.lower() for t in stored[path].tags})
            if path != source and path in self.buffers:
                counts.update({t.lower() for t in self.buffers[path].doc().tags})
        want = typed.lower()
        found = [(t, n) for t, n in counts.items() if n > 0 and t.startswith(want)]
        found.sort(key=lambda tn: (-tn[1], tn[0]))
        return found[:limit]

    def references(self, slug: str) -> list[Place]:
        """Every link in another note that names ``slug``, by note then position: the notes
        the index says link to it, and the open notes, each read as its text is now."""
        graph = self.graph()
        paths = {row.slug: row.path for link in self.notes.links.backlinks_of(slug)
                 if (row := graph.notes.get(link.source)) is not None}
        paths.update((slug_of(path), path) for path in self.buffers)
        out = []
        for source in sorted(paths):
            if source == slug:
                continue
            buf = self.buffer(paths[source])
            for link in buf.links():
                if graph.resolve(link.target, source).slug == slug:
                    out.append(Place(buf.path, buf.text, link.start, link.end))
        return out

    def symbols(self, query: str, limit: int = 25) -> list[tuple[Candidate, int | None]]:
        """kb's ranked search for a workspace-symbol query: each note and the line of its
        first match (from its file: only the hits returned are read, best first, for at
        most :attr:`LOCATE_BUDGET` seconds, a note too long for what is left of it skipped;
        the hits kept with the search keep their lines)."""
        if not query.strip():
            return []
        result = self.notes.search(query, limit=limit)
        self.notes.prefetch([h.path for h in result.hits if h.line is None])
        # CPU time, not wall time: the same lines however busy the machine is, the work bounded
        deadline = time.thread_time() + self.LOCATE_BUDGET
        for hit in result.hits:  # best first: past the budget the rest stay at their first line
            left = deadline - time.thread_time()
            if left <= 0:
                break
            self.notes.locate(hit, result.terms, within=left)  # a long note that would overrun it is skipped
        return [(Candidate(h.slug, h.path, h.title, tuple(h.tags)), h.line) for h in result.hits]

    def symbol_notes(self, query: str, limit: int = 25) -> list[Candidate]:
        """The notes of :meth:`symbols` without their lines (no file read): for a client that
        asks for the line of the one picked later (:meth:`symbol_line`)."""
        if not query.strip():
            return []
        return [Candidate(h.slug, h.path, h.title, tuple(h.tags))
                for h in self.notes.search(query, limit=limit).hits]

    def symbol_line(self, query: str, path: str, limit: int = 25) -> int | None:
        """The line of the first match of ``query`` in the note at ``path``, one of the notes
        :meth:`symbol_notes` gave (the search is kept; None when the note is no longer among
        its hits)."""
        if not query.strip():
            return None
        result = self.notes.search(query, limit=limit)
        hit = next((h for h in result.hits if h.path == path), None)
        if hit is None:
            return None
        self.notes.locate(hit, result.terms)
        return hit.line

    def hover_text(self, slug: str, lines: int = 8) -> str:
        """Markdown for a hover on a link to ``slug``: its title, tags and first lines."""
        row = self.doc(slug)
        path = row.path if row is not None else slug + NOTE_SUFFIX
        title = row.title if row is not None else slug
        text = self.text(path) or ""
        note = parse_text(path, text)
        body = [line for line in note.body.strip("\n").splitlines() if line.strip()]
        if body and body[0].lstrip("#").strip() == title:
            body = body[1:]
        out = [f"**{_md_escape(title)}**  `{slug}`"]
        if note.tags:
            out.append(" ".join(f"`#{t}`" for t in note.tags))
        if body:
            out.append("\n".join(body[:lines]) + ("\n…" if len(body) > lines else ""))
        return "\n\n".join(out)

    # ---------------------------------------------------------------- writing

    def create_note(self, target: str, title: str) -> str:
        """Create the note a broken link names (atomically, never overwriting); its path.

        A target that is a plain path (``없는노트``, ``k8s/pod``) becomes that file, so the
        link names it by its slug; otherwise (``RAG 파이프라인``) the file name is made from
        the title as ``kb add`` makes it and the link names the note by its title."""
        from ..errors import BadSlug
        from ..notes import note_path, render_new_note, slugify, write_new_note

        want = target.strip().strip("/")
        if want.lower().endswith(NOTE_SUFFIX):
            want = want[: -len(NOTE_SUFFIX)]
        title = title.strip() or want.rsplit("/", 1)[-1]
        try:
            if any(c.isspace() for c in want):
                raise BadSlug("a file name with blanks")
            path = note_path(self.root, want)
        except BadSlug:
            path = note_path(self.root, slugify(title))
        write_new_note(path, render_new_note(title, [], ""))
        self.refresh()
        return path.relative_to(self.root).as_posix()

    def plan_rename(self, old_slug: str, new: str) -> Any:
        """What ``kb rename OLD NEW`` would do (a :class:`kb.links.RenamePlan`), checked as it checks."""
        from ..errors import BadSlug
        from ..links import plan_rename, rename_target

        row = self.notes.links.notes.get(old_slug)
        if row is None:
            raise BadSlug(f"{old_slug} is not saved in the notebook yet; save it before renaming")
        new_slug = rename_target(self.root, old_slug, row.path, new)
        return plan_rename(self.root, self.notes.rows(), old_slug, new_slug)


def _prefix_keys(row: NoteRow) -> set[str]:
    """What a link being typed is matched against: the slug, its file name, the title."""
    slug = row.slug.casefold()
    return {slug, slug.rsplit("/", 1)[-1], nfc(row.title).casefold()}


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#" else c for c in text)
