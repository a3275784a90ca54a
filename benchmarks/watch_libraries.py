"""Can a file-watching library tell kb that it dropped events? (issue 14)

kb's watcher (:mod:`kb.watch`, inotify through ctypes) answers "unknown" whenever it
cannot be sure, above all when the kernel's event queue overflowed (IN_Q_OVERFLOW).
A library could replace it only if it tells its user the same. This script makes every
watcher lose events on purpose and prints what each reported:

1. a child process per watcher (kb's ctypes inotify, watchdog, watchfiles) sets up a
   watch on a fresh folder, with the kernel queue of its inotify instance limited to
   ``--queue`` events (``/proc/sys/fs/inotify/max_queued_events`` is lowered only while
   the child creates its instance, a few ms, then restored: it needs root);
2. the child is stopped (SIGSTOP), ``--files`` notes are written, the child continues;
3. it reports how many of the files it saw and whether it said that events were lost.

It also measures the resident memory of a watcher set up on a real notebook (``--corpus``)
and the import time of each library. Libraries that are not installed are skipped.

    sudo python benchmarks/watch_libraries.py --corpus /work/shared/corpus
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT = Path("/proc/sys/fs/inotify/max_queued_events")

CHILD = r'''
import json, logging, os, sys, time
kind, folder, mode = sys.argv[1], sys.argv[2], sys.argv[3]
seen, lost = set(), []

def rss_kb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:"))

if kind == "ctypes":
    from kb.watch import IN_Q_OVERFLOW, _Inotify
    sys.stdout.write("imported\n"); sys.stdout.flush(); sys.stdin.readline()
    if mode == "corpus":  # the real watcher's bookkeeping, as `python -m kb.watch` runs it
        from pathlib import Path
        from kb.watch import Watcher
        watcher = Watcher(Path(folder))
        wds = watcher.wd_dir
    else:
        ino = _Inotify()
        wds = [ino.add(folder)]
    def poll():
        if mode == "corpus":
            return
        for wd, mask, name in ino.read():
            if mask & IN_Q_OVERFLOW:
                lost.append("IN_Q_OVERFLOW event")
            elif name:
                seen.add(name)
elif kind == "watchdog":
    from watchdog.observers import Observer
    from watchdog.events import FileSystemEventHandler
    class Lost(logging.Handler):  # the only trace of an overflow: a log record
        def emit(self, record):
            if "overflow" in record.getMessage().lower():
                lost.append("log: " + record.getMessage())
    logging.getLogger("watchdog").addHandler(Lost())
    class H(FileSystemEventHandler):
        def on_any_event(self, event):
            if event.event_type in ("created", "modified", "closed") and not event.is_directory:
                seen.add(os.path.basename(event.src_path))
    sys.stdout.write("imported\n"); sys.stdout.flush(); sys.stdin.readline()
    obs = Observer()
    obs.schedule(H(), folder, recursive=True)
    obs.start()
    def poll():
        time.sleep(0.5)
elif kind == "watchfiles":
    from watchfiles._rust_notify import RustNotify
    sys.stdout.write("imported\n"); sys.stdout.flush(); sys.stdin.readline()
    rn = RustNotify([folder], False, False, 50, True, False)
    def poll():
        while True:
            got = rn.watch(100, 20, 300, None)
            if not isinstance(got, set):
                return
            for change, path in got:
                seen.add(os.path.basename(path))
sys.stdout.write("ready\n"); sys.stdout.flush()
if mode == "corpus":
    poll()
    print(json.dumps({"rss_kb": rss_kb(), "watches": len(wds) if kind == "ctypes" else None}))
    sys.exit()
sys.stdin.readline()  # the files are written (while this process was stopped)
for _ in range(6):
    poll()
    time.sleep(0.2)
print(json.dumps({"seen": len(seen), "lost": lost}))
'''


def child(kind: str, folder: str, mode: str, queue: int | None) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, folder, mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "imported"
    old = LIMIT.read_text() if queue is not None else None
    try:
        if queue is not None:
            LIMIT.write_text(f"{queue}\n")  # taken by inotify_init: only the child's instance
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ready"
    finally:
        if old is not None:
            LIMIT.write_text(old)
    return proc


def overflow(kind: str, files: int, queue: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        proc = child(kind, folder, "overflow", queue)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGSTOP)
        for i in range(files):
            with open(os.path.join(folder, f"note{i}.md"), "w") as fh:
                fh.write("x")
        os.kill(proc.pid, signal.SIGCONT)
        out, _ = proc.communicate("written\n", timeout=60)
        return json.loads(out.strip().splitlines()[-1])


def corpus_rss(kind: str, corpus: str) -> dict:
    proc = child(kind, corpus, "corpus", None)
    out, _ = proc.communicate("", timeout=300)
    lines = out.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"rss_kb": float("nan")}


def import_ms(module: str, runs: int = 7) -> float:
    """The best of ``runs`` fresh processes' time to import ``module`` (in ms)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return 1000 * min(float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                           text=True, env=env).stdout) for _ in range(runs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--queue", type=int, default=64)
    ap.add_argument("--corpus", help="a notebook folder to watch for the memory figure")
    args = ap.parse_args()
    kinds = ["ctypes"]
    for kind, module in (("watchdog", "watchdog.observers"), ("watchfiles", "watchfiles._rust_notify")):
        try:
            __import__(module)
            kinds.append(kind)
        except ImportError:
            print(f"{kind}: not installed, skipped")
    base = import_ms("json")
    print(f"import json: {base:.1f} ms (reference)")
    for kind, module in (("ctypes", "kb.watch"), ("watchdog", "watchdog.observers"),
                         ("watchfiles", "watchfiles._rust_notify")):
        if kind in kinds:
            print(f"{kind}: import {module}: {import_ms(module):.1f} ms")
    for kind in kinds:
        r = overflow(kind, args.files, args.queue)
        told = "TOLD: " + "; ".join(sorted(set(r["lost"]))) if r["lost"] else "NOT told"
        print(f"{kind}: {args.files} files written while stopped, queue {args.queue}: "
              f"saw {r['seen']}, {told}")
    if args.corpus:
        for kind in kinds:
            r = corpus_rss(kind, args.corpus)
            print(f"{kind}: watching {args.corpus}: RSS {r['rss_kb'] / 1024:.1f} MB")


if __name__ == "__main__":
    main()
