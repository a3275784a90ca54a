"""Whole-process timings of kb's listing commands against `kb list --json`, in one run.

The question (issue 15): is `kb list --broken-links`, with its "did you mean" hints, within
twice `kb list --json` on the corpus? And do the piped lists (tab-separated, no Rich layout)
stay as cheap? Every number is a whole process (start-up included); the commands are run
interleaved (a, b, c, a, b, c, ...) after one warm-up each, so they see the same load on a
shared machine, and each row is reported as its median and as a ratio to the reference
`kb list --json` measured in the same run. Output goes to a pipe, as in `kb list | grep`.

The corpus is read only; the index lives in a temp dir (``KB_INDEX_DIR``) and is built once
before timing.

Run: ``python benchmarks/lists.py [--corpus DIR] [--runs 7]``. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
REFERENCE = ["list", "--json"]
COMMANDS = [REFERENCE, ["list", "--broken-links"], ["list"], ["tags"], ["search", "rag"]]


def kb_command() -> list[str]:
    script = Path(sys.executable).parent / "kb"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "kb"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    kb = kb_command()
    index_dir = Path(tempfile.mkdtemp(prefix="kb-lists-"))
    env = {**os.environ, "KB_INDEX_DIR": str(index_dir), "KB_WATCH": "0"}
    env.pop("COLUMNS", None)
    base = [*kb, "--dir", str(args.corpus)]
    try:
        print(f"building the index of {args.corpus} ...", file=sys.stderr)
        subprocess.run([*base, "index"], env=env, check=True, stdout=subprocess.DEVNULL)
        samples: dict[str, list[float]] = {" ".join(c): [] for c in COMMANDS}
        codes: dict[str, int] = {}
        for run in range(args.runs + 1):
            for command in COMMANDS:
                seconds, code = timed([*base, *command], env)
                codes[" ".join(command)] = code
                if run:  # the first round warms the caches
                    samples[" ".join(command)].append(seconds)
        reference = statistics.median(samples[" ".join(REFERENCE)])
        print(f"{'command':32} {'median s':>9} {'min s':>7} {'x list --json':>14}  exit")
        for name, times in samples.items():
            median = statistics.median(times)
            print(f"kb {name:29} {median:9.3f} {min(times):7.3f} {median / reference:14.2f}  {codes[name]}")
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
