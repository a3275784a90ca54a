"""The resident kb server: read-only commands answered by a process that stays loaded.

``python -m kb.server`` (started by :mod:`kb.client` after a command it could not hand
over) listens on an abstract Unix socket named after the user and the kb installation
(:func:`kb.wire.address`) and runs the commands :data:`kb.wire.SERVED` names exactly
as the CLI would, in this process: the same Typer app, with the client's arguments,
environment, working folder and umask, its stdout and stderr relayed as frames and
answering ``isatty()`` as the client's do, and Rich laid out for the client's terminal
(``COLUMNS``/``LINES``). What stays loaded between commands: the modules (Typer, Rich,
Whoosh, kb) and a few open notebooks (:class:`Pool`: the index, its note rows, the link
graph, query plans), so a command costs its own work only.

Freshness is the CLI's: every command runs the freshness check first (the watcher's
answer, or a ``stat`` of every note), so a note changed a moment ago is seen at once.
Only this user's clients are answered (``SO_PEERCRED``); nothing listens on the network.

It runs one command at a time: a thread accepts the others, and one the server has not
taken within :data:`kb.wire.BUSY_WAIT` runs in its own process (:class:`Waiting`). It exits after
``KB_SERVER_IDLE`` seconds without one (default 1800), when its own code changed (the
client's :func:`kb.wire.code_stamp`, and the modification times of kb's modules), or
when ``kb server --stop`` asks.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import wire as client
from .collector import Collector

IDLE_SECONDS = 1800.0
#: Open notebooks kept (the least recently used one is closed first).
POOL_SIZE = 4
#: Seconds without a request before the server works ahead (:meth:`Server.idle_step`): a
#: user's next command rarely comes sooner, a script's (one command after another) always
#: does, so a request seldom waits for a step (each is at most ~50 ms, a lexer compiled).
AHEAD_AFTER = 1.0
#: A client that sends nothing for this long is dropped.
READ_TIMEOUT = 5.0


# --------------------------------------------------------------------------- frames


class _Frames(io.RawIOBase):
    """A raw stream that sends what is written as frames of one kind to the client."""

    def __init__(self, sock: Any, kind: int, tty: bool) -> None:
        super().__init__()
        self.sock = sock
        self.kind = kind
        self.tty = tty

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.tty

    def write(self, data: Any) -> int:
        data = bytes(data)
        if data:
            send(self.sock, self.kind, data)
        return len(data)


class _Text(io.TextIOWrapper):
    """sys.stdout / sys.stderr during a served command."""

    kb_pager: Any = None


class _PageRelay:
    """What Rich's ``console.pager(pager=...)`` hands the text to: a page frame."""

    def __init__(self, out: _Text, sock: Any) -> None:
        self.out = out
        self.sock = sock

    def show(self, content: str) -> None:
        self.out.flush()
        send(self.sock, client.PAGE, content.encode("utf-8", "surrogateescape"))


class _Stdin(io.StringIO):
    """Nothing to read (no served command reads stdin); a terminal if the client's is."""

    def __init__(self, tty: bool) -> None:
        super().__init__("")
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def send(sock: Any, kind: int, payload: bytes) -> None:
    sock.sendall(bytes((kind,)) + len(payload).to_bytes(4, "big") + payload)


def _text(sock: Any, kind: int, tty: bool, encoding: str, errors: str) -> _Text:
    try:
        "".encode(encoding, errors)
    except (LookupError, ValueError):
        encoding, errors = "utf-8", "strict"
    return _Text(io.BufferedWriter(_Frames(sock, kind, tty)), encoding=encoding, errors=errors,
                 line_buffering=tty or kind == client.ERR, newline="\n")


# --------------------------------------------------------------------------- requests


class Request:
    """One command from a client, as :func:`kb.wire.request` framed it."""

    def __init__(self, body: bytes) -> None:
        fields = body.split(b"\0")
        if len(fields) < 15 or fields[0] != b"kb":
            raise ValueError("not a kb request")
        self.protocol = int(fields[1])
        self.stamp = fields[2]
        self.cwd = fields[3]
        self.ttys = tuple(c == ord("1") for c in fields[4][:3])
        if len(self.ttys) != 3:
            raise ValueError("bad terminal flags")
        self.columns, self.lines, self.umask = int(fields[5]), int(fields[6]), int(fields[7])
        self.out_enc, self.out_err, self.err_enc, self.err_err = (f.decode() for f in fields[8:12])
        self.encodings = fields[12]
        self.prog = os.fsdecode(fields[13])
        argc = int(fields[14])
        self.argv = [os.fsdecode(a) for a in fields[15:15 + argc]]
        if len(self.argv) != argc:
            raise ValueError("bad argument count")
        self.env: dict[bytes, bytes] = {}
        for item in fields[15 + argc:]:
            key, eq, value = item.partition(b"=")
            if eq and key:
                self.env[key] = value


def _read_request(conn: Any) -> Request | None:
    conn.settimeout(READ_TIMEOUT)
    data = b""
    try:
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            chunk = conn.recv(262144)
            if not chunk:
                return None
            data += chunk
            if len(data) > 16 << 20:
                return None
    except OSError:
        return None
    conn.settimeout(None)
    try:
        return Request(data[4:4 + int.from_bytes(data[:4], "big")])
    except (ValueError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------- the pool


class Pool:
    """The open notebooks, by (root, index folder), the least recently used closed first."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self.notebooks: OrderedDict[tuple[Path, Path], Any] = OrderedDict()

    def get(self, dir: Any) -> Any:
        """This run's notebook (``--dir``/``KB_DIR``/... resolved now, as the CLI does);
        the pooled one when it was open before, with what :meth:`Notebook.find` found
        on the way in (a rename it finished)."""
        from .core import Notebook

        found = Notebook.find(dir)
        key = (found.place.root, found.place.index_dir)
        nb = self.notebooks.pop(key, None)
        if nb is None:
            nb = found
        else:
            nb.place = found.place  # the same folders; how they were chosen may differ
            nb.finished_rename = found.finished_rename
        self.notebooks[key] = nb
        while len(self.notebooks) > self.size:
            _, old = self.notebooks.popitem(last=False)
            old.close()
        return nb

    def close(self) -> None:
        for nb in self.notebooks.values():
            nb.close()
        self.notebooks.clear()


# --------------------------------------------------------------------------- the server


def _kb_files() -> list[str]:
    here = client.package_dir()
    found = []
    for sub in ("", "commands", "index"):
        folder = os.path.join(here, sub)
        try:
            found += [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".py")]
        except OSError:
            pass
    return found


class Server:
    def __init__(self, idle: float) -> None:
        self.idle = idle
        self.started = time.time()
        self.stamp = client.code_stamp()
        self.pool = Pool()
        self.served = 0
        self.command: Any = None
        self.files = _kb_files()
        self.own_env = dict(os.environb)
        self.encodings = client.encodings()
        self.ahead: Any = None  # render.idle_steps(), done between requests
        self.collector = Collector()

    def idle_step(self) -> bool:
        """One step of the work done ahead while idle (see :func:`kb.render.idle_steps`),
        then the garbage collection left for idle time (:class:`Collector`); False when
        there is none left."""
        try:
            if self.ahead is None:
                from . import render

                self.ahead = render.idle_steps()
            next(self.ahead)
        except Exception:  # done (StopIteration) or failed: never the server's end
            return self.collector.idle()
        return True

    def warm_up(self) -> None:
        """Import what the commands need and build the Click command once."""
        import typer.main

        from . import cli, render  # noqa: F401
        from .commands import common

        self.command = typer.main.get_command(cli.app)
        common.POOL = self.pool.get
        for name in ("kb.core", "kb.search", "kb.scoring", "kb.expand", "kb.vocab", "kb.analysis",
                     "kb.index.sync", "kb.index.probe", "kb.links", "kb.commands.hits", "kb.grep",
                     "kb.grepindex", "whoosh.index", "whoosh.searching", "whoosh.qparser",
                     "rich.console", "rich.markdown", "rich.table", "rich.syntax"):
            try:
                __import__(name)
            except Exception:
                pass

    def code_changed(self) -> bool:
        """Whether a module of kb changed since this server started."""
        for path in self.files:
            try:
                if os.stat(path).st_mtime > self.started:
                    return True
            except OSError:
                return True
        return False

    def status(self) -> str:
        lines = [f"pid {os.getpid()}", f"code {client.package_dir()}",
                 f"up {time.time() - self.started:.0f} s, {self.served} commands"]
        try:
            with open("/proc/self/status", encoding="ascii") as fh:
                rss = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("VmRSS:")), "")
            if rss:
                lines.append(f"memory {rss}")
        except OSError:
            pass
        for root, index_dir in self.notebooks():
            lines.append(f"notebook {root} (index {index_dir})")
        return "\n".join(lines) + "\n"

    def notebooks(self) -> list[tuple[Path, Path]]:
        return list(self.pool.notebooks)

    def handle(self, conn: Any) -> bool:
        """Answer one connection; False means: exit now."""
        req = _read_request(conn)
        if req is None:
            return True
        if req.argv[:1] == ["--kb-server-status"]:
            send(conn, client.OUT, self.status().encode())
            send(conn, client.EXIT, b"0")
            return True
        if req.argv[:1] == ["--kb-server-stop"]:
            send(conn, client.EXIT, b"0")
            return False
        if req.protocol != client.PROTOCOL or req.stamp != self.stamp or self.code_changed():
            send(conn, client.FALLBACK, b"")  # the client runs it itself, with its own code
            return False
        if client.command_of(req.argv) is None or req.encodings != self.encodings:
            send(conn, client.FALLBACK, b"")
            return True
        if _hung_up(conn):
            return True  # it waited too long and ran the command itself: not twice
        send(conn, client.TAKEN, b"")
        self.served += 1
        return self.run(conn, req)

    def run(self, conn: Any, req: Request) -> bool:
        saved = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
        try:
            os.chdir(req.cwd)
        except OSError:
            send(conn, client.FALLBACK, b"")  # the CLI's own error is the right answer
            return True
        os.environb.clear()
        os.environb.update(req.env)
        if req.columns and "COLUMNS" not in os.environ:
            os.environ["COLUMNS"] = str(req.columns)
        if req.lines and "LINES" not in os.environ:
            os.environ["LINES"] = str(req.lines)
        time.tzset()  # the client's TZ for the times kb prints (tests/test_server.py: recent)
        umask = os.umask(req.umask)
        out = _text(conn, client.OUT, req.ttys[1], req.out_enc, req.out_err)
        err = _text(conn, client.ERR, req.ttys[2], req.err_enc, req.err_err)
        out.kb_pager = _PageRelay(out, conn)
        sys.stdin, sys.stdout, sys.stderr = _Stdin(req.ttys[0]), out, err
        sys.argv = [req.prog, *req.argv]
        code = 1
        try:
            code = self.invoke(req)
            for stream in (out, err):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            send(conn, client.EXIT, b"%d" % code)
        except OSError:
            pass  # the client went away
        finally:
            sys.stdin, sys.stdout, sys.stderr, sys.argv = saved
            os.umask(umask)
            os.environb.clear()
            os.environb.update(self.own_env)
            time.tzset()
            os.chdir("/")
            for stream in (out, err):
                try:
                    stream.close()
                except (OSError, ValueError):
                    pass
        return True

    def invoke(self, req: Request) -> int:
        """Run the command as ``kb.cli.run()`` would; its exit code."""
        try:
            self.command.main(args=list(req.argv), prog_name=req.prog, standalone_mode=True)
        except SystemExit as exc:
            if exc.code is None:
                return 0
            if isinstance(exc.code, int):
                return exc.code
            print(exc.code, file=sys.stderr)
            return 1
        except (KeyboardInterrupt, Exception):
            import traceback

            traceback.print_exc()
            return 1
        return 0


def serve(idle: float | None = None) -> int:
    """Run a server until idle, stopped, or its code changed."""
    import _socket

    os.chdir("/")
    if idle is None:
        try:
            idle = float(os.environ.get("KB_SERVER_IDLE", IDLE_SECONDS))
        except ValueError:
            idle = IDLE_SECONDS
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError as exc:  # no Unix sockets here (a sandbox's seccomp filter...)
        client.leave_off_marker(f"cannot make a Unix socket: {exc.strerror}")
        return 1
    try:
        sock.bind(client.address())  # first, before the imports: a second server stops here
    except OSError as exc:
        if not _ours_listening():
            client.leave_off_marker(f"cannot bind the server's socket name: {exc.strerror}")
        sock.close()
        return 1
    # Listening before the imports: a command that comes meanwhile waits for them in the
    # queue (less than running itself, which would import all of it too, beside them).
    sock.listen(64)
    queue = Waiting(sock)
    threading.Thread(target=queue.accept, daemon=True).start()
    server = Server(idle)
    server.warm_up()
    server.collector.start()
    queue.started()
    try:
        while (conn := queue.next(server.idle, server.idle_step)) is not None:
            try:
                if not server.handle(conn):
                    break
            except OSError:
                pass
            finally:
                conn.close()
                server.collector.answered()
    finally:
        sock.close()
        server.pool.close()
    return 0


class Waiting:
    """The connections accepted, oldest first, until the server takes them (a thread
    accepts them, so that a client learns at once that a starting server will answer:
    WAIT). A client that is not taken within :data:`kb.wire.BUSY_WAIT` (the server is
    busy with a long command: a first build of a big notebook, a slow grep) runs the
    command itself and hangs up; the server then skips its request."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.cond = threading.Condition()
        self.conns: deque[Any] = deque()
        self.starting = True

    def accept(self) -> None:
        import _socket

        while True:
            try:
                fd, _ = self.sock._accept()
                conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM, 0, fd)
                if not client.same_user(conn):
                    conn.close()  # only this user's kb is answered
                    continue
                with self.cond:
                    if self.starting:
                        send(conn, client.WAIT, b"")
                    self.conns.append(conn)
                    self.cond.notify()
            except (OSError, ValueError):
                if self.sock.fileno() < 0:
                    return  # the server closed its socket

    def started(self) -> None:
        with self.cond:
            self.starting = False

    def next(self, idle: float, step: Callable[[], bool] | None = None) -> Any:
        """The next connection; None after ``idle`` seconds without one. Meanwhile, once
        none has come for :data:`AHEAD_AFTER` seconds, ``step()`` is called again and again
        (outside the lock, a connection waiting checked before each) until it returns False:
        a request that comes during a step waits for that step only."""
        end = time.monotonic() + idle
        quiet = time.monotonic() + AHEAD_AFTER
        while True:
            with self.cond:
                if self.conns:
                    return self.conns.popleft()
                now = time.monotonic()
                if now >= end:
                    return None
                if step is None or now < quiet:
                    self.cond.wait(min(end, quiet) - now if step is not None else end - now)
                    continue
            if not step():
                step = None


def _hung_up(conn: Any) -> bool:
    """Whether the client closed its end (its whole request read already)."""
    import _socket

    try:
        return conn.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _ours_listening() -> bool:
    """Whether the socket name is held by this user's process (another server: fine)."""
    import _socket

    probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(client.address())
        return client.same_user(probe)
    except OSError:
        return True  # bound but not listening yet: a server of ours warming up (or gone)
    finally:
        probe.close()


if __name__ == "__main__":
    # No interpreter clean-up (freeing every object of a warm process: tens of ms of CPU,
    # beside the command that asked it to stop or found its code changed).
    os._exit(serve())
