"""The core API: one notebook, its index kept fresh, its note rows, search and links.

Every command, ``kb find`` and ``kb lsp`` go through :class:`Notebook` rather than
wiring ``config``, ``index``, ``catalog``, ``search`` and ``links`` together each
time::

    nb = Notebook.open()                          # finds the notebook, syncs its index
    rows = nb.rows(NoteFilter(tags=("cka",), sort="title", limit=20))
    row = nb.note("k8s/rbac")                     # slug, unique prefix or title
    note = nb.read(row)                           # the file, parsed
    hits = nb.search("파드 생성").hits
    back = nb.links.backlinks_of(row.slug)
    nb.fresh()                                    # later: changed files re-indexed

Listing filters are data (:class:`NoteFilter`, as zk's ``NoteFindOpts``), applied
here; the CLI only translates options into one. Nothing here prints: errors are
:class:`kb.errors.KbError` subclasses, what a sync has to say is in :attr:`Notebook.stats`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import config
from .errors import AmbiguousSlug, BadQuery, NoteNotFound
from .noterow import NoteRow, tag_key
from .notes import Note, read_note

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .index.sync import IndexInfo, IndexStats, Progress
    from .journal import Outcome
    from .links import LinkGraph
    from .search import Hit, SearchResult
    from .stats import NotebookStats

__all__ = ["Notebook", "NoteFilter", "NoteRow", "SORTS", "resolve_note", "tag_counts"]

#: How :class:`NoteFilter` orders notes: ``date`` newest first (undated last), ``title``
#: A-Z ignoring case, ``modified`` newest file first, ``slug`` A-Z, ``recent`` newest
#: file first with ties by slug (``kb recent``), ``path`` the index's order (no sorting).
SORTS = ("date", "title", "modified", "slug", "recent", "path")
#: Query words' plans a notebook keeps before it starts over (a long ``kb find`` session).
MAX_PLANS = 5000
T = TypeVar("T")


@dataclass(frozen=True)
class NoteFilter:
    """Which notes, in what order (zk's ``NoteFindOpts``). Every field narrows:
    ``tags`` all of them (case-insensitive, ``#`` ignored); ``path_glob`` the path or slug
    matches (``k8s/*``; a folder name matches what is below it); ``since``/``before``
    the frontmatter date (notes without one are left out); ``orphans`` no links in or
    out; then ``sort`` (one of :data:`SORTS`) and the first ``limit``."""

    tags: tuple[str, ...] = ()
    path_glob: str | None = None
    since: dt.datetime | None = None
    before: dt.datetime | None = None
    orphans: bool = False
    sort: str = "date"
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise BadQuery(f"cannot sort by {self.sort!r}: use {', '.join(SORTS)}")
        object.__setattr__(self, "tags", tuple(self.tags))

    def path_matches(self, rel: str) -> bool:
        """Whether a note's path (``k8s/rbac.md``) passes ``path_glob`` (as ``kb grep --path``)."""
        if self.path_glob is None:
            return True
        glob = self.path_glob.strip("/")
        slug = rel[:-3] if rel.lower().endswith(".md") else rel
        return any(fnmatch.fnmatchcase(x, glob) or fnmatch.fnmatchcase(x, glob + "/*") for x in (rel, slug))

    def keeps(self, row: NoteRow) -> bool:
        """Whether ``row`` passes the filters that need no other note (all but ``orphans``)."""
        if self.tags and not row.has_tags(tag_key(t) for t in self.tags):
            return False
        if self.since is not None or self.before is not None:
            if row.date is None:
                return False
            if self.since is not None and not row.date >= self.since:
                return False
            if self.before is not None and not row.date < self.before:
                return False
        return self.path_matches(row.path)

    def apply(self, rows: Iterable[NoteRow], graph: Callable[[], LinkGraph] | None = None) -> list[NoteRow]:
        """The rows that pass, sorted and cut. ``graph`` gives the link graph of the whole
        notebook, asked for only when ``orphans`` is set."""
        kept = [r for r in rows if self.keeps(r)]
        if self.orphans:
            if graph is None:
                raise ValueError("orphans needs the link graph")
            lonely = set(graph().orphans())
            kept = [r for r in kept if r.slug in lonely]
        _sort(kept, self.sort)
        return kept[: self.limit] if self.limit else kept


def _sort(rows: list[NoteRow], how: str) -> None:
    # Stable sorts: notes that tie keep the index's (path) order, as kb always did.
    if how == "title":
        rows.sort(key=lambda r: r.title.casefold())
    elif how == "modified":
        rows.sort(key=lambda r: r.mtime or 0.0, reverse=True)
    elif how == "recent":
        rows.sort(key=lambda r: (-(r.mtime or 0.0), r.slug))
    elif how == "slug":
        rows.sort(key=lambda r: r.slug)
    elif how == "date":
        rows.sort(key=lambda r: r.date or dt.datetime.min, reverse=True)


def tag_counts(rows: Iterable[NoteRow]) -> list[tuple[str, int]]:
    """Every tag (lower case) with its number of notes, the most used first, then A-Z."""
    counts = Counter(t for r in rows for t in {t.lower() for t in r.tags})
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def resolve_note(rows: list[NoteRow], text: str, by_slug: dict[str, list[NoteRow]] | None = None) -> NoteRow:
    """The one note ``text`` names: its slug, a unique slug prefix, its title or file name.
    ``by_slug``: ``rows`` by slug (a caller keeps it): a slug is then looked up, not
    searched for in every row (~5 ms at 38,580 notes).

    Raises :class:`NoteNotFound` (or :class:`AmbiguousSlug`) with the closest candidates.
    """
    import difflib

    want = unicodedata.normalize("NFC", text.strip())
    if want.lower().endswith(".md"):
        want = want[:-3]
    want = want.strip("/")
    if not want:
        raise NoteNotFound("give a slug or a title, e.g. `kb show airflow-executors`")
    if by_slug is not None:
        exact = by_slug.get(want, ())
        if len(exact) == 1:  # the first step below, found at once
            return exact[0]
    folded = want.casefold()
    steps: tuple[Callable[[NoteRow], bool], ...] = (
        lambda r: r.slug == want,
        lambda r: r.slug.casefold() == folded,
        lambda r: r.title.casefold() == folded,
        lambda r: r.name.casefold() == folded,
        lambda r: r.slug.casefold().startswith(folded),
        lambda r: r.name.casefold().startswith(folded),
        lambda r: folded in r.title.casefold(),
    )
    for step in steps:
        found = [r for r in rows if step(r)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = sorted(r.slug for r in found)
            shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
            raise AmbiguousSlug(f"'{text}' matches {len(found)} notes: {shown}", names)
    close = difflib.get_close_matches(want, [r.slug for r in rows], n=5, cutoff=0.5)
    titles = {r.title: r.slug for r in rows}
    close += [
        titles[t]
        for t in difflib.get_close_matches(want, list(titles), n=3, cutoff=0.5)
        if titles[t] not in close
    ]
    hint = f"; did you mean: {', '.join(close)}?" if close else "; try `kb search` or `kb list`"
    raise NoteNotFound(f"no note '{text}'{hint}", close)


class Notebook:
    """A notebook and its index. :meth:`find` locates it (finishing a rename a killed kb
    left half-done); :meth:`open` also opens its index, synced with the files. Rows, the
    link graph and the Whoosh index are kept until :meth:`fresh` sees a change."""

    def __init__(self, place: config.Notebook, finished_rename: Outcome | None = None) -> None:
        self.place = place
        self.root: Path = place.root
        #: What the opening (or last :meth:`fresh`) sync did: warnings, a notice; None
        #: when the index was not synced (``sync=False``) or not opened yet.
        self.stats: IndexStats | None = None
        #: The outcome of finishing an interrupted rename on the way in, if there was one.
        self.finished_rename = finished_rename
        self._ix: Any = None
        self._opened = False
        self._generation: int | None = None
        self._epoch = 0
        self._rows: list[NoteRow] | None = None
        self._by_path: dict[str, NoteRow] | None = None
        self._by_slug: dict[str, list[NoteRow]] | None = None  # (from the second note named on)
        self._named = False
        self._links: LinkGraph | None = None
        #: Query words' plans, kept for the searches of one index version (see :meth:`search`).
        self._plans: dict[Any, Any] = {}
        #: A Whoosh searcher of this index version, kept open for the next searches (see
        #: :meth:`_kept_searcher`).
        self._searcher: Any = None
        #: Views rendered for this index version (``kb show``'s note in a server: see
        #: :mod:`kb.commands.show`), by a key naming all their output depends on besides the
        #: index; dropped with the rows.
        self.views: dict[Any, Any] = {}
        #: ``kb grep``'s word index, kept open for the next grep while its files stay the
        #: same (:func:`kb.grepindex.lookup_of`; a sync that changes notes rewrites them).
        self.grep_cache: Any = None
        #: What a repair after a failed read (:meth:`_reading`) tells the user: called while
        #: it waits for another kb's sync, and a factory of the context that gives the
        #: :class:`Progress` a rebuild reports to (the CLI's bar). None: nothing is said.
        self.repair_wait: Callable[[], None] | None = None
        self.repair_progress: Callable[[], AbstractContextManager[Progress | None]] | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def find(cls, dir: str | Path | None = None, *, finish_rename: bool = True) -> Notebook:
        """The notebook (``dir``, else ``$KB_DIR``, ``./notes``, ``~/notes``), its index not
        opened yet. A rename a killed kb left half-done is finished first (one ``stat``
        when there is none) unless ``finish_rename`` is False."""
        import os

        from .journal import JOURNAL_DIR, JOURNAL_NAME

        place = config.find_notebook(dir)
        outcome = None
        if finish_rename and os.path.lexists(place.root / JOURNAL_DIR / JOURNAL_NAME):
            from .journal import finish_interrupted

            outcome = finish_interrupted(place.root)
        return cls(place, outcome)

    @classmethod
    def open(
        cls,
        dir: str | Path | None = None,
        *,
        sync: bool = True,
        progress: Progress | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> Notebook:
        """:meth:`find`, then :meth:`open_index`. With ``sync=False`` nothing is written:
        no index is built and no interrupted rename finished (for shell completion)."""
        nb = cls.find(dir, finish_rename=sync)
        nb.open_index(sync=sync, progress=progress, on_wait=on_wait)
        return nb

    def open_index(
        self,
        *,
        sync: bool = True,
        progress: Progress | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> Any:
        """Open the index, synced with the files first (``sync=False``: as it is, never
        building one; there may be none, then :meth:`rows` is empty). Returns the Whoosh
        index (None when there is none)."""
        from .index import sync as index

        if sync:
            ix, stats = index.open_index(self.place, on_wait=on_wait, progress=progress)
        else:
            ix, stats = index.previous_index(self.place), None
        generation = None
        if stats is not None and stats.generation is not None:
            generation = stats.generation
        elif ix is not None:
            generation = ix.latest_generation()
        if not (self._opened and generation is not None and generation == self._generation):
            self._rows = self._by_path = self._by_slug = None
            self._links = None
            self._plans = {}
            self._drop_searcher()
            self.views = {}
            self._epoch += 1
        self._ix, self._opened, self._generation, self.stats = ix, True, generation, stats
        return ix

    @property
    def ix(self) -> Any:
        """The Whoosh index (opened and synced on first use)."""
        if not self._opened:
            self.open_index()
        return self._ix

    @property
    def epoch(self) -> int:
        """A number that changes whenever what was read from the index is dropped (a sync
        that changed it, a rebuild, a repair after a failed read, :meth:`close`): a caller
        keeping answers of its own (``kb lsp``'s completion keys) can tell they are old."""
        return self._epoch

    def _reading(self, read: Callable[[], T]) -> T:
        """``read()``, a reading of the index; run once more if Whoosh failed in it. Damage
        no cheap check can see (same-size garbage in an index file), or an index another kb
        replaced under this open one (a long-running ``kb find``, ``kb lsp``), shows up only
        when Whoosh reads it: :func:`kb.index.sync.repair_after` makes the index sound again
        (reopening the newer one, else rebuilding) and the read runs on it. Any other
        failure is raised as it is."""
        try:
            return read()
        except Exception as exc:
            from .index.sync import repair_after

            if not repair_after(exc, self.place, on_wait=self.repair_wait, progress=self.repair_progress):
                raise
        self.close()
        return read()

    @property
    def is_open(self) -> bool:
        """Whether the index was opened (:meth:`open_index`) and not closed since."""
        return self._opened

    def sync(
        self,
        *,
        rebuild: bool = False,
        wait: float = 300.0,
        check_first: bool = True,
        progress: Progress | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> IndexStats:
        """Bring the index up to date with the files (``rebuild``: from scratch), as
        ``kb index`` and the commands that write notes do; waits up to ``wait`` seconds
        for another kb's sync (then :class:`kb.errors.IndexLocked`). What was read from
        the index before is read again on next use."""
        from .index.sync import sync_index

        stats = sync_index(self.place, rebuild=rebuild, wait=wait, check_first=check_first,
                           progress=progress, on_wait=on_wait)
        if rebuild or not self._opened or stats.generation is None or stats.generation != self._generation:
            self.close()  # (unchanged: what was read stays, as open_index keeps it; kb grep in kb.server)
        return stats

    def files(self) -> dict[str, Any] | None:
        """Path -> file signature of every note as the last sync saw them (None: no usable
        manifest); what ``kb grep`` trusts its own word index under."""
        from .index.sync import indexed_files

        return indexed_files(self.place)

    def info(self) -> IndexInfo:
        """How the index compares with the files, changing nothing (``kb info``)."""
        from .index.sync import index_info

        return index_info(self.place)

    def numbers(self, *, top: int = 5) -> NotebookStats:
        """Notes, words, tags, links, Korean vs English share, the ``top`` largest notes
        (``kb stats``): from the index's catalog, reading only files it has no counts for."""
        from .index.catalog import keep_counts, notes_and_counts
        from .stats import compute_stats

        ix = self.ix
        rows, counts = notes_and_counts(ix)
        data = compute_stats(self.root, rows, top=top, counts=counts)
        keep_counts(ix, counts)  # those it read files for (an index from before the catalog): next time none
        return data

    def fresh(
        self, *, progress: Progress | None = None, on_wait: Callable[[], None] | None = None
    ) -> bool:
        """Bring the index up to date with the files now (cheap when nothing changed: the
        freshness check, or the watcher's answer). True when the index changed; the rows
        and the link graph are then read again on next use."""
        before = self._generation if self._opened else None
        self.open_index(progress=progress, on_wait=on_wait)
        return self._generation != before

    def close(self) -> None:
        """Let go of the index and everything read from it."""
        self._ix, self._opened, self._generation = None, False, None
        self._rows = self._by_path = self._by_slug = self._links = None
        self._drop_searcher()
        self.views = {}
        self._epoch += 1

    def _kept_searcher(self) -> Any:
        """A searcher of the open index, kept for the searches of this index version: opening
        one reads every segment's tables and maps its files (~1-4 ms a search, more at 10x).
        Dropped (closed) with the plans when the index changes, and by :meth:`close`."""
        if self._searcher is None:
            self._searcher = self.ix.searcher()
        return self._searcher

    def _drop_searcher(self) -> None:
        searcher, self._searcher = self._searcher, None
        if searcher is not None:
            try:
                searcher.close()
            except Exception:  # an index already gone or damaged: nothing more to let go of
                pass

    def __enter__(self) -> Notebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ notes

    def rows(self, filt: NoteFilter | None = None) -> list[NoteRow]:
        """The indexed notes (path order), or those ``filt`` keeps, in its order."""
        if self._rows is None:
            from .index.sync import stored_notes

            def read() -> list[NoteRow]:
                ix = self.ix
                return [] if ix is None else stored_notes(ix)

            self._rows = self._reading(read)
        if filt is None:
            return list(self._rows)
        return filt.apply(self._rows, lambda: self.links)

    def by_path(self) -> dict[str, NoteRow]:
        """The indexed notes by path (``k8s/rbac.md``), kept until the index changes; not
        to be changed by the caller."""
        if self._by_path is None:
            self._by_path = {r.path: r for r in self.rows()}
        return self._by_path

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag with its number of notes, the most used first (``kb tags``)."""
        return tag_counts(self.rows())

    def note(self, ref: str) -> NoteRow:
        """The note ``ref`` names: slug, unique slug prefix, title or file name (as ``kb show``).
        Raises :class:`NoteNotFound` / :class:`AmbiguousSlug`."""
        rows = self.rows()
        if self._by_slug is None and self._named:  # asked again: a long-lived notebook (kb.server)
            by_slug: dict[str, list[NoteRow]] = {}
            for r in rows:
                by_slug.setdefault(r.slug, []).append(r)
            self._by_slug = by_slug
        self._named = True
        return resolve_note(rows, ref, self._by_slug)

    def row_of(self, slug: str) -> NoteRow | None:
        """The note with exactly this slug, or None."""
        return next((r for r in self.rows() if r.slug == slug), None)

    def read(self, row: NoteRow) -> Note:
        """The note's file, parsed (title, tags, links, body...). Raises OSError."""
        return read_note(self.root, row.path)

    @property
    def links(self) -> LinkGraph:
        """The links between the notes (built on first use, again after a change)."""
        if self._links is None:
            from .links import LinkGraph

            self._links = LinkGraph(self.rows())
        return self._links

    # ------------------------------------------------------------------ search

    def search(
        self, query: str, *, limit: int = 10, tags: Iterable[str] = (), explain: bool = False,
        snippets: bool = True, stop: Callable[[], None] | None = None,
    ) -> SearchResult:
        """The same search as ``kb search`` (ranked hits, snippets, suggestions).

        ``snippets=False`` reads no file (``kb find``: a search a keystroke; :meth:`snippet`
        fills in one hit later). The words' plans (their other forms, most of a search's
        time) are kept for the next searches until the index changes. ``stop``: called
        between the search's steps, it may raise to abandon it (see :func:`kb.search.search`)."""
        from .search import search

        if len(self._plans) > MAX_PLANS:
            self._plans = {}
        wanted = tuple(tags)
        return self._reading(lambda: search(self.place, query, limit=limit, tags=wanted, ix=self.ix,
                                            explain=explain, snippets=snippets, plans=self._plans,
                                            searcher=self._kept_searcher(), stop=stop))

    def snippet(self, hit: Hit, terms: Iterable[str], lines: dict[Any, Any] | None = None) -> None:
        """Fill in a hit's snippet, highlights and ``line`` (the line of its first match) from
        its file, as :meth:`search` does; ``terms``: the result's ``terms``. ``lines``: a
        dict the caller keeps, where the notes' text as plain lines is kept by their text
        (:func:`kb.search.add_snippet`; the caller bounds it)."""
        from .search import add_snippet

        add_snippet(self.place, hit, set(terms), lines)

    def related(self, row: NoteRow, *, limit: int = 10, note: Note | None = None) -> list[Hit]:
        """The notes most like ``row`` (``kb related``). Raises OSError if its file is unreadable.
        ``note``: its file as :meth:`read` gave it just now (not read again)."""
        from .search import related

        return self._reading(lambda: related(self.place, row.path, limit=limit, ix=self.ix,
                                             plans=self._plans, searcher=self._kept_searcher(),
                                             note=note))
