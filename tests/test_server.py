"""The resident server (kb.server) and the thin client (kb.client): the same answers as the
in-process path, byte for byte, on every path.

Each test that needs a server starts one under its own socket name (``KB_SERVER_NAME``)
and stops it (and any a fallback started) at the end. A served run is checked to have been
served (the server's count of commands went up), or a comparison would prove nothing.
What cannot be tested here: a server of another user (SO_PEERCRED with another uid needs
a second account).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from kb import wire as client
from kb.wire import ask

KB = Path(sys.executable).with_name("kb")
pytestmark = pytest.mark.skipif(not KB.exists(), reason="the kb console script is not installed")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


class Served:
    """A server under a name of the test's own; ``run`` through it, ``here`` without."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self, **extra: str) -> dict[str, str]:
        # KB_SERVER=1: a fallback starts a server from a pipe too (tests run without a terminal)
        return _env(**{"KB_SERVER": "1", "KB_SERVER_NAME": self.name, "KB_SERVER_IDLE": "300", **extra})

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kb.server"], env=self.env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_up()

    def wait_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() is None:
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.05)

    def count(self) -> int | None:
        """Commands the running server has served (None: none runs)."""
        answer = ask("--kb-server-status")
        if answer is None:
            return None
        found = re.search(rb"(\d+) commands", answer)
        assert found, answer
        return int(found.group(1))

    def stop(self) -> None:
        for _ in range(20):
            if ask("--kb-server-stop") is None:
                break
            time.sleep(0.05)
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def run(self, *args: str, served: bool = True, **kw) -> subprocess.CompletedProcess[bytes]:
        env = kw.pop("env", None) or self.env()
        before = self.count()
        done = subprocess.run([str(KB), *args], capture_output=True, env=env, timeout=120, **kw)
        if served:
            assert before is not None and self.count() == before + 1, ("not served", args, done.stderr)
        return done

    def here(self, *args: str, **kw) -> subprocess.CompletedProcess[bytes]:
        env = kw.pop("env", None) or self.env()
        env["KB_SERVER"] = "0"
        return subprocess.run([str(KB), *args], capture_output=True, env=env, timeout=120, **kw)


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notebook_dir: Path):
    name = f"test-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setenv("KB_SERVER_NAME", name)  # for server.ask in this process
    s = Served(name)
    s.here("list")  # the index is built (and its warnings said) before any comparison
    s.start()
    yield s
    s.stop()


def same(a: subprocess.CompletedProcess[bytes], b: subprocess.CompletedProcess[bytes]) -> None:
    assert (a.returncode, a.stdout.decode(errors="replace"), a.stderr.decode(errors="replace")) == (
        b.returncode, b.stdout.decode(errors="replace"), b.stderr.decode(errors="replace"))


PIPED = [
    ("search", "rag"),
    ("search", "rag", "--json"),
    ("search", "서비스어카운트", "--limit", "2"),
    ("search", "zzzqqqnothing"),
    ("search", "rag", "--json", "--explain"),
    ("search", ""),
    ("search", "--bogus", "rag"),
    ("search", "-n", "x", "rag"),
    ("show", "rag"),
    ("show", "rag", "--json"),
    ("show", "rag", "--raw"),
    ("show", "no-such-note"),
    ("tags",),
    ("tags", "cka"),
    ("tags", "--json"),
    ("list", "--limit", "20"),
    ("list", "--json"),
    ("list", "--sort", "size"),
    ("links", "rag"),
    ("links", "rag", "--json"),
    ("related", "rag"),
    ("recent", "-n", "3"),
    ("stats",),
    ("stats", "--json"),
    ("grep", "kubectl"),
    ("grep", "-c", "pod"),
    ("grep", "-i", "--json", "airflow"),
    ("grep", "(unclosed"),
]


@pytest.mark.parametrize("args", PIPED, ids=lambda a: " ".join(a) or "-")
def test_piped_output_is_the_same_served(srv: Served, args: tuple[str, ...]) -> None:
    same(srv.run(*args), srv.here(*args))


def test_show_n_after_a_served_search(srv: Served) -> None:
    first = srv.run("search", "pod")
    assert first.returncode == 0
    same(srv.run("show", "1"), srv.here("show", "1"))
    same(srv.run("links", "1"), srv.here("links", "1"))


def test_colours_and_width_follow_the_client(srv: Served) -> None:
    variants = ({"COLUMNS": "60"}, {"COLUMNS": "150", "FORCE_COLOR": "1"},
                {"NO_COLOR": "1", "FORCE_COLOR": "1"})
    for extra in variants:
        env = srv.env(**extra)
        for args in (("search", "rag"), ("list",), ("show", "rag", "--no-pager")):
            a = srv.run(*args, env=dict(env))
            same(a, srv.here(*args, env=dict(env)))
    forced = srv.run("search", "rag", env=srv.env(FORCE_COLOR="1"))
    assert b"\x1b[" in forced.stdout  # the comparison above did compare colours


def _pty_run(argv: list[str], env: dict[str, str], cols: int = 90, rows: int = 20
             ) -> tuple[int, bytes, bytes]:
    """Run on two pseudo terminals (stdin and stdout on one, stderr on the other)."""
    size = struct.pack("HHHH", rows, cols, 0, 0)
    out_m, out_s = os.openpty()
    err_m, err_s = os.openpty()
    for fd in (out_s, err_s):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
    got: dict[int, bytes] = {out_m: b"", err_m: b""}

    def drain(fd: int) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            got[fd] += chunk

    readers = [threading.Thread(target=drain, args=(fd,)) for fd in (out_m, err_m)]
    for t in readers:
        t.start()
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(argv, stdin=out_s, stdout=out_s, stderr=err_s, env=env, start_new_session=True)
    os.close(out_s)
    os.close(err_s)
    code = proc.wait(120)
    for t in readers:
        t.join(10)
    os.close(out_m)
    os.close(err_m)
    return code, got[out_m], got[err_m]


def test_on_a_terminal_the_same_served(srv: Served) -> None:
    cases = [("search", "rag"), ("list", "--limit", "5"), ("tags",), ("show", "airflow"), ("grep", "kubectl"),
             ("show", "no-such-note"), ("related", "rag")]
    env = srv.env(PAGER="cat", TERM="xterm-256color")
    for args in cases:
        before = srv.count()
        served = _pty_run([str(KB), *args], dict(env))
        assert srv.count() == before + 1, args
        env_here = dict(env, KB_SERVER="0")
        here = _pty_run([str(KB), *args], env_here)
        assert served == here, args
        assert served[1] or served[2]
    # a long note is paged (PAGER=cat shows the pager ran: the same bytes both ways)
    code, out, _ = _pty_run([str(KB), "show", "airflow"], dict(env), rows=5)
    assert code == 0 and b"airflow" in out.lower()


def test_a_long_page_goes_through_the_clients_pager(srv: Served, tmp_path: Path) -> None:
    mark = tmp_path / "paged"
    pager = f"sh -c 'cat > {mark}'"
    env = srv.env(PAGER=pager, TERM="xterm-256color")
    before = srv.count()
    code, out, err = _pty_run([str(KB), "show", "airflow"], dict(env), rows=5)
    assert srv.count() == before + 1
    assert code == 0, err
    served = mark.read_bytes()
    mark.unlink()
    code, out_here, _ = _pty_run([str(KB), "show", "airflow"], dict(env, KB_SERVER="0"), rows=5)
    assert code == 0 and out == out_here
    assert served and served == mark.read_bytes()


def test_a_change_on_disk_is_seen_at_once(srv: Served, notebook_dir: Path) -> None:
    assert srv.run("search", "zebrafinch").returncode == 1
    note = notebook_dir / "rag.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nzebrafinch 메모\n", encoding="utf-8")
    found = srv.run("search", "zebrafinch", "--json")
    assert found.returncode == 0 and b'"slug": "rag"' in found.stdout
    note.unlink()
    gone = srv.run("search", "zebrafinch")
    assert gone.returncode == 1
    same(srv.run("show", "rag"), srv.here("show", "rag"))
    same(srv.run("list"), srv.here("list"))


def test_a_shown_note_kept_by_the_server_is_never_stale(srv: Served, notebook_dir: Path) -> None:
    """kb show's rendered note is kept by the server for the next request: the same
    bytes, and none of it old after the note, another note (backlinks, related) or the
    terminal changed."""
    for _ in range(2):  # the second is the kept one
        same(srv.run("show", "rag"), srv.here("show", "rag"))
    for columns in ("50", "120"):
        env = srv.env(COLUMNS=columns)
        same(srv.run("show", "rag", env=dict(env)), srv.here("show", "rag", env=dict(env)))
    note = notebook_dir / "rag.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nzebrafinch 메모\n", encoding="utf-8")
    shown = srv.run("show", "rag")
    assert b"zebrafinch" in shown.stdout
    same(shown, srv.here("show", "rag"))
    (notebook_dir / "linker.md").write_text("# Linker\n\nSee [[rag]] for retrieval.\n", encoding="utf-8")
    shown = srv.run("show", "rag")
    assert b"linker" in shown.stdout
    same(shown, srv.here("show", "rag"))


def test_dir_and_kb_dir_relative_to_the_clients_cwd(srv: Served, notebook_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(notebook_dir, other)
    (other / "only-here.md").write_text("# only here\n\nplatypus\n", encoding="utf-8")
    env = srv.env(KB_DIR="other")
    del env["KB_INDEX_DIR"]  # each notebook its own (under XDG_CACHE_HOME)
    srv.here("list", env=dict(env), cwd=tmp_path)
    srv.here("-d", "notebook", "list", env=dict(env), cwd=tmp_path)
    for args in (("search", "platypus"), ("--dir", "other", "list"), ("-d", "notebook", "search", "platypus"),
                 ("--dir=other", "tags"), ("info",)):
        a = srv.run(*args, env=dict(env), cwd=tmp_path)
        same(a, srv.here(*args, env=dict(env), cwd=tmp_path))
    assert srv.run("search", "platypus", env=dict(env), cwd=tmp_path).returncode == 0
    assert srv.run("search", "platypus").returncode == 1  # the fixture's own notebook


def test_two_notebooks_alternating(srv: Served, notebook_dir: Path, tmp_path: Path) -> None:
    second = tmp_path / "second"
    second.mkdir()
    (second / "solo.md").write_text("---\ntags: [alone]\n---\n# 혼자\n\nwombat 이야기\n", encoding="utf-8")
    env2 = srv.env(KB_DIR=str(second), KB_INDEX_DIR=str(tmp_path / "second-index"))
    srv.here("list", env=dict(env2))
    for _ in range(2):
        for env in (srv.env(), env2):
            for args in (("search", "wombat"), ("tags",), ("list",)):
                same(srv.run(*args, env=dict(env)), srv.here(*args, env=dict(env)))


def test_not_served_commands_run_in_the_client(srv: Served) -> None:
    before = srv.count()
    for args in (("--help",), ("search", "--help"), ("--version",), ("templates",), ("index",),
                 ("--dir",)):
        srv.run(*args, served=False)
    assert srv.count() == before
    assert client.command_of(["add", "x"]) is None
    assert client.command_of(["-d", "x", "search", "a"]) == "search"
    assert client.command_of(["--dir=x", "grep", "--", "-h"]) == "grep"
    assert client.command_of(["grep", "-h"]) is None


def test_a_stale_server_falls_back_and_is_replaced(srv: Served) -> None:
    # As an install or a checkout would (a folder's time is all it changes: left so, as
    # setting it back would make the new server stale in turn).
    folder = Path(client.package_dir()) / "commands"
    os.utime(folder, ns=(folder.stat().st_atime_ns, int(client.code_stamp()) + 10**9))
    a = srv.run("search", "rag", served=False)
    assert srv.proc is not None and srv.proc.wait(10) == 0  # the old server exited
    same(a, srv.here("search", "rag"))
    srv.proc = None
    srv.wait_up()  # the fallback started a new one
    same(srv.run("search", "rag"), srv.here("search", "rag"))


def test_a_dead_server_means_the_command_runs_here(srv: Served) -> None:
    assert srv.proc is not None
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    a = srv.run("list", served=False)
    same(a, srv.here("list"))
    srv.proc = None
    srv.wait_up()


def _fake_server(name: str, answer: bytes) -> tuple[threading.Thread, object]:
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(b"\0kb-server-%d-%d-%s" % (client.PROTOCOL, os.getuid(), name.encode()))
    sock.listen(1)

    def once() -> None:
        conn, _ = sock.accept()
        conn.recv(1 << 20)
        conn.sendall(answer)
        conn.close()
        sock.close()

    t = threading.Thread(target=once, daemon=True)
    t.start()
    return t, sock


def test_a_server_that_dies_before_writing_means_a_fallback(tmp_path: Path, notebook_dir: Path) -> None:
    s = Served(f"fake-{os.getpid()}-{time.monotonic_ns()}")
    s.here("list")
    t, _ = _fake_server(s.name, b"")
    env = s.env(KB_SERVER_IDLE="5", XDG_CACHE_HOME=str(tmp_path / "c"))
    try:
        a = subprocess.run([str(KB), "list"], capture_output=True, env=env, timeout=120)
        same(a, s.here("list"))
    finally:
        t.join(10)
        os.environ["KB_SERVER_NAME"] = s.name
        try:
            s.stop()  # the one the fallback started
        finally:
            del os.environ["KB_SERVER_NAME"]


def test_a_server_lost_after_output_is_one_line_and_exit_1(tmp_path: Path) -> None:
    name = f"fake-{os.getpid()}-{time.monotonic_ns()}"
    t, _ = _fake_server(name, b"o" + (6).to_bytes(4, "big") + b"half\n\n")
    env = _env(KB_SERVER_NAME=name, XDG_CACHE_HOME=str(tmp_path / "c"), KB_SERVER="1")
    done = subprocess.run([str(KB), "list"], capture_output=True, env=env, timeout=60)
    t.join(10)
    assert done.returncode == 1
    assert done.stdout == b"half\n\n"  # never the output twice
    assert done.stderr.count(b"\n") == 1 and b"went away" in done.stderr


def test_a_client_gone_mid_request_leaves_the_server_serving(srv: Served) -> None:
    import socket

    for _ in range(3):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(client.address())
        sock.sendall(client.request(["search", "pod"]))
        sock.close()
        half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # a request cut short
        half.connect(client.address())
        half.sendall(client.request(["list"])[:10])
        half.close()
    same(srv.run("search", "rag"), srv.here("search", "rag"))


def test_broken_pipe_exits_quietly(srv: Served, notebook_dir: Path) -> None:
    for i in range(300):
        (notebook_dir / f"many-{i}.md").write_text(f"# note {i}\n\nbody {i}\n", encoding="utf-8")
    cmd = f"{KB} list | head -1"
    served = subprocess.run(cmd, shell=True, capture_output=True, env=srv.env(), timeout=120)
    here = subprocess.run(cmd, shell=True, capture_output=True, env=dict(srv.env(), KB_SERVER="0"),
                          timeout=120)
    assert served.stderr == here.stderr == b""
    assert served.stdout == here.stdout
    same(srv.run("tags"), srv.here("tags"))


def test_the_client_imports_nothing_heavy(tmp_path: Path) -> None:
    code = ("import sys; import kb.client as c; c.command_of(sys.argv[1:]); c.request(['search', 'x']);"
            "c.address(); print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, "search", "x"], capture_output=True, text=True,
                         check=True, env=_env(KB_SERVER_NAME="none")).stdout.split()
    floor = subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sorted(sys.modules)))"],
                           capture_output=True, text=True, check=True).stdout.split()
    added = set(out) - set(floor)
    assert added <= {"kb", "kb.client", "kb.wire", "_socket", "_locale"}, added  # both built in


def test_dates_follow_the_clients_time_zone(srv: Served) -> None:
    seen = set()
    for tz in ("UTC", "Asia/Seoul", "America/Los_Angeles", "UTC"):
        env = srv.env(TZ=tz)
        served = srv.run("recent", env=dict(env))
        same(served, srv.here("recent", env=dict(env)))
        seen.add(served.stdout)
    assert len(seen) == 3  # the zone shows in the times (kb recent: the files' times, local)


def test_a_server_is_started_from_a_terminal_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = Served(f"auto-{os.getpid()}-{time.monotonic_ns()}")
    monkeypatch.setenv("KB_SERVER_NAME", s.name)
    env = s.env()
    del env["KB_SERVER"]  # kb's own choice
    s.here("list")
    try:
        piped = subprocess.run([str(KB), "list"], capture_output=True, env=dict(env), timeout=120)
        assert piped.returncode == 0
        time.sleep(2.0)  # a server would be up by now (the tests' servers start in well under that)
        assert s.count() is None  # a script or a pipe leaves nothing running
        code, out, _ = _pty_run([str(KB), "list"], dict(env))
        assert code == 0 and out
        s.wait_up()  # from a terminal, the next command is served
        before = s.count()
        _pty_run([str(KB), "list"], dict(env))
        assert s.count() == before + 1
    finally:
        s.stop()


def _python_servers(name: str) -> list[int]:
    """This test's server processes that are Python already (not the shell waiting before it)."""
    found = []
    for pid in os.listdir("/proc"):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if argv[1:3] == [b"-m", b"kb.server"] and f"KB_SERVER_NAME={name}".encode() in env:
            found.append(int(pid))
    return found


def test_a_new_server_starts_after_the_command_that_started_it(tmp_path: Path) -> None:
    """The first run must not be slower for starting a server: the server's Python (its
    start-up, then its imports) waits until the kb process that spawned it has exited."""
    s = Served(f"after-{os.getpid()}-{time.monotonic_ns()}")
    code = "import time; from kb import client; client._spawn(); print('spawned', flush=True); time.sleep(1)"
    env = s.env(XDG_CACHE_HOME=str(tmp_path / "c"))
    parent = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == b"spawned\n"
        end = time.monotonic() + 0.7
        while time.monotonic() < end:  # the parent lives on: no Python of the server yet
            assert _python_servers(s.name) == []
            time.sleep(0.02)
        assert parent.wait(10) == 0
        os.environ["KB_SERVER_NAME"] = s.name
        s.wait_up()  # and once it is gone, the server starts
    finally:
        parent.kill()
        os.environ["KB_SERVER_NAME"] = s.name
        try:
            s.stop()
        finally:
            del os.environ["KB_SERVER_NAME"]


#: Runs kb's console-script entry point with an atexit probe: the file ``sys.argv[1]`` is
#: written by the interpreter's clean-up, if it runs.
_CLEAN_UP_PROBE = (
    "import atexit, sys\n"
    "probe = sys.argv[1]\n"
    "atexit.register(lambda: open(probe, 'w').write('cleaned up'))\n"
    "sys.argv = ['kb', *sys.argv[2:]]\n"
    "from kb.client import main\n"
    "main()\n"
)
#: The CLI as it was run before the client existed (it exits as Python does).
_CLI = "import sys; sys.argv = ['kb', *sys.argv[1:]]; from kb.cli import run; run()"


@pytest.mark.parametrize("server", ["0", "1", "unset"])
def test_a_read_only_command_run_here_ends_without_the_interpreter_s_clean_up(
        tmp_path: Path, notebook_dir: Path, monkeypatch: pytest.MonkeyPatch, server: str) -> None:
    """A read-only command run in this process (KB_SERVER=0; a first run, which then starts
    a server; a fallback from a pipe) ends as a served one does: output flushed, then
    ``os._exit``, without the interpreter's clean-up (at 10x ~100 ms of CPU after the answer
    was printed). Output and exit code are the CLI's own (:data:`_CLI`, which exits as Python
    does); a command that writes (``kb index``) still exits through the clean-up."""
    for i in range(300):  # more output than one buffer: all of it must be flushed
        (notebook_dir / f"many-{i}.md").write_text(f"# note {i}\n\nbody {i}\n", encoding="utf-8")
    name = f"quick-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setenv("KB_SERVER_NAME", name)
    env = _env(KB_SERVER_IDLE="60", XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("KB_SERVER", None)
    if server != "unset":
        env["KB_SERVER"] = server
    reference = dict(env, KB_SERVER="0")
    subprocess.run([sys.executable, "-m", "kb", "index"], env=reference, capture_output=True, timeout=120)
    s = Served(name)
    try:
        for args in (["list"], ["search", "note"], ["search", "zzzqqqnothing"], ["search", ""],
                     ["show", "many-7"], ["tags", "--bogus"]):
            s.stop()  # no server: the command runs here (and, with KB_SERVER=1, starts one)
            probe = tmp_path / f"probe-{time.monotonic_ns()}"
            done = subprocess.run([sys.executable, "-c", _CLEAN_UP_PROBE, str(probe), *args], env=dict(env),
                                  capture_output=True, timeout=120)
            expected = subprocess.run([sys.executable, "-c", _CLI, *args], env=dict(reference),
                                      capture_output=True, timeout=120)
            same(done, expected)
            assert not probe.exists(), (args, "the interpreter's clean-up ran")
        probe = tmp_path / "probe-index"
        done = subprocess.run([sys.executable, "-c", _CLEAN_UP_PROBE, str(probe), "index"], env=dict(env),
                              capture_output=True, timeout=120)
        assert done.returncode == 0 and probe.read_text() == "cleaned up"
        if server == "1":
            s.wait_up()  # the first run still started a server, once it had exited
    finally:
        s.stop()


def test_a_command_while_the_server_starts_waits_for_it(tmp_path: Path, notebook_dir: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server listens before its imports: a command that comes meanwhile is served when
    they are done, rather than running in-process beside them (all the same imports again)."""
    s = Served(f"early-{os.getpid()}-{time.monotonic_ns()}")
    monkeypatch.setenv("KB_SERVER_NAME", s.name)
    s.here("list")
    name = b"@kb-server-%d-%d-%s" % (client.PROTOCOL, os.getuid(), s.name.encode())
    s.proc = subprocess.Popen([sys.executable, "-m", "kb.server"], env=s.env(), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while name not in Path("/proc/net/unix").read_bytes():  # bound: its imports begin
            assert time.monotonic() < deadline
            time.sleep(0.002)
        done = subprocess.run([str(KB), "list"], capture_output=True, env=s.env(), timeout=120)
        same(done, s.here("list"))
        assert s.count() == 1  # served, not run in-process
    finally:
        s.stop()


#: Python run before kb in the processes of the tests below (a ``sitecustomize`` on
#: PYTHONPATH, which kb passes on to the server it starts): a machine where no server can run.
NO_SERVER = {
    "socket": """
import _socket
_real = _socket.socket
class _NoUnix(_real):
    def __init__(self, family=-1, *a, **kw):
        if family == _socket.AF_UNIX:
            raise PermissionError(1, "Operation not permitted")  # as a seccomp filter answers
        super().__init__(family, *a, **kw)
_socket.socket = _NoUnix
""",
    "fork": """
import subprocess
_real = subprocess.Popen
class _NoFork(_real):
    def __init__(self, args, *a, **kw):
        if any("kb.server" in str(x) for x in args):
            raise BlockingIOError(11, "Resource temporarily unavailable")  # fork: EAGAIN (RLIMIT_NPROC)
        super().__init__(args, *a, **kw)
subprocess.Popen = _NoFork
""",
}


@pytest.mark.parametrize("why", sorted(NO_SERVER))
def test_where_no_server_can_run_a_command_is_what_kb_server_0_gives(
        why: str, tmp_path: Path, notebook_dir: Path) -> None:
    """No Unix sockets (a sandbox), or no new process (fork fails): the command's answer is
    the in-process one, nothing more is printed, and after the first failure no kb tries
    again for a while (the off marker), so later commands cost what KB_SERVER=0 does."""
    site = tmp_path / "site"
    site.mkdir()
    log = tmp_path / "spawns"
    (site / "sitecustomize.py").write_text(NO_SERVER[why] + f"""
import subprocess as _sp
_spawn = _sp.Popen.__init__
def _logged(self, args, *a, **kw):
    if any("kb.server" in str(x) for x in args):
        with open({str(log)!r}, "a") as fh:
            fh.write("spawn\\n")
    return _spawn(self, args, *a, **kw)
_sp.Popen.__init__ = _logged
""", encoding="utf-8")
    s = Served(f"none-{why}-{os.getpid()}-{time.monotonic_ns()}")
    cache = tmp_path / "cache"
    env = s.env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(cache))
    s.here("list", env=dict(env))  # the index is built (and its warnings said) first
    reference = s.here("search", "rag", env=dict(env))
    assert reference.returncode == 0
    marker = list(cache.glob("kb/server-*.off"))
    for i in range(3):
        done = subprocess.run([str(KB), "search", "rag"], capture_output=True, env=dict(env), timeout=120)
        same(done, reference)
        if i == 0:  # the server that could not start (or the client that could not start it) said so
            deadline = time.monotonic() + 30
            while not (marker := list(cache.glob("kb/server-*.off"))):
                assert time.monotonic() < deadline, "no off marker"
                time.sleep(0.05)
    assert len(marker) == 1 and marker[0].read_text(encoding="utf-8").strip()
    assert log.read_text(encoding="utf-8").count("spawn") == 1  # tried once, then not again
    assert _python_servers(s.name) == []


def test_a_client_whose_locale_encodes_differently_runs_the_command_itself(srv: Served) -> None:
    """Python fixes its file-name and text encodings when it starts, from the locale: a
    server started under UTF-8 cannot read a C-locale client's arguments as that client
    would, so it lets the client run the command (the same answer as KB_SERVER=0)."""
    env = srv.env(LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    before = srv.count()
    for args in (("search", "서비스어카운트"), ("list",)):
        same(srv.run(*args, served=False, env=dict(env)), srv.here(*args, env=dict(env)))
    assert srv.count() == before  # none of them served
    same(srv.run("search", "서비스어카운트"), srv.here("search", "서비스어카운트"))  # UTF-8: served


def test_a_long_command_on_the_server_does_not_make_others_wait(srv: Served, notebook_dir: Path) -> None:
    """While the server runs a long command (here a grep that backtracks until its time
    budget stops it, holding the GIL), another command is not queued behind it: it runs in
    its own process (the same answer), no second server is started for it, and the server
    does not run its request afterwards."""
    filler = ("x" * 99 + "\n") * 10_000  # 1 MB: a budget of 4 s
    (notebook_dir / "slow.md").write_text("# slow\n\n" + filler + "a" * 60 + "b\n", encoding="utf-8")
    srv.here("list")
    before = srv.count()
    slow = subprocess.Popen([str(KB), "grep", r"(?=a)(a|aa)+$"], env=srv.env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # the server has taken it
        quick = subprocess.run([str(KB), "list"], capture_output=True, env=srv.env(), timeout=120)
        assert slow.poll() is None  # answered while the long one still runs
        same(quick, srv.here("list"))
        assert len(_python_servers(srv.name)) == 1
    finally:
        _, err = slow.communicate(timeout=120)
    assert slow.returncode == 2 and b"backtracks" in err
    assert srv.count() == before + 1  # the quick one's request, left waiting, was not run again


def test_an_idle_server_works_ahead_a_step_at_a_time() -> None:
    """Between requests the server works ahead (compiles lexers: kb.render.idle_steps) only
    once no request has come for AHEAD_AFTER seconds, a step at a time, until there is none
    left; a request that comes meanwhile waits for the step under way only."""
    from kb import server

    queue = server.Waiting(None)
    calls: list[float] = []

    def step() -> bool:
        calls.append(time.monotonic())
        return len(calls) < 3

    start = time.monotonic()
    assert queue.next(server.AHEAD_AFTER + 0.3, step) is None  # idle: every step done, then None
    assert len(calls) == 3 and calls[0] - start >= server.AHEAD_AFTER * 0.99

    queue.conns.append("waiting")  # a request already waiting: no step before it
    calls.clear()
    assert queue.next(5.0, step) == "waiting" and not calls

    steps = 0

    def endless() -> bool:  # a request comes during the third step
        nonlocal steps
        steps += 1
        if steps == 3:
            with queue.cond:
                queue.conns.append("came")
        time.sleep(0.01)
        return True

    assert queue.next(5.0, endless) == "came" and steps == 3


def test_a_server_s_steps_ahead_end_and_never_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    from kb import render, server

    srv = server.Server(1.0)
    done = 0
    while srv.idle_step():
        done += 1
    assert done == len(render.COMMON_FENCES) + 2
    assert not srv.idle_step()

    def broken():  # a step that fails (a broken Pygments): no more steps, no error
        raise ImportError("no pygments")
        yield

    monkeypatch.setattr(render, "idle_steps", broken)
    assert not server.Server(1.0).idle_step()


def test_collector_freezes_what_a_request_leaves_and_collects_it_when_idle() -> None:
    """Garbage collection off the requests' path: after an answer what lives is frozen (a
    collection a request sets off does not walk it), and what a request left in a
    reference cycle is let go of by the full collection of idle time, once it is due."""
    import gc
    import weakref

    from kb.collector import Collector

    class Node:
        pass

    before = gc.get_threshold()
    collector = Collector()
    try:
        collector.start()
        assert gc.get_threshold() == Collector.THRESHOLDS
        node = Node()
        node.me = node  # type: ignore[attr-defined]
        left = weakref.ref(node)
        del node
        collector.answered()
        assert gc.get_freeze_count() > 0
        gc.collect()
        assert left() is not None  # frozen: not walked by a collection
        assert collector.idle() is False and left() is not None  # not due yet
        collector.last_full -= Collector.FULL_EVERY
        assert collector.idle() is False
        assert left() is None
        collector.since_full = Collector.FULL_AFTER - 1  # a long busy spell: collected anyway
        node = Node()
        node.me = node  # type: ignore[attr-defined]
        left = weakref.ref(node)
        del node
        collector.answered()
        assert left() is None
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
