"""A/B of two kb installs, whole processes, interleaved run by run.

A refactor must not make kb slower; on a shared machine whose speed changes from one
minute to the next, the only fair comparison is the two versions run alternately on the
same notebook (A, B, A, B, ...), each with its own index folder, bytecode compiled and
written (``PYTHONDONTWRITEBYTECODE`` unset: otherwise every run recompiles kb, and a
bigger kb looks slower than it is).

    python benchmarks/ab.py --a /old/.venv/bin/kb --b .venv/bin/kb [--dir NOTEBOOK] [--runs 15]

Prints, per command, the median wall time of each and the median of the paired ratios
B/A (each B run against the A run just before it). Standard library only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"

COMMANDS = [
    ["--help"],
    ["search", "kubernetes"],
    ["search", "--json", "트랜스포머"],
    ["search", "교착"],
    ["list", "--limit", "20"],
    ["tags"],
    ["recent"],
]


def _env(index_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(KB_INDEX_DIR=index_dir, NO_COLOR="1", COLUMNS="100", KB_PAGER="cat", PAGER="cat")
    return env


def _run(kb: str, args: list[str], notebook: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([kb, "--dir", str(notebook), *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=600)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{kb} {' '.join(args)}: exit {done.returncode}: {done.stderr.decode()[-300:]}")
    return took


def _compile(kb: str) -> None:
    python = Path(kb).with_name("python")
    subprocess.run([str(python), "-c", "import compileall, kb, os; "
                    "compileall.compile_dir(os.path.dirname(kb.__file__), quiet=1)"],
                   env=_env("/nonexistent"), check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="the reference kb (e.g. the old main's venv)")
    parser.add_argument("--b", required=True, help="the kb under test")
    parser.add_argument("--dir", type=Path, default=DEFAULT_CORPUS, help="the notebook")
    parser.add_argument("--runs", type=int, default=15)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-ab-") as tmp:
        envs = {}
        for name, kb in (("a", opts.a), ("b", opts.b)):
            _compile(kb)
            envs[name] = _env(str(Path(tmp) / name))
            _run(kb, ["index"], opts.dir, envs[name])  # builds the index (not timed)
        print(f"A = {opts.a}\nB = {opts.b}\nnotebook {opts.dir}, {opts.runs} interleaved runs, "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"{'command':34} {'A ms':>8} {'B ms':>8} {'B/A':>6}")
        for args in COMMANDS:
            a_times, b_times = [], []
            for kb, name in ((opts.a, "a"), (opts.b, "b")):
                _run(kb, args, opts.dir, envs[name])  # warm-up
            for _ in range(opts.runs):
                a_times.append(_run(opts.a, args, opts.dir, envs["a"]))
                b_times.append(_run(opts.b, args, opts.dir, envs["b"]))
            ratio = statistics.median(b / a for a, b in zip(a_times, b_times, strict=True))
            print(f"{' '.join(args):34} {statistics.median(a_times) * 1e3:8.0f} "
                  f"{statistics.median(b_times) * 1e3:8.0f} {ratio:6.2f}", flush=True)
        print(f"load at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
