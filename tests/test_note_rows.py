"""Note rows are read as attributes (``row.slug``), not as dicts (``row["slug"]``).

The pattern is the one counted for issue 14 (108 places on
main before kb.noterow.NoteRow). What is left: ``kb.index.schema`` reading Whoosh's stored
fields of a note where it turns them into a row (``stored_row``, ``stored_tags``), the
schema's field boosts, and a template's frontmatter; the modules that consume rows,
search hits included, hold none.
"""

from __future__ import annotations

import re
from pathlib import Path

KB = Path(__file__).parent.parent / "kb"

DICT_STYLE = re.compile(
    r"""\[\s*["'](slug|title|path|tags|date|modified|aliases|body|size|words)["']\s*\]"""
    r"""|\.get\(\s*["'](slug|title|path|tags|date|modified|aliases|body)["']"""
)
#: Lowered as rows replaced dicts; lower it again when one more goes, never raise it.
CEILING = 8
#: Modules that only ever get rows: not one dict-style read.
CONSUMERS = ["cli.py", "core.py", "noterow.py", "links.py", "stats.py", "render.py", "search.py", "scoring.py",
             "index/catalog.py", "index/sync.py", "commands"]


def _reads(path: Path) -> list[str]:
    return [f"{path.relative_to(KB)}:{n}" for n, line in enumerate(path.read_text().splitlines(), 1)
            if DICT_STYLE.search(line)]


def test_dict_style_reads_stay_under_the_ceiling() -> None:
    found = [hit for p in sorted(KB.rglob("*.py")) for hit in _reads(p)]
    assert len(found) <= CEILING, found


def test_row_consumers_read_attributes() -> None:
    files = [KB / name for name in CONSUMERS if name.endswith(".py")]
    files += [p for name in CONSUMERS if not name.endswith(".py") for p in (KB / name).rglob("*.py")]
    assert len(files) > len(CONSUMERS)
    assert [hit for p in files for hit in _reads(p)] == []


def test_the_pattern_sees_dict_reads() -> None:
    assert DICT_STYLE.search('doc["slug"]') and DICT_STYLE.search("r.get('title')")
    assert not DICT_STYLE.search("row.slug") and not DICT_STYLE.search('d["score"]')
