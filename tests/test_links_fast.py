"""LinkGraph.outgoing_of / backlinks_of (one note, no whole-graph build) agree with the full graph."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_links import docs_of
from typer.testing import CliRunner

from kb.cli import app
from kb.links import LinkGraph
from kb.noterow import NoteRow

TESTS = Path(__file__).parent
NOTEBOOKS = [TESTS / "fixtures" / "links", TESTS / "fixtures" / "notebook", TESTS.parent / "notes"]


def assert_same_as_full(docs: list[NoteRow]) -> None:
    """Every note's links, one note at a time on a fresh graph, equal the full graph's."""
    full = LinkGraph(docs)
    for slug in full.notes:
        assert LinkGraph(docs).backlinks_of(slug) == full.backlinks(slug), slug
        assert LinkGraph(docs).outgoing_of(slug) == full.outgoing(slug), slug
        # both on one graph, the order kb links asks them in, then the other way
        one = LinkGraph(docs)
        assert (one.outgoing_of(slug), one.backlinks_of(slug)) == (full.outgoing(slug), full.backlinks(slug))
        other = LinkGraph(docs)
        assert (other.backlinks_of(slug), other.outgoing_of(slug)) == (
            full.backlinks(slug),
            full.outgoing(slug),
        )
    assert LinkGraph(docs).backlinks_of("no/such/note") == []
    assert LinkGraph(docs).outgoing_of("no/such/note") == []
    # one graph asked note after note (a server showing many notes): its map of link targets kept
    kept = LinkGraph(docs)
    for slug in full.notes:
        assert kept.backlinks_of(slug) == full.backlinks(slug), slug


@pytest.mark.parametrize("root", NOTEBOOKS, ids=lambda p: p.name)
def test_fixture_notebooks_one_note_equals_full_graph(root: Path) -> None:
    docs = docs_of(root)
    assert any(d.links for d in docs)
    assert_same_as_full(docs)


def test_links_fixture_cases() -> None:
    # the cases of test_links.py, through the one-note path
    graph = LinkGraph(docs_of(TESTS / "fixtures" / "links"))
    assert [link.source for link in graph.backlinks_of("k8s/rbac")] == ["home", "k8s/serviceaccount"]
    assert [link.source for link in graph.backlinks_of("wiki/vim/surround")] == ["wiki/index", "wiki/vim"]
    assert [(link.target, link.slug, link.reason) for link in graph.outgoing_of("home")][-3:-1] == [
        ("nowhere", None, "no such note"),
        ("notes", None, "ambiguous: team-a/notes, team-b/notes"),
    ]


def _doc(slug: str, title: str = "", links: list[str] | None = None) -> NoteRow:
    return NoteRow.of(slug + ".md", slug=slug, title=title, links=links)


def test_every_rule_and_ambiguity() -> None:
    nfd = unicodedata.normalize("NFD", "파드 기초")
    docs = [
        _doc("wiki/x", "X"),
        _doc("wiki/a/x", "Same"),
        _doc("wiki/a/b", "B", ["/x", "x", "X.md#top", "../x", "", "a/x", "/a/x", "same", "/same"]),
        _doc("Docs/Readme", "readme"),
        _doc("docs/readme", "Other"),
        _doc("home", "Home", ["DOCS/README", "docs/README", "readme", "Readme", "same", nfd, "b", "home"]),
        _doc("k8s/pods", "파드 기초", ["home", "wiki/a/b", "../home"]),
        _doc("team/a/notes", "Same"),
        _doc("misc/ba/notes"),  # ends like a/notes, but not after a /
        _doc("team/b/notes", "Notes", ["notes", "a/notes", "A/NOTES", "Notes", "/notes"]),
        _doc("ß/straße", "Straße", ["STRASSE", "strasse", "ss/strasse", "SS/STRASSE"]),
    ]
    full = LinkGraph(docs)
    reasons = {link.reason for slug in full.notes for link in full.outgoing(slug)}
    assert {r for r in reasons if r.startswith("ambiguous")}  # the case is there
    assert [link.source for link in full.backlinks("k8s/pods")] == ["home"]  # via the NFD title
    assert_same_as_full(docs)


def test_lazy_lookups_match_the_full_maps() -> None:
    # resolve() on a fresh graph loads what it needs (and after a few passes, everything)
    docs = docs_of(TESTS / "fixtures" / "links")
    targets = ["rbac", "RBAC Guide", "notes", "/vim", "K8S/RBAC", "vim/surround", "nowhere", "index"]
    targets += ["pod basics", "../home", "/k8s/rbac.md#roles"]
    full = LinkGraph(docs)
    full._fill_maps()
    lazy = LinkGraph(docs)
    for source in [*full.notes, None]:
        for target in targets:
            assert lazy.resolve(target, source) == full.resolve(target, source), (target, source)


def test_cli_links_json_matches_the_full_graph(runner: CliRunner, notebook_dir: Path) -> None:
    docs = docs_of(notebook_dir)
    full = LinkGraph(docs)
    for slug in full.notes:
        result = runner.invoke(app, ["links", "--json", slug])
        assert result.exit_code == 0, result.stderr
        data = json.loads(result.stdout)
        assert [(o["target"], o["slug"], o["reason"]) for o in data["outgoing"]] == [
            (link.target, link.slug, link.reason or None) for link in full.outgoing(slug)
        ]
        assert [b["slug"] for b in data["backlinks"]] == [link.source for link in full.backlinks(slug)]


# --------------------------------------------------------------------------- generated notebooks

_PART = st.sampled_from(["a", "A", "b", "x", "X", "notes", "vim", "ß", "ss", "파드", "_wiki"])
_SLUG = st.lists(_PART, min_size=1, max_size=4).map("/".join)
_TITLE = st.sampled_from(["", "X", "x", "Notes", "notes", "파드", "Same", "same ", "SS", "ß"])


@st.composite
def _target(draw: st.DrawFn, slugs: list[str], titles: list[str]) -> str:
    kind = draw(st.sampled_from(["slug", "part", "title", "free"]))
    if kind == "slug" and slugs:
        text = draw(st.sampled_from(slugs))
    elif kind == "part" and slugs:
        parts = draw(st.sampled_from(slugs)).split("/")
        text = "/".join(parts[draw(st.integers(0, len(parts) - 1)) :])
    elif kind == "title" and titles:
        text = draw(st.sampled_from(titles))
    else:
        text = draw(_SLUG)
    if draw(st.booleans()):
        text = draw(st.sampled_from([str.upper, str.lower, str.casefold, str.title]))(text)
    text = draw(st.sampled_from(["", "/", "../", "./"])) + text
    text += draw(st.sampled_from(["", ".md", "#part", " ", ".MD#x"]))
    if draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    return text


@st.composite
def _notebooks(draw: st.DrawFn) -> list[NoteRow]:
    slugs = draw(st.lists(_SLUG, min_size=1, max_size=12, unique=True))
    titles = [draw(_TITLE) for _ in slugs]
    docs = []
    for slug, title in zip(slugs, titles, strict=True):
        links = draw(st.lists(_target(slugs, [t for t in titles if t]), max_size=6, unique=True))
        docs.append(_doc(slug, title, links))
    return docs


@settings(max_examples=300, deadline=None)
@given(_notebooks())
def test_generated_notebooks_one_note_equals_full_graph(docs: list[NoteRow]) -> None:
    assert_same_as_full(docs)


def test_suggest_finds_close_slugs() -> None:
    """Hints for broken links: the file name is compared first (fast on big notebooks)."""
    import difflib

    docs = [NoteRow.of(f"{p}.md", title=p) for p in (
        "k8s/rbac", "k8s/pod-basics", "k8s/serviceaccount", "airflow/executors", "airflow/dags",
        "wiki/index", *(f"filler/note-{i}" for i in range(50)),
    )]
    graph = LinkGraph(docs)
    cases = {
        "k8s/rbca": "k8s/rbac",  # a typo in the name
        "k8z/rbac": "k8s/rbac",  # a typo in the folder
        "airflow/executor": "airflow/executors",
        "k8s/serviceacount": "k8s/serviceaccount",
    }
    for target, best in cases.items():
        got = graph.suggest(target)
        assert got and got[0] == best, (target, got)
        assert got[0] == difflib.get_close_matches(target, list(graph.notes), n=1, cutoff=0.6)[0]
        assert graph.suggest(target) is got  # memoized
    assert graph.suggest("zzzz/qqqq") == []
