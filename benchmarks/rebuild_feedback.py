"""What a user waits for while kb builds its index: two whole-process measurements.

1. A search during ``kb index --rebuild`` of the corpus (issue 16): kb writes the new index
   beside the previous one, so a search answers from the previous index at once. Timed
   against the same search with no rebuild running, in the same run (the ratio is the
   number; the machine is shared and noisy), and checked to have answered before the
   rebuild ended and to have said that a rebuild is running.
2. A first search on a new notebook of ``--first-run N`` notes (issue 15.5, N=969 by
   default, copied from the corpus into a temp dir): the time until kb's first line on
   stderr ("building the index ..."), and until the search is done.

The corpus is read, never written: its index and the copy live in a temp dir.
Run: ``python benchmarks/rebuild_feedback.py [--corpus DIR] [--word WORD] [--runs N]
[--first-run N]``. Standard library only.
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

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
NOTICE = "a rebuild of the index is running"


def kb_env(notebook: Path, index_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DIR=str(notebook), KB_INDEX_DIR=str(index_dir), KB_WATCH="0")
    return env


def kb(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "kb", *args], env=env, capture_output=True, text=True)
    return time.perf_counter() - start, r


def search_during_rebuild(corpus: Path, work: Path, word: str, runs: int) -> None:
    index_dir = work / "index"
    env = kb_env(corpus, index_dir)
    took, r = kb(env, "index")
    if r.returncode != 0:
        sys.exit(f"kb index failed: {r.stderr.strip()}")
    print(f"corpus: {corpus} (index built in {took:.1f} s)")
    reference = []
    for _ in range(runs):
        took, r = kb(env, "search", "--json", word)
        reference.append(took)
    rebuild_start = time.perf_counter()
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "kb", "index", "--rebuild"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    while not (index_dir / "rebuilding").exists() and rebuild.poll() is None:
        time.sleep(0.01)
    during, told, answered_during = [], 0, 0
    while rebuild.poll() is None and len(during) < runs:
        took, r = kb(env, "search", "--json", word)
        if r.returncode != 0:
            sys.exit(f"kb search failed during the rebuild: {r.stderr.strip()}")
        during.append(took)
        told += NOTICE in r.stderr
        answered_during += rebuild.poll() is None
    rebuild.wait()
    rebuild_seconds = time.perf_counter() - rebuild_start
    ref, dur = statistics.median(reference), statistics.median(during) if during else float("nan")
    print(f"kb index --rebuild: {rebuild_seconds:.1f} s (exit {rebuild.returncode})")
    print(f"kb search {word!r}, no rebuild running:  median {ref:.2f} s, max {max(reference):.2f} s "
          f"({len(reference)} runs)")
    print(f"kb search {word!r}, during the rebuild:  median {dur:.2f} s, max {max(during, default=0):.2f} s "
          f"({len(during)} runs, {answered_during} answered before the rebuild ended, "
          f"{told} said that a rebuild is running)")
    print(f"ratio during/no rebuild (median): {dur / ref:.2f}")


def first_run(corpus: Path, work: Path, word: str, count: int) -> None:
    notebook = work / f"first-{count}"
    notes = sorted(p for p in corpus.rglob("*.md") if p.is_file() and p.parent != corpus)[:count]
    for src in notes:
        dest = notebook / src.relative_to(corpus)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    env = kb_env(notebook, work / f"first-{count}-index")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kb", "search", word], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()  # type: ignore[union-attr]
    said = time.perf_counter() - start
    proc.communicate()
    done = time.perf_counter() - start
    print(f"first kb search on a new {len(notes)}-note notebook: first stderr line after {said:.2f} s "
          f"({first.strip()!r}); done after {done:.1f} s (exit {proc.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="notes to index (read only)")
    parser.add_argument("--word", default="kubernetes", help="search word (default kubernetes)")
    parser.add_argument("--runs", type=int, default=7, help="searches of each kind (default 7)")
    parser.add_argument("--first-run", type=int, default=969, help="notes of the new notebook (0: skip)")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        sys.exit(f"no corpus at {args.corpus} (use --corpus DIR)")
    with tempfile.TemporaryDirectory(prefix="kb-rebuild-feedback-") as tmp:
        search_during_rebuild(args.corpus.resolve(), Path(tmp), args.word, args.runs)
        if args.first_run:
            first_run(args.corpus.resolve(), Path(tmp), args.word, args.first_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
