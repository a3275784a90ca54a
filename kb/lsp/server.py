"""``kb lsp``: the notebook's language server over stdio, on pygls.

One handler per LSP method; each asks the :class:`~kb.lsp.notebook.Session` (kb's
resolver, search and rename) and turns its plain answers into lsprotocol types. The
only module of kb importing pygls and lsprotocol; loaded by ``kb lsp`` alone.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..collector import Collector
from ..errors import KbError
from ..notes import slug_of
from . import stdio
from .notebook import Notes, Session
from .text import Lines, LinkSpan, completing, heading_for, headings, link_at

CREATE_NOTE = "kb.createNote"
_FILE = lsp.SymbolKind.File
#: ``(note path, text, slug or None, link or None)``: see :meth:`KbLanguageServer.target_at`.
_Target = tuple[str, str, "str | None", "LinkSpan | None"]
_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}
#: Seconds an edited note must stay unchanged before its diagnostics are sent again.
DIAGNOSE_AFTER = 0.15


class KbLanguageServer(LanguageServer):
    def __init__(self, directory: str | None) -> None:
        super().__init__("kb", _version())
        self.directory = directory
        #: Set once the index is open (or failed to open): requests wait for it.
        self.session: Session | None = None
        self.ready = asyncio.Event()
        self.notes: Notes | None = None  # found at initialize, its index opened beside the handshake
        self.failure = ""
        self.shut_down = False
        self._diagnose: dict[str, asyncio.TimerHandle] = {}  # diagnostics to send (publish_soon)
        #: The messages read but not handled yet (:func:`kb.lsp.stdio.run`); None in tests
        #: that drive the server without stdio.
        self.inbox: stdio.Inbox | None = None
        self.collector = _Collector(self)

    # ---------------------------------------------------------------- helpers

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    def path_of(self, uri: str) -> str | None:
        """The note path of a URI, relative to the notebook, or None."""
        if self.session is None:
            return None
        fs = to_fs_path(uri)
        return self.session.relpath(Path(fs)) if fs else None

    def uri_of(self, path: str) -> str:
        assert self.session is not None
        return str(from_fs_path(str(self.session.root / path)))

    def lines(self, text: str) -> Lines:
        return Lines(text, self.encoding)

    def range_of(self, lines: Lines, start: int, end: int) -> lsp.Range:
        (l1, c1), (l2, c2) = lines.position(start), lines.position(end)
        return lsp.Range(lsp.Position(l1, c1), lsp.Position(l2, c2))

    def tell(self, message: str, kind: lsp.MessageType = lsp.MessageType.Error) -> None:
        self.window_show_message(lsp.ShowMessageParams(type=kind, message=f"kb: {message}"))

    def publish_soon(self, path: str) -> None:
        """Send the diagnostics of a note being edited once it has not changed for
        :data:`DIAGNOSE_AFTER` seconds: a keystroke then costs storing its text, not the
        note's diagnostics (tens of ms for a long note, which the completion request
        right behind the keystroke would wait for)."""
        pending = self._diagnose.pop(path, None)
        if pending is not None:
            pending.cancel()
        self._diagnose[path] = asyncio.get_running_loop().call_later(DIAGNOSE_AFTER, self.publish, path)

    def publish(self, path: str) -> None:
        """Send the diagnostics of an open note (an empty list clears the fixed ones)."""
        pending = self._diagnose.pop(path, None)
        if pending is not None:
            pending.cancel()
        if self.session is None or self.shut_down:
            return
        buf = self.session.buffers.get(path)
        if buf is None:
            return
        lines = self.lines(buf.text)
        out = []
        for p in self.session.diagnostics(path):
            severity = _SEVERITY[p.severity]
            data = {"target": p.target} if p.target else None
            out.append(lsp.Diagnostic(self.range_of(lines, p.start, p.end), p.message, severity=severity,
                                      code=p.code, source="kb", data=data))
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(self.uri_of(path), out, version=buf.version or None)
        )

    def publish_all(self) -> None:
        assert self.session is not None
        for path in list(self.session.buffers):
            self.publish(path)

    def stop_when_outdated(self, uri: str) -> Callable[[], None]:
        """For the request being handled (about the document ``uri``): a function that raises
        ContentModified once a message read since makes its answer worthless (a change of
        the document, the request's cancel): called between the steps of a completion, the
        keystroke behind it gets its answer sooner."""
        inbox, msg_id = self.inbox, self.protocol.msg_id

        def stop() -> None:
            if inbox is not None and inbox.outdated(uri, msg_id):
                from pygls.exceptions import JsonRpcContentModified

                raise JsonRpcContentModified("the document changed while this completion was worked on")

        return stop

    def at(self, uri: str, position: lsp.Position) -> tuple[str, str, int] | None:
        """``(note path, text, offset)`` of a position in a note (its open buffer if any)."""
        if self.session is None:
            return None
        path = self.path_of(uri)
        if path is None:
            return None
        self.session.touch()
        text = self.session.text(path)
        if text is None:
            return None
        return path, text, self.lines(text).offset(position.line, position.character)

    def target_at(self, uri: str, position: lsp.Position) -> _Target | None:
        """``(note path, text, slug, link)`` for a position: the note the link under it names
        (slug None when broken), else the note itself (link None)."""
        found = self.at(uri, position)
        if found is None or self.session is None:
            return None
        path, text, offset = found
        link = link_at(self.session.buffer(path).links(), offset)
        if link is None:
            return path, text, slug_of(path), None
        return path, text, self.session.resolve(link, path).slug, link


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kb")
    except PackageNotFoundError:
        return "unknown"


def make_server(directory: str | None = None) -> KbLanguageServer:
    """The language server, its handlers registered (``directory``: kb's ``--dir``)."""
    server = KbLanguageServer(directory)
    _register(server)
    return server


class _ClientProgress:
    """How the index's opening sync goes (a :class:`kb.index.sync.Progress`, called in the
    thread that syncs) as the client's work-done progress (``$/progress``): created with
    ``window/workDoneProgress/create`` when a build (or a sync of many notes) begins,
    reported a few times a second, ended when the index is open. Messages go through the
    event loop, in order; nothing is sent for a quick sync of a few notes."""

    TOKEN = "kb-index"
    #: Seconds between two reports of the notes read.
    EVERY = 0.2
    #: A sync of fewer changed notes than this (not a full build) shows no progress.
    QUIET_NOTES = 200

    def __init__(self, ls: KbLanguageServer, loop: asyncio.AbstractEventLoop) -> None:
        self.ls, self.loop = ls, loop
        self.begun = False
        self.last = 0.0
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.task = loop.create_task(self._send())

    # -- kb.index.sync.Progress, in the syncing thread

    def building(self, why: str, total: int) -> None:
        from ..index.sync import BUILD_REASONS

        self._begin(BUILD_REASONS.get(why, "building the index"), total)

    def note(self, done: int, total: int, path: str) -> None:
        if not self.begun:
            if total < self.QUIET_NOTES:
                return
            self._begin("updating the index", total)
        now = time.monotonic()
        if done == total or now - self.last >= self.EVERY:
            self.last = now
            self._put(lsp.WorkDoneProgressReport(message=f"{done}/{total} notes",
                                                 percentage=100 * done // max(total, 1)))

    def step(self, name: str) -> None:
        if self.begun:
            self._put(lsp.WorkDoneProgressReport(message=name))

    def _begin(self, title: str, total: int) -> None:
        self.begun = True
        self._put(lsp.WorkDoneProgressBegin(title=f"kb: {title}", message=f"{total} notes", percentage=0,
                                            cancellable=False))

    def _put(self, value: Any) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, value)

    # -- in the event loop

    def finish(self, message: str) -> None:
        """The sync is over (called in the loop, after the thread's last message)."""
        if self.begun:
            self.queue.put_nowait(lsp.WorkDoneProgressEnd(message=message))
        self.queue.put_nowait(None)

    async def _send(self) -> None:
        created = False
        progress = self.ls.work_done_progress
        while (value := await self.queue.get()) is not None:
            if not created:
                try:
                    await progress.create_async(self.TOKEN)
                except Exception:  # the client refused the token: no progress then
                    return
                created = True
            if isinstance(value, lsp.WorkDoneProgressBegin):
                progress.begin(self.TOKEN, value)
            elif isinstance(value, lsp.WorkDoneProgressReport):
                progress.report(self.TOKEN, value)
            else:
                progress.end(self.TOKEN, value)


class _Collector(Collector):
    """:class:`kb.collector.Collector`'s policy (Python's cyclic garbage collection off the
    requests' path: what the open index holds frozen out of the collector's sight,
    automatic collections only after many allocations), timed by the editor's messages:
    the young objects are collected :data:`IDLE` seconds after a batch, once no request is
    running or waiting; everything (frozen anew) when the editor has been idle
    :data:`FULL_IDLE` seconds, at most every ``FULL_EVERY``. On a big notebook a collection
    set off by a request's allocations took up to ~0.3 s at 10x, in a completion."""

    #: Seconds after a batch of messages before the young objects are collected.
    IDLE = 0.02
    FULL_IDLE = 2.0

    def __init__(self, ls: KbLanguageServer) -> None:
        super().__init__()
        self.ls = ls
        self.pending: asyncio.TimerHandle | None = None
        self.last_batch = self.last_full

    def busy(self) -> bool:
        ls = self.ls
        running = getattr(ls.protocol, "_request_futures", None)  # pygls's requests not answered yet
        return bool((ls.inbox is not None and ls.inbox.pending) or running)

    def batch(self) -> None:
        """A batch of messages was handed on: collect the young objects once it is answered."""
        self.last_batch = time.monotonic()
        if self.pending is None:
            self.pending = asyncio.get_running_loop().call_later(self.IDLE, self._young)

    def _young(self) -> None:
        import gc

        self.pending = None
        if self.busy():
            self.batch()
            return
        gc.collect(1)

    def idle(self) -> bool:
        """Called every second or so: everything collected and frozen anew when the editor
        has been idle long enough (what the index dropped since is let go of)."""
        now = time.monotonic()
        if now - self.last_batch >= self.FULL_IDLE and now - self.last_full >= self.FULL_EVERY \
                and not self.busy():
            self.full()
        return False


def _shows_progress(ls: KbLanguageServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window is not None and window.work_done_progress)


def _open_beside(ls: KbLanguageServer) -> None:
    """Open the index (on a first run, build it) in a thread, so the handshake is over at
    once and the editor stays responsive; requests wait until it is open. Then start the
    checks for files changed outside the editor."""
    notes = ls.notes
    assert notes is not None
    loop = asyncio.get_running_loop()
    progress = _ClientProgress(ls, loop) if _shows_progress(ls) else None

    def opened(session: Session | None, failure: str) -> None:
        ls.session, ls.failure = session, failure
        if progress is not None:
            progress.finish("failed" if session is None else f"{len(notes.rows())} notes")
        if failure:
            ls.tell(failure)
        else:
            ls.collector.start()
            loop.create_task(_check_files(ls))
        ls.ready.set()

    def build() -> None:
        session, failure = None, ""
        try:
            notes.open(progress)
            session = Session(notes)
            _warm_up(ls, session)
        except KbError as exc:
            failure = str(exc)
        except Exception as exc:  # never a dead server: the editor is told, requests answer empty
            failure = f"internal error opening the index: {type(exc).__name__}: {exc}"
        loop.call_soon_threadsafe(opened, session, failure)

    threading.Thread(target=build, name="kb-index", daemon=True).start()


def _warm_up(ls: KbLanguageServer, session: Session) -> None:
    """Before the first request (in the thread that opened the index): what the first
    completion and symbol search would pay for once, a quarter to half a second at 1x:
    the link graph and its lookup maps (a link's text), the notes' names sorted (prefix
    matches), a search (the vocabulary tables, the alias table, a searcher), and
    lsprotocol's converters of their answers (built on first use)."""
    session.graph()
    # the index graph's lookup maps filled in one pass over the notes: no link looked up
    # later (a completion's link text) pays a pass, and an open note's graph is made from them
    session.notes.links.with_rows(())
    session.notes.prefixed("", 0)  # the sorted keys of the notes' names, for completion
    session.notes.search("kb", limit=1)
    start = lsp.Position(0, 0)
    where = lsp.Location("file:///", lsp.Range(start, start))
    convert = ls.protocol._converter
    convert.unstructure(lsp.CompletionList(is_incomplete=True, items=[lsp.CompletionItem(
        "kb", kind=lsp.CompletionItemKind.File, detail="kb", sort_text="0", filter_text="kb",
        label_details=lsp.CompletionItemLabelDetails(description="kb"),
        text_edit=lsp.TextEdit(where.range, "kb"))]))
    convert.unstructure([lsp.SymbolInformation(name="kb", kind=_FILE, location=where, container_name="kb")])
    convert.unstructure([lsp.WorkspaceSymbol(name="kb", kind=_FILE, container_name="kb", data={"query": "kb"},
                                             location=lsp.LocationUriOnly("file:///"))])


def _when_ready(fn: Callable[[KbLanguageServer, Any], Any]) -> Callable[..., Any]:
    """A handler that first waits for the index to be open (at once when it is)."""

    async def handler(ls: KbLanguageServer, params: Any) -> Any:
        if not ls.ready.is_set():
            await ls.ready.wait()
        return fn(ls, params)

    handler.__name__ = handler.__qualname__ = fn.__name__
    handler.__doc__ = fn.__doc__
    return handler


async def _check_files(ls: KbLanguageServer) -> None:
    """Between requests, check the files for notes saved or created outside the editor
    (kb's freshness check: in a thread, so requests are answered meanwhile; the index is
    synced in the loop only when notes changed), and update the open notes' diagnostics
    when they changed."""
    session = ls.session
    loop = asyncio.get_running_loop()
    while session is not None and not ls.shut_down:
        wait = session.next_check()
        await asyncio.sleep(wait if wait is not None else session.CHECK_EVERY)
        ls.collector.idle()
        if wait is None or ls.shut_down or await loop.run_in_executor(None, session.unchanged):
            continue
        if not ls.shut_down and session.refresh():
            ls.publish_all()


def _register(server: KbLanguageServer) -> None:  # noqa: C901 - one closure per LSP method
    def feature(method: str, options: Any = None) -> Callable[[Any], Any]:
        """``server.feature``, the handler waiting for the index first (:func:`_when_ready`)."""

        def register(fn: Callable[[KbLanguageServer, Any], Any]) -> Callable[[KbLanguageServer, Any], Any]:
            server.feature(method, options)(_when_ready(fn))
            return fn

        return register

    @server.feature(lsp.INITIALIZE)
    def initialize(ls: KbLanguageServer, params: lsp.InitializeParams) -> None:
        directory = ls.directory
        if directory is None:
            folders = params.workspace_folders or []
            uri = folders[0].uri if folders else params.root_uri
            directory = to_fs_path(uri) if uri else params.root_path
        try:
            ls.notes = Notes(directory, opened=False)  # which notebook; its index opened after
        except KbError as exc:
            ls.failure = str(exc)

    @server.feature(lsp.INITIALIZED)
    def initialized(ls: KbLanguageServer, params: lsp.InitializedParams) -> None:
        if ls.failure:
            ls.tell(ls.failure)
            ls.ready.set()
            return
        _open_beside(ls)
        caps = ls.client_capabilities.workspace
        watched = caps.did_change_watched_files if caps else None
        if watched is not None and watched.dynamic_registration:
            options = lsp.DidChangeWatchedFilesRegistrationOptions(
                watchers=[lsp.FileSystemWatcher(glob_pattern="**/*.md")]
            )
            method = lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES
            ls.client_register_capability(lsp.RegistrationParams(registrations=[
                lsp.Registration(id="kb-notes", method=method, register_options=options)
            ]))

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: KbLanguageServer, params: Any) -> None:
        ls.shut_down = True

    # ---------------------------------------------------------------- documents

    def _changed(ls: KbLanguageServer, uri: str, version: int | None, typed: bool = False) -> None:
        path = ls.path_of(uri)
        if path is None or ls.session is None:
            return
        ls.session.touch()
        ls.session.change(path, ls.workspace.get_text_document(uri).source, version or 0)
        if typed:
            ls.publish_soon(path)
        else:
            ls.publish(path)

    @feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KbLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        _changed(ls, params.text_document.uri, params.text_document.version)

    @feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KbLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
        _changed(ls, params.text_document.uri, params.text_document.version, typed=True)

    @feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KbLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
        if ls.session is None:
            return
        ls.session.refresh()
        ls.publish_all()

    @feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KbLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path is None or ls.session is None:
            return
        ls.session.close(path)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(params.text_document.uri, []))

    @feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched(ls: KbLanguageServer, params: lsp.DidChangeWatchedFilesParams) -> None:
        if ls.session is not None and ls.session.refresh():
            ls.publish_all()

    @feature(lsp.WORKSPACE_DID_RENAME_FILES)
    def did_rename(ls: KbLanguageServer, params: lsp.RenameFilesParams) -> None:
        watched(ls, lsp.DidChangeWatchedFilesParams(changes=[]))

    # ---------------------------------------------------------------- completion

    @feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["[", "(", "#"]))
    def completion(ls: KbLanguageServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
        found = ls.at(params.text_document.uri, params.position)
        if found is None or ls.session is None:
            return None
        path, text, offset = found
        ctx = completing(text, offset)
        if ctx is None:
            return None
        lines = ls.lines(text)
        span = ls.range_of(lines, ctx.start, offset)
        items = []
        if ctx.kind == "tag":
            for i, (tag, n) in enumerate(ls.session.complete_tags(ctx.typed, path)):
                items.append(lsp.CompletionItem(
                    tag, kind=lsp.CompletionItemKind.Keyword, detail=f"{n} note{'s' if n != 1 else ''}",
                    sort_text=f"{i:05d}", filter_text=tag, text_edit=lsp.TextEdit(span, tag)))
            return lsp.CompletionList(is_incomplete=False, items=items)
        if ctx.kind == "heading":
            want = ctx.typed.casefold()
            titles = [h for h in ls.session.headings_of(ctx.target, path) if h.casefold().startswith(want)]
            for i, heading in enumerate(titles):
                items.append(lsp.CompletionItem(
                    heading, kind=lsp.CompletionItemKind.Reference, sort_text=f"{i:05d}", filter_text=heading,
                    text_edit=lsp.TextEdit(span, heading + ("" if ctx.closed else "]]"))))
            return lsp.CompletionList(is_incomplete=False, items=items)
        typed = ctx.typed
        if ctx.kind == "md":
            typed = posixpath.basename(typed)
            typed = typed[:-3] if typed.lower().endswith(".md") else typed
        base = posixpath.dirname(path)
        stop = ls.stop_when_outdated(params.text_document.uri)
        for i, cand in enumerate(ls.session.complete_notes(typed, path, stop=stop)):
            if ctx.kind == "wiki":
                insert = ls.session.link_text(cand.slug, path) + ("" if ctx.closed else "]]")
            else:
                href = posixpath.relpath(cand.path, base or ".")
                insert = href.replace(" ", "%20") + ("" if ctx.closed else ")")
            items.append(lsp.CompletionItem(
                cand.title, kind=lsp.CompletionItemKind.File, detail=cand.slug,
                label_details=lsp.CompletionItemLabelDetails(description=cand.slug),
                sort_text=f"{i:05d}", filter_text=ctx.typed or cand.slug,
                text_edit=lsp.TextEdit(span, insert)))
        return lsp.CompletionList(is_incomplete=True, items=items)

    # ---------------------------------------------------------------- navigation

    @feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: KbLanguageServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or ls.session is None:
            return None
        _, _, slug, link = found
        if link is None or slug is None:
            return None
        row = ls.session.doc(slug)
        target = row.path if row is not None else slug + ".md"
        where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        if link.anchor:
            text = ls.session.text(target) or ""
            heading = heading_for(text, link.anchor)
            if heading is not None:
                where = ls.range_of(ls.lines(text), heading.start, heading.end)
        return lsp.Location(ls.uri_of(target), where)

    @feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: KbLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or ls.session is None:
            return None
        path, text, slug, link = found
        if link is None:
            return None
        if slug is None:
            value = f"no note `{link.target}`: {ls.session.resolve(link, path).reason}"
        else:
            value = ls.session.hover_text(slug)
        return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, value),
                         range=ls.range_of(ls.lines(text), link.start, link.end))

    @feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def references(ls: KbLanguageServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or ls.session is None:
            return None
        slug = found[2]
        if slug is None:
            return []
        out = []
        for place in ls.session.references(slug):
            out.append(lsp.Location(ls.uri_of(place.path),
                                    ls.range_of(ls.lines(place.text), place.start, place.end)))
        return out

    @feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbols(ls: KbLanguageServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        path = ls.path_of(params.text_document.uri)
        if path is None or ls.session is None:
            return []
        text = ls.session.text(path) or ""
        lines = ls.lines(text)
        found = headings(text)
        roots: list[lsp.DocumentSymbol] = []
        stack: list[tuple[int, lsp.DocumentSymbol]] = []
        for i, h in enumerate(found):
            end = next((g.start for g in found[i + 1 :] if g.level <= h.level), len(text))
            symbol = lsp.DocumentSymbol(
                name=h.title, kind=lsp.SymbolKind.String, range=ls.range_of(lines, h.start, max(h.end, end)),
                selection_range=ls.range_of(lines, h.start, h.end), children=[])
            while stack and stack[-1][0] >= h.level:
                stack.pop()
            (stack[-1][1].children if stack else roots).append(symbol)  # type: ignore[union-attr]
            stack.append((h.level, symbol))
        return roots

    @feature(lsp.WORKSPACE_SYMBOL)
    def workspace_symbols(ls: KbLanguageServer, params: lsp.WorkspaceSymbolParams) -> list[Any]:
        if ls.session is None:
            return []
        ls.session.touch()
        if _resolves_ranges(ls):
            # the line of each note's first match only for the one the user picks (resolve)
            data = {"query": params.query}
            return [lsp.WorkspaceSymbol(name=cand.title, kind=_FILE, container_name=cand.slug, data=data,
                                        location=lsp.LocationUriOnly(ls.uri_of(cand.path)))
                    for cand in ls.session.symbol_notes(params.query)]
        return [lsp.SymbolInformation(name=cand.title, kind=_FILE, location=_at_line(ls, cand.path, line),
                                      container_name=cand.slug)
                for cand, line in ls.session.symbols(params.query)]

    @feature(lsp.WORKSPACE_SYMBOL_RESOLVE)
    def resolve_symbol(ls: KbLanguageServer, symbol: lsp.WorkspaceSymbol) -> lsp.WorkspaceSymbol:
        where = symbol.location
        if ls.session is None or isinstance(where, lsp.Location):
            return symbol
        path = ls.path_of(where.uri)
        query = symbol.data.get("query") if isinstance(symbol.data, dict) else None
        if path is None or not isinstance(query, str):
            return symbol
        ls.session.touch()
        symbol.location = _at_line(ls, path, ls.session.symbol_line(query, path))
        return symbol

    # ---------------------------------------------------------------- code actions

    @feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_actions(ls: KbLanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        path = ls.path_of(params.text_document.uri)
        if path is None or ls.session is None:
            return []
        text = ls.session.text(path) or ""
        lines = ls.lines(text)
        start = lines.offset(params.range.start.line, params.range.start.character)
        end = lines.offset(params.range.end.line, params.range.end.character)
        out = []
        for problem in ls.session.diagnostics(path):
            if problem.code != "broken-link" or problem.end < start or problem.start > end:
                continue
            buf = ls.session.buffer(path)
            link = link_at(buf.links(), problem.start)
            title = link.written if link is not None and link.kind == "wiki" else problem.target
            if link is not None and link.kind == "md":
                label = text[link.start + 1 : text.find("]", link.start)]
                title = label.strip() or posixpath.basename(problem.target)
            out.append(lsp.CodeAction(
                f"Create note '{problem.target}'", kind=lsp.CodeActionKind.QuickFix,
                command=lsp.Command(title=f"Create note '{problem.target}'", command=CREATE_NOTE,
                                    arguments=[params.text_document.uri, problem.target, title])))
        return out

    @server.command(CREATE_NOTE)
    def create_note(ls: KbLanguageServer, *args: Any) -> str | None:
        if ls.session is None or len(args) < 3:
            return None
        _uri, target, title = (str(a) for a in args[:3])
        try:
            created = ls.session.create_note(target, title)
        except KbError as exc:
            ls.tell(str(exc))
            return None
        except OSError as exc:
            ls.tell(f"cannot create the note: {exc.strerror or exc}")
            return None
        ls.publish_all()
        uri = ls.uri_of(created)
        window = ls.client_capabilities.window
        if window is not None and window.show_document is not None and window.show_document.support:
            ls.window_show_document(lsp.ShowDocumentParams(uri=uri, take_focus=True))
        return uri

    # ---------------------------------------------------------------- rename

    @feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
    def prepare_rename(ls: KbLanguageServer, params: lsp.PrepareRenameParams) -> Any:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or ls.session is None:
            return None
        _, text, slug, link = found
        if slug is None:
            return None
        if link is None:
            return lsp.PrepareRenamePlaceholder(range=lsp.Range(start=params.position, end=params.position),
                                                placeholder=slug)
        span = ls.range_of(ls.lines(text), link.target_start, link.target_end)
        return lsp.PrepareRenamePlaceholder(range=span, placeholder=slug)

    @feature(lsp.TEXT_DOCUMENT_RENAME)
    def rename(ls: KbLanguageServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
        found = ls.target_at(params.text_document.uri, params.position)
        if found is None or ls.session is None:
            return None
        slug = found[2]
        if slug is None:
            ls.tell("that link names no note; nothing to rename")
            return None
        try:
            plan = ls.session.plan_rename(slug, params.new_name)
            if _can_move_files(ls):
                return _rename_edit(ls, plan, move=True)
            return _rename_on_disk(ls, plan)
        except KbError as exc:
            ls.tell(str(exc))
            return None
        except OSError as exc:
            ls.tell(f"cannot rename: {exc.strerror or exc}")
            return None

    @feature(lsp.WORKSPACE_WILL_RENAME_FILES, lsp.FileOperationRegistrationOptions(
        filters=[lsp.FileOperationFilter(pattern=lsp.FileOperationPattern(glob="**/*.md"))]))
    def will_rename(ls: KbLanguageServer, params: lsp.RenameFilesParams) -> lsp.WorkspaceEdit | None:
        if ls.session is None:
            return None
        changes: list[Any] = []
        for f in params.files:
            old, new = ls.path_of(f.old_uri), ls.path_of(f.new_uri)
            if old is None or new is None:
                continue
            try:
                plan = ls.session.plan_rename(slug_of(old), slug_of(new))
                edit = _rename_edit(ls, plan, move=False)
            except KbError as exc:
                ls.tell(str(exc))
                continue
            changes += edit.document_changes or []
        return lsp.WorkspaceEdit(document_changes=changes) if changes else None


def _resolves_ranges(ls: KbLanguageServer) -> bool:
    """Whether the client resolves a workspace symbol's range later (LSP 3.17
    ``workspace.symbol.resolveSupport``, as VS Code does): then a search's symbols are sent
    without their lines, and the line of the one the user picks is found on resolve."""
    caps = ls.client_capabilities.workspace
    symbol = caps.symbol if caps is not None else None
    support = symbol.resolve_support if symbol is not None else None
    return bool(support is not None and "location.range" in (support.properties or ()))


def _at_line(ls: KbLanguageServer, path: str, line: int | None) -> lsp.Location:
    """The start of line ``line`` (from 1; None: the first) of a note."""
    row = max((line or 1) - 1, 0)
    return lsp.Location(ls.uri_of(path), lsp.Range(lsp.Position(row, 0), lsp.Position(row, 0)))


def _can_move_files(ls: KbLanguageServer) -> bool:
    """Whether the client applies an edit that renames a file (``documentChanges`` with
    the ``rename`` resource operation)."""
    caps = ls.client_capabilities.workspace
    edit = caps.workspace_edit if caps is not None else None
    return bool(edit is not None and edit.document_changes
                and lsp.ResourceOperationKind.Rename in (edit.resource_operations or ()))


def _rename_on_disk(ls: KbLanguageServer, plan: Any) -> lsp.WorkspaceEdit:
    """For a client that cannot move files: do what ``kb rename`` does (the plan applied
    atomically under kb's rename journal), then tell the user; the editor gets no edit."""
    from ..links import apply_rename

    assert ls.session is not None
    for change in plan.changes:
        buf = ls.session.buffers.get(change.old_path)
        edits = change.text_edits()
        if buf is not None and edits is not None and buf.text != edits[0]:
            raise KbError(f"{change.old_path} has unsaved changes; save it, then rename again")
    warnings = plan.warnings + apply_rename(ls.session.root, plan)
    ls.session.refresh()
    ls.publish_all()
    files = len(plan.linking_files)
    said = (f"renamed {plan.old_slug} -> {plan.new_slug} on disk, {plan.links} link(s) rewritten in "
            f"{files} other note(s); reopen the files you have open")
    ls.tell(said + "".join(f"; {path}: {msg}" for path, msg in warnings), lsp.MessageType.Info)
    return lsp.WorkspaceEdit(changes={})


def _rename_edit(ls: KbLanguageServer, plan: Any, move: bool) -> lsp.WorkspaceEdit:
    """A rename plan (:func:`kb.links.plan_rename`, as ``kb rename`` makes it) as an edit for the
    editor: the link rewrites of every file, then (``move``) the note's move.

    The plan is made from the files on disk: a note open with unsaved changes it would
    rewrite is refused (its offsets would be wrong), with a message to save it first."""
    assert ls.session is not None
    changes: list[Any] = []
    for change in plan.changes:
        if not change.edits:
            continue
        buf = ls.session.buffers.get(change.old_path)
        edits = change.text_edits()
        if edits is None:
            continue
        text, spans = edits
        if buf is not None and buf.text != text:
            raise KbError(f"{change.old_path} has unsaved changes; save it, then rename again")
        lines = ls.lines(text)
        changes.append(lsp.TextDocumentEdit(
            lsp.OptionalVersionedTextDocumentIdentifier(ls.uri_of(change.old_path),
                                                        version=buf.version if buf is not None else None),
            [lsp.TextEdit(ls.range_of(lines, s, e), new) for s, e, new in spans]))
    if move:
        changes.append(lsp.RenameFile(
            old_uri=ls.uri_of(plan.old_path), new_uri=ls.uri_of(plan.new_path),
            options=lsp.RenameFileOptions(overwrite=False, ignore_if_exists=False)))
    return lsp.WorkspaceEdit(document_changes=changes)


class _OneLine(logging.Formatter):
    """A log record as one line: what went wrong, no traceback (``KB_DEBUG=1`` keeps them)."""

    def format(self, record: logging.LogRecord) -> str:
        exc = record.exc_info[1] if record.exc_info else None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        line = super().format(record)
        if exc is not None:
            line += f": {type(exc).__name__}: {exc}"
        return " ".join(line.split())


def _not_interrupted(record: logging.LogRecord) -> bool:
    """Whether a log record is worth the editor's log: not pygls's word that a completion
    was answered ContentModified (:meth:`KbLanguageServer.stop_when_outdated`), which is
    no error."""
    from pygls.exceptions import JsonRpcContentModified

    return not (record.exc_info and isinstance(record.exc_info[1], JsonRpcContentModified))


def _quiet_logs() -> None:
    """pygls's and kb's errors (a message that is not JSON, a handler that failed) go to
    stderr, the editor's log, as one line each."""
    import os
    import sys

    if os.environ.get("KB_DEBUG"):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("kb lsp: %(message)s"))
    handler.addFilter(_not_interrupted)
    for name in ("pygls", "kb.lsp"):
        log = logging.getLogger(name)
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(logging.ERROR)


def _handle(server: KbLanguageServer, batch: list[Any]) -> None:
    """The messages that arrived together (:mod:`kb.lsp.stdio`), in order: the stale requests
    answered with an error at once, the others handed to pygls."""
    from pygls.exceptions import JsonRpcException

    protocol = server.protocol
    skip = stdio.stale(batch)
    for raw in batch:
        if isinstance(raw, dict) and "method" in raw and raw.get("id") in skip:
            code, message = skip[raw["id"]]
            protocol._send_response(raw["id"], error=lsp.ResponseError(code, message))
            continue
        try:
            protocol.handle_message(protocol.structure_message(raw) if isinstance(raw, dict) else raw)
        except Exception as exc:
            stdio.log.error("Unable to handle message", exc_info=exc)
            server.report_server_error(exc, JsonRpcException)
    server.collector.batch()


def serve(directory: str | None = None) -> int:
    """Run the server on stdin/stdout until the client says exit; the exit code (0 after a
    shutdown request, 1 if the client left without one)."""
    import os
    import sys

    _quiet_logs()
    server = make_server(directory)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    # The editor's pipes are pygls's alone. A sub-writer that Whoosh forks (multiprocessing)
    # for a big build closes sys.stdin first: the pipe, whose lock pygls's reader thread
    # holds while it waits for the next message, so the child hung for ever, and with it
    # the build. Nothing else may write to stdout either (it would break the protocol).
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the process's life
    sys.stdout = sys.stderr
    # pygls's start_io, with kb's reader (kb.lsp.stdio) instead of pygls's
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))
    try:
        asyncio.run(stdio.run(stdin, lambda batch: _handle(server, batch),
                              lambda inbox: setattr(server, "inbox", inbox)))
    except BrokenPipeError:
        stdio.log.error("Connection to the client is lost")
    except (KeyboardInterrupt, SystemExit):  # the client's exit notification
        pass
    finally:
        server.shutdown()
    return 0 if server.shut_down else 1
