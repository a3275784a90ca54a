"""The ``kb`` command: hands a read-only command to the resident server, else runs it here.

A kb command is a whole process, and most of its time is Python starting and importing
Typer, Rich and Whoosh, then opening the index. The server (:mod:`kb.server`) keeps all of
that loaded and the notebook's index open; this module is what runs instead: the
interpreter, one socket and a few writes. It imports nothing but builtins (``os``,
``sys``, ``_socket``: not ``socket``, whose ``enum`` import alone costs milliseconds;
``tests/test_server.py`` checks), so it must not import any other kb module on the
served path.

The rule (see the README's "The server"):

1. ``KB_SERVER=0``, shell completion, ``--help``/``--version``, or a command that is not
   read-only (``add``, ``edit``...) runs here, as it always did.
2. Otherwise connect to this installation's server (an abstract Unix socket: no file;
   the peer must be this user, checked with ``SO_PEERCRED``), send the request (argv,
   cwd, environment, umask, which of stdin/stdout/stderr are terminals, the terminal's
   size) and relay the answer: bytes for stdout and stderr, a text to page, the exit code.
3. No server, an old one (its code differs from this one's), or one that cannot take the
   request before it wrote anything: the command runs here (the "fallback"), and a server
   is started in the background for the next command when this one runs on a terminal
   (stdout or stderr) or ``KB_SERVER=1`` asks: never from a script or a pipe alone. Once output began, a lost
   server is one line on stderr and exit 1 (never the output twice).
"""

import os
import sys

from .wire import (
    BUSY_WAIT,
    ERR,
    EXIT,
    FALLBACK,
    OUT,
    PAGE,
    RETRY_AFTER,
    TAKEN,
    WAIT,
    address,
    command_of,
    leave_off_marker,
    off_marker,
    request,
    same_user,
    start_detached,
)


class Lost(Exception):
    """The server went away after output began."""


class Busy(Exception):
    """The server did not take the request in time (a long command runs there): run it
    here; the server is alive, so none is started."""


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _page(text: bytes) -> None:
    """Page as ``print_paged`` would in this process (Rich hands the text to pydoc's pager)."""
    import pydoc

    if not (os.environ.get("MANPAGER") or os.environ.get("PAGER")):
        os.environ.setdefault("LESS", "FRX")
    pydoc.pager(text.decode("utf-8", "surrogateescape"))


def served(argv: list[str]) -> int | None:
    """Run the command on the server: its exit code, or None when it must run here
    (nothing was written). Raises :class:`Lost` when the server went away after output."""
    import _socket

    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        try:
            sock.connect(address())
            if not same_user(sock):
                return None  # anyone may bind an abstract name: only our own server is believed
            sock.sendall(request(argv))
        except OSError:
            return None
        began = False
        sock.settimeout(BUSY_WAIT)  # until the server takes the request (see TAKEN)
        buf = b""
        while True:
            while len(buf) < 5 or len(buf) < 5 + int.from_bytes(buf[1:5], "big"):
                try:
                    chunk = sock.recv(262144)
                except TimeoutError:
                    if sock.gettimeout():
                        raise Busy() from None  # a long command runs there: run this one here
                    chunk = b""
                except OSError:
                    chunk = b""
                if not chunk:
                    if began:
                        raise Lost()
                    return None
                buf += chunk
            kind = buf[0]
            end = 5 + int.from_bytes(buf[1:5], "big")
            payload, buf = buf[5:end], buf[end:]
            if kind == FALLBACK and not began:
                return None
            if kind in (TAKEN, WAIT):
                sock.settimeout(None)
                continue
            began = True
            if kind == OUT:
                _write(1, payload)
            elif kind == ERR:
                _write(2, payload)
            elif kind == PAGE:
                _page(payload)
            elif kind == EXIT:
                return int(payload)
    finally:
        sock.close()


def _spawn() -> None:
    """Start a server in the background (detached, its own session, stdio on /dev/null),
    unless one could not start a little while ago (it left :func:`off_marker`)."""
    marker = off_marker()
    try:
        import time

        if time.time() - os.path.getmtime(marker) < RETRY_AFTER:
            return
    except OSError:
        pass
    # Python starts only once this process has exited: on a busy 2-core machine the server's
    # start-up beside this command's exit (~100 ms at 10x) made the first run ~20% slower.
    if not start_detached(["-m", "kb.server"], after_exit=True):  # no process can start now
        leave_off_marker("cannot start a process")


def _here(start_server: bool, read_only: bool = False) -> None:
    """Run the command in this process (today's path); then start a server if asked.

    ``read_only``: a command the server would answer (:data:`kb.wire.SERVED`) ends as a
    served one does, its output flushed and then :func:`_leave`: no interpreter clean-up,
    whose freeing of every module and object (the open index, its rows, the vocabulary)
    took ~100 ms of CPU after a 10x search had printed its answer (its share of a first run
    and of every ``KB_SERVER=0`` command). Nothing such a command does needs that clean-up:
    the server runs it in a process that never has one. Other commands (they write) exit as
    Python does."""
    from kb.cli import run

    code: object = 0
    try:
        run()
    except SystemExit as exc:
        if not read_only:
            raise
        code = exc.code
    finally:
        if start_server:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            _spawn()
    if read_only:
        _leave(code)


def _leave(code: object) -> None:
    """Exit with ``code`` as ``sys.exit(code)`` would, without the interpreter's clean-up
    (``os._exit`` once stdout and stderr are flushed); where a flush fails (a reader gone,
    a full disk) it is ``sys.exit``, whose clean-up reports it as Python always did."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        sys.exit(code)  # a message: Python prints it
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        sys.exit(status)
    os._exit(status & 0xFF)


def start_server(env: "os._Environ[str]") -> bool:
    """Whether a fallback run starts a server: from a terminal (stdout or stderr is one), or
    when ``KB_SERVER=1`` asks; never from scripts, pipes or CI on their own (a process left
    running for half an hour is not what they asked for)."""
    return env.get("KB_SERVER") == "1" or os.isatty(1) or os.isatty(2)


def main() -> None:
    """The console-script entry point."""
    argv = sys.argv[1:]
    env = os.environ
    read_only = command_of(argv) is not None and "_KB_COMPLETE" not in env
    if env.get("KB_SERVER") == "0" or not read_only:
        _here(False, read_only)
        return
    busy = False
    try:
        code = served(argv)
    except Busy:
        code, busy = None, True
    except Lost:
        os.write(2, b"Error: the kb server went away during this command; run it again\n")
        sys.exit(1)
    except BrokenPipeError:
        # `kb list | head`: the reader went away; as the CLI, not an error worth a line.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        sys.exit(0)
    except KeyboardInterrupt:
        color = os.isatty(2) and not env.get("NO_COLOR")
        os.write(2, b"\x1b[1;31mError:\x1b[0m interrupted\n" if color else b"Error: interrupted\n")
        sys.exit(130)
    except OSError as exc:  # stdout or stderr cannot be written (closed, a full disk...)
        sys.stderr.write(f"Error: cannot write the output: {exc.strerror or exc}\n")
        sys.exit(1)
    if code is None:
        _here(start_server(env) and not busy, read_only=True)
        return
    # Everything went out through os.write (a pager's plain output through sys.stdout): no
    # interpreter clean-up is needed, and skipping it saves a little of every command.
    try:
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":
    main()
