"""Latency of ``kb lsp``: completion after ``[[`` and workspace symbols, on a real notebook.

What it measures
----------------
``kb lsp`` processes on the notebook (the 1x corpus by default), their index opened once
(built first if its folder is empty, with ``KB_INDEX_DIR`` in a temp dir: no real index is
touched). Reported first: the process's start and ``initialize`` (the server answers it
before opening the index), then the first answer (which waits for the index to be open).
A plain JSON-RPC client (tests/lspclient.py) then times each request from sending it to
reading its answer, as an editor waits for it. Two servers run side by side, their
requests interleaved: one for a client like Neovim (plain capabilities), one for a
client that resolves workspace symbols later (LSP 3.17 ``resolveSupport``, as VS Code):

- ``completion``: the buffer of an unsaved note is changed to end in ``[[PREFIX`` (the
  first 2-4 characters of a note title, Korean or English), then completion is asked at
  its end: the didChange (re-parsing that buffer) and the completion (prefix matches and
  kb's ranked search) are both in the time;
- ``typing``: the same prefix typed a character every 50 ms (each keystroke a didChange
  and a completion, sent without waiting for the answers, as an editor does): the time
  from the last keystroke's completion to its answer, what the user waits for once the
  typing stops (answers made stale by the next keystroke are skipped by the server);
- ``symbols``: ``workspace/symbol`` with the queries of benchmarks/queries.tsv (kb's
  search), each note at the line of its first match;
- ``symbols (resolve)``: the same queries from the resolving client (the notes without
  their lines), and ``resolve``: the line of the first one (``workspaceSymbol/resolve``,
  what the editor asks for the symbol picked);
- ``floor``: ``textDocument/documentSymbol`` on that three-line buffer, interleaved with the
  others: the cost of a round trip through the client, the pipe and pygls (the reference
  measured in the same run; the ratios say how much of the time is kb's work).

The machine is shared: besides wall time, each request's ``cpu`` (the server's threads'
time on a CPU) and ``wait`` (their time runnable but waiting for a CPU: the load's share)
are read from ``/proc/PID/task/*/schedstat`` (nanoseconds) around it; ``unloaded`` is the
wall time minus that wait and this client's own (an estimate of the time on an idle
machine; the wall time is what counts). The load average is printed before and after.
Queries are all different (no answer comes from the server's cache of recent searches).

Target (issue 12): completion and workspace symbols p95 <= 50 ms on the 1x corpus,
<= 100 ms on 10x (``--dir`` a 10x notebook built by benchmarks/perf.py ``--keep``).

Run: ``python benchmarks/lsp_latency.py [--dir NOTEBOOK] [--scale 10] [--index-dir DIR]
[--runs 100] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from lspclient import LspClient  # noqa: E402

DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"
TARGETS = {1: 50.0, 10: 100.0}  # ms, p95


def _titles(notebook: Path, index_dir: Path) -> list[str]:
    env = {**os.environ, "KB_INDEX_DIR": str(index_dir), "KB_WATCH": "0"}
    out = subprocess.run([sys.executable, "-m", "kb", "--dir", str(notebook), "list", "--json", "--no-pager"],
                         capture_output=True, text=True, env=env, check=True)
    return [row["title"] for row in json.loads(out.stdout) if row.get("title")]


def _prefix(title: str, rng: random.Random) -> str:
    word = title.split()[0]
    n = rng.choice((2, 3)) if "\uac00" <= word[:1] <= "\ud7a3" else rng.choice((3, 4))
    return word[:n]


def _queries() -> list[str]:
    """The distinct queries of benchmarks/queries.tsv, in its order."""
    rows = []
    for line in (HERE / "queries.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if line and not line.startswith("#"):
            rows.append(line.split("\t")[1])
    return list(dict.fromkeys(rows))


def _sched(pid: int) -> tuple[float, float]:
    """Milliseconds the server's threads ran on a CPU and waited for one so far
    (``/proc/PID/task/*/schedstat``: nanoseconds, whatever else the machine runs)."""
    cpu = wait = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:  # a thread that just ended
            continue
        cpu, wait = cpu + int(fields[0]), wait + int(fields[1])
    return cpu / 1e6, wait / 1e6


def _stats(ms: list[float]) -> dict[str, Any]:
    ordered = sorted(ms)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return {"n": len(ms), "p50": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


KINDS = ("completion", "typing", "symbols", "symbols (resolve)", "resolve", "floor")
RESOLVING = {"workspace": {"symbol": {"resolveSupport": {"properties": ["location.range"]}}}}
#: Seconds between two keystrokes of the ``typing`` rows.
KEYSTROKE = 0.05


class _Server:
    """One ``kb lsp`` process and its client, its requests timed."""

    def __init__(self, notebook: Path, env: dict[str, str], capabilities: dict[str, Any] | None,
                 times: dict[str, list[float]], use: dict[str, list[tuple[float, float, float]]]) -> None:
        self.client = LspClient([sys.executable, "-m", "kb", "--dir", str(notebook), "lsp"], env=env)
        self.times, self.use = times, use
        start = time.perf_counter()
        self.client.initialize(notebook, capabilities)
        self.init_ms = (time.perf_counter() - start) * 1000
        # the index is opened after the handshake: the first answer waits for it
        self.client.request("workspace/symbol", {"query": "쿠버"})
        self.ready_ms = (time.perf_counter() - start) * 1000
        self.doc = self.client.open(notebook / "__kb_lsp_bench__.md", "# bench\n\n[[")
        self.version = 1
        # warm-up: the first search loads the vocabulary and analyzer tables
        self.client.request("workspace/symbol", {"query": "python"})

    def timed(self, kind: str, method: str, params: Any, before: Any = None) -> Any:
        self.start()
        if before is not None:
            before()
        result = self.client.request(method, params)
        self.stop(kind)
        return result

    def start(self) -> None:
        self._at = time.perf_counter(), _sched(self.client.proc.pid), _sched(os.getpid())

    def stop(self, kind: str) -> None:
        wall = (time.perf_counter() - self._at[0]) * 1000
        (c, w), (c2, w2) = self._at[1], _sched(self.client.proc.pid)
        mine = _sched(os.getpid())[1] - self._at[2][1]
        self.times[kind].append(wall)
        self.use[kind].append((c2 - c, w2 - w, wall - (w2 - w) - mine))

    def change(self, text: str) -> dict[str, Any]:
        self.version += 1
        doc = {"uri": self.doc, "version": self.version}
        return {"textDocument": doc, "contentChanges": [{"text": text}]}

    def complete(self, prefix: str) -> Any:
        change = self.change(f"# bench\n\n[[{prefix}")
        return self.timed("completion", "textDocument/completion", {
            "textDocument": {"uri": self.doc}, "position": {"line": 2, "character": 2 + len(prefix)}},
            before=lambda: self.client.notify("textDocument/didChange", change))

    def type_out(self, prefix: str) -> Any:
        """``prefix`` typed a character every :data:`KEYSTROKE` seconds; the last answer."""
        ids = []
        for n in range(1, len(prefix) + 1):
            if ids:
                time.sleep(KEYSTROKE)
            change = self.change(f"# bench\n\n[[{prefix[:n]}")
            if n == len(prefix):
                self.start()
            ids += self.client.together([
                ("textDocument/didChange", change, False),
                ("textDocument/completion", {"textDocument": {"uri": self.doc},
                                             "position": {"line": 2, "character": 2 + n}}, True)])
        last = self.client.response(ids[-1])
        self.stop("typing")
        for msg_id in ids[:-1]:
            self.client.response(msg_id)
        return last.get("result")

    def floor(self) -> None:
        self.timed("floor", "textDocument/documentSymbol", {"textDocument": {"uri": self.doc}})


def run(notebook: Path, index_dir: Path, runs: int, scale: int) -> dict[str, Any]:
    env = {**os.environ, "KB_INDEX_DIR": str(index_dir), "KB_WATCH": "0"}
    env.pop("KB_DIR", None)
    if not any(index_dir.glob("*")):
        print(f"building the index in {index_dir} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "kb", "--dir", str(notebook), "index"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    rng = random.Random(12)
    titles = _titles(notebook, index_dir)
    prefixes = list(dict.fromkeys(_prefix(t, rng) for t in rng.sample(titles, len(titles))))
    queries = _queries()
    runs = min(runs, len(prefixes) // 2, len(queries))
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    use: dict[str, list[tuple[float, float, float]]] = {k: [] for k in KINDS}
    plain = resolving = None
    try:
        plain = _Server(notebook, env, None, times, use)
        resolving = _Server(notebook, env, RESOLVING, times, use)
        empty = unresolved = 0
        for i in range(runs):
            result = plain.complete(prefixes[2 * i])
            empty += not (result or {}).get("items")
            plain.floor()
            result = resolving.type_out(prefixes[2 * i + 1])
            empty += not (result or {}).get("items")
            plain.timed("symbols", "workspace/symbol", {"query": queries[i]})
            found = resolving.timed("symbols (resolve)", "workspace/symbol", {"query": queries[i]})
            if found and "range" not in found[0]["location"]:  # (a kb without resolve sends lines)
                resolved = resolving.timed("resolve", "workspaceSymbol/resolve", found[0])
                unresolved += "range" not in resolved["location"]
            resolving.floor()
        codes = [plain.client.stop(), resolving.client.stop()]
        init_ms, ready_ms = plain.init_ms, plain.ready_ms
    finally:
        for server in (plain, resolving):
            if server is not None:
                server.client.close()
    report = {}
    for kind in KINDS:
        if not times[kind]:  # (resolve, from a kb without it)
            continue
        cpu, wait, unloaded = zip(*use[kind], strict=True)
        report[kind] = {**_stats(times[kind]), "cpu": _stats(list(cpu)), "wait": _stats(list(wait)),
                        "unloaded": _stats(list(unloaded))}
    floor = report["floor"]["p95"]
    for kind in KINDS[:-1]:
        if kind in report:
            report[kind]["ratio_to_floor_p95"] = report[kind]["p95"] / floor if floor else float("nan")
    return {"notebook": str(notebook), "scale": scale, "notes": len(titles), "initialize_ms": init_ms,
            "ready_ms": ready_ms, "load_before": load_before, "load_after": os.getloadavg()[0],
            "cpus": os.cpu_count(), "completions_without_items": empty, "unresolved": unresolved,
            "exit_codes": codes, "target_p95_ms": TARGETS.get(scale), **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_CORPUS, help="the notebook (default: 1x corpus)")
    parser.add_argument("--scale", type=int, default=1, help="which target applies: 1 or 10")
    parser.add_argument("--index-dir", type=Path, help="KB_INDEX_DIR for it (default: a new temp dir)")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    index_dir = args.index_dir or Path(tempfile.mkdtemp(prefix="kb-lsp-bench-"))
    out = run(args.dir.resolve(), index_dir, args.runs, args.scale)
    print(f"kb lsp on {out['notebook']} ({out['notes']} notes): process start and initialize "
          f"{out['initialize_ms']:.0f} ms, first answer (index open) {out['ready_ms']:.0f} ms")
    print(f"load average {out['load_before']:.1f} before, {out['load_after']:.1f} after, on {out['cpus']} "
          f"cores; cpu and wait: the server's threads on a CPU / waiting for one (schedstat)")
    print("unloaded: wall minus the time the server and this client waited for a CPU (an estimate)")
    print(f"{'request':<19}{'n':>4}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'p95/floor':>10}"
          f"{'cpu p50':>8}{'cpu p95':>8}{'wait p50':>9}{'wait p95':>9}{'unl p50':>8}{'unl p95':>8}")
    for kind in KINDS:
        if kind not in out:
            continue
        r = out[kind]
        ratio = f"{r['ratio_to_floor_p95']:.1f}x" if "ratio_to_floor_p95" in r else ""
        print(f"{kind:<19}{r['n']:>4}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['max']:>8.1f}{ratio:>10}"
              f"{r['cpu']['p50']:>8.1f}{r['cpu']['p95']:>8.1f}{r['wait']['p50']:>9.1f}{r['wait']['p95']:>9.1f}"
              f"{r['unloaded']['p50']:>8.1f}{r['unloaded']['p95']:>8.1f}")
    target = out["target_p95_ms"]
    if target:
        kinds = ("completion", "typing", "symbols", "symbols (resolve)", "resolve")
        missed = [k for k in kinds if k in out and out[k]["p95"] > target]
        print(f"target p95 <= {target:.0f} ms: {'met' if not missed else 'NOT met by ' + ', '.join(missed)}")
    print(f"completions with no item: {out['completions_without_items']}; symbols left without a line "
          f"by resolve: {out['unresolved']}; exit codes {out['exit_codes']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
