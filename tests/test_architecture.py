"""The shape of kb's code, read from its source (AST): what a newcomer relies on.

- no import cycle among kb's modules, imports inside functions and ``TYPE_CHECKING``
  blocks counted (importing ``kb.index.lock`` also runs ``kb/index/__init__.py``);
- no private name (``_x``) imported from another kb module: what several modules share
  is public in the module that owns it;
- the files kb keeps in an index folder are named in one module, :mod:`kb.index.manifest`.

Each check is a function of a source folder, so the tests at the end show that it
finds what it is for in a small made-up package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kb
from kb.index.manifest import KB_FILES

KB = Path(kb.__file__).parent
#: The one module allowed to spell a side file's name.
NAMES_MODULE = "kb.index.manifest"


def _modules(root: Path) -> dict[str, Path]:
    """``kb.index.sync`` -> its file, for every module of the package at ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(root: Path) -> list[tuple[str, str, str | None]]:
    """(importer, imported module, imported name or None) for every import of a module
    of the package, wherever in the file it is."""
    mods = _modules(root)
    top = root.name
    out: list[tuple[str, str, str | None]] = []
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target != top and not target.startswith(top + "."):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in mods:  # `from . import catalog`: the module itself
                        out.append((name, sub, None))
                    else:
                        out.append((name, target, alias.name))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == top or alias.name.startswith(top + "."):
                        out.append((name, alias.name, None))
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules importing it runs (its imports, and their parent packages)."""
    mods = _modules(root)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for importer, target, _ in _imports(root):
        parts = target.split(".")
        for i in range(2, len(parts) + 1):  # kb.index.lock runs kb/index/__init__ first
            module = ".".join(parts[:i])
            if module in mods and module != importer:
                graph[importer].add(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def private_crossings(root: Path) -> list[tuple[str, str, str]]:
    """(importer, module, name) for every ``_name`` imported from another module."""
    return [
        (importer, target, name)
        for importer, target, name in _imports(root)
        if name is not None and name.startswith("_") and not name.startswith("__") and target != importer
    ]


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def side_file_literals(root: Path, names: frozenset[str], allowed: str) -> list[tuple[str, int, str]]:
    """(module, line, text) for every string in the code (not a docstring) that is a side
    file's name, or one with a suffix (``"manifest.bin.tmp"``), outside ``allowed``."""
    out = []
    for module, path in _modules(root).items():
        if module == allowed:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                text = node.value
                if text in names or any(text.startswith(n + ".") for n in names):
                    out.append((module, node.lineno, text))
    return out


# ----------------------------------------------------------------------------- kb itself


def test_no_import_cycle() -> None:
    assert cycles(import_graph(KB)) == []


def test_no_private_name_crosses_modules() -> None:
    assert private_crossings(KB) == []


def test_side_files_are_named_in_the_manifest_module_only() -> None:
    assert side_file_literals(KB, KB_FILES, NAMES_MODULE) == []
    # and the manifest module does name them (the check above is not vacuous)
    assert side_file_literals(KB, KB_FILES, "nothing") != []


def test_the_watcher_depends_on_leaves_only() -> None:
    """kb.watch runs as a resident process: it must not load the orchestrator (or
    Whoosh through it), nor the catalog."""
    graph = import_graph(KB)
    reach, todo = set(), ["kb.watch"]
    while todo:
        for m in graph[todo.pop()] - reach:
            reach.add(m)
            todo.append(m)
    assert not reach & {"kb.index.sync", "kb.index.catalog", "kb.index.probe", "kb.search", "kb.cli"}


# ------------------------------------------------------------- the checks can fail


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "kb"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "from .b import f\n",
        "b.py": "def f():\n    from . import c\n",
        "c.py": "def g():\n    from .a import x\n",
        "d.py": "from .a import x\n",
    })
    assert cycles(import_graph(root)) == [["kb.a", "kb.b", "kb.c"]]


def test_a_cycle_through_a_package_init_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "index/__init__.py": "from .sync import open_index\n",
        "index/sync.py": "from .. import watch\n",
        "index/lock.py": "",
        "watch.py": "from .index.lock import held\n",  # runs kb/index/__init__.py
    })
    assert cycles(import_graph(root)) == [["kb.index", "kb.index.sync", "kb.watch"]]


def test_a_private_import_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "notes.py": "_FM_RE = 1\nWIKI = 2\n",
        "links.py": "from .notes import WIKI, _FM_RE\nfrom . import notes\n",
        "stats.py": "def f():\n    from kb.notes import _FM_RE\n",
    })
    assert private_crossings(root) == [("kb.links", "kb.notes", "_FM_RE"), ("kb.stats", "kb.notes", "_FM_RE")]


def test_a_side_file_named_elsewhere_is_found(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        "__init__.py": "",
        "index/__init__.py": "",
        "index/manifest.py": 'MANIFEST = "manifest.bin"\n',
        "watch.py": '"""Reads manifest.bin."""\nSTATE = "watch.state"\ntmp = "manifest.bin.tmp"\n',
    })
    found = side_file_literals(root, frozenset({"manifest.bin", "watch.state"}), "kb.index.manifest")
    assert found == [("kb.watch", 2, "watch.state"), ("kb.watch", 3, "manifest.bin.tmp")]
