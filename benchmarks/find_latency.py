"""`kb find`: from a change of the query to the hits shown, in-process, and where the time goes.

The question (issue 11): with the index open for the whole session, do the hits follow the
typing (p95 <= 50 ms on the 1x corpus, <= 100 ms on 10x)? The real app runs headless
(Textual's ``run_test``, 80x24); queries from ``benchmarks/queries.tsv`` are typed one
character at a time into its query line (a Hangul syllable arrives composed, as from an
input method), a key every ``--pace`` ms or as soon as the previous key's hits are shown,
whichever is later (the preview of the previous hit renders meanwhile, as it would). Each
keystroke is timed from the change of the query line to the end of the handler that put
the new hits on the list (the headless driver paints nothing: a terminal's paint is not in).

Where the time goes, per keystroke: ``dispatch`` (Textual delivering the change to the
app's handler), ``wait`` (until the search thread starts it: the thread waking, the GIL
held by the UI or the preview thread), ``search`` (``Source.answer``: kb's search, no
snippets, word plans kept across keystrokes), ``show`` (the hop to the UI thread and
laying out the list).

Reference, measured in the same run on the same query prefixes: one ``kb search`` as the
command does it after start-up (``search.search`` with snippets, limit 10, no plans kept),
in-process. Rows are reported as p50/p95/max and as a ratio to the reference's p95.

Run: ``python benchmarks/find_latency.py [--notebook DIR] [--index-dir DIR] [--queries N]``.
The notebook is only read; the index lives in ``--index-dir`` (default: a temp dir, built
first; pass a kept one to skip the build). No watcher is started (``KB_WATCH=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared" / "corpus"


def typing_queries(n: int) -> list[str]:
    """The first ``n`` distinct queries of the eval set, alternating title- and body-style."""
    kinds: dict[str, list[str]] = {}
    for line in (HERE / "queries.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip() or line.startswith("#"):
            continue
        kind, query = line.split("\t")[:2]
        if query not in kinds.setdefault(kind, []):
            kinds[kind].append(query)
    out: list[str] = []
    lists = list(kinds.values())
    while len(out) < n and any(lists):
        for queue in lists:
            if queue and len(out) < n:
                out.append(queue.pop(0))
    return out


def prefixes(query: str) -> list[str]:
    return [query[: k + 1] for k in range(len(query))]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def row(label: str, values: list[float], ref_p95: float | None = None) -> str:
    ms = [v * 1000 for v in values]
    ratio = f"{pct(values, 95) / ref_p95:5.2f}x" if ref_p95 else "      "
    return (f"{label:<34} {len(ms):>5}  p50 {statistics.median(ms):7.1f}  p95 {pct(ms, 95):7.1f}  "
            f"max {max(ms):7.1f} ms  {ratio}")


async def type_all(app, queries: list[str], pace: float) -> list[dict[str, float]]:
    """Type every query into the running app; per keystroke, its timings."""
    from kb.find.widgets import QueryInput

    shown: dict[str, tuple[float, object]] = {}
    app.on_shown = lambda answer: shown.__setitem__(answer.query, (time.perf_counter(), answer))
    samples: list[dict[str, float]] = []
    async with app.run_test(size=(80, 24)) as pilot:
        box = app.query_one(QueryInput)
        while app.busy or app.answer is None:
            await pilot.pause(0.01)
        for query in queries:
            box.value = ""
            while app.busy:
                await pilot.pause(0.01)
            for ch in query:
                want = box.value + ch
                shown.pop(want, None)
                asked = time.perf_counter()
                box.insert_text_at_cursor(ch)
                while want not in shown:
                    await asyncio.sleep(0.0005)
                at, answer = shown[want]
                samples.append({"total": at - asked, "dispatch": answer.asked - asked,
                                "wait": answer.started - answer.asked,
                                "search": answer.finished - answer.started, "show": at - answer.finished,
                                "query": want, "hits": len(answer.items)})
                rest = pace - (time.perf_counter() - asked)
                if rest > 0:
                    await asyncio.sleep(rest)
    app.searches.stop()
    app.previews.stop()
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", type=Path, default=CORPUS, help="the notebook (default: the 1x corpus)")
    parser.add_argument("--index-dir", type=Path, default=None, help="its index (built if missing)")
    parser.add_argument("--queries", type=int, default=40, help="how many queries to type")
    parser.add_argument("--pace", type=float, default=120.0, help="ms between keys at the fastest")
    parser.add_argument("--no-preview", action="store_true", help="leave the preview out (what it costs)")
    args = parser.parse_args(argv)
    index_dir = args.index_dir or Path(tempfile.mkdtemp(prefix="kb-find-"))
    os.environ.update({"KB_DIR": str(args.notebook), "KB_INDEX_DIR": str(index_dir), "KB_WATCH": "0"})

    from kb.core import Notebook
    from kb.find.app import FindApp
    from kb.find.source import Source
    from kb.search import search

    start = time.perf_counter()
    notebook = Notebook.open(args.notebook)
    nb, ix = notebook.place, notebook.ix
    print(f"notebook {args.notebook}: {len(notebook.rows())} notes, index opened (synced, "
          f"built if missing) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    queries = typing_queries(args.queries)
    keys = [p for q in queries for p in prefixes(q)]

    # The reference: what one `kb search` computes, on the same prefixes (warm: one pass first).
    for q in keys[:20]:
        search(nb, q, limit=10, ix=ix)
    reference: list[float] = []
    for q in keys:
        t = time.perf_counter()
        search(nb, q, limit=10, ix=ix)
        reference.append(time.perf_counter() - t)
    ref_p95 = pct(reference, 95)

    app = FindApp(Source(notebook))
    if args.no_preview:
        app._ask_preview = lambda: None  # type: ignore[method-assign]
    samples = asyncio.run(type_all(app, queries, args.pace / 1000))
    print(f"{len(queries)} queries typed a character at a time ({len(samples)} keystrokes), "
          f"80x24, a key every >= {args.pace:.0f} ms")
    print(row("reference: kb search in-process", reference))
    print(row("kb find: query change -> hits", [s["total"] for s in samples], ref_p95))
    for part in ("dispatch", "wait", "search", "show"):
        print(row(f"  of which {part}", [s[part] for s in samples], ref_p95))
    slow = sorted(samples, key=lambda s: -s["total"])[:5]
    print("slowest keystrokes: " + ", ".join(f"{s['query']!r} {s['total'] * 1000:.0f} ms "
                                              f"(search {s['search'] * 1000:.0f})" for s in slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
