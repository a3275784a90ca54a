"""Cold ``kb show`` of long notes, served, two kb installations A/B in one interleaved run.

Each round starts a fresh server of each installation (its own socket name), waits
``--pause`` seconds (a user's next command does not come at once: a server works ahead
while idle), then shows each of ``--notes`` long notes with code once on each (the first
untimed), in alternating order, with ``python -c pass`` in the same rotation. Prints the
wall-time median against that floor and the servers' CPU a show (robust on a busy
machine). Both may read the same index folder when the index format is the same.

Run: ``python benchmarks/cold_show_ab.py NOTEBOOK INDEX_A KB_A INDEX_B KB_B [--rounds 3]
[--notes 20] [--pause 1.0]`` (KB_A/KB_B: the ``kb`` scripts of two virtualenvs or
worktrees; NOTEBOOK: e.g. ``perf.py --keep DIR``'s ``DIR/notebook-10x``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import perf  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("index_a", type=Path)
    parser.add_argument("kb_a")
    parser.add_argument("index_b", type=Path)
    parser.add_argument("kb_b")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--notes", type=int, default=perf.COLD_SHOWS)
    parser.add_argument("--pause", type=float, default=1.0)
    args = parser.parse_args(argv)
    sides = {"A": (args.index_a, [args.kb_a]), "B": (args.index_b, [args.kb_b])}
    slugs = perf.long_notes(args.notebook, args.notes + 1)
    floor = perf.Job("floor", [sys.executable, "-c", "pass"], dict(os.environ))
    env = {k: {**perf.served_env(perf.kb_env(ix.resolve())), "KB_SERVER_NAME": f"ab-{k}-{os.getpid()}"}
           for k, (ix, _) in sides.items()}
    wall: dict[str, list[float]] = {k: [] for k in sides}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    floors: list[float] = []
    for r in range(args.rounds):
        pids = {}
        for k, (_, kb) in sides.items():
            perf.stop_server(kb, env[k], starting=False)
            perf.run_once(perf.kb_job("start", kb, args.notebook, ["list", "--limit", "1"], env[k]))
            perf.wait_server(kb, env[k], True)
            pids[k] = perf.server_pid(kb, env[k])
        time.sleep(args.pause)
        for i, slug in enumerate(slugs):
            order = list(sides) if (i + r) % 2 == 0 else list(sides)[::-1]
            f = perf.run_once(floor)
            if i:
                floors.append(f.seconds)
            for k in order:
                kb = sides[k][1]
                before = perf.cpu_seconds(pids[k])
                show = perf.kb_job("show", kb, args.notebook, ["show", slug, "--no-pager"], env[k])
                run = perf.run_once(show)
                after = perf.cpu_seconds(pids[k])
                if run.error:
                    print(f"{k} {slug}: {run.error}", file=sys.stderr)
                elif i and before is not None and after is not None:
                    wall[k].append(run.seconds)
                    cpu[k].append(after - before)
        for k, (_, kb) in sides.items():
            perf.stop_server(kb, env[k])
        print(f"round {r + 1}: " + ", ".join(
            f"{k} server CPU median {statistics.median(cpu[k][-args.notes:]) * 1000:.0f} ms" for k in sides
            if cpu[k]), flush=True)
    ref = statistics.median(floors)
    print(f"python -c pass: median {ref * 1000:.1f} ms ({len(floors)} runs); load {os.getloadavg()}")
    for k in sides:
        if not wall[k]:
            print(f"{k}: no timed show")
            continue
        w = statistics.median(wall[k])
        print(f"{k}: wall median {w * 1000:.0f} ms = {w / ref:.2f}x floor; server CPU a show median "
              f"{statistics.median(cpu[k]) * 1000:.0f} ms, mean {statistics.mean(cpu[k]) * 1000:.0f} ms "
              f"({len(cpu[k])} shows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
