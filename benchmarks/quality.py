"""Retrieval-quality benchmark: kb against the search of other note tools.

Run from the repository root, with the Python that has kb and Whoosh
installed (kb is run as ``sys.executable -m kb``), e.g. ``.venv/bin/python``::

    python benchmarks/quality.py [--corpus DIR]
        [--set main|differ|holdout|fresh|fresh2|fresh3|fresh4|fresh5|all]
        [--queries FILE] [--systems kb,grep,fts5,whoosh,recoll] [--verbose]
        [--json FILE]

Defaults: ``--corpus ../shared/corpus``, ``--set all`` and all five systems.
Each system indexes the corpus once, then runs every query of the chosen
sets; the top 10 paths are compared with the relevant ones.

Eight query sets (``--set``; ``--queries FILE`` runs one file instead):

* ``main`` -- ``benchmarks/queries.tsv``: ``title`` (topic words a person
  types to reopen a note) and ``body`` (rare words remembered from inside
  it), the note's own words.  Its table gives, per kind and overall, MRR@10,
  hit@1 and hit@5, then the time to index and the median time of one query.
* ``differ`` -- ``benchmarks/queries_differ.tsv``: queries whose words differ
  from the note's (issue 10): ``cross-script`` (English word for a note that
  only writes the Hangul loanword, or the reverse), ``typo`` (a Korean typo or
  spelling variant, an English letter swap), ``question`` (a natural question
  as typed in a search box), ``code`` (code or a command remembered from a
  code block) and ``english`` (English queries for English notes whose words
  differ only by inflection).  Its tables give MRR@10, hit@1 and hit@5 with a
  row per kind and a column per system, plus ``4 kinds`` (cross-script, typo,
  question, code together) and ``all``.
* ``holdout`` -- ``benchmarks/queries_holdout.tsv``: 40 more queries of the
  differ kinds (20 question, 10 english, 10 cross-script and typo), kept
  out of tuning: a check that what helps the differ set generalises.
* ``fresh`` -- ``benchmarks/queries_fresh.tsv``: 23 more questions, written
  (by reading each target note) after the holdout set had been looked at,
  and never tuned on.
* ``fresh2`` -- ``benchmarks/queries_fresh2.tsv``: 80 more queries of the
  differ kinds (40 question, 10 each cross-script, typo, english, code),
  written in session 4 by the helper qset while others tuned the question
  ranking: each query's target fixed by reading the note before any system
  ran on it, and never tuned on.
* ``fresh3`` -- ``benchmarks/queries_fresh3.tsv``: 90 more queries of the
  differ kinds (50 question, 10 each cross-script, typo, english, code),
  written in session 5 by the helper qset3 the same way, for the lead only:
  other helpers do not open it, so nothing is ever tuned on it.
* ``fresh4`` -- ``benchmarks/queries_fresh4.tsv``: 100 more queries of the
  differ kinds (60 question, 10 each cross-script, typo, english, code),
  written in session 6 by the helper qset4 the same way, blind to every
  system's results, for the lead only (other helpers do not open it).
* ``fresh5`` -- ``benchmarks/queries_fresh5.tsv``: 100 more queries of the
  differ kinds (40 question, 30 english, 10 each cross-script, typo, code),
  written in session 8 by the helper qset5 the same way, blind to every
  system's results, for the lead only (other helpers do not open it).

A queries file is UTF-8 TSV with the header ``kind<TAB>query<TAB>relevant``
and an optional fourth column ``check`` (what ``check_queries.py``
verifies; ignored here); lines starting with ``#`` are comments; ``relevant``
lists corpus-relative paths separated by `` | ``: a query scores by the
first of them in the top 10.

Systems (see ``_baselines.py``):

* ``kb``     -- the system under test, through its CLI:
  ``python -m kb --dir CORPUS index --rebuild`` then, per query,
  ``python -m kb --dir CORPUS search --json --limit 10 -- QUERY``, with a
  temporary ``KB_INDEX_DIR``.  Query times include interpreter start-up.
* ``grep``   -- nb's search: notes holding every query word as a
  case-insensitive substring, ranked by total occurrences, ties by path.
* ``fts5``   -- zk's SQLite FTS5 index (``porter unicode61``, bm25 with
  weights 1000/500/1 on path/title/body, each word quoted, implicit AND).
* ``whoosh`` -- a plain Whoosh index: StandardAnalyzer, title boost 2,
  MultifieldParser over title/body (AND), BM25F.
* ``recoll`` -- Recoll (Xapian, CJK bigrams), ``recollindex`` then
  ``recollq -a`` in relevance order; skipped when recoll is not installed.
  Its index time is the reference for the performance benchmark.

All paths are compared as corpus-relative, POSIX, NFC-normalised strings.

Trying a change to ranking (query time only): ``--systems kb-lib`` (kb called
in-process, the same ranking) with ``KB_BENCH_LIB_INDEX=DIR`` indexes into DIR once
and later runs only bring it up to date (a few seconds, not a rebuild); write
``--json`` for each version and compare them with ``rank_diff.py BEFORE AFTER`` (MRR
per set and kind, each query that moved; a check-only set's queries not shown).
An index-time change needs a fresh DIR (or none: a temporary one, rebuilt).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _baselines import (
    SYSTEMS,
    KbCliSystem,
    RecollSystem,
    SearchSystem,
    iter_note_files,
    norm_path,
    recoll_version,
)

K = 10  # results looked at per query
MAIN_KINDS = ("title", "body")
DIFFER_KINDS = ("cross-script", "typo", "question", "code", "english")
# The "all 60": the four kinds where the query's words are not the note's.
DIFFER_CORE = ("cross-script", "typo", "question", "code")
KINDS = MAIN_KINDS + DIFFER_KINDS
HEADER = ("kind", "query", "relevant")
# The corpus sits beside the repository: <repo>/../shared/corpus.
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
SETS = {
    "main": Path(__file__).resolve().with_name("queries.tsv"),
    "differ": Path(__file__).resolve().with_name("queries_differ.tsv"),
    # Written after the differ set, before tuning on it, and never tuned on: how the
    # differ set's gains carry over to queries kb was not shaped by.
    "holdout": Path(__file__).resolve().with_name("queries_holdout.tsv"),
    # 23 questions written in session 3 by reading their notes, before any ranking was run
    # on them, and never tuned on.
    "fresh": Path(__file__).resolve().with_name("queries_fresh.tsv"),
    # 80 queries of the five differ kinds written in session 4 (helper qset) by reading their
    # notes, before any system was run on them, while others tuned on the sets above; never tuned on.
    "fresh2": Path(__file__).resolve().with_name("queries_fresh2.tsv"),
    # 90 queries of the five differ kinds written in session 5 (helper qset3) the same way, for the
    # lead only: the other helpers do not open it.
    "fresh3": Path(__file__).resolve().with_name("queries_fresh3.tsv"),
    # 100 queries of the five differ kinds written in session 6 (helper qset4) the same way, blind to
    # every system's results, for the lead only: the other helpers do not open it.
    "fresh4": Path(__file__).resolve().with_name("queries_fresh4.tsv"),
    # 100 queries of the five differ kinds (40 question, 30 english) written in session 8 (helper
    # qset5) the same way, blind to every system's results, for the lead only.
    "fresh5": Path(__file__).resolve().with_name("queries_fresh5.tsv"),
}
#: Sets only to be checked, never studied or tuned on: ``rank_diff.py`` does not print their queries.
CHECK_ONLY = frozenset(("fresh", "fresh2", "fresh3", "fresh4", "fresh5"))


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    relevant: frozenset[str]
    set: str = "main"


@dataclass
class Outcome:
    """One query's result for one system."""

    query: Query
    results: list[str]
    seconds: float

    @property
    def rank(self) -> int | None:
        """1-based rank of the first relevant result in the top K, if any."""
        for position, path in enumerate(self.results[:K], start=1):
            if path in self.query.relevant:
                return position
        return None


@dataclass
class Run:
    """All of one system's outcomes."""

    name: str
    index_seconds: float
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def median_query_ms(self) -> float:
        times = [o.seconds for o in self.outcomes]
        return statistics.median(times) * 1000 if times else float("nan")


# --------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------


def parse_query_line(line: str, where: str, set_name: str = "main") -> Query:
    parts = line.split("\t")
    if len(parts) not in (3, 4):
        raise ValueError(f"{where}: expected 3 or 4 tab-separated fields, got {len(parts)}")
    kind, text, relevant = (p.strip() for p in parts[:3])
    if kind not in KINDS:
        raise ValueError(f"{where}: kind must be one of {KINDS}, not {kind!r}")
    paths = frozenset(norm_path(p.strip()) for p in relevant.split(" | ") if p.strip())
    if not text or not paths:
        raise ValueError(f"{where}: empty query or relevant list")
    return Query(kind, text, paths, set_name)


def load_queries(path: Path, set_name: str = "main") -> list[Query]:
    queries: list[Query] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        if tuple(p.strip() for p in line.split("\t"))[:3] == HEADER:
            continue
        queries.append(parse_query_line(line, f"{path}:{number}", set_name))
    return queries


def check_relevant(queries: list[Query], corpus: Path) -> None:
    """Warn about relevant paths that are not notes of the corpus."""
    notes = set(iter_note_files(corpus))
    for query in queries:
        for path in sorted(query.relevant - notes):
            print(
                f"warning: {query.text!r}: relevant {path!r} is not a note",
                file=sys.stderr,
            )


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def run_system(system: SearchSystem, corpus: Path, queries: list[Query]) -> Run:
    print(f"[{system.name}] indexing ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    system.index(corpus)
    run = Run(system.name, time.perf_counter() - start)
    print(
        f"[{system.name}] indexed in {run.index_seconds:.1f} s; {len(queries)} queries ...",
        file=sys.stderr,
        flush=True,
    )
    for query in queries:
        start = time.perf_counter()
        results = [norm_path(p) for p in system.search(query.text, K)]
        run.outcomes.append(Outcome(query, results, time.perf_counter() - start))
    return run


def run_all(names: list[str], corpus: Path, queries: list[Query]) -> list[Run]:
    runs: list[Run] = []
    for name in names:
        system = SYSTEMS[name]()
        reason = system.unavailable()
        if reason:
            print(f"notice: skipping {name}: {reason}", file=sys.stderr)
            continue
        if isinstance(system, RecollSystem):
            print(f"[recoll] {recoll_version()}", file=sys.stderr)
        try:
            runs.append(run_system(system, corpus, queries))
        finally:
            system.close()
        if isinstance(system, KbCliSystem) and system.failures:
            print(f"warning: kb failed {system.failures} time(s)", file=sys.stderr)
    return runs


# --------------------------------------------------------------------------
# Metrics and report
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    n: int
    mrr: float
    hit1: float
    hit5: float


def score(outcomes: list[Outcome]) -> Scores:
    ranks = [o.rank for o in outcomes]
    n = len(ranks)
    if n == 0:
        return Scores(0, float("nan"), float("nan"), float("nan"))
    return Scores(
        n,
        sum(1 / r for r in ranks if r) / n,
        sum(1 for r in ranks if r == 1) / n,
        sum(1 for r in ranks if r and r <= 5) / n,
    )


def kinds_of(queries: list[Query]) -> tuple[str, ...]:
    """The kinds present in ``queries``, in the order of ``KINDS``."""
    present = {q.kind for q in queries}
    return tuple(k for k in KINDS if k in present)


def scores_by_group(run: Run, kinds: tuple[str, ...] = KINDS) -> dict[str, Scores]:
    groups = {kind: score([o for o in run.outcomes if o.query.kind == kind]) for kind in kinds}
    if len(kinds) > 2 and set(DIFFER_CORE) <= set(kinds):
        groups["4 kinds"] = score([o for o in run.outcomes if o.query.kind in DIFFER_CORE])
    groups["all"] = score(run.outcomes)
    return groups


def format_table(rows: list[list[str]], header_rows: int) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if number == header_rows - 1:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report_table(runs: list[Run], queries: list[Query]) -> str:
    """One row per system: MRR@10, hit@1, hit@5 per kind and overall, then times."""
    kinds = kinds_of(queries)
    counts = {k: sum(1 for q in queries if q.kind == k) for k in kinds}
    counts["all"] = len(queries)
    top = ["system"]
    sub = [""]
    for group in (*kinds, "all"):
        top += [f"{group} (n={counts[group]})", "", ""]
        sub += ["MRR@10", "hit@1", "hit@5"]
    top += ["index", "query"]
    sub += ["s", "median ms"]
    rows = [top, sub]
    for run in runs:
        row = [run.name]
        for s in scores_by_group(run, kinds).values():
            row += [f"{s.mrr:.3f}", f"{s.hit1:.3f}", f"{s.hit5:.3f}"]
        row += [f"{run.index_seconds:.1f}", f"{run.median_query_ms:.1f}"]
        rows.append(row)
    return format_table(rows, header_rows=2)


METRICS = (("MRR@10", "mrr"), ("hit@1", "hit1"), ("hit@5", "hit5"))


def report_kind_tables(runs: list[Run], queries: list[Query]) -> str:
    """As the issue prints it: a row per kind, a column per system; one table
    per metric, then each system's median query time."""
    kinds = kinds_of(queries)
    tables = []
    by_run = [scores_by_group(run, kinds) for run in runs]
    for label, attr in METRICS:
        rows = [[label, "n", *(run.name for run in runs)]]
        for group, first in by_run[0].items():
            rows.append([group, str(first.n), *(f"{getattr(g[group], attr):.3f}" for g in by_run)])
        tables.append(format_table(rows, header_rows=1))
    times = ", ".join(f"{run.name} {run.median_query_ms:.1f}" for run in runs)
    tables.append(f"median query ms: {times}")
    return "\n\n".join(tables)


def subset(run: Run, name: str) -> Run:
    """``run`` restricted to the queries of one set."""
    return Run(run.name, run.index_seconds, [o for o in run.outcomes if o.query.set == name])


def report_ranks(runs: list[Run]) -> str:
    """One line per query: its kind, each system's rank (``-`` = missed)."""
    if not runs:
        return ""
    rows = [["kind", *(r.name for r in runs), "query -> first relevant"]]
    for i, outcome in enumerate(runs[0].outcomes):
        ranks = [r.outcomes[i].rank for r in runs]
        query = outcome.query
        relevant = sorted(query.relevant)
        more = f" (+{len(relevant) - 1})" if len(relevant) > 1 else ""
        target = f"{query.text}  ->  {relevant[0]}{more}"
        rows.append([query.kind, *(str(rank) if rank else "-" for rank in ranks), target])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)) for row in rows]
    return "\n".join(f"{line}  {row[-1]}" for line, row in zip(lines, rows, strict=True))


def _finite(value: float) -> float | None:
    """JSON has no NaN: an empty group's scores are written as null."""
    return None if math.isnan(value) else value


def write_json(path: Path, runs: list[Run], corpus: Path, files: dict[str, Path]) -> None:
    data = {
        "corpus": str(corpus),
        "queries": {name: str(file) for name, file in files.items()},
        "k": K,
        "systems": {
            run.name: {
                "index_seconds": run.index_seconds,
                "median_query_ms": _finite(run.median_query_ms),
                "scores": {
                    name: {
                        g: {k: _finite(v) for k, v in vars(s).items()}
                        for g, s in scores_by_group(part, kinds_of([o.query for o in part.outcomes])).items()
                    }
                    for name in files
                    for part in [subset(run, name)]
                },
                "queries": [
                    {
                        "set": o.query.set,
                        "kind": o.query.kind,
                        "query": o.query.text,
                        "relevant": sorted(o.query.relevant),
                        "rank": o.rank,
                        "seconds": o.seconds,
                        "results": o.results,
                    }
                    for o in run.outcomes
                ],
            }
            for run in runs
        },
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--set",
        choices=(*SETS, "all"),
        default="all",
        help="which judged set: main (title/body), differ (issue 10's kinds), holdout (the same kinds, "
        "never tuned on), fresh (questions, never tuned on), fresh2 to fresh5 (all five kinds, never "
        "tuned on; fresh3, fresh4 and fresh5 are the lead's) or all (default)",
    )
    parser.add_argument("--queries", type=Path, help="run this queries file instead of --set")
    parser.add_argument(
        "--systems",
        default=",".join(s for s in SYSTEMS if s != "kb-lib"),
        help="comma-separated, from: " + ", ".join(SYSTEMS),
    )
    parser.add_argument("--verbose", action="store_true", help="print every query's ranks")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write per-query ranks")
    args = parser.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in args.systems if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system(s): {', '.join(unknown)}")
    if args.queries is not None:
        args.files = {args.queries.stem: args.queries}
    else:
        args.files = dict(SETS) if args.set == "all" else {args.set: SETS[args.set]}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    queries: list[Query] = []
    for name, file in args.files.items():
        try:
            found = load_queries(file, name)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if not found:
            print(f"error: no queries in {file}", file=sys.stderr)
            return 2
        queries += found
    check_relevant(queries, args.corpus)
    runs = run_all(args.systems, args.corpus, queries)
    if args.verbose:
        print(report_ranks(runs))
        print()
    for name, file in args.files.items():
        part = [q for q in queries if q.set == name]
        parts = [subset(run, name) for run in runs]
        print(f"== {name}: {file.name}, {len(part)} queries, top {K}")
        if set(kinds_of(part)) <= set(MAIN_KINDS):
            print(report_table(parts, part))
        else:
            print(report_kind_tables(parts, part))
        print()
    print(f"{len(queries)} queries; total run {time.perf_counter() - started:.0f} s")
    if args.json:
        write_json(args.json, runs, args.corpus, args.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
