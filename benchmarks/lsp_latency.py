"""Latency of ``kb lsp``: completion after ``[[`` and workspace symbols, on a real notebook.

What it measures
----------------
One ``kb lsp`` process on the notebook (the 1x corpus by default), its index opened once
(built first if its folder is empty, with ``KB_INDEX_DIR`` in a temp dir: no real index is
touched). Reported first: the process's start and ``initialize`` (the server answers it
before opening the index), then the first answer (which waits for the index to be open).
A plain JSON-RPC client (tests/lspclient.py) then times each request from sending it to
reading its answer, as an editor waits for it:

- ``completion``: the buffer of an unsaved note is changed to end in ``[[PREFIX`` (the
  first 2-4 characters of a note title, Korean or English), then completion is asked at
  its end: the didChange (re-parsing that buffer, its diagnostics) and the completion
  (prefix matches and kb's ranked search) are both in the time;
- ``symbols``: ``workspace/symbol`` with the queries of benchmarks/queries.tsv (kb's search);
- ``floor``: ``textDocument/documentSymbol`` on that three-line buffer, interleaved with the
  others: the cost of a round trip through the client, the pipe and pygls (the reference
  measured in the same run; the ratios say how much of the time is kb's work).

The machine is shared: besides wall time, the server's CPU time per request is read from
``/proc/PID/stat`` (10 ms clock ticks, so only its p50/p95 over many requests mean much):
what the request cost, whatever else runs meanwhile. The load average is printed too.
Queries are all different (no answer comes from the server's cache of recent searches).

Target (issue 12): completion and workspace symbols p95 <= 50 ms on the 1x corpus,
<= 100 ms on 10x (``--dir`` a 10x notebook built by benchmarks/perf.py ``--keep``).

Run: ``python benchmarks/lsp_latency.py [--dir NOTEBOOK] [--index-dir DIR] [--runs 100]
[--json FILE]``.
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


def _cpu(pid: int) -> float:
    """CPU time (user + system, ms) the server process used so far, from /proc: the work a
    request cost whatever else the machine runs meanwhile."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _stats(ms: list[float]) -> dict[str, Any]:
    ordered = sorted(ms)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return {"n": len(ms), "p50": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def run(notebook: Path, index_dir: Path, runs: int, scale: int) -> dict[str, Any]:
    env = {**os.environ, "KB_INDEX_DIR": str(index_dir), "KB_WATCH": "0"}
    env.pop("KB_DIR", None)
    if not any(index_dir.glob("*")):
        print(f"building the index in {index_dir} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "kb", "--dir", str(notebook), "index"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    rng = random.Random(12)
    titles = _titles(notebook, index_dir)
    prefixes = list(dict.fromkeys(_prefix(t, rng) for t in rng.sample(titles, len(titles))))[:runs]
    queries = _queries()
    runs = min(runs, len(prefixes), len(queries))

    client = LspClient([sys.executable, "-m", "kb", "--dir", str(notebook), "lsp"], env=env)
    try:
        start = time.perf_counter()
        client.initialize(notebook)
        init_ms = (time.perf_counter() - start) * 1000
        # the index is opened after the handshake: the first answer waits for it
        client.request("workspace/symbol", {"query": "쿠버"})
        ready_ms = (time.perf_counter() - start) * 1000
        doc = client.open(notebook / "__kb_lsp_bench__.md", "# bench\n\n[[")
        version = 1
        times: dict[str, list[float]] = {"completion": [], "symbols": [], "floor": []}

        cpu: dict[str, list[float]] = {"completion": [], "symbols": [], "floor": []}

        def timed(kind: str, method: str, params: Any, before: Any = None) -> Any:
            c, t = _cpu(client.proc.pid), time.perf_counter()
            if before is not None:
                before()
            result = client.request(method, params)
            times[kind].append((time.perf_counter() - t) * 1000)
            cpu[kind].append(_cpu(client.proc.pid) - c)
            return result

        # warm-up: the first search loads the vocabulary and analyzer tables
        for q in ("python",):
            client.request("workspace/symbol", {"query": q})
        empty = 0
        for i in range(runs):
            prefix = prefixes[i % len(prefixes)]
            text = f"# bench\n\n[[{prefix}"
            version += 1
            change = {"textDocument": {"uri": doc, "version": version}, "contentChanges": [{"text": text}]}
            result = timed("completion", "textDocument/completion", {
                "textDocument": {"uri": doc}, "position": {"line": 2, "character": 2 + len(prefix)}},
                before=lambda change=change: client.notify("textDocument/didChange", change))
            empty += not (result or {}).get("items")
            timed("floor", "textDocument/documentSymbol", {"textDocument": {"uri": doc}})
            timed("symbols", "workspace/symbol", {"query": queries[i]})
            timed("floor", "textDocument/documentSymbol", {"textDocument": {"uri": doc}})
        code = client.stop()
    finally:
        client.close()
    report = {k: {**_stats(v), "cpu": _stats(cpu[k])} for k, v in times.items()}
    floor = report["floor"]["p95"]
    for kind in ("completion", "symbols"):
        report[kind]["ratio_to_floor_p95"] = report[kind]["p95"] / floor if floor else float("nan")
    return {"notebook": str(notebook), "scale": scale, "notes": len(titles), "initialize_ms": init_ms,
            "ready_ms": ready_ms,
            "completions_without_items": empty, "exit_code": code, "target_p95_ms": TARGETS.get(scale),
            **report}


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
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; server CPU from /proc "
          f"(clock ticks of {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms)")
    print(f"{'request':<12}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'p95/floor':>11}"
          f"{'cpu p50':>9}{'cpu p95':>9}")
    for kind in ("completion", "symbols", "floor"):
        r = out[kind]
        ratio = f"{r['ratio_to_floor_p95']:.1f}x" if "ratio_to_floor_p95" in r else ""
        print(f"{kind:<12}{r['n']:>5}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['max']:>9.1f}{ratio:>11}"
              f"{r['cpu']['p50']:>9.0f}{r['cpu']['p95']:>9.0f}")
    target = out["target_p95_ms"]
    if target:
        ok = all(out[k]["p95"] <= target for k in ("completion", "symbols"))
        print(f"target p95 <= {target:.0f} ms: {'met' if ok else 'NOT met'}")
    print(f"completions with no item: {out['completions_without_items']}; exit code {out['exit_code']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
