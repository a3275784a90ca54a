"""Where a served kb command's milliseconds go (issue 17): the client's start-up and the server's work.

Client side, whole processes, interleaved, medians of ``--runs``:
  ``python -c pass`` (the floor: interpreter and site, the venv's .pth files included),
  ``python -c "import kb.client"`` (+ the client's imports), and ``kb ARGS`` served;
  plus ``-X importtime`` of the client's modules.
In the client's process: one round trip (connect, request, the server's work, the answer
written to /dev/null), timed with ``perf_counter`` around :func:`kb.client.served`.
Server side, in this process (a :class:`kb.server.Server` answering over a socketpair, as
it does a client): per request, the freshness check (``Notebook.open_index``: the watcher's
answer or a ``stat`` of every note, and opening the index), the core's work (search,
related, rows, links...) and the rest (option parsing, rendering, writing the frames).

Run: ``python benchmarks/serve_profile.py --dir NOTEBOOK [--runs 15] -- search kubernetes``
(with ``KB_INDEX_DIR`` as for kb; the index should be up to date). Standard library and kb.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path


def whole(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def ms(x: float) -> str:
    return f"{x * 1000:6.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    argv = ["--dir", str(args.dir.resolve()), *args.command]
    python = sys.executable
    kb = str(Path(python).with_name("kb"))
    env = {k: v for k, v in os.environ.items() if k not in ("KB_SERVER", "PYTHONDONTWRITEBYTECODE")}
    env["KB_SERVER_NAME"] = f"profile-{os.getpid()}"
    env["KB_SERVER_IDLE"] = "300"

    # ---------------------------------------------------------------- client side
    server = subprocess.Popen([python, "-m", "kb.server"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    os.environ.update(env)
    from kb import wire

    try:
        while wire.ask("--kb-server-status") is None:
            time.sleep(0.05)
        jobs = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import kb.client'": [python, "-c", "import kb.client"],
            f"kb {' '.join(args.command)} (served)": [kb, *argv],
            f"kb {' '.join(args.command)} (KB_SERVER=0)": [kb, *argv],
        }
        times: dict[str, list[float]] = defaultdict(list)
        for i in range(args.runs + 1):
            for what, cmd in jobs.items():
                e = dict(env, KB_SERVER="0") if "KB_SERVER=0" in what else env
                t = whole(cmd, e)
                if i:
                    times[what].append(t)
        print(f"whole processes, medians of {args.runs} (load {os.getloadavg()[0]:.1f}):")
        for what in jobs:
            print(f"  {ms(statistics.median(times[what]))}  {what}")
        # The round trip from inside a client process (no interpreter start-up).
        code = (
            "import os, sys, time; sys.argv = ['kb', *sys.argv[1:]]; import kb.client as c\n"
            "null = os.open(os.devnull, os.O_WRONLY); os.dup2(null, 1); os.dup2(null, 2)\n"
            "t = []\n"
            "for _ in range(20):\n"
            "    s = time.perf_counter(); c.served(sys.argv[1:]); t.append(time.perf_counter() - s)\n"
            "t.sort(); os.write(int(os.environ['PROFILE_FD']), b'%f' % t[len(t) // 2])\n"
        )
        r, w = os.pipe()
        subprocess.run([python, "-c", code, *argv], env=dict(env, PROFILE_FD=str(w)), pass_fds=(w,),
                       check=False)
        os.close(w)
        trip = float(os.read(r, 100) or b"0")
        os.close(r)
        print(f"  {ms(trip)}  round trip in the client (connect, request, server's work, answer), "
              "median of 20")
        imp = subprocess.run([python, "-X", "importtime", "-c", "import kb.client"], env=env,
                             capture_output=True, text=True).stderr
        print("  -X importtime of the client (self us | cumulative us | module):")
        for line in imp.splitlines():
            if "kb" in line or "_socket" in line:
                print("   ", line.replace("import time:", "").strip())
    finally:
        wire.ask("--kb-server-stop")
        server.wait(30)

    # ---------------------------------------------------------------- server side
    from kb import core
    from kb import server as srv

    spent: dict[str, float] = defaultdict(float)

    def timed(name: str, fn):  # noqa: ANN001, ANN202
        def wrapper(*a, **kw):  # noqa: ANN002, ANN003, ANN202
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - start
        return wrapper

    core.Notebook.open_index = timed("freshness (open_index)", core.Notebook.open_index)
    for name in ("search", "related", "rows", "tag_counts", "note", "read", "numbers", "info", "files"):
        setattr(core.Notebook, name, timed("core", getattr(core.Notebook, name)))
    core.Notebook.links = property(timed("core", core.Notebook.links.fget))
    def drain(sock: socket.socket) -> None:
        while sock.recv(65536):
            pass

    s = srv.Server(300)
    s.warm_up()
    request = wire.request(argv)
    rows: dict[str, list[float]] = defaultdict(list)
    for i in range(args.runs + 1):
        spent.clear()
        a, b = socket.socketpair()
        a.sendall(request)
        reader = threading.Thread(target=drain, args=(a,))
        reader.start()
        start = time.perf_counter()
        s.handle(b)
        total = time.perf_counter() - start
        b.close()
        reader.join()
        a.close()
        if i:
            rows["total"].append(total)
            for k, v in spent.items():
                rows[k].append(v)
            rows["rest (parse, render, frames)"].append(total - sum(spent.values()))
    s.pool.close()
    print(f"server side, per request, medians of {args.runs}:")
    for k, v in rows.items():
        print(f"  {ms(statistics.median(v))}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
