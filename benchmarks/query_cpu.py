"""In-process CPU time of kb's searches, two code trees interleaved (A, B, A, B, ...).

A ranking change must not make an ordinary search slower; on a busy shared machine wall time
says little, the CPU time of the searching process says more. Each round runs every query of
the given sets once in a fresh process of each tree (after one warm-up pass over them in that
process, which is not timed: the index's tables are read then), alternating A and B, and
records the process CPU time of the pass.

    python benchmarks/query_cpu.py --a /work/main --b . --index DIR [--dir NOTEBOOK]
        [--queries benchmarks/queries_differ.tsv ...] [--rounds 5]

Prints the median CPU seconds of a pass for each and the median of the paired ratios B/A.
The index (``--index``, built by kb over ``--dir`` if empty) is opened without a sync: both
trees must read the same index format. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"

CHILD = r"""
import json, sys, time
from pathlib import Path
from kb.config import Notebook
from kb.index.sync import open_index, sync_index
from kb.search import search
root, index, queries = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
import kb
assert Path(kb.__file__).resolve().parent.parent == Path.cwd().resolve(), kb.__file__
nb = Notebook(Path(root).resolve(), Path(index), "bench")
if not any(Path(index).glob("*.toc")):
    sync_index(nb)
ix, _ = open_index(nb, sync=False)
for q in queries:
    search(nb, q, ix=ix)
t = time.process_time()
for q in queries:
    search(nb, q, ix=ix)
print(time.process_time() - t)
"""


def _queries(paths: list[Path]) -> list[str]:
    out: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            cols = line.split("\t")
            if len(cols) >= 3 and not line.startswith("#") and cols[0] != "kind":
                out.append(cols[1])
    return out


def _pass(tree: Path, root: Path, index: Path, queries: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    # cwd=tree: ``python -c`` puts the working directory first on sys.path, before PYTHONPATH,
    # so a run started inside a kb checkout timed that checkout's kb for both trees.
    done = subprocess.run([sys.executable, "-c", CHILD, str(root), str(index), json.dumps(queries)],
                          env=env, capture_output=True, text=True, timeout=3600, cwd=tree)
    if done.returncode:
        raise SystemExit(f"{tree}: exit {done.returncode}: {done.stderr[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="code tree A (the reference)")
    parser.add_argument("--b", type=Path, required=True, help="code tree B")
    parser.add_argument("--dir", type=Path, default=DEFAULT_CORPUS, help="notebook")
    parser.add_argument("--index", type=Path, required=True, help="index folder (built if empty)")
    parser.add_argument("--queries", type=Path, nargs="+",
                        default=[HERE / "queries_differ.tsv", HERE / "queries_holdout.tsv"])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    queries = _queries(args.queries)
    a_times: list[float] = []
    b_times: list[float] = []
    for _ in range(args.rounds):
        a_times.append(_pass(args.a, args.dir, args.index, queries))
        b_times.append(_pass(args.b, args.dir, args.index, queries))
        print(f"A {a_times[-1]:.3f} s  B {b_times[-1]:.3f} s  B/A {b_times[-1] / a_times[-1]:.3f}",
              flush=True)
    ratios = [b / a for a, b in zip(a_times, b_times, strict=True)]
    print(f"{len(queries)} queries, {args.rounds} rounds: CPU s per pass, "
          f"median A {statistics.median(a_times):.3f}  B {statistics.median(b_times):.3f}  "
          f"B/A {statistics.median(ratios):.3f}"
          f" (min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
