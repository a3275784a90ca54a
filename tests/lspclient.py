"""A small LSP client for the tests and the benchmark: JSON-RPC over a real ``kb lsp``
process's stdin/stdout, as an editor talks to it. Standard library only.

Requests the server sends (``client/registerCapability``, ``window/showDocument``,
``workspace/applyEdit``, ``window/workDoneProgress/create``) are answered as a willing
editor would and kept in :attr:`server_requests`;
notifications (``textDocument/publishDiagnostics``, ``window/showMessage``) are kept in
:attr:`notifications`.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote


def uri(path: Path) -> str:
    return "file://" + quote(str(path))


class LspClient:
    def __init__(self, argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd, env=env)
        self._next = 0
        self._responses: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        #: Every message from the server, in the order it came (responses, requests, notifications).
        self.received: list[dict[str, Any]] = []
        self._stderr: list[bytes] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # ------------------------------------------------------------------ wire

    def _send(self, *messages: dict[str, Any]) -> None:
        """Write messages to the server in one write."""
        data = b""
        for message in messages:
            body = json.dumps({"jsonrpc": "2.0", **message}, ensure_ascii=False).encode("utf-8")
            data += b"Content-Length: %d\r\n\r\n" % len(body) + body
        with self._lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    with self._cond:
                        self._cond.notify_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            assert length is not None
            message = json.loads(out.read(length))
            self.received.append(message)
            if "id" in message and "method" in message:  # a request from the server
                self.server_requests.append(message)
                result = {"window/showDocument": {"success": True},
                          "workspace/applyEdit": {"applied": True}}.get(message["method"])
                self._send({"id": message["id"], "result": result})
            with self._cond:
                if "id" in message and "method" not in message:
                    self._responses[message["id"]] = message
                elif "method" in message and "id" not in message:
                    self.notifications.append(message)
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):  # type: ignore[union-attr]
            self._stderr.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    # ------------------------------------------------------------------ API

    def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        """Send a request and wait for its result (an error response raises)."""
        response = self.response(self.send_request(method, params), timeout, method)
        if "error" in response:
            raise RuntimeError(f"{method}: {response['error']}")
        return response.get("result")

    @property
    def next_id(self) -> int:
        """The id the next request will have."""
        return self._next + 1

    def send_request(self, method: str, params: Any = None) -> int:
        """Send a request without waiting; its id (:meth:`response` waits for the answer)."""
        return self.together([(method, params, True)])[0]

    def together(self, messages: list[tuple[str, Any, bool]]) -> list[int]:
        """Send ``(method, params, is_request)`` messages in one write, as an editor's
        messages arrive when it sends them quicker than the server answers; the ids of the
        requests."""
        out, ids = [], []
        for method, params, is_request in messages:
            if is_request:
                self._next += 1
                ids.append(self._next)
                out.append({"id": self._next, "method": method, "params": params})
            else:
                out.append({"method": method, "params": params})
        self._send(*out)
        return ids

    def response(self, msg_id: int, timeout: float = 60.0, what: str = "") -> dict[str, Any]:
        """The whole response to request ``msg_id`` (``result`` or ``error``), waited for."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and msg_id not in self._responses:
                    raise TimeoutError(f"no answer to {what or msg_id}; stderr: {self.stderr[-2000:]}")
                self._cond.wait(min(left, 0.5))
            return self._responses.pop(msg_id)

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"method": method, "params": params})

    def wait_for(
        self, method: str, match: Any = None, timeout: float = 30.0, after: int = 0
    ) -> dict[str, Any]:
        """The first notification ``method`` (from index ``after`` on) whose params ``match`` accepts."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for n in self.notifications[after:]:
                    if n["method"] == method and (match is None or match(n["params"])):
                        return n["params"]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {method}; stderr: {self.stderr[-2000:]}")
                self._cond.wait(min(left, 0.5))

    def initialize(self, root: Path, capabilities: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.request("initialize", {
            "processId": None,
            "rootUri": uri(root),
            "capabilities": capabilities or {},
        })
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        doc = uri(path)
        body = path.read_text(encoding="utf-8") if text is None else text
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": doc, "languageId": "markdown", "version": version, "text": body}})
        return doc

    def stop(self, timeout: float = 30.0) -> int:
        """shutdown, then exit; the process's exit code."""
        self.request("shutdown")
        self.notify("exit")
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
