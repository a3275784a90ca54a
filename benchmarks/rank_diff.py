"""Per-query rank changes between two ``quality.py --json`` files (before, after).

    python benchmarks/rank_diff.py BEFORE.json AFTER.json [--system kb-lib]

Prints MRR@10 per set and kind, before and after, then every query whose rank moved
(``-`` = not in the top 10). The text of a query of a check-only set (see
``quality.CHECK_ONLY``: sets nobody may tune on) is not printed, only its set, kind and
ranks: reading a miss is how tuning starts. Queries are matched by set, kind and text,
so the two files may come from different versions of the query sets (a query in only
one of them is counted on its side). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from quality import CHECK_ONLY, SETS, K

Key = tuple[str, str, str]  # set, kind, query


class BadInput(Exception):
    """A file that is not a quality.py --json result of the system asked for."""


def load_ranks(path: Path, system: str) -> dict[Key, int | None]:
    """``(set, kind, query) -> rank`` (None: not in the top K) of ``system`` in ``path``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise BadInput(f"cannot read {path}: {e}") from None
    systems = data.get("systems") if isinstance(data, dict) else None
    if not isinstance(systems, dict) or system not in systems:
        names = ", ".join(systems) if isinstance(systems, dict) else "none"
        raise BadInput(f"{path} has no results of system '{system}' (it has: {names})")
    out: dict[Key, int | None] = {}
    for q in systems[system].get("queries", []):
        try:
            key = (str(q["set"]), str(q["kind"]), str(q["query"]))
            rank = q["rank"]
        except (KeyError, TypeError):
            raise BadInput(f"{path}: a query without set, kind, query and rank") from None
        if rank is not None and not isinstance(rank, int):
            raise BadInput(f"{path}: rank {rank!r} of a query is not a number")
        out[key] = rank
    return out


def mrr(ranks: list[int | None]) -> float:
    return sum(1.0 / r for r in ranks if r is not None and r <= K) / len(ranks) if ranks else 0.0


def _groups(ranks: dict[Key, int | None]) -> dict[tuple[str, str], list[int | None]]:
    out: dict[tuple[str, str], list[int | None]] = {}
    for (set_, kind, _), r in ranks.items():
        out.setdefault((set_, kind), []).append(r)
        out.setdefault((set_, "all"), []).append(r)
    return out


def report(before: dict[Key, int | None], after: dict[Key, int | None]) -> list[str]:
    """The lines printed: the MRR table, then the moved queries."""
    gb, ga = _groups(before), _groups(after)
    lines = [f"{'set':<9} {'kind':<13} {'n':>4}  {'before':>6}  {'after':>6}  {'change':>7}"]
    order = {name: i for i, name in enumerate(SETS)}
    groups = sorted(set(gb) | set(ga), key=lambda g: (order.get(g[0], len(order)), g[0], g[1] == "all", g[1]))
    for group in groups:
        b, a = gb.get(group, []), ga.get(group, [])
        n = str(len(a)) if len(a) == len(b) else f"{len(b)}/{len(a)}"
        change = mrr(a) - mrr(b)
        lines.append(f"{group[0]:<9} {group[1]:<13} {n:>4}  {mrr(b):6.3f}  {mrr(a):6.3f}  {change:+7.3f}")
    moved = []
    for key in sorted(set(before) & set(after), key=lambda k: (order.get(k[0], len(order)), k)):
        rb, ra = before[key], after[key]
        if rb != ra:
            set_, kind, text = key
            shown = "(check-only set: query not shown)" if set_ in CHECK_ONLY else text
            moved.append(f"{set_:<9} {kind:<13} {_rank(rb):>2} -> {_rank(ra):<2}  {shown}")
    lines.append("")
    lines.append(f"{len(moved)} queries moved" + (":" if moved else ""))
    lines.extend(moved)
    return lines


def _rank(r: int | None) -> str:
    return "-" if r is None or r > K else str(r)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--system", default="kb-lib", help="whose ranks to compare (default kb-lib)")
    args = parser.parse_args(argv)
    try:
        before = load_ranks(args.before, args.system)
        after = load_ranks(args.after, args.system)
    except BadInput as e:
        print(f"rank_diff: {e}", file=sys.stderr)
        return 2
    print("\n".join(report(before, after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
