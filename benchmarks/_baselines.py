"""Search systems compared by the kb benchmarks.

Each system is a small class with ``index(corpus)`` and
``search(query, limit) -> list[str]``; ``search`` returns corpus-relative,
``/``-separated, NFC-normalised paths, best first.  ``unavailable()`` returns
a reason to skip the system on this machine (or ``None``) and ``close()``
frees whatever the index left behind (temporary directories, connections).

The baselines imitate how other note tools search:

* ``GrepSystem`` -- nb's ``nb search``: a note matches when it contains every
  query word as a case-insensitive substring; ranked by total occurrences.
* ``Fts5System`` -- zk: SQLite FTS5 with ``porter unicode61`` and
  ``bm25(notes, 1000.0, 500.0, 1.0)`` over path/title/body, words quoted.
* ``WhooshSystem`` -- a plain Whoosh index: StandardAnalyzer, BM25F, AND.
* ``RecollSystem`` -- Recoll (Xapian, CJK bigrams) through recollindex/recollq.
* ``KbCliSystem`` -- kb itself, run through its CLI in subprocesses.

Only the standard library is needed, except Whoosh (imported lazily).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

#: Files at the corpus root that describe the corpus and are not notes.
ROOT_NON_NOTES = frozenset({"MANIFEST.tsv", "SOURCES.md"})
NOTE_SUFFIX = ".md"
REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# Notes
# --------------------------------------------------------------------------


def norm_path(path: str) -> str:
    """Return ``path`` as a POSIX, NFC-normalised relative path."""
    path = unicodedata.normalize("NFC", path.replace(os.sep, "/"))
    while path.startswith("./"):
        path = path[2:]
    return path


def note_files_on_disk(corpus: Path) -> list[Path]:
    """Corpus-relative paths of all notes, spelled as on disk: ``*.md``
    files outside hidden folders, less the corpus' own description files."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(corpus):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(corpus)
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(NOTE_SUFFIX):
                continue
            if rel_dir == Path(".") and name in ROOT_NON_NOTES:
                continue
            found.append(rel_dir / name)
    return sorted(found)


def iter_note_files(corpus: Path) -> list[str]:
    """The notes' corpus-relative paths, normalised (see ``norm_path``)."""
    return sorted(norm_path(str(rel)) for rel in note_files_on_disk(corpus))


@dataclass(frozen=True)
class Note:
    path: str  # corpus-relative, NFC, POSIX
    text: str  # the whole file
    title: str
    body: str  # the text after the frontmatter


_FRONTMATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_TITLE_LINE = re.compile(r"^title[ \t]*:[ \t]*(.*?)[ \t]*\r?$", re.MULTILINE)
_H1_LINE = re.compile(r"^#[ \t]+(.+?)[ \t#]*\r?$", re.MULTILINE)


def split_frontmatter(text: str) -> tuple[str | None, str]:
    """Split YAML frontmatter (between leading ``---`` lines) from the body."""
    first, _, rest = text.partition("\n")
    if first.rstrip() != "---":
        return None, text
    end = _FRONTMATTER_END.search(rest)
    if end is None:
        return None, text
    return rest[: end.start()], rest[end.end() :].lstrip("\r\n")


def note_title(frontmatter: str | None, body: str, stem: str) -> str:
    """Frontmatter ``title:``, else the first ``# `` heading, else ``stem``."""
    if frontmatter is not None:
        match = _TITLE_LINE.search(frontmatter)
        if match and match.group(1).strip("'\""):
            return match.group(1).strip("'\"")
    heading = _H1_LINE.search(body)
    return heading.group(1) if heading else stem


def read_note(corpus: Path, rel: Path) -> Note:
    """Read the note at ``corpus / rel`` (``rel`` spelled as on disk)."""
    text = (corpus / rel).read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    frontmatter, body = split_frontmatter(text)
    title = note_title(frontmatter, body, unicodedata.normalize("NFC", rel.stem))
    return Note(norm_path(str(rel)), text, title, body)


def load_notes(corpus: Path) -> list[Note]:
    return [read_note(corpus, rel) for rel in note_files_on_disk(corpus)]


# --------------------------------------------------------------------------
# The system interface
# --------------------------------------------------------------------------


class SearchSystem(Protocol):
    name: str

    def unavailable(self) -> str | None: ...

    def index(self, corpus: Path) -> None: ...

    def search(self, query: str, limit: int) -> list[str]: ...

    def close(self) -> None: ...


class _Base:
    """Defaults shared by the systems below."""

    name = "?"

    def unavailable(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# grep (nb)
# --------------------------------------------------------------------------


class GrepSystem(_Base):
    """nb-style search: every word as a case-insensitive substring (AND),
    ranked by the total occurrence count of the words, ties by path."""

    name = "grep"

    def __init__(self) -> None:
        self._texts: list[tuple[str, str]] = []

    def index(self, corpus: Path) -> None:
        self._texts = [(n.path, n.text.lower()) for n in load_notes(corpus)]

    def search(self, query: str, limit: int) -> list[str]:
        words = query.lower().split()
        if not words:
            return []
        scored: list[tuple[int, str]] = []
        for path, text in self._texts:
            if all(word in text for word in words):
                scored.append((-sum(text.count(word) for word in words), path))
        scored.sort()
        return [path for _, path in scored[:limit]]


# --------------------------------------------------------------------------
# SQLite FTS5 (zk)
# --------------------------------------------------------------------------


def fts5_available() -> bool:
    try:
        with sqlite3.connect(":memory:") as conn:
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        return True
    except sqlite3.Error:
        return False


def fts5_query(query: str) -> str:
    """zk's plain query: each word an FTS5 string, joined by spaces (AND)."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in query.split())


class Fts5System(_Base):
    """zk-style SQLite FTS5 index, ranked by bm25 with zk's column weights."""

    name = "fts5"
    _SQL = "SELECT path FROM notes WHERE notes MATCH ? ORDER BY bm25(notes, 1000.0, 500.0, 1.0) LIMIT ?"

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._conn: sqlite3.Connection | None = None

    def unavailable(self) -> str | None:
        return None if fts5_available() else "this sqlite3 has no FTS5"

    def index(self, corpus: Path) -> None:
        self.close()
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-bench-fts5-")
        self._conn = sqlite3.connect(Path(self._tmp.name) / "notes.db")
        self._conn.execute(
            "CREATE VIRTUAL TABLE notes USING fts5(path, title, body, "
            "tokenize='porter unicode61 remove_diacritics 1')"
        )
        rows = ((n.path, n.title, n.body) for n in load_notes(corpus))
        with self._conn:
            self._conn.executemany("INSERT INTO notes VALUES (?, ?, ?)", rows)

    def search(self, query: str, limit: int) -> list[str]:
        assert self._conn is not None, "index() first"
        match = fts5_query(query)
        if not match:
            return []
        try:
            return [row[0] for row in self._conn.execute(self._SQL, (match, limit))]
        except sqlite3.Error:
            return []

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# --------------------------------------------------------------------------
# Whoosh
# --------------------------------------------------------------------------


class WhooshSystem(_Base):
    """Plain Whoosh 2.7: StandardAnalyzer on path/title(boost 2)/body,
    MultifieldParser over title and body (AND group), BM25F scoring."""

    name = "whoosh"

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._searcher: Any = None
        self._parser: Any = None

    def unavailable(self) -> str | None:
        try:
            import whoosh  # noqa: F401
        except ImportError:
            return "whoosh is not installed"
        return None

    def index(self, corpus: Path) -> None:
        from whoosh import index
        from whoosh.analysis import StandardAnalyzer
        from whoosh.fields import TEXT, Schema
        from whoosh.qparser import MultifieldParser

        self.close()
        schema = Schema(
            path=TEXT(analyzer=StandardAnalyzer(), stored=True),
            title=TEXT(analyzer=StandardAnalyzer(), field_boost=2.0),
            body=TEXT(analyzer=StandardAnalyzer()),
        )
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-bench-whoosh-")
        ix = index.create_in(self._tmp.name, schema)
        writer = ix.writer(limitmb=256)
        for note in load_notes(corpus):
            writer.add_document(path=note.path, title=note.title, body=note.body)
        writer.commit()
        self._searcher = ix.searcher()
        self._parser = MultifieldParser(["title", "body"], schema)

    def search(self, query: str, limit: int) -> list[str]:
        assert self._searcher is not None, "index() first"
        try:
            parsed = self._parser.parse(query)
            return [hit["path"] for hit in self._searcher.search(parsed, limit=limit)]
        except Exception:  # a query Whoosh cannot parse or run: no results
            return []

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# --------------------------------------------------------------------------
# Recoll
# --------------------------------------------------------------------------


def _conf_value(value: str) -> str:
    return f'"{value}"' if any(c.isspace() for c in value) else value


def recoll_conf(corpus: Path) -> str:
    """A recoll.conf indexing exactly the notes of ``corpus`` as text.

    Debian's default mimemap already maps ``.md`` to ``text/plain``, which
    recoll indexes with its internal text handler; CJK text (Hangul included)
    is split into bigrams (``cjkngramlen = 2``, the default).
    """
    root = corpus.resolve()
    skipped = " ".join(_conf_value(str(root / name)) for name in sorted(ROOT_NON_NOTES))
    return "\n".join(
        [
            f"topdirs = {_conf_value(str(root))}",
            "onlyNames = *.md",  # LICENSE, images, ... are not notes
            "skippedNames+ = .*",  # hidden files and folders
            f"skippedPaths = {skipped}",
            "noaspell = 1",  # no spelling dictionary: not used for ranking
            "loglevel = 1",
            "",
        ]
    )


class RecollSystem(_Base):
    """Recoll through its CLI: ``recollindex -c DIR`` to index and
    ``recollq -c DIR -a -b -e -n N QUERY`` (the GUI's "all terms" simple
    search, relevance order, URL-encoded ``file://`` URLs) to search."""

    name = "recoll"
    # recoll also indexes folders (by name); fetch extra results to drop them.
    _OVERFETCH = 3

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._root = Path()
        self._notes: frozenset[str] = frozenset()

    def unavailable(self) -> str | None:
        missing = [cmd for cmd in ("recollindex", "recollq") if not shutil.which(cmd)]
        if missing:
            return f"{' and '.join(missing)} not on PATH (apt-get install recoll)"
        return None

    @property
    def confdir(self) -> str:
        assert self._tmp is not None, "index() first"
        return self._tmp.name

    def index(self, corpus: Path) -> None:
        self.close()
        self._root = corpus.resolve()
        self._notes = frozenset(iter_note_files(corpus))
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-bench-recoll-")
        (Path(self.confdir) / "recoll.conf").write_text(recoll_conf(corpus), "utf-8")
        subprocess.run(
            ["recollindex", "-c", self.confdir],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=1800,
        )

    def search(self, query: str, limit: int) -> list[str]:
        if not query.strip():
            return []
        argv = ["recollq", "-c", self.confdir, "-a", "-b", "-e"]
        argv += ["-n", str(limit * self._OVERFETCH), query]
        proc = subprocess.run(argv, check=False, capture_output=True, timeout=120)
        if proc.returncode != 0:
            return []
        paths = (self._url_to_path(line) for line in proc.stdout.decode().splitlines())
        return [p for p in paths if p in self._notes][:limit]

    def _url_to_path(self, url: str) -> str | None:
        url = url.strip()
        if not url.startswith("file://"):
            return None
        path = Path(unquote(urlsplit(url).path))
        try:
            return norm_path(str(path.relative_to(self._root)))
        except ValueError:
            return None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def recoll_version() -> str:
    """Recoll's version as ``recollq -v`` prints it, or ``?``."""
    try:
        proc = subprocess.run(["recollq", "-v"], check=False, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (proc.stdout or proc.stderr).decode(errors="replace").strip()
    return text.splitlines()[0] if text else "?"


# --------------------------------------------------------------------------
# kb, through its CLI
# --------------------------------------------------------------------------


class KbCliSystem(_Base):
    """kb run as users run it: ``python -m kb`` subprocesses, with its index
    in a temporary ``KB_INDEX_DIR``.  A failing call (non-zero exit, bad
    JSON) yields no results and a one-line warning, never an exception."""

    name = "kb"

    def __init__(self, max_warnings: int = 5) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._corpus = Path()
        self._env: dict[str, str] = {}
        self.failures = 0
        self._max_warnings = max_warnings

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[bytes]:
        argv = [sys.executable, "-m", "kb", "--dir", str(self._corpus), *args]
        return subprocess.run(
            argv,
            check=False,
            capture_output=True,
            env=self._env,
            cwd=REPO_ROOT,
            timeout=timeout,
        )

    def _fail(self, what: str, detail: str) -> None:
        self.failures += 1
        if self.failures <= self._max_warnings:
            _warn(f"kb {what}: {detail}")
        elif self.failures == self._max_warnings + 1:
            _warn("kb: further failures are counted, not printed")

    @staticmethod
    def _last_line(stderr: bytes) -> str:
        lines = stderr.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no stderr)"

    def index(self, corpus: Path) -> None:
        self.close()
        self._corpus = corpus.resolve()
        self._tmp = tempfile.TemporaryDirectory(prefix="kb-bench-kb-")
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self._env = {
            **os.environ,
            "KB_INDEX_DIR": self._tmp.name,
            "PYTHONPATH": pythonpath,
        }
        try:
            proc = self._run("index", "--rebuild", timeout=1800)
        except subprocess.TimeoutExpired:
            self._fail("index", "timed out")
            return
        if proc.returncode != 0:
            self._fail("index", f"exit {proc.returncode}: {self._last_line(proc.stderr)}")

    def search(self, query: str, limit: int) -> list[str]:
        try:
            proc = self._run("search", "--json", "--limit", str(limit), "--", query, timeout=120)
        except subprocess.TimeoutExpired:
            self._fail(f"search {query!r}", "timed out")
            return []
        if proc.returncode != 0:
            detail = f"exit {proc.returncode}: {self._last_line(proc.stderr)}"
            self._fail(f"search {query!r}", detail)
            return []
        try:
            hits = json.loads(proc.stdout)
            return [norm_path(str(hit["path"])) for hit in hits][:limit]
        except (ValueError, TypeError, KeyError) as exc:
            self._fail(f"search {query!r}", f"bad JSON ({exc.__class__.__name__}: {exc})")
            return []

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


#: System factories by name, in the order the benchmark runs them.
class KbLibSystem(_Base):
    """kb called in-process (``kb.index.sync.sync_index`` + ``kb.search.search``): the
    same ranking as the CLI without a process per query, for quick iteration."""

    name = "kb-lib"

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._nb: Any = None
        self._ix: Any = None

    def index(self, corpus: Path) -> None:
        from kb.config import Notebook
        from kb.index.sync import open_index, sync_index

        kept = os.environ.get("KB_BENCH_LIB_INDEX")
        if kept:
            # a query-time experiment: an index kept from an earlier run, brought up to date
            # (KB_BENCH_LIB_INDEX=DIR; built on first use)
            self._nb = Notebook(corpus.resolve(), Path(kept), "bench")
            sync_index(self._nb)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="kb-bench-lib-")
            self._nb = Notebook(corpus.resolve(), Path(self._tmp.name), "bench")
            sync_index(self._nb, rebuild=True)
        self._ix, _ = open_index(self._nb, sync=False)

    def search(self, query: str, limit: int) -> list[str]:
        from kb.search import search

        return [norm_path(h.path) for h in search(self._nb, query, limit=limit, ix=self._ix).hits]

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


SYSTEMS: dict[str, Callable[[], SearchSystem]] = {
    "kb": KbCliSystem,
    "kb-lib": KbLibSystem,
    "grep": GrepSystem,
    "fts5": Fts5System,
    "whoosh": WhooshSystem,
    "recoll": RecollSystem,
}
