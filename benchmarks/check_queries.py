"""Re-check the judged query files against the corpus.

Run from the repository root::

    python benchmarks/check_queries.py [--corpus DIR] [FILE ...]

Defaults: ``--corpus ../shared/corpus`` and ``benchmarks/queries.tsv``,
``benchmarks/queries_differ.tsv``, ``benchmarks/queries_holdout.tsv``,
``benchmarks/queries_fresh.tsv``, ``benchmarks/queries_fresh2.tsv``,
``benchmarks/queries_fresh3.tsv``, ``benchmarks/queries_fresh4.tsv`` and
``benchmarks/queries_fresh5.tsv``.  Exit
status 1 when any row fails a check.

Every row: each relevant path must be a note of the corpus.  Rows with a fourth
column (``check``) are checked by kind:

* ``cross-script`` and ``typo``: ``check`` lists ``QUERYFORM=>NOTEFORM`` pairs
  separated by `` | ``.  QUERYFORM must occur in the query and must be ABSENT
  (case-insensitive substring, NFC) from every relevant note's text and its
  corpus-relative path; NOTEFORM must be PRESENT in every relevant note.  So
  ``replicaset=>레플리카셋`` says: the query writes replicaset, the notes only
  레플리카셋.
* ``code``: ``check`` lists code fragments (`` | ``-separated) that must occur,
  case-sensitively, inside a fenced code block or an inline code span of
  every relevant note.
* ``english``: no ``check`` column needed.  Every query word (function
  words such as "to", "over" aside) must share its
  Porter stem with some word of every relevant note, and at least one query
  word, as typed, must be absent from it as a whole word: the words differ
  only by inflection.
* ``question`` (and ``title``/``body``): only the paths are checked.

Also printed, for information: rows whose QUERYFORM is in kb's built-in alias
table (a hand-written pair, not something kb has to learn).

``--ablate`` (slow: indexes the corpus with kb in-process) prints, for every
cross-script and typo row, the rank of the first relevant note for the query
as typed, with each QUERYFORM replaced by its NOTEFORM (``fixed``: is the row
answerable when the words match?) and with each QUERYFORM removed
(``removed``: do the other words alone already find the note?).  A good row
has ``fixed`` near 1 and ``removed`` well below it.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

from _baselines import iter_note_files, norm_path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"
DEFAULT_FILES = (
    HERE / "queries.tsv",
    HERE / "queries_differ.tsv",
    HERE / "queries_holdout.tsv",
    HERE / "queries_fresh.tsv",
    HERE / "queries_fresh2.tsv",
    HERE / "queries_fresh3.tsv",
    HERE / "queries_fresh4.tsv",
    HERE / "queries_fresh5.tsv",
)
HEADER = ("kind", "query", "relevant")

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_WORD = re.compile(r"[A-Za-z]+")
# Function words an English analyzer drops: not checked in ``english`` rows.
_STOP = frozenset(
    "a an and are as at be by for from how in into is of on or over the to with between".split()
)


def nfc_lower(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def code_text(text: str) -> str:
    """The fenced code blocks and inline code spans of a Markdown text."""
    parts = [m.group(2) for m in _FENCE.finditer(text)]
    rest = _FENCE.sub("", text)
    parts += [m.group(2) for m in _INLINE.finditer(rest)]
    return "\n".join(parts)


class Corpus:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.notes = set(iter_note_files(root))
        self._on_disk = {norm_path(str(p.relative_to(root))): p for p in root.rglob("*.md")}
        self._cache: dict[str, str] = {}

    def text(self, path: str) -> str:
        if path not in self._cache:
            raw = self._on_disk[path].read_bytes().decode("utf-8", errors="replace")
            self._cache[path] = unicodedata.normalize("NFC", raw.lstrip("\ufeff"))
        return self._cache[path]


def _stem_fn():
    from whoosh.lang.porter import stem

    return stem


def check_row(kind: str, query: str, paths: list[str], check: str, corpus: Corpus) -> list[str]:
    problems: list[str] = []
    missing = [p for p in paths if p not in corpus.notes]
    problems += [f"relevant {p!r} is not a note" for p in missing]
    paths = [p for p in paths if p not in missing]
    if kind in ("cross-script", "typo"):
        if not check:
            return [*problems, "no QUERYFORM=>NOTEFORM check column"]
        for pair in (c.strip() for c in check.split(" | ")):
            qform, sep, nform = (s.strip() for s in pair.partition("=>"))
            if not sep or not qform or not nform:
                problems.append(f"bad pair {pair!r} (want QUERYFORM=>NOTEFORM)")
                continue
            if nfc_lower(qform) not in nfc_lower(query):
                problems.append(f"{qform!r} is not in the query")
            for p in paths:
                low = nfc_lower(corpus.text(p))
                if nfc_lower(qform) in low:
                    problems.append(f"{qform!r} occurs in {p}")
                if nfc_lower(qform) in nfc_lower(p):
                    problems.append(f"{qform!r} occurs in the path {p}")
                if nfc_lower(nform) not in low:
                    problems.append(f"{nform!r} does not occur in {p}")
    elif kind == "code":
        if not check:
            return [*problems, "no code fragment in the check column"]
        for fragment in (c.strip() for c in check.split(" | ")):
            for p in paths:
                if fragment not in code_text(corpus.text(p)):
                    problems.append(f"{fragment!r} not in the code of {p}")
    elif kind == "english":
        stem = _stem_fn()
        words = [w.lower() for w in _WORD.findall(query) if w.lower() not in _STOP]
        for p in paths:
            note_words = {w.lower() for w in _WORD.findall(corpus.text(p))}
            note_stems = {stem(w) for w in note_words}
            no_stem = [w for w in words if stem(w) not in note_stems]
            if no_stem:
                problems.append(f"no word with the stem of {no_stem} in {p}")
            if all(w in note_words for w in words):
                problems.append(f"every query word occurs as typed in {p}")
    return problems


def builtin_alias_forms() -> set[str]:
    sys.path.insert(0, str(HERE.parent))
    try:
        from kb.aliases import BUILTIN
    except ImportError:
        return set()
    return {nfc_lower(term) for group in BUILTIN for term in group}


def check_file(path: Path, corpus: Corpus, aliases: set[str]) -> tuple[int, int, dict[str, int]]:
    rows = failures = 0
    kinds: dict[str, int] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if tuple(parts[:3]) == HEADER:
            continue
        rows += 1
        if len(parts) not in (3, 4):
            print(f"{path.name}:{number}: expected 3 or 4 fields, got {len(parts)}")
            failures += 1
            continue
        kind, query, relevant = parts[:3]
        check = parts[3] if len(parts) == 4 else ""
        kinds[kind] = kinds.get(kind, 0) + 1
        paths = [norm_path(p.strip()) for p in relevant.split(" | ") if p.strip()]
        problems = check_row(kind, query, paths, check, corpus)
        for problem in problems:
            print(f"{path.name}:{number}: [{kind}] {query!r}: {problem}")
        failures += bool(problems)
        if kind in ("cross-script", "typo") and check:
            forms = {nfc_lower(pair.partition("=>")[0].strip()) for pair in check.split(" | ")}
            hand = sorted(forms & aliases)
            if hand:
                print(f"{path.name}:{number}: note: {hand} is in kb's built-in alias table")
    return rows, failures, kinds


def ablate(files: list[Path], corpus: Path) -> None:
    """Rank of each cross-script/typo row as typed, fixed and with its form removed (kb)."""
    from _baselines import KbLibSystem

    rows = []
    for path in files:
        for line in path.read_text("utf-8").splitlines():
            parts = [p.strip() for p in line.split("\t")]
            if len(parts) == 4 and parts[0] in ("cross-script", "typo") and not line.startswith("#"):
                rows.append(parts)
    system = KbLibSystem()
    system.index(corpus)

    def rank(query: str, relevant: set[str]) -> str:
        if not query.strip():
            return "n/a"
        hits = system.search(query, 10)
        return next((str(i) for i, p in enumerate(hits, start=1) if p in relevant), "-")

    try:
        print("kind\ttyped\tfixed\tremoved\tquery")
        for kind, query, relevant, check in rows:
            paths = {norm_path(p.strip()) for p in relevant.split(" | ")}
            fixed = removed = query
            for pair in check.split(" | "):
                qform, _, nform = (s.strip() for s in pair.partition("=>"))
                pattern = re.compile(re.escape(qform), re.IGNORECASE)
                fixed = pattern.sub(lambda _m, n=nform: n, fixed)
                removed = pattern.sub(" ", removed)
            removed = " ".join(removed.split())
            print(f"{kind}\t{rank(query, paths)}\t{rank(fixed, paths)}\t{rank(removed, paths)}\t{query}")
    finally:
        system.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--ablate", action="store_true", help="rank cross-script/typo rows with kb, fixed and removed"
    )
    parser.add_argument("files", nargs="*", type=Path, default=list(DEFAULT_FILES))
    args = parser.parse_args(argv)
    corpus = Corpus(args.corpus)
    aliases = builtin_alias_forms()
    bad = 0
    for path in args.files:
        rows, failures, kinds = check_file(path, corpus, aliases)
        counts = ", ".join(f"{k} {n}" for k, n in kinds.items())
        print(f"{path.name}: {rows} rows ({counts}); {failures} failing")
        bad += failures
    if args.ablate:
        ablate(args.files, args.corpus)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
