"""Issue 16, hostile notes: every regex kb runs on text is linear, and frontmatter can
neither blow up (YAML aliases) nor hand kb unbounded values.

The adversarial inputs are the cases of ``benchmarks/hostile.py`` (which times them
against real text); here each must finish its 200 KB input within a second, which a
quadratic regex cannot (the slowest took 7-67 s on 40 KB). ``re`` checks for signals
while it matches, so an alarm stops a runaway case instead of hanging the suite.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kb import notes
from kb.analysis import _WORD_RE, iter_terms
from kb.cli import app
from kb.notes import parse_links, parse_tags, parse_text

_spec = importlib.util.spec_from_file_location(
    "hostile_cases", Path(__file__).parent.parent / "benchmarks" / "hostile.py"
)
assert _spec and _spec.loader
hostile = importlib.util.module_from_spec(_spec)
sys.modules["hostile_cases"] = hostile  # dataclasses look their module up
_spec.loader.exec_module(hostile)

SIZE = 200_000


class _Slow(Exception):
    pass


def _within(seconds: float, fn, *args):
    """``fn(*args)``, failing the test (not hanging it) past ``seconds``."""

    def alarm(*_):
        raise _Slow()

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.perf_counter()
    try:
        return fn(*args), time.perf_counter() - start
    except _Slow:
        pass  # failed below: a traceback raised inside `re` trips pytest's report
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    pytest.fail(f"took more than {seconds} s")


# --------------------------------------------------------------------------- every regex, linear


def test_every_kb_regex_has_a_hostile_case() -> None:
    """A new module-level regex in kb needs an adversarial case in benchmarks/hostile.py."""
    covered = {case.target for case in hostile.CASES}
    missing = sorted(set(hostile.patterns_in_kb()) - covered)
    assert not missing, f"no hostile case for {missing}"
    # and every case still names something kb has
    assert [c.target for c in hostile.CASES if hostile.resolve(c.target) is None] == []


@pytest.mark.parametrize("case", hostile.CASES, ids=[c.name for c in hostile.CASES])
def test_hostile_input_takes_linear_time(case) -> None:
    text = case.make(SIZE)
    assert len(text) == SIZE or case.method == "call"
    _, took = _within(1.0, hostile.run_case, case, text)
    assert took < 1.0


@pytest.mark.parametrize(
    "body",
    [
        "_" * SIZE,  # _WORD_RE: 17-38 s on 40 KB
        "# a" + " " * SIZE + "b",  # _HEADING_RE / _ANCHOR_RE: 7.5 s on 40 KB
        "[" * SIZE,  # MDLINK_RE: 7 s on 40 KB
        "".join(f"[[n{i}]] " for i in range(40_000)),  # parse_links: 7.5-11 s
        "".join(f"#t{i} " for i in range(40_000)),  # the tag de-duplication
    ],
    ids=["underscores", "heading-blanks", "brackets", "40k-links", "40k-hashtags"],
)
def test_hostile_note_parses_and_analyzes_in_linear_time(body: str) -> None:
    def index(text: str) -> int:
        note = parse_text("h.md", text)
        return sum(1 for _ in iter_terms(note.body)) + len(note.tags) + len(note.links)

    _within(2.0, index, body)


def test_40k_frontmatter_tags_are_deduplicated_in_linear_time_and_capped() -> None:
    tags, _ = _within(1.0, parse_tags, [f"t{i}" for i in range(40_000)])
    assert len(tags) == notes.MAX_TAGS and tags[:2] == ["t0", "t1"]
    tags, _ = _within(1.0, parse_tags, " ".join(f"t{i}" for i in range(40_000)))
    assert len(tags) == notes.MAX_TAGS


def test_links_and_hashtags_per_note_are_capped() -> None:
    links, _ = _within(1.0, parse_links, "".join(f"[[n{i}]]" for i in range(20_000)), "a.md")
    assert len(links) == notes.MAX_LINKS and links[0] == "n0"
    note = parse_text("a.md", "".join(f"#t{i} " for i in range(5_000)))
    assert len(note.tags) == notes.MAX_TAGS


# --------------------------------------------------------------------------- same answers on normal text

OLD_WORD_RE = re.compile(r"[^\W_]+(?:['’_\-.]*[^\W_]+)*|_+[^\W_]+(?:[_\-.]*[^\W_]+)*")
OLD_HEADING_RE = re.compile(r"^#[ \t]+(.+?)[ \t#]*$", re.M)
OLD_ANCHOR_RE = re.compile(r"\s*\{#[^}]*\}\s*$")
OLD_MDLINK_RE = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+\.md)(?:#[^)\s]*)?(?:\s+\"[^\"]*\")?\)")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="_-.'’aZ1가 !\n\t", max_size=40))
def test_word_regex_finds_the_same_words_as_before(text: str) -> None:
    assert [m.span() for m in _WORD_RE.finditer(text)] == [m.span() for m in OLD_WORD_RE.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="# \t{}`ab\n", max_size=30))
def test_heading_title_is_the_same_as_before(text: str) -> None:
    m = OLD_HEADING_RE.search(text)
    old = OLD_ANCHOR_RE.sub("", m.group(1).replace("`", "")).strip() if m else ""
    assert notes._heading_title(text) == old


_word = st.text(alphabet="abc가나 .-_/", min_size=1, max_size=8)
_path = st.text(alphabet="abc가_-/.", min_size=1, max_size=8).map(lambda p: p + ".md")
_fragment = st.sampled_from(["", "#part", "#x-y"])
_title = st.sampled_from(["", ' "a title"'])
_link = st.tuples(_word, _path, _fragment, _title).map(lambda t: f"[{t[0]}]({t[1]}{t[2]}{t[3]})")
_prose = st.lists(st.one_of(_word, _link, st.sampled_from([" ", "\n", "(", ")", "x]", "[y"])), max_size=12)


@settings(max_examples=400, deadline=None)
@given(_prose)
def test_markdown_links_are_found_as_before_in_normal_text(pieces: list[str]) -> None:
    """Normal text: link texts without `[`, paths without brackets or `#`. The new regex
    differs only where the old one read those (see the next test)."""
    text = "".join(pieces)
    old_matches = list(OLD_MDLINK_RE.finditer(text))
    assume(all("[" not in m.group(1) and not set("[]#") & set(m.group(2)) for m in old_matches))
    new = [(m.span(2), m.group(2)) for m in notes.MDLINK_RE.finditer(text)]
    assert new == [(m.span(2), m.group(2)) for m in old_matches]


OLD_TAG_WORD_RE = re.compile(r"[^\s,\[\]'\"#]*\Z")  # quadratic on a long run of word characters


@given(st.text(alphabet="ab ,[]'\"#\t가", max_size=40))
def test_tag_word_is_the_same_as_before(text: str) -> None:
    """kb lsp's last word of a ``tags:`` line: the linear regex finds what the old one did."""
    from kb.lsp.text import _TAG_WORD

    old, new = OLD_TAG_WORD_RE.search(text), _TAG_WORD.search(text)
    assert old is not None and new is not None
    assert (new.start(), new.group(0)) == (old.start(), old.group(0))


def test_markdown_links_where_the_new_regex_reads_like_commonmark() -> None:
    # a `[` in the text: the link is the inner one (the target is the same)
    assert parse_links("[see [x](a.md)", "n.md") == ["a"]
    # a link inside another's unclosed target: CommonMark's reading
    assert parse_links("[a](x[b](c.md)", "n.md") == ["c"]
    # `#` starts the fragment: `a.md#x.md` is a.md
    assert parse_links("[a](a.md#x.md)", "n.md") == ["a"]


# --------------------------------------------------------------------------- hostile frontmatter

def _levels(names: str) -> str:
    """YAML lines where each name is nine aliases of the one before."""
    return "".join(f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n" for a, b in zip(names, names[1:], strict=False))


#: 414 bytes: ten levels of nine aliases under a mapping title (9**9 strings: kb took
#: 72 s and 2.5 GB of memory on the issue's 415-byte version, one level more exhausts it).
TITLE_BOMB = (
    '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + _levels("abcdefghij")
    + "title: {x: *j}\ntags: *j\n---\nbombbody\n"
)
#: 369 bytes: the same with eight levels (a 34 MB title, 7 s to index); safe to run on old code.
SMALL_BOMB = (
    '---\na: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + _levels("abcdefgh")
    + "title: {x: *h}\n---\nbombbody\n"
)


def test_the_title_bomb_is_small() -> None:
    assert len(TITLE_BOMB.encode()) < 420 and len(SMALL_BOMB.encode()) < 375


@pytest.mark.parametrize("text", [SMALL_BOMB, TITLE_BOMB], ids=["369-bytes", "414-bytes"])
def test_a_yaml_alias_bomb_under_title_parses_in_milliseconds_with_a_capped_title(text: str) -> None:
    note, took = _within(1.0, parse_text, "bomb.md", text)
    assert took < 1.0
    assert note.title == "bomb"  # a mapping is no title: the file name stands in
    assert "frontmatter title is a mapping; ignored" in note.warnings
    assert note.tags == (["lol"] if "tags:" in text else [])


def test_the_title_bomb_indexes_in_under_a_second(notebook_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["index"]).exit_code == 0
    (notebook_dir / "bomb.md").write_text(TITLE_BOMB)
    time.sleep(0.03)
    start = time.perf_counter()
    r = runner.invoke(app, ["index", "--json"])
    took = time.perf_counter() - start
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["added"] == 1
    assert took < 1.0
    shown = json.loads(runner.invoke(app, ["show", "bomb", "--json"]).stdout)
    assert shown["title"] == "bomb" and shown["tags"] == ["lol"]
    r = runner.invoke(app, ["list", "--json"])
    assert max(len(row["title"]) for row in json.loads(r.stdout)) <= notes.MAX_TITLE_CHARS


def test_every_value_taken_from_frontmatter_is_capped() -> None:
    long = "가" * 30_000  # three of them stay under the 100 KB a block may have
    note = parse_text(
        "a.md",
        f"---\ntitle: {long}\ntags: [{'x' * 5000}, ok]\naliases: [{long}]\ncategory: {long}\n---\nbody\n",
    )
    assert len(note.title) == notes.MAX_TITLE_CHARS
    assert [len(t) for t in note.tags] == [notes.MAX_TAG_CHARS, 2]
    assert [len(a) for a in note.aliases] == [notes.MAX_TITLE_CHARS]
    assert len(note.meta["category"]) == notes.MAX_VALUE_CHARS
    heading = parse_text("a.md", "# " + "제" * 100_000 + "\n")
    assert len(heading.title) == notes.MAX_TITLE_CHARS


def test_a_list_title_keeps_its_words_and_skips_mappings() -> None:
    assert parse_text("a.md", "---\ntitle: [제목, {a: b}, 둘]\n---\n").title == "제목 둘"


def test_frontmatter_values_shared_through_aliases_are_bounded() -> None:
    """A field kb indexes for `field:value` (here `extra`) holds the bomb: kb keeps a
    bounded copy, with a warning, and its own fields are not starved by it."""
    bomb = SMALL_BOMB.replace("title: {x: *h}", "extra: *h\ntitle: 제목")
    note, _ = _within(1.0, parse_text, "a.md", bomb)
    assert note.title == "제목"

    def leaves(value) -> int:
        return sum(leaves(v) for v in value) if isinstance(value, list) else 1

    assert 0 < leaves(note.meta["extra"]) <= notes._META_VALUES
    assert any("only its start is used" in w for w in note.warnings)
    from kb.index.schema import meta_terms

    assert _within(1.0, meta_terms, note.meta)[1] < 1.0


def test_a_self_referencing_alias_is_cut_at_a_depth() -> None:
    note, _ = _within(1.0, parse_text, "a.md", "---\nx: &x [a, *x]\ntitle: t\n---\n")
    assert note.title == "t"
    depth, value = 0, note.meta["x"]
    while isinstance(value, list) and len(value) == 2 and depth <= 1000:  # a cycle: stop
        depth, value = depth + 1, value[1]
    assert depth <= notes._META_DEPTH


def test_yaml_merge_keys_cannot_grow_the_document() -> None:
    """``<<: [*a, *a, ...]`` copies keys while PyYAML loads (9x a level before 6.0.2
    de-duplicated them): kb's loader refuses a merge beyond its budget, whatever PyYAML."""
    keys = ", ".join(f"k{i}: {i}" for i in range(200))
    text = f"---\na: &a {{{keys}}}\nb: {{<<: [{', '.join(['*a'] * 60)}]}}\ntitle: t\n---\nx\n"
    note, _ = _within(1.0, parse_text, "a.md", text)
    assert note.meta == {} and any("merge keys" in w for w in note.warnings)
    # an ordinary merge still works
    ok = parse_text("a.md", "---\nbase: &b {status: draft}\npage: {<<: *b, x: 1}\n---\n")
    assert ok.meta["page"] == {"status": "draft", "x": 1}


def test_a_huge_frontmatter_block_is_skipped_with_a_warning() -> None:
    text = "---\ntitle: t\n" + "k: v\n" * 30_000 + "---\n# Heading\n"
    note, took = _within(1.0, parse_text, "a.md", text)
    assert note.title == "Heading" and note.meta == {}
    assert any("longer than 100 KB" in w for w in note.warnings)
