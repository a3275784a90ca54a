"""What the kb client and the resident server share: the socket's name, the request, the frames;
and with the watcher (:mod:`kb.watch`): the peer check and how a background process starts.

A leaf (``os`` and ``sys`` only): :mod:`kb.client` imports it on every served command,
and :mod:`kb.commands.server` asks the server through it without importing the server.
"""

import os
import sys

#: Bumped whenever the request or the frames change: an old server then answers "fallback".
PROTOCOL = 2

#: Commands that only read: the server may run them. Anything else (``add``, ``edit``, ``rm``,
#: ``rename``, ``mv``, ``today``, ``index``, ``templates``, ``find``, ``lsp``...) runs here.
SERVED = frozenset({"search", "show", "related", "tags", "list", "links", "recent", "stats", "info", "grep"})

#: How long after a server failed to start (see :func:`_spawn`) kb does not start another.
RETRY_AFTER = 600.0

# Frames from the server: one type byte, a 4-byte big-endian length, the payload.
OUT, ERR, PAGE, EXIT, FALLBACK = b"o"[0], b"e"[0], b"p"[0], b"x"[0], b"f"[0]
# TAKEN: the server runs this request now; WAIT: it is starting, and will (no output yet).
TAKEN, WAIT = b"t"[0], b"w"[0]

#: How long a client waits for the server to take its request (TAKEN or WAIT) before it runs
#: the command itself: the server is busy with a long one (a first build, a slow grep).
BUSY_WAIT = 0.3


def package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def _fnv(data: bytes) -> int:
    """FNV-1a, 32 bits (no zlib import for one short string)."""
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def address() -> bytes:
    """The server's abstract socket name: one per user, interpreter and kb installation,
    so two virtualenvs or worktrees never share a server (``KB_SERVER_NAME`` overrides the
    last part, for tests)."""
    name = os.environ.get("KB_SERVER_NAME")
    if name:
        tail = os.fsencode(name)
    else:
        key = os.fsencode(sys.executable) + b"\0" + os.fsencode(package_dir())
        tail = b"%08x" % _fnv(key)
    return b"\0kb-server-%d-%d-%s" % (PROTOCOL, os.getuid(), tail)


def code_stamp() -> bytes:
    """When kb's code last changed: the newest modification time of its package folders
    (a file added, removed or replaced, as an install, a ``git checkout`` or an editor's
    save does); the server also compares its own modules' times."""
    here = package_dir()
    newest = 0
    for sub in ("", "commands", "index", "find", "lsp"):
        try:
            newest = max(newest, os.stat(here + "/" + sub if sub else here).st_mtime_ns)
        except OSError:
            pass
    return b"%d" % newest


def command_of(argv: list[str]) -> str | None:
    """The command word of ``kb [--dir D] COMMAND ...``, None when the run is not one the
    server takes (a global option other than ``--dir``, ``--help``...)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("--dir", "-d"):
            i += 2
            continue
        if arg.startswith("--dir=") or (arg.startswith("-d") and len(arg) > 2):
            i += 1
            continue
        if arg.startswith("-"):
            return None
        rest = argv[i + 1:]
        if "--" in rest:
            rest = rest[: rest.index("--")]
        if "--help" in rest or "-h" in rest:
            return None
        return arg if arg in SERVED else None
    return None


def _terminal_size() -> tuple[int, int]:
    # Rich asks stdin, stdout, stderr in this order; so does the request.
    for fd in (0, 1, 2):
        try:
            size = os.get_terminal_size(fd)
        except (OSError, ValueError):
            continue
        return size.columns, size.lines
    return 0, 0


def _stream(stream: object) -> tuple[bytes, bytes]:
    return (os.fsencode(getattr(stream, "encoding", None) or "utf-8"),
            os.fsencode(getattr(stream, "errors", None) or "strict"))


def encodings() -> bytes:
    """How this Python reads and writes text by default, as its locale (``LC_ALL``, ``LANG``...)
    and ``PYTHONUTF8`` set them at start-up: file names, arguments and the environment
    (``sys.getfilesystemencoding``), and ``open()`` without an encoding. A server whose
    own differ cannot change its to the client's (fixed when Python starts): it lets the
    client run the command itself."""
    import _locale

    text = "utf-8" if sys.flags.utf8_mode else _locale.getencoding()
    return os.fsencode(f"{sys.getfilesystemencoding()}/{sys.getfilesystemencodeerrors()}/{text}")


def request(argv: list[str]) -> bytes:
    """The request: NUL-separated fields (none of them can hold a NUL), length first."""
    columns, lines = _terminal_size()
    umask = os.umask(0)
    os.umask(umask)
    flags = b"".join(b"1" if os.isatty(fd) else b"0" for fd in (0, 1, 2))
    out_enc, out_err = _stream(sys.stdout)
    err_enc, err_err = _stream(sys.stderr)
    fields = [
        b"kb", b"%d" % PROTOCOL, code_stamp(), os.fsencode(os.getcwd()), flags,
        b"%d" % columns, b"%d" % lines, b"%d" % umask, out_enc, out_err, err_enc, err_err,
        encodings(),
        os.fsencode(os.path.basename(sys.argv[0]) or "kb"), b"%d" % len(argv),
        *[os.fsencode(a) for a in argv],
        *[k + b"=" + v for k, v in os.environb.items()],
    ]
    body = b"\0".join(fields)
    return len(body).to_bytes(4, "big") + body


def off_marker() -> str:
    """The file a server that could not start leaves (its reason inside), per installation."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):
        cache = os.path.join(os.path.expanduser("~"), ".cache")
    name = address()[1:].decode("utf-8", "replace").replace("/", "_")
    return os.path.join(cache, "kb", f"server-{name}.off")


def leave_off_marker(why: str) -> None:
    """Leave :func:`off_marker` (the reason inside): no kb starts a server for
    :data:`RETRY_AFTER` seconds. Quietly nothing where it cannot be written."""
    marker = off_marker()
    try:
        os.makedirs(os.path.dirname(marker), mode=0o700, exist_ok=True)
        tmp = f"{marker}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(why + "\n")
        os.replace(tmp, marker)
    except OSError:
        pass


def same_user(sock: "object") -> bool:
    """Whether the process at the other end of a Unix socket is this user's (``SO_PEERCRED``:
    pid, uid, gid). Anyone may bind or connect to an abstract name: both ends check."""
    import _socket

    creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)  # type: ignore[attr-defined]
    return int.from_bytes(creds[4:8], sys.byteorder) == os.getuid()


def start_detached(args: list[str], env: "dict[str, str] | None" = None, *, after_exit: bool = False) -> bool:
    """Start ``python ARGS`` (this interpreter) in the background: its own session, stdio on
    /dev/null, in ``/``, importing kb from the same place as this kb, installed or not
    (``env``: more variables). False if it could not be started.

    ``after_exit``: Python starts only once this process has exited. A small ``/bin/sh``
    waits, asleep, on a pipe whose write end only this process holds (the kernel closes it
    at the exit), then becomes Python: a server started by a command's last step costs that
    command nothing, not even the interpreter's start-up beside its exit."""
    import subprocess  # lazily: only to start a server or a watcher (~5 ms)

    full = {**os.environ, **(env or {})}
    here = os.path.dirname(package_dir())
    full["PYTHONPATH"] = here + (os.pathsep + full["PYTHONPATH"] if full.get("PYTHONPATH") else "")
    argv = [sys.executable, *args]
    gate: tuple[int, int] | None = None
    if after_exit:
        try:
            gate = os.pipe()  # both close-on-exec: no other child inherits the write end
        except OSError:
            pass
        else:
            argv = ["/bin/sh", "-c", 'read _; exec "$0" "$@" </dev/null', *argv]
    try:
        subprocess.Popen(argv, stdin=gate[0] if gate else subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True, cwd="/", env=full)
    except OSError as exc:
        if gate is None:
            return False
        os.close(gate[0])
        os.close(gate[1])
        # No /bin/sh: Python at once. No process at all (fork failed): no second try.
        return isinstance(exc, (FileNotFoundError, PermissionError)) and start_detached(args, env)
    if gate is not None:
        os.close(gate[0])
        _HELD.append(gate[1])  # open until this process exits
    return True


#: Write ends of :func:`start_detached`'s gates (kept open until the exit).
_HELD: list[int] = []


def ask(command: str) -> bytes | None:
    """A control question to the running server (``--kb-server-status``, ``--kb-server-stop``):
    what it wrote to stdout, or None when none runs (or it is not this user's)."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    data = b""
    try:
        sock.settimeout(5.0)
        sock.connect(address())
        if not same_user(sock):
            return None
        sock.sendall(request([command]))
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        return None
    finally:
        sock.close()
    out = b""
    while len(data) >= 5:
        end = 5 + int.from_bytes(data[1:5], "big")
        if data[0] == OUT:
            out += data[5:end]
        data = data[end:]
    return out
