"""Start-up stays cheap: what ``import kb.cli``, ``kb --help`` and a warm ``kb search`` load.

Every kb command is a whole process, so every module imported on the way is paid on
every run (``python -X importtime -m kb search --json WORD`` shows the bill). These
tests run kb in a fresh interpreter and fail when a heavy module comes back onto the
fast path. Some modules cannot be left out: Typer imports ``subprocess``, Whoosh
imports ``hashlib`` and ``tempfile``, so they are not checked here.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import kb.cli
from kb.analysis import _is_hangul, _script_runs
from kb.snippets import starts_hangul

# Runs kb in-process, then writes every loaded module (with a flag for kb's
# placeholders, see kb.analysis.prepare_whoosh_import) and every compiled regex with
# a character class over the Hangul block (~0.5-1 ms to compile each, at every start)
# to the file named by argv[1]. Imports nothing kb would not.
_RUN_AND_DUMP = """
import atexit, re, sys

out = sys.argv[1]
hangul_ranges = ("\\\\uac00-", "\\\\u3131-", "\\uac00-", "\\u3131-")

def dump():
    with open(out, "w", encoding="utf-8") as fh:
        for name, module in list(sys.modules.items()):
            doc = getattr(module, "__doc__", None) or ""
            fh.write(f"module\\t{name}\\t{int('placeholder until first use' in doc)}\\n")
        for key in list(getattr(re, "_cache", {})):
            if any(r in str(key[1]) for r in hangul_ranges):
                fh.write("pattern\\t" + ascii(str(key[1])) + "\\n")

atexit.register(dump)
sys.argv = ["kb", *sys.argv[2:]]
{body}
"""

#: Never loaded by ``import kb.cli`` nor ``kb --help``: the core, Whoosh, Rich, YAML.
NOT_AT_IMPORT = [
    "whoosh",
    "rich",
    "frontmatter",
    "yaml",
    "kb.config",
    "kb.notes",
    "kb.analysis",
    "kb.index",
    "kb.search",
    "kb.render",
    "json",
    "hashlib",
    "tempfile",
    "jinja2",
    "kb.grep",
    "kb.grepindex",
    "kb.templates",
    "textual",
    "kb.find",
    "kb.lsp",
    "pygls",
    "lsprotocol",
]
#: Never loaded by a search on a fresh index (either output).
NOT_IN_SEARCH = ["frontmatter", "yaml", "kb.links", "kb.stats", "http.client", "email", "textual", "kb.find",
                 "kb.lsp", "pygls", "lsprotocol"]
#: Whoosh imports these for features kb never uses; they must stay placeholders.
PLACEHOLDERS = ["whoosh.lang.morph_en", "whoosh.lang.porter", "whoosh.lang.dmetaphone", "urllib.request"]


def _run(tmp_path: Path, body: str, *args: str) -> tuple[dict[str, bool], list[str]]:
    """Loaded modules (name -> is a placeholder) and Hangul-class regexes of one kb run."""
    out = tmp_path / "loaded.txt"
    code = _RUN_AND_DUMP.replace("{body}", body)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out), *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    modules: dict[str, bool] = {}
    patterns: list[str] = []
    for line in out.read_text(encoding="utf-8").splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "module":
            name, _, flag = rest.partition("\t")
            modules[name] = flag == "1"
        else:
            patterns.append(rest)
    return modules, patterns


def _loaded(modules: dict[str, bool], names: list[str]) -> list[str]:
    """Those of ``names`` loaded, as a package or any of its submodules."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_importing_the_cli_loads_no_core_module(tmp_path: Path) -> None:
    modules, _ = _run(tmp_path, "import kb.cli")
    assert _loaded(modules, NOT_AT_IMPORT) == []


def test_help_loads_no_core_module(tmp_path: Path) -> None:
    modules, _ = _run(tmp_path, "from kb.cli import run\nrun()", "--help")
    assert _loaded(modules, NOT_AT_IMPORT) == []


def _warm_search(tmp_path: Path, *args: str) -> tuple[dict[str, bool], list[str]]:
    body = "from kb.cli import run\nrun()"
    _run(tmp_path, body, "index")  # build the index first: a warm run is the one that counts
    return _run(tmp_path, body, "search", *args)


def _check_search_path(modules: dict[str, bool], patterns: list[str]) -> None:
    assert _loaded(modules, NOT_IN_SEARCH) == []
    assert "whoosh.searching" in modules  # it did search
    assert [n for n in PLACEHOLDERS if n in modules and not modules[n]] == []
    assert patterns == []


def test_search_json_loads_only_what_it_needs(tmp_path: Path) -> None:
    modules, patterns = _warm_search(tmp_path, "--json", "rag")
    _check_search_path(modules, patterns)
    assert _loaded(modules, ["rich", "kb.render"]) == []


def test_search_loads_only_what_it_needs(tmp_path: Path) -> None:
    modules, patterns = _warm_search(tmp_path, "파드", "kubernetes")
    _check_search_path(modules, patterns)
    assert "kb.render" in modules
    # json only for --json output (tests run without a watcher: KB_WATCH=0)
    assert _loaded(modules, ["json"]) == []
    # search results need no table (rich.table pulls in fractions and decimal: ~5 ms)
    assert _loaded(modules, ["rich.table"]) == []


def test_small_notebook_search_loads_no_watcher_client(tmp_path: Path, monkeypatch) -> None:
    """kb's default (KB_WATCH unset): a notebook far below the watcher's size never
    imports kb.watch (socket, json) just to learn that it needs none."""
    monkeypatch.delenv("KB_WATCH")
    modules, _ = _warm_search(tmp_path, "rag")
    assert _loaded(modules, ["kb.watch", "socket"]) == []


def test_grep_to_a_pipe_loads_no_whoosh_nor_rich(tmp_path: Path) -> None:
    """``kb grep`` reads the manifest and its own index; Whoosh only for --tag or a terminal."""
    body = "from kb.cli import run\nrun()"
    _run(tmp_path, body, "index")
    modules, _ = _run(tmp_path, body, "grep", "kubectl")
    assert "kb.grepindex" in modules
    assert _loaded(modules, ["whoosh", "rich", "kb.render", "jinja2", "frontmatter", "yaml"]) == []


def test_command_annotations_are_not_strings() -> None:
    # Typer reads every command's signature on every run; string annotations (from
    # ``from __future__ import annotations`` in kb/cli.py) make it eval() each (~8 ms).
    callbacks = [c.callback for c in kb.cli.app.registered_commands]
    callbacks.append(kb.cli.app.registered_callback.callback)  # type: ignore[union-attr]
    assert len(callbacks) > 10
    for callback in callbacks:
        strings = {k: v for k, v in inspect.get_annotations(callback).items() if isinstance(v, str)}
        assert strings == {}, callback.__name__


_SCRIPT_RUN_RE = re.compile("[\uac00-\ud7a3\u3131-\u318e]+|[^\uac00-\ud7a3\u3131-\u318e]+")
_IS_HANGUL_RE = re.compile("[\uac00-\ud7a3\u3131-\u318e]")
_SYLLABLE_RE = re.compile("[\uac00-\ud7a3]")
_EDGES = "가힣ㄱㆎ\u3130\u318f\uabff\ud7a4aZ9_-.'’é漢 "


@given(st.text(alphabet=st.sampled_from(_EDGES) | st.characters(), min_size=1, max_size=12))
def test_script_runs_cut_where_the_regex_did(word: str) -> None:
    assert _script_runs(word) == [(m.group(), m.start()) for m in _SCRIPT_RUN_RE.finditer(word)]
    for ch in word:
        assert _is_hangul(ch) == bool(_IS_HANGUL_RE.match(ch))


@given(st.text(alphabet=st.sampled_from(_EDGES) | st.characters(), max_size=4))
def test_starts_hangul_is_the_regex_match(text: str) -> None:
    assert starts_hangul(text) == bool(_SYLLABLE_RE.match(text))
