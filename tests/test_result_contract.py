"""The keys of every ``--json`` output of kb, pinned (as pipx's tests/test_result_contract.py).

Scripts read these; a refactor must not rename, drop, add or reorder a key by accident.
Each output is read as key paths (``hits[].slug``; ``tags[]`` a list of plain values):
every object must hold exactly the keys listed under its path, in that order, and
every path listed must occur. Changing one on purpose means
changing it here too, and saying so in the README.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kb.cli import app

NOTE = ["slug", "title", "path", "tags", "tags[]", "date"]
HIT = ["slug", "title", "path", "tags", "tags[]", "score", "snippet", "line"]


def _prefixed(prefix: str, keys: list[str]) -> list[str]:
    return [f"{prefix}{k}" for k in keys]


#: command line -> the key paths of its output ("[]" is "each item of a list").
CONTRACT: dict[str, list[str]] = {
    "index --json": ["added", "updated", "removed", "total", "rebuilt", "seconds", "warnings",
                     "warnings[].path", "warnings[].message"],
    "search --json rbac": _prefixed("[].", HIT),
    "search --json --explain 서비스어카운트를 rbac": [
        "query", "explain",
        "explain.words", "explain.words[].word", "explain.words[].terms", "explain.words[].terms[]",
        "explain.words[].found", "explain.words[].question", "explain.words[].correction",
        "explain.words[].stem",
        "explain.words[].variants", "explain.words[].variants[].terms", "explain.words[].variants[].terms[]",
        "explain.words[].variants[].weight", "explain.words[].variants[].kind",
        "explain.words[].variants[].why",
        "explain.combined", "explain.hits", "explain.hits[].slug", "explain.hits[].score",
        "explain.hits[].matched", "explain.hits[].matched[].field", "explain.hits[].matched[].term",
        "hits", *_prefixed("hits[].", HIT),
    ],
    "show --json k8s/rbac": ["slug", "title", "path", "tags", "tags[]", "date", "links", "links[]",
                             "backlinks", "backlinks[]", "body", "warnings"],
    "related --json rag": _prefixed("[].", HIT),
    "list --json": _prefixed("[].", NOTE),
    "list --json --broken-links": ["[].source", "[].target", "[].reason"],
    "tags --json": ["[].tag", "[].count"],
    "tags --json kubernetes": _prefixed("[].", NOTE),
    "links --json k8s/rbac": ["slug", "title", "outgoing", "outgoing[].source", "outgoing[].target",
                              "outgoing[].slug", "outgoing[].broken", "outgoing[].reason", "outgoing[].title",
                              "backlinks", "backlinks[].slug", "backlinks[].title"],
    "recent --json": ["[].slug", "[].title", "[].path", "[].tags", "[].tags[]", "[].modified"],
    "stats --json": ["notes", "words", "tags", "links", "broken_links", "orphans", "hangul_syllables",
                     "latin_letters", "korean_share", "english_share", "largest", "largest[].slug",
                     "largest[].title", "largest[].words", "largest[].bytes"],
    "info --json": ["notebook", "index", "source", "notes", "indexed", "fresh", "pending", "pending.added",
                    "pending.changed", "pending.removed", "watcher"],
    "templates --json": ["[].name", "[].path", "[].first_line"],
    # JSON Lines: one object per matching line
    "grep --json RBAC": ["slug", "path", "line", "column", "text", "submatches", "submatches[].start",
                         "submatches[].end", "submatches[].text"],
}


def _objects(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in ``value`` with its path (``hits[]``), depth first."""
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _objects(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item, f"{path}[]")


def _scalars_lists(value: Any, path: str = "") -> Iterator[str]:
    """The paths of lists holding something other than objects (``tags[]``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _scalars_lists(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                yield from _scalars_lists(item, f"{path}[]")
            else:
                yield f"{path}[]"


def _check(value: Any, expected: list[str], line: str) -> None:
    """Every object holds exactly the keys ``expected`` lists below its path, in that order,
    and every path listed is there."""
    seen = set(_scalars_lists(value))
    for path, obj in _objects(value):
        want = [e.rpartition(".")[2] if "." in e else e for e in expected
                if (e.rpartition(".")[0] if "." in e else "") == path and not e.endswith("[]")]
        assert list(obj) == want, (line, path)
        seen.update(f"{path}.{k}" if path else k for k in obj)
    assert seen == set(expected), line


@pytest.fixture
def contract_notebook(notebook_dir: Path) -> Path:
    """The fixture notebook, with a broken link and a template, so every list has items."""
    dangling = "---\ntitle: Dangling\n---\nsee [[nowhere]]\n"
    (notebook_dir / "dangling.md").write_text(dangling, encoding="utf-8")
    templates = notebook_dir / ".kb" / "templates"
    templates.mkdir(parents=True)
    (templates / "cka.md").write_text("---\ncourse: x\n---\n# {{ title }}\n", encoding="utf-8")
    return notebook_dir


def test_every_json_command_is_pinned() -> None:
    """A new command with --json gets a line above (found from the commands' options)."""
    with_json = set()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        params = command.callback.__code__.co_varnames  # type: ignore[union-attr]
        if "as_json" in params:
            with_json.add(name)
    pinned = {line.split()[0] for line in CONTRACT}
    assert with_json - pinned == set()


def test_json_keys_are_the_contract(contract_notebook: Path) -> None:
    runner = CliRunner()
    for line, expected in CONTRACT.items():
        result = runner.invoke(app, line.split())
        assert result.exit_code == 0, (line, result.output)
        text = result.stdout
        if line.startswith("grep"):
            lines = text.splitlines()
            assert lines, line
            for one in lines:
                _check(json.loads(one), expected, line)
        else:
            _check(json.loads(text), expected, line)

