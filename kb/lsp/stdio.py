"""The language server's stdin: each message read whole in one thread, handed to the event
loop in one go, and requests that are stale by the time they are run answered at once.

pygls's own stdio loop reads every header line and every body through its thread pool,
three hand-overs between threads a message; on a busy machine each costs a wait for a
CPU, and the messages an editor sends while a request is being worked on (the next
keystroke's ``didChange`` and completion, a ``$/cancelRequest``) are only read after it.
Here a thread reads messages as they come (parsing their JSON too) and the loop takes
all that have arrived at once, so before it runs a request it knows:

- the client cancelled it (``$/cancelRequest`` in the same batch): answered with the
  ``RequestCancelled`` error, not run;
- it is a completion and the document changed after it was asked (a ``didChange`` of
  the same document behind it): answered with ``ContentModified`` (the LSP answer for a
  result the document's change made worthless; editors drop it quietly and ask again).

Everything else goes to pygls (:meth:`pygls.protocol.JsonRPCProtocol.handle_message`) in
the order it came. Nothing here imports pygls: ``server.py`` passes the protocol in.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, BinaryIO

#: JSON-RPC / LSP error codes.
REQUEST_CANCELLED = -32800
CONTENT_MODIFIED = -32801
COMPLETION = "textDocument/completion"
CANCEL = "$/cancelRequest"
DID_CHANGE = "textDocument/didChange"

log = logging.getLogger("kb.lsp")


def read_messages(fd: int, put: Callable[[list[Any]], None]) -> None:
    """Read LSP messages (``Content-Length`` headers, then the body) from the file
    descriptor ``fd`` until its end; ``put`` the parsed ones that came in one read
    together (a body that is not JSON is logged and skipped).

    ``os.read`` with a buffer of its own, not ``sys.stdin``'s: a thread blocked in a read
    of that one holds its lock, and Python aborts when it closes it at exit."""
    buf = bytearray()
    at = 0  # where the next message starts in buf
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        del buf[:at]
        buf += chunk
        at = 0
        batch = []
        while (end := buf.find(b"\r\n\r\n", at)) >= 0:
            length = _content_length(bytes(buf[at:end]))
            if length is not None and len(buf) - end - 4 < length:
                break  # the body is not all here yet
            at = end + 4
            if length is None:
                continue
            body = bytes(buf[at : at + length])
            at += length
            try:
                batch.append(json.loads(body))
            except ValueError as exc:
                log.error("Unable to handle message", exc_info=exc)
        if batch:
            put(batch)


def _content_length(headers: bytes) -> int | None:
    for line in headers.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
            return length if length >= 0 else None
    return None


def _uri(message: dict[str, Any]) -> Any:
    params = message.get("params")
    doc = params.get("textDocument") if isinstance(params, dict) else None
    return doc.get("uri") if isinstance(doc, dict) else None


def stale(batch: list[Any]) -> dict[Any, tuple[int, str]]:
    """The requests of ``batch`` (messages in the order they came) not worth running, by
    id: the error code and message to answer each with."""
    out: dict[Any, tuple[int, str]] = {}
    changed_after: set[Any] = set()  # documents changed by a later message of the batch
    cancelled: set[Any] = set()
    for message in reversed(batch):
        if not isinstance(message, dict):
            continue
        method = message.get("method")
        if method == CANCEL:
            params = message.get("params")
            if isinstance(params, dict) and params.get("id") is not None:
                cancelled.add(params["id"])
            continue
        if method == DID_CHANGE:
            changed_after.add(_uri(message))
            continue
        msg_id = message.get("id")
        if msg_id is None or method is None or isinstance(msg_id, (dict, list)):
            continue
        if msg_id in cancelled:
            out[msg_id] = (REQUEST_CANCELLED, f"request {msg_id} was cancelled")
        elif method == COMPLETION and _uri(message) in changed_after:
            out[msg_id] = (CONTENT_MODIFIED, "the document changed after this completion was asked")
    return out


class Inbox:
    """Messages read by the reader thread, waiting for the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handle: Callable[[list[Any]], None]) -> None:
        self.loop, self.handle = loop, handle
        self.pending: deque[Any] = deque()
        self.lock = threading.Lock()
        self.closed = loop.create_future()

    def put(self, messages: list[Any]) -> None:
        """In the reader thread: queue messages; wake the loop if none were waiting."""
        with self.lock:
            first = not self.pending
            self.pending.extend(messages)
        if first:
            self.loop.call_soon_threadsafe(self.drain)

    def outdated(self, uri: Any, msg_id: Any) -> bool:
        """Whether a message read but not handled yet makes the request ``msg_id`` (about the
        document ``uri``) worthless: a change of that document or the request's cancel. A
        completion being worked on asks this between its steps (it runs in the loop, so
        the messages behind it wait here)."""
        with self.lock:
            for message in self.pending:
                if not isinstance(message, dict):
                    continue
                method = message.get("method")
                if method == DID_CHANGE and _uri(message) == uri:
                    return True
                if method == CANCEL:
                    params = message.get("params")
                    if isinstance(params, dict) and params.get("id") == msg_id:
                        return True
        return False

    def drain(self) -> None:
        """In the loop: take every message that arrived and handle them as one batch."""
        with self.lock:
            batch = list(self.pending)
            self.pending.clear()
        if batch:
            self.handle(batch)

    def end(self) -> None:
        """In the reader thread: stdin is at its end."""
        self.loop.call_soon_threadsafe(self._close)

    def _close(self) -> None:
        self.drain()
        if not self.closed.done():
            self.closed.set_result(None)


async def run(stdin: BinaryIO, handle: Callable[[list[Any]], None],
              opened: Callable[[Inbox], None] | None = None) -> None:
    """Read ``stdin`` in a thread and ``handle`` the messages in batches in this loop until
    stdin ends (an ``exit`` notification ends the process before that); ``opened`` is
    given the :class:`Inbox` first."""
    inbox = Inbox(asyncio.get_running_loop(), handle)
    if opened is not None:
        opened(inbox)
    fd = stdin.fileno()

    def reader() -> None:
        try:
            read_messages(fd, inbox.put)
        except (OSError, ValueError) as exc:  # stdin closed under us
            log.error("Unable to read from the client", exc_info=exc)
        finally:
            inbox.end()

    threading.Thread(target=reader, name="kb-lsp-stdin", daemon=True).start()
    await inbox.closed
