"""A hyphenated compound typed with another inflection of its part (issue 10, English
inflections): ``self-healed`` for a note that writes ``self-healing``. SQLite FTS5
(Porter) splits the compound and stems its parts; kb keeps it whole and must find the
notes' compounds whose parts have the same stems."""

from __future__ import annotations

from pathlib import Path

import pytest
from indexed import found, indexed

from kb.search import search


def _stems(nb, ix, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    r = search(nb, query, limit=5, ix=ix, explain=True)
    assert r.explanation is not None
    return {" ".join(v.terms) for w in r.explanation.words for v in w.variants if v.kind == "stem"}


NOTES = {
    # each target writes the compound in another form than the query
    "heal.md": "# Operators\n\nA self-healing cluster restarts what fails.\n",
    "trade.md": "# State pattern\n\nThe trade-off of the pattern: more types.\n",
    "coded.md": "# Installer\n\nThe first installer took a hard-coded list of manifests.\n",
    "never.md": "# Types\n\nA function that never returns has the type `!`.\n",
    # siblings holding the other query words, and the compound's parts apart
    "systems.md": "# Systems\n\nSystems fail. A cluster heals itself when an operator restarts pods.\n",
    "self.md": "# Self\n\nThe pattern itself: a state holds a list, and the cluster heals.\n",
    "hard.md": "# Hard problems\n\nCoding the installer list was hard: manifests everywhere.\n",
    "loop.md": "# Loops\n\nA loop may never end; the function returned early. Never mind the type.\n",
}


@pytest.mark.parametrize(("query", "form", "target"), [
    ("self-healed cluster", "self-healing", "heal.md"),
    ("pattern trade-offs", "trade-off", "trade.md"),
    ("hard-coding manifests list", "hard-coded", "coded.md"),
    # a compound the notes write as words: its parts in a row, in other forms
    ("never-returned function type", "never returns", "never.md"),
])
def test_a_compound_finds_the_notes_forms_of_it(tmp_path: Path, query: str, form: str,
                                                target: str) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    compound = next(word for word in query.split() if "-" in word)
    assert form in _stems(nb, ix, compound)
    assert found(nb, ix, query)[:1] == [target]


def test_only_compounds_with_every_part_of_the_same_stem(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, {**NOTES, "more.md": "# More\n\nself-hosted, self-help, hard-core.\n"})
    compounds = {s for s in _stems(nb, ix, "self-healed") if "-" in s}
    assert compounds == {"self-healing"}
    assert {s for s in _stems(nb, ix, "self-hosting") if "-" in s} == {"self-hosted"}
    assert "hard-core" not in _stems(nb, ix, "hard-coding")
    # identifiers and code are not compounds of words: nothing is looked up for them
    assert _stems(nb, ix, "max_active_runs") == set()
    assert _stems(nb, ix, "--dry-run=client") == set()


def test_a_compound_finds_the_word_the_notes_write_it_as(tmp_path: Path) -> None:
    notes = {
        "auto.md": "# Scaling\n\nAutoscaling adds pods when the load grows.\n",
        "pods.md": "# Pods\n\nPods are scaled by hand; the load is auto detected.\n",
        "lb.md": "# Traffic\n\nLoad balancing spreads requests over servers.\n",
        "other.md": "# Servers\n\nA load-balanced pair of servers; requests are balanced.\n",
    }
    nb, ix = indexed(tmp_path, notes)
    assert "autoscaling" in _stems(nb, ix, "auto-scaled")
    assert found(nb, ix, "auto-scaled pods")[:1] == ["auto.md"]
    # typed as the notes write it too, the compound's other forms in a row are searched
    assert "load balancing" in _stems(nb, ix, "load-balanced")
