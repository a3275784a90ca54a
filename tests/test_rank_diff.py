"""benchmarks/rank_diff.py: per-query rank changes between two quality.py --json files,
the queries of check-only sets never printed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"


def _load():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # rank_diff imports quality as a sibling
    spec = importlib.util.spec_from_file_location("bench_rank_diff", BENCH / "rank_diff.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _write(path: Path, ranks: dict[tuple[str, str, str], int | None], system: str = "kb-lib") -> Path:
    queries = [{"set": s, "kind": k, "query": q, "relevant": ["a.md"], "rank": r, "seconds": 0.1,
                "results": []} for (s, k, q), r in ranks.items()]
    path.write_text(json.dumps({"systems": {system: {"queries": queries}}}, ensure_ascii=False), "utf-8")
    return path


BEFORE = {
    ("differ", "question", "헬름 릴리스를 되돌리려면"): None,
    ("differ", "question", "쿠키와 세션은 뭐가 다른가요"): 1,
    ("differ", "typo", "쿠버네티즈"): 2,
    ("fresh", "question", "SECRET QUESTION TEXT"): 3,
}
AFTER = {
    ("differ", "question", "헬름 릴리스를 되돌리려면"): 2,
    ("differ", "question", "쿠키와 세션은 뭐가 다른가요"): 1,
    ("differ", "typo", "쿠버네티즈"): 2,
    ("fresh", "question", "SECRET QUESTION TEXT"): 1,
}


def test_mrr_per_set_and_kind_and_the_moved_queries(tmp_path, capsys):
    rd = _load()
    rc = rd.main([str(_write(tmp_path / "a.json", BEFORE)), str(_write(tmp_path / "b.json", AFTER))])
    out = capsys.readouterr().out
    assert rc == 0
    table = out.split("\n\n")[0].splitlines()[1:]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in table}
    # differ question: before (0 + 1) / 2, after (1/2 + 1) / 2
    assert rows[("differ", "question")] == ["2", "0.500", "0.750", "+0.250"]
    assert rows[("differ", "typo")] == ["1", "0.500", "0.500", "+0.000"]
    assert rows[("differ", "all")] == ["3", "0.500", "0.667", "+0.167"]
    assert rows[("fresh", "question")] == ["1", "0.333", "1.000", "+0.667"]
    assert "2 queries moved:" in out
    assert "-> 2" in out and "헬름 릴리스를 되돌리려면" in out
    assert "쿠키와 세션" not in out.split("queries moved")[1]  # unchanged: not listed


def test_a_check_only_sets_queries_are_not_printed(tmp_path, capsys):
    rd = _load()
    assert {"fresh", "fresh2", "fresh3", "fresh4", "fresh5"} <= rd.CHECK_ONLY
    rd.main([str(_write(tmp_path / "a.json", BEFORE)), str(_write(tmp_path / "b.json", AFTER))])
    out = capsys.readouterr().out
    assert "SECRET QUESTION TEXT" not in out
    assert "fresh     question       3 -> 1   (check-only set: query not shown)" in out


@pytest.mark.parametrize("content, why", [
    ("not json", "cannot read"),
    ('{"systems": {"kb": {"queries": []}}}', "has no results of system 'kb-lib' (it has: kb)"),
    ('{"systems": {"kb-lib": {"queries": [{"set": "main"}]}}}', "a query without set, kind, query and rank"),
    ('{"systems": {"kb-lib": {"queries": [{"set": "main", "kind": "title", "query": "q", "rank": "1"}]}}}',
     "is not a number"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, why):
    rd = _load()
    bad = tmp_path / "bad.json"
    bad.write_text(content, "utf-8")
    good = _write(tmp_path / "good.json", BEFORE)
    assert rd.main([str(bad), str(good)]) == 2
    err = capsys.readouterr().err.strip()
    assert why in err and err.startswith("rank_diff: ") and "\n" not in err


def test_a_missing_file(tmp_path, capsys):
    rd = _load()
    assert rd.main([str(tmp_path / "none.json"), str(tmp_path / "none.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_kb_lib_reuses_a_kept_index(tmp_path, monkeypatch):
    """KB_BENCH_LIB_INDEX=DIR: quality.py's kb-lib system indexes into DIR and keeps it, and
    the next run only brings it up to date (a query-time experiment without a rebuild)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import _baselines

    import kb.index.sync as sync

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "deadlock.md").write_text("# 교착 상태\n\n두 트랜잭션이 서로의 락을 기다린다.\n", "utf-8")
    kept = tmp_path / "kept-index"
    monkeypatch.setenv("KB_BENCH_LIB_INDEX", str(kept))
    rebuilds: list[bool] = []
    real = sync.sync_index

    def recording(nb, *args, **kwargs):
        rebuilds.append(bool(kwargs.get("rebuild")))
        return real(nb, *args, **kwargs)

    monkeypatch.setattr(sync, "sync_index", recording)
    first = _baselines.KbLibSystem()
    first.index(notes)
    assert first.search("교착 상태", 10) == ["deadlock.md"]
    first.close()
    assert any(p.name.endswith(".toc") for p in kept.iterdir())  # the index is there, and stays
    second = _baselines.KbLibSystem()
    second.index(notes)
    assert second.search("락을 기다린다", 10) == ["deadlock.md"]
    second.close()
    assert rebuilds == [False, False]  # brought up to date, never rebuilt
