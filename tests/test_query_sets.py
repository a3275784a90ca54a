"""The judged query sets of ``benchmarks/quality.py``: every set parses, and
``check_queries.py`` checks every one of them by default.

The corpus the sets are judged on is not in the repository, so these tests only
read the files: kinds, rows and the four-column rows' check column. Whether the
relevant paths and checks hold against the corpus is ``check_queries.py``'s job.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"


def _load(name: str):
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # quality.py imports _baselines as a sibling
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


quality = _load("quality")
check_queries = _load("check_queries")


@pytest.mark.parametrize("name", sorted(quality.SETS))
def test_every_set_parses(name: str) -> None:
    queries = quality.load_queries(quality.SETS[name], name)
    assert queries and all(q.set == name and q.relevant for q in queries)


def test_check_queries_checks_every_set() -> None:
    assert set(check_queries.DEFAULT_FILES) == set(quality.SETS.values())


# The held-out sets of the five differ kinds, and how many queries of each kind they hold.
FRESH_COUNTS = {
    "fresh2": {"cross-script": 10, "typo": 10, "question": 40, "code": 10, "english": 10},
    "fresh3": {"cross-script": 10, "typo": 10, "question": 50, "code": 10, "english": 10},
    "fresh4": {"cross-script": 10, "typo": 10, "question": 60, "code": 10, "english": 10},
    "fresh5": {"cross-script": 10, "typo": 10, "question": 40, "code": 10, "english": 30},
}


@pytest.mark.parametrize("name", sorted(FRESH_COUNTS))
def test_fresh_sets_have_every_differ_kind_and_checks_where_the_kind_needs_one(name: str) -> None:
    queries = quality.load_queries(quality.SETS[name], name)
    counts = {kind: sum(q.kind == kind for q in queries) for kind in quality.DIFFER_KINDS}
    assert counts == FRESH_COUNTS[name]
    rows = [
        line.split("\t")
        for line in quality.SETS[name].read_text("utf-8").splitlines()[1:]
        if line and not line.startswith("#")
    ]
    assert len(rows) == len(queries)
    for row in rows:
        needs_check = row[0] in ("cross-script", "typo", "code")
        assert (len(row) == 4 and row[3].strip()) if needs_check else len(row) == 3, row


def test_fresh_sets_do_not_repeat_a_query() -> None:
    seen: dict[str, str] = {}
    for name in FRESH_COUNTS:
        for query in quality.load_queries(quality.SETS[name], name):
            assert query.text not in seen, (query.text, seen.get(query.text), name)
            seen[query.text] = name
