"""An index after a sync that rewrote notes: Whoosh keeps a rewritten note's old copy in its
segment, marked deleted, until the segment is merged.

* Reading a term's postings for some notes of such a segment must not fail when the segment
  holds the term only in deleted copies (``kb.topic._holding``, the list-only pass of a
  question, raised IndexError there: 21 of the differ set's 174 queries after a quarter of the
  corpus was touched).
* The words' document frequencies must be the live notes' (``kb.index.sync._merge_stale``):
  Whoosh counts a deleted copy's terms until its segment is merged, so after a sync that
  rewrote many notes every word weighed as commoner than it is and ranked otherwise than
  after a rebuild (differ questions .758 -> .695 with every note rewritten once)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from indexed import indexed

from kb.index.sync import STALE_SHARE, open_index, sync_index

NOTES = {f"n{i}.md": f"# Note {i}\n\nplain words of note {i}, common to all.\n" for i in range(10)}
NOTES["n0.md"] = "# Note 0\n\nplain words, and zzrare once, common to all.\n"


def _segments(ix) -> list[tuple[int, int]]:
    return [(s.doc_count_all(), s.deleted_count()) for s in ix._segments()]


def _touch(nb, names: list[str], text: str | None = None) -> None:
    later = time.time() + 5
    for name in names:
        path = nb.root / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        os.utime(path, (later, later))


def test_a_term_held_only_by_a_deleted_copy_is_not_read_as_held(tmp_path: Path) -> None:
    from kb.scoring import segments
    from kb.topic import _holding

    nb, _ = indexed(tmp_path, NOTES)
    _touch(nb, ["n0.md"], "# Note 0\n\nplain words, now without it, common to all.\n")  # 1 of 10: no merge
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    assert any(deleted for _, deleted in _segments(ix))  # the old copy is still there
    with ix.searcher() as s:
        reader = s.reader()
        live = sorted(d for d in range(reader.doc_count_all()) if not reader.is_deleted(d))
        assert ("body", "zzrare") in reader  # the deleted copy's term
        assert _holding(segments(reader), "body", "zzrare", live) == set()
        assert len(_holding(segments(reader), "body", "common", live)) == 10


def test_after_a_sync_that_rewrote_many_notes_frequencies_are_the_live_notes(tmp_path: Path) -> None:
    nb, ix = indexed(tmp_path, NOTES)
    with ix.searcher() as s:
        before = s.reader().doc_frequency("body", "common")
    assert before == 10
    _touch(nb, [f"n{i}.md" for i in range(1, 6)])  # half the notes, unchanged text
    assert 5 / 10 > STALE_SHARE
    sync_index(nb)
    ix, _ = open_index(nb, sync=False)
    with ix.searcher() as s:
        assert s.reader().doc_frequency("body", "common") == 10
        assert s.reader().doc_count() == 10
    assert all(deleted <= STALE_SHARE * total for total, deleted in _segments(ix))
