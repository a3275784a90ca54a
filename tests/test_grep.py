"""`kb grep` against ripgrep as an oracle, and the grep index's "never miss" guarantee.

rg comes from the ``ripgrep`` package of the ``test`` extra (it ships the binary into the
venv's ``bin``); the oracle tests skip, saying so, where it is missing. rg is run in the
notebook with kb's walking rules: ``--no-ignore`` (kb reads no ``.gitignore``), hidden
files and folders left out (rg's default, as kb, but a whitelisting glob lets rg into
hidden files, so ``--iglob "!.*"`` too), and ``--iglob "*.md"`` (kb takes ``.MD`` too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kb.cli import app
from kb.grep import (
    BadPattern,
    compile_pattern,
    file_text,
    lines_within,
    match_lines,
    requirement,
    search_file,
)
from kb.grepindex import Builder, Lookup, fold, note_words, runs_of, words_of
from kb.notes import MAX_NOTE_BYTES

RG = shutil.which("rg") or shutil.which("rg", path=os.path.dirname(sys.executable))
needs_rg = pytest.mark.skipif(RG is None, reason="rg not found: pip install ripgrep (in the test extra)")

NOTES = {
    "k8s/pods.md": "---\ntitle: 파드 정리\ntags: [cka, k8s]\n---\n# 파드\n\nkubectl get pods -A\n"
    "kubectl describe pod web-0\n파드가 생성된다\nKUBECTL Get Pods\n--dry-run=client 옵션\n",
    "k8s/rbac.md": "---\ntags: [cka]\n---\nkubectl create rolebinding dev --role=view\n"
    "쿠버네티스의 RBAC는 ServiceAccount를 쓴다\n\n\nend\n",
    "airflow.md": "# Airflow\n\nCeleryExecutor와 KubernetesExecutor\nmax_active_runs = 16\n"
    "ΑΣ and σ, İstanbul, Kelvin \u212a, long ſ\n",
    "windows.md": "line one\r\nkubectl logs\r\nends with cr\r\n",
    "bom.md": "\ufeffkubectl at the start\nsecond\n",
    "UPPER.MD": "kubectl in an upper-case suffix\n",
    "empty.md": "",
    "notes.txt": "kubectl in a file that is not a note\n",
    ".hidden/secret.md": "kubectl hidden folder\n",
    ".dot.md": "kubectl hidden file\n",
    "deep/a/b/c.md": "한국어 alternation: 파드 또는 노드\n\t탭 kubectl\n",
}


def make_notebook(root: Path) -> Path:
    for rel, text in NOTES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    (root / "binary.md").write_bytes(b"kubectl\x00binary\nkubectl\n")
    big = root / "big.md"
    filler = ("filler line 가나다\n" * (MAX_NOTE_BYTES // 20 + 10)).encode()
    big.write_bytes(b"kubectl first line\n" + filler + b"kubectl beyond the cap\n")
    assert big.stat().st_size > MAX_NOTE_BYTES
    return root


@pytest.fixture
def gnb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_notebook(tmp_path / "gnb")
    time.sleep(0.03)  # past kb's racy window (index.RACY_NS): the files are settled
    monkeypatch.setenv("KB_DIR", str(root))
    monkeypatch.setenv("KB_INDEX_DIR", str(tmp_path / "gnb-index"))
    monkeypatch.chdir(root)
    return root


def kb(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, ["grep", *args])
    # stdout_bytes: Click's Result.stdout turns \r\n into \n
    return r.exit_code, r.stdout_bytes.decode("utf-8", "surrogateescape"), r.stderr


def rg(root: Path, *args: str, mode: str = "--vimgrep") -> list[str]:
    assert RG is not None
    p = subprocess.run(
        [RG, *mode.split(), "--no-ignore", "--iglob", "*.md", "--iglob", "!.*", *args],
        cwd=root,
        capture_output=True,
    )
    assert p.returncode in (0, 1), p.stderr
    return lines(p.stdout.decode("utf-8", "surrogateescape"))


def lines(out: str) -> list[str]:
    """Output lines, sorted; split at ``\\n`` only (rg prints a CRLF line's ``\\r``)."""
    return sorted(out.split("\n")[:-1])


def kb_vim(*args: str) -> list[str]:
    code, out, err = kb("--vimgrep", *args)
    assert code in (0, 1), err
    return lines(out)


ORACLE_CASES = [
    ["kubectl"],
    ["kubectl (get|describe) pods?"],
    ["-i", "kubectl (get|describe) pods?"],
    ["-F", "--", "--dry-run"],
    ["-F", "--", "--role=view"],
    ["파드(가|를)?"],
    ["(파드|노드|쿠버네티스)"],
    ["-w", "파드"],
    ["-w", "pod"],
    ["-i", "σ"],
    # not ["-i", "istanbul"]: Python's -i matches İ (U+0130) with i, rg does not
    ["-i", "kelvin k"],
    ["-i", "LONG S"],
    ["cr$"],
    [r"cr\r$"],
    ["^kubectl"],
    ["^$"],
    [r"\d+"],
    ["Executor"],
    ["-i", "executor와"],
    ["beyond the cap"],
    ["binary"],
    ["hidden"],
    [r"[^a-z ]+run"],
    [r"\bpods?\b"],
    [r"(?i)KUBE"],
    ["--", "-A$"],
    [r"A\s+kubectl"],  # never across lines
    [r"[^x]*kubectl describe"],
    [r"(?s)A.kubectl"],
]


@needs_rg
@pytest.mark.parametrize("args", ORACLE_CASES, ids=[" ".join(a) for a in ORACLE_CASES])
def test_same_matches_as_rg(gnb: Path, args: list[str]) -> None:
    pattern_at = len(args) - 1
    rg_args = [*args[:pattern_at]]
    if "--" not in rg_args:
        rg_args.append("--")
    assert kb_vim(*args) == rg(gnb, *rg_args, args[pattern_at])


@needs_rg
def test_every_note_and_nothing_else(gnb: Path) -> None:
    files = {line.split(":", 1)[0] for line in kb_vim("kubectl")}
    assert "big.md" in files and "UPPER.MD" in files and "bom.md" in files
    assert not any(f.startswith(".") or f.endswith(".txt") or f == "binary.md" for f in files)
    big = [line for line in kb_vim("kubectl") if line.startswith("big.md:")]
    assert len(big) == 2  # the file is read whole, past kb's index size cap


def test_no_match_exits_1_bad_regex_exits_2(gnb: Path) -> None:
    code, out, err = kb("no such thing anywhere")
    assert (code, out) == (1, "")
    code, out, err = kb("kubectl (get")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "position 9" in err and "Error:" in err


def test_pattern_starting_with_a_dash(gnb: Path) -> None:
    code, out, _ = kb("-F", "--", "--dry-run")
    assert code == 0 and out == "k8s/pods.md:11:--dry-run=client 옵션\n"
    code, _, err = kb("--", "-x(")
    assert code == 2


def test_tag_and_path_narrow(gnb: Path) -> None:
    def notes(*args: str) -> set[str]:
        return {line.split(":", 1)[0] for line in kb("-l", *args)[1].splitlines()}

    assert {"k8s/pods.md", "k8s/rbac.md", "windows.md"} <= notes("kubectl")
    assert notes("kubectl", "--tag", "cka") == {"k8s/pods.md", "k8s/rbac.md"}
    assert notes("kubectl", "--tag", "cka", "--tag", "k8s") == {"k8s/pods.md"}
    assert notes("kubectl", "--path", "k8s") == {"k8s/pods.md", "k8s/rbac.md"}
    assert notes("kubectl", "--path", "deep/*") == {"deep/a/b/c.md"}
    assert kb("kubectl", "--tag", "nosuchtag")[0] == 1


def test_count_json_context_limit(gnb: Path) -> None:
    code, out, _ = kb("-c", "kubectl", "--path", "k8s/*")
    assert out == "k8s/pods.md:2\nk8s/rbac.md:1\n"
    code, out, _ = kb("--json", "-i", "kubectl", "--path", "k8s/pods")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in rows] == [7, 8, 10]
    assert set(rows[0]) == {"slug", "path", "line", "column", "text", "submatches"}
    assert rows[0]["slug"] == "k8s/pods" and rows[0]["column"] == 1
    assert rows[0]["submatches"] == [{"start": 0, "end": 7, "text": "kubectl"}]
    code, out, _ = kb("-C", "1", "RBAC", "--path", "k8s/rbac")
    assert out.splitlines() == [
        "k8s/rbac.md-4-kubectl create rolebinding dev --role=view",
        "k8s/rbac.md:5:쿠버네티스의 RBAC는 ServiceAccount를 쓴다",
        "k8s/rbac.md-6-",
    ]
    code, out, _ = kb("-A", "1", "-B", "0", "^kubectl", "--path", "k8s/pods")
    assert out.splitlines() == [
        "k8s/pods.md:7:kubectl get pods -A",
        "k8s/pods.md:8:kubectl describe pod web-0",
        "k8s/pods.md-9-파드가 생성된다",
    ]
    assert len(kb("-l", "kubectl", "--limit", "2")[1].splitlines()) == 2


def test_notes_changed_since_the_index_are_read(gnb: Path) -> None:
    assert kb("-l", "zebra")[0] == 1
    (gnb / "k8s/rbac.md").write_text("a zebra now\n", encoding="utf-8")
    (gnb / "new.md").write_text("another zebra\n", encoding="utf-8")
    code, out, _ = kb("-l", "zebra")
    assert (code, sorted(out.splitlines())) == (0, ["k8s/rbac.md", "new.md"])
    assert kb("-l", "rolebinding")[0] == 1


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate"])
def test_a_damaged_grep_index_changes_nothing(gnb: Path, tmp_path: Path, damage: str) -> None:
    before = kb("--vimgrep", "kubectl")[:2]
    index = tmp_path / "gnb-index"
    for name in ("grep.bin", "grep.delta"):
        path = index / name
        assert path.exists()
        if damage == "delete":
            path.unlink()
        elif damage == "garbage":
            path.write_bytes(b"kb-grep 1\n99\n" + os.urandom(200))
        else:
            path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert kb("--vimgrep", "kubectl")[:2] == before


def test_the_index_reads_only_candidates(gnb: Path, tmp_path: Path) -> None:
    from kb.config import find_notebook
    from kb.index.sync import indexed_files

    kb("kubectl")  # builds the grep index
    files = indexed_files(find_notebook(gnb))
    assert files is not None
    lookup = Lookup(tmp_path / "gnb-index")
    cand, unknown = lookup.select(files, compile_pattern("kubectl (get|describe) pods?").need)
    assert unknown == [] and sorted(cand) == ["k8s/pods.md"]
    cand, _ = lookup.select(files, compile_pattern("ubect").need)  # inside a word
    assert "k8s/rbac.md" in cand and "airflow.md" not in cand
    cand, _ = lookup.select(files, compile_pattern("x.*y").need)  # no literal: every note
    assert len(cand) == len(files)


# --------------------------------------------------------------------------- the engine


def test_file_text_as_rg_reads_it() -> None:
    assert file_text(b"\xef\xbb\xbfabc\n") == "abc\n"
    assert file_text(b"a\x00b") is None
    assert file_text(b"a\r\nb") == "a\r\nb"
    assert file_text("\ufeffhi".encode("utf-16-le").join([b"\xff\xfe"[:0], b""])) is not None
    assert file_text(b"\xff\xfeh\x00i\x00") == "hi"
    assert file_text(b"caf\xe9") == "caf\udce9"


def test_requirement_tree() -> None:
    def need(p: str):
        return compile_pattern(p).need

    assert need("kubectl (get|describe) pods?") == (
        "and",
        [("lit", "kubectl "), ("or", [("lit", "get"), ("lit", "describe")]), ("lit", " pod")],
    )
    assert need("a*b?") is None
    assert need("(foo|.)bar") == ("lit", "bar")
    assert need("(ab)+") == ("lit", "ab")
    assert need("(ab){0,3}c") == ("lit", "c")


def test_bad_patterns_are_one_line() -> None:
    for p in ("(", "[a-", "a{2,1}", "(?P<x", "*a"):
        with pytest.raises(BadPattern) as err:
            compile_pattern(p)
        assert "\n" not in str(err.value)


def test_runs_of_cut_where_case_or_script_could_differ() -> None:
    assert runs_of("kubectl get-pods") == [b"kubectl", b"get", b"pods"]
    assert runs_of("KUBECTL") == [b"kubectl"]
    assert runs_of("ΑΣa") == []  # Greek may match other letters under -i
    assert runs_of("파드가") == ["파드가".encode()]
    assert runs_of("--") == []


# Texts mixing what makes folding and splitting tricky: case, the letters -i maps to
# ASCII, final sigma, Hangul, identifiers, punctuation, CR, undecodable bytes.
ALPHABET = st.sampled_from(list("aAbBkKsSiI_-. \t\r\n파드가를노ΣσςİıKſ9") + ["\udce9", "ß", "é"])
TEXT = st.lists(ALPHABET, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, data=st.data())
def test_a_note_containing_a_literal_is_never_ruled_out(text: str, data: st.DataObject) -> None:
    """The soundness of the grep index: any substring of a note's text, with its case
    changed in any way that ``-i`` still matches, passes the note's words."""
    assume(text)
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i + 1, len(text)))
    piece = text[i:j]
    swapped = "".join(
        data.draw(
            st.sampled_from(
                sorted({c, c.upper() if len(c.upper()) == 1 else c, c.lower() if len(c.lower()) == 1 else c})
            )
        )
        for c in piece
    )
    assume(re.fullmatch(re.escape(swapped), piece, re.I))
    words = b"\n".join(words_of(text.encode("utf-8", "surrogateescape")))
    assert Lookup.may_contain(words, ("lit", swapped))
    assert Lookup.may_contain(words, ("lit", piece))


def test_fold_is_per_character() -> None:
    assert fold("İK".encode()) == b"ik"
    assert fold(b"ABC") == b"abc"


# Patterns from a subset where Python's re and rg's regex agree.
ATOM = st.sampled_from(
    [
        "a",
        "b",
        "k",
        "파",
        "드",
        "가",
        " ",
        ".",
        "[ab]",
        "[가-힣]",
        r"\d",
        r"\s",
        "[^a]",
        "kubectl",
        "pods",
        "노드",
        "x",
    ]
)


def _regex(depth: int = 0) -> st.SearchStrategy[str]:
    piece = (
        ATOM
        if depth >= 2
        else st.one_of(ATOM, st.deferred(lambda: _regex(depth + 1)).map(lambda r: f"({r})"))
    )
    quant = st.sampled_from(["", "", "", "?", "*", "+", "{1,2}"])
    seq = st.lists(st.tuples(piece, quant).map("".join), min_size=1, max_size=4).map("".join)
    return st.lists(seq, min_size=1, max_size=3).map("|".join)


PATTERN = st.tuples(st.sampled_from(["", "^"]), _regex(), st.sampled_from(["", "$"])).map("".join)
CORPUS_LINES = st.lists(
    st.lists(
        st.sampled_from(
            ["a", "b", "k", "파", "드", "가", " ", "kubectl", "pods", "노드", "x", "1", "Kubectl"]
        ),
        max_size=8,
    ).map("".join),
    min_size=1,
    max_size=6,
)


@needs_rg
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pattern=PATTERN,
    notes=st.lists(CORPUS_LINES, min_size=1, max_size=4),
    flags=st.sampled_from([[], ["-i"], ["-w"], ["-F"]]),
    crlf=st.booleans(),
)
def test_random_patterns_agree_with_rg(
    tmp_path_factory: pytest.TempPathFactory,
    pattern: str,
    notes: list[list[str]],
    flags: list[str],
    crlf: bool,
) -> None:
    root = tmp_path_factory.mktemp("hyp")
    sep = "\r\n" if crlf else "\n"
    for n, lines in enumerate(notes):
        (root / f"n{n}.md").write_bytes((sep.join(lines) + sep).encode())
    pat = compile_pattern(pattern, fixed="-F" in flags, ignore_case="-i" in flags, word="-w" in flags)
    got: list[str] = []
    python: list[str] | None = []
    for n in range(len(notes)):
        data = (root / f"n{n}.md").read_bytes()
        text = file_text(data)
        assert text is not None
        hit = search_file(pat, data)  # RE2 (see test_re2_takes_the_plain_patterns)
        got.extend(f"n{n}.md:{m.line}:{m.text}:{m.spans}" for m in (hit[1] if hit else []))
        found = lines_within(5.0, pat, text)  # Python's re
        if found is None:  # a random nested repeat that makes Python's re backtrack
            python = None
        elif python is not None:
            python.extend(f"n{n}.md:{m.line}:{m.text}:{m.spans}" for m in found)
    # both engines find the same lines, and the same spans where no match is empty (after
    # an empty match RE2 goes on one character later, as rg does; Python's re may take a
    # longer match at the same place)
    if python is not None:
        assert sorted(g.rsplit(":", 1)[0] for g in got) == sorted(g.rsplit(":", 1)[0] for g in python)
        if "(0, 0)" not in str(python) and not re.search(r"\((\d+), \1\)", str(python)):
            assert sorted(got) == sorted(python)
    # (file, line) pairs and the line: rg's --vimgrep columns of empty matches fall
    # inside UTF-8 characters, which a str cannot say
    spans = [g.rsplit(":", 1)[1] for g in got]
    got = [g.rsplit(":", 1)[0] for g in got]
    assert sorted(got) == rg(root, *flags, "--", pattern, mode="-n --no-heading -H")
    # and the literal requirement never rules out a note that matches: neither by its
    # words nor in the inverted index (the vocabulary looked up by substring)
    need = requirement_of(pattern, flags)
    builder = Builder()
    for n in range(len(notes)):
        builder.add(f"n{n}.md", (0, 0, 0, 0), note_words((root / f"n{n}.md").read_bytes()))
    builder.write(root / "index" / "grep.bin")
    lookup = Lookup(root / "index")
    ids = lookup._eval(need)
    lookup.close()
    for n in range(len(notes)):
        data = (root / f"n{n}.md").read_bytes()
        if search_file(pat, data):
            words = b"\n".join(words_of(data))
            assert Lookup.may_contain(words, need)
            assert ids is None or n in ids
    # the files read in bulk, several to a buffer (a tiny one: every boundary case)
    rels = [f"n{n}.md" for n in range(len(notes))]
    for chunk in (8, 64, 4096):
        bulk = [
            f"{rel}:{m.line}:{m.text}:{m.spans}"
            for rel, _, found in search_files_in(chunk, str(root) + "/", rels, pat)
            for m in found
        ]
        assert bulk == [g + ":" + s for g, s in zip(got, spans, strict=True)]


def search_files_in(chunk: int, prefix: str, rels: list[str], pat):
    from kb import grep as engine

    saved, engine.CHUNK = engine.CHUNK, chunk
    try:
        return list(engine.search_files(prefix, rels, pat))
    finally:
        engine.CHUNK = saved


def requirement_of(pattern: str, flags: list[str]):
    import re._parser as sre_parse  # type: ignore[import-not-found]

    source = re.escape(pattern) if "-F" in flags else pattern
    return requirement(sre_parse.parse(source, re.I if "-i" in flags else 0))


@needs_rg
def test_delta_folded_into_a_new_base_stays_exact(gnb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.grepindex

    monkeypatch.setattr(kb.grepindex, "DELTA_MAX", 0)  # every grep that learns writes a new base
    assert kb_vim("kubectl") == rg(gnb, "--", "kubectl")
    for i, rel in enumerate(["k8s/rbac.md", "airflow.md", "new/one.md"]):
        (gnb / rel).parent.mkdir(exist_ok=True)
        (gnb / rel).write_text(f"rewritten {i} kubectl zebra{i}\n", encoding="utf-8")
        time.sleep(0.03)
        for pattern in ("kubectl", f"zebra{i}", "zebra", "rolebinding", "Executor"):
            assert kb_vim(pattern) == rg(gnb, "--", pattern), (rel, pattern)


def test_re2_takes_the_plain_patterns() -> None:
    """The patterns of the oracle tests run on RE2 (linear time), the rest on Python's re."""
    plain = ["kubectl (get|describe) pods?", r"[0-9]{2}:\d+", r"^\s*[^a]+$", "(a+)+$", "파드|노드", ".*"]
    for pattern in plain:
        assert compile_pattern(pattern).fast is not None, pattern
    assert compile_pattern("POD", ignore_case=True).fast is not None
    for pattern in [r"(a)\1", r"a(?=b)", r"\bpod\b", "(?i:a)b", "x{1001}"]:
        assert compile_pattern(pattern).fast is None, pattern
    assert compile_pattern("pod", word=True).fast is not None  # the edges taken, the word a group
    assert compile_pattern(r"pod\b", word=True).fast is None
    assert compile_pattern("σ", ignore_case=True).fast is None  # ς Σ: Python's and RE2's folds differ


@pytest.mark.parametrize(
    "data",
    [
        "İstanbul and ı\n".encode(),  # -i: Python's re takes them for i, RE2 does not
        b"caf\xe9 latin-1\n",  # invalid UTF-8: Python's surrogates
        "\ufeffbom\n".encode(),
        "line\r\nkubectl\r\n".encode("utf-16"),
    ],
)
def test_files_re2_cannot_read_as_python_does_go_to_python(data: bytes) -> None:
    for pattern, ic in [("i", True), ("[a-z]+", True), ("a", False), (".$", False), ("kubectl.", False)]:
        pat = compile_pattern(pattern, ignore_case=ic)
        text = file_text(data)
        assert text is not None
        expect = [(m.line, m.text, m.spans) for m in match_lines(pat, text)]
        hit = search_file(pat, data)
        assert [(m.line, m.text, m.spans) for m in (hit[1] if hit else [])] == expect, pattern


def test_hostile_regex_is_linear_on_re2() -> None:
    data = b"a" * 200_000 + b"!\n"
    start = time.perf_counter()
    assert search_file(compile_pattern("(a+)+$"), data) is None
    assert search_file(compile_pattern("(a|aa)*b"), data) is None
    assert time.perf_counter() - start < 2.0  # Python's re: 2**200000 steps


def test_hostile_regex_python_only_stops_with_one_line(gnb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb import grep as engine

    monkeypatch.setattr(engine, "BUDGET_S", 0.3)
    kb("-c", "kubectl")  # the first sync's warnings (big.md, binary.md) out of the way
    (gnb / "hostile.md").write_bytes(b"a" * 40 + b"!\n")
    start = time.perf_counter()
    code, out, err = kb(r"(a+)+\b$")  # \b: Python's re only
    assert time.perf_counter() - start < 10
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "hostile.md" in err and "backtracks" in err


def test_the_sync_keeps_the_grep_index(gnb: Path, tmp_path: Path) -> None:
    """After `kb index` the grep index vouches for every note; a changed note is read
    again by the sync alone (it joins the delta), so no grep reads every note."""
    from kb.config import find_notebook
    from kb.index.sync import indexed_files, sync_index

    nb = find_notebook(gnb)
    sync_index(nb)
    files = indexed_files(nb)
    assert files is not None
    index = tmp_path / "gnb-index"
    lookup = Lookup(index)
    assert lookup.select(files, None)[1] == [] and lookup.delta == {}
    assert sorted(lookup.paths) == sorted(files)
    time.sleep(0.03)
    (gnb / "k8s/rbac.md").write_text("now a zebra\n", encoding="utf-8")
    (gnb / "new.md").write_text("another zebra\n", encoding="utf-8")
    (gnb / "airflow.md").unlink()
    time.sleep(0.03)
    sync_index(nb)
    files = indexed_files(nb)
    assert files is not None
    lookup = Lookup(index)
    assert sorted(lookup.delta) == ["k8s/rbac.md", "new.md"]
    cand, unknown = lookup.select(files, compile_pattern("zebra").need)
    assert unknown == [] and sorted(cand) == ["k8s/rbac.md", "new.md"]
    assert lookup.select(files, compile_pattern("rolebinding").need) == ([], [])


@needs_rg
def test_two_processes_find_the_same_in_the_same_order(gnb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PARALLEL_MIN notes to read, a forked child searches the second half."""
    from kb import grep as engine
    from kb import grepindex

    monkeypatch.setattr(grepindex, "PARALLEL_MIN", 2)
    for args in (["kubectl"], ["-i", "k"], [r"[0-9]+"], ["."]):
        assert kb_vim(*args[:-1], "--", args[-1]) == rg(gnb, *args[:-1], "--", args[-1]), args
    code, out, _ = kb("-l", ".")
    assert code == 0 and out.splitlines() == sorted(out.splitlines())  # path order kept
    assert len(kb("-l", ".", "--limit", "3")[1].splitlines()) == 3
    # a budget overrun in the child is the same one line, exit 2
    monkeypatch.setattr(engine, "BUDGET_S", 0.3)
    kb("-c", "kubectl")
    (gnb / "zz-hostile.md").write_bytes(b"a" * 40 + b"!\n")  # sorts last: the child's half
    code, out, err = kb(r"(a+)+\b$")
    assert code == 2 and "zz-hostile.md" in err and "backtracks" in err


# --------------------------------------------------------------------------- reading in bulk

BULK_FILES = {
    "a.md": b"kubectl get pods\nplain 12:34:56\n",
    "b.md": b"",
    "c.md": "\ufeffkubectl after a BOM\n".encode(),
    "d.md": b"kubectl\x00binary\n",
    "e.md": "İstanbul kubectl ı\n".encode(),
    "f.md": b"caf\xe9 kubectl latin-1\n",
    "g.md": "line\r\nkubectl\r\n".encode("utf-16"),
    "h.md": b"no newline at the end kubectl",
    "i.md": b"\n\n12:34:56 kubectl\n\n",
    "j.md": ("파드 kubectl 한국어\n" * 40).encode(),
    "k.md": b"k" * 300 + b"\nkubectl\n",
}


@pytest.mark.parametrize("chunk", [1, 16, 64, 200, 1 << 22])
def test_reading_in_bulk_finds_what_each_file_alone_does(tmp_path: Path, chunk: int) -> None:
    """Files read into one buffer, one RE2 search over it: the same hits, in the same
    order, as each file searched alone, whatever the buffer's size."""
    for rel, data in BULK_FILES.items():
        (tmp_path / rel).write_bytes(data)
    rels = sorted(BULK_FILES) + ["missing.md"]
    for pattern, flags in [
        ("kubectl", {}), ("i", {"ignore_case": True}), ("^$", {}), (".$", {}), ("[^a-z ]+", {}),
        ("kubectl", {"word": True}), (r"\d\d:\d\d", {}), ("k*", {}), ("파드|한국어", {}), ("x^", {}),
        (r"(a)\1|kubectl", {}),  # Python's re only
    ]:
        pat = compile_pattern(pattern, **flags)
        alone = []
        for rel in rels:
            if (tmp_path / rel).exists():
                hit = search_file(pat, (tmp_path / rel).read_bytes(), rel)
                if hit:
                    alone.append((rel, hit[0], [(m.line, m.text, m.spans) for m in hit[1]]))
        bulk = [
            (rel, text, [(m.line, m.text, m.spans) for m in found])
            for rel, text, found in search_files_in(chunk, str(tmp_path) + "/", rels, pat)
        ]
        assert bulk == alone, (pattern, flags)


# --------------------------------------------------------------------------- the index


def _sync(gnb: Path):
    from kb.config import find_notebook
    from kb.index.sync import indexed_files, sync_index

    nb = find_notebook(gnb)
    stats = sync_index(nb)
    return (str(nb.root), stats.generation), indexed_files(nb)


def _truth(gnb: Path, literal: str) -> set[str]:
    from kb.notes import iter_note_files

    return {rel for rel, _ in iter_note_files(gnb) if literal.encode() in fold((gnb / rel).read_bytes())}


def test_the_vocabulary_holds_each_word_once(gnb: Path, tmp_path: Path) -> None:
    """A literal is looked up in the notebook's distinct words (then their notes), not
    in every note's words; a piece of a word finds it."""
    for i in range(30):
        (gnb / f"copy{i}.md").write_text(f"kubectl copy {i}\n", encoding="utf-8")
    _sync(gnb)
    lookup = Lookup(tmp_path / "gnb-index")
    words = lookup._words()
    assert words.count(b"kubectl") == 1 and len(words) == len(set(words))
    ids = lookup._eval(("lit", "ubect"))
    assert ids is not None and {lookup.path(i) for i in ids} >= {f"copy{i}.md" for i in range(30)}
    lookup.close()


def test_the_sync_stamps_what_grep_may_trust_without_the_manifest(gnb: Path, tmp_path: Path) -> None:
    """After each sync the grep index names the manifest it matches; for it, the stamped
    answer (no signature checked) is the checked one, through changes, deletions and
    the delta folded into a new base."""
    import kb.grepindex

    index = tmp_path / "gnb-index"
    for step in range(4):
        stamp, files = _sync(gnb)
        assert files is not None
        lookup = Lookup(index)
        assert lookup.stamp == stamp
        for literal in ("kubectl", "zebra", "파드", "rolebinding", "kubectl get", "nothing-here", "a.b"):
            need = compile_pattern(literal).need
            cand, unknown = lookup.select_stamped(need)
            checked = [sorted(x) for x in lookup.select(files, need)]
            assert [sorted(cand), sorted(unknown)] == checked, (step, literal)
            assert set(cand) | set(unknown) >= _truth(gnb, literal.lower()) - {"binary.md"}
        assert sorted(lookup.all_stamped()) == sorted(files)
        lookup.close()
        time.sleep(0.03)
        if step == 0:
            (gnb / "k8s/rbac.md").write_text("now a zebra\n", encoding="utf-8")
            (gnb / "new.md").write_text("another zebra kubectl\n", encoding="utf-8")
            (gnb / "airflow.md").unlink()
        elif step == 1:
            kb.grepindex.DELTA_MAX = 0  # the next sync folds the delta into a new base
            (gnb / "new.md").write_text("changed again 파드\n", encoding="utf-8")
        elif step == 2:
            kb.grepindex.DELTA_MAX = 2000
            (gnb / "deep/a/b/c.md").unlink()
            (gnb / "zz.md").write_text("zebra kubectl get\n", encoding="utf-8")
    kb.grepindex.DELTA_MAX = 2000


def test_the_sync_reads_a_changed_note_once(gnb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grep index takes the bytes the sync read for the search index: no note is
    read a second time for it (the big note over kb's cap excepted: the sync reads only
    its first 2 MB)."""
    import kb.grepindex

    read_again: list[str] = []
    real = kb.grepindex._read_words

    def spy(root: Path, rel: str, sig):
        read_again.append(rel)
        return real(root, rel, sig)

    monkeypatch.setattr(kb.grepindex, "_read_words", spy)
    _sync(gnb)
    assert read_again == ["big.md"]
    time.sleep(0.03)
    (gnb / "k8s/rbac.md").write_text("now a zebra\n", encoding="utf-8")
    (gnb / "new.md").write_text("another zebra\n", encoding="utf-8")
    time.sleep(0.03)
    read_again.clear()
    _sync(gnb)
    assert read_again == []
    assert sorted(kb_vim("zebra")) == ["k8s/rbac.md:1:7:now a zebra", "new.md:1:9:another zebra"]


def test_a_long_lived_notebook_keeps_its_grep_index(gnb: Path) -> None:
    """What grep loads is kept on the Notebook (for a resident process), until a sync
    rewrites the grep index's files."""
    from kb.core import Notebook
    from kb.grepindex import grep_notebook, lookup_of

    nb = Notebook.find(gnb)
    stats = nb.sync()
    first = lookup_of(nb)
    assert lookup_of(nb) is first and nb.grep_cache[1] is first
    pat = compile_pattern("zebra")
    stamp = (str(nb.root), stats.generation)
    assert list(grep_notebook(nb.root, nb.place.index_dir, pat, stamp=stamp, lookup=first)) == []
    time.sleep(0.03)
    (gnb / "new.md").write_text("a zebra\n", encoding="utf-8")
    stats = nb.sync()
    second = lookup_of(nb)
    assert second is not first
    stamp = (str(nb.root), stats.generation)
    hits = list(grep_notebook(nb.root, nb.place.index_dir, pat, stamp=stamp, lookup=second))
    assert [h[0] for h in hits] == ["new.md"]


def test_grep_on_a_pooled_notebook_keeps_it_open(gnb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Served (kb.server hands the command an open notebook): grep brings it up to date
    without closing it (its rows and plans stay), and the next grep reuses its index."""
    from kb.commands import common
    from kb.core import Notebook

    nb = Notebook.open(gnb)
    rows = nb.rows()
    monkeypatch.setattr(common, "POOL", lambda dir: nb)
    assert kb_vim("rolebinding") == ["k8s/rbac.md:4:16:kubectl create rolebinding dev --role=view"]
    assert nb.is_open and nb.rows() == rows
    kept = nb.grep_cache[1]
    assert kb("-l", "zebra")[0] == 1
    assert nb.grep_cache[1] is kept
    time.sleep(0.03)
    (gnb / "new.md").write_text("a zebra\n", encoding="utf-8")
    assert kb("-l", "zebra")[:2] == (0, "new.md\n")
    assert nb.grep_cache[1] is not kept


@pytest.mark.parametrize("text", ["  ", "  \n  ", "a a", "a  a", " a ", "x  \n"])
def test_word_whose_last_character_is_the_next_words_edge(text: str) -> None:
    """-w: a word that ends in a non-word character is the left edge of the next one, also
    when the first word starts a line (found by Hypothesis: ``a| `` over two spaces)."""
    pat = compile_pattern("a| ", word=True)
    data = (text + "\n").encode()
    hit = search_file(pat, data)
    got = [s for m in (hit[1] if hit else []) for s in m.spans]
    python = [s for m in (lines_within(5.0, pat, file_text(data)) or []) for s in m.spans]
    assert got == python
