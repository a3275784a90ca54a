"""The rename journal: a rename that was interrupted is finished by the next kb command.

``kb rename`` moves a note and rewrites the links in every note that names it: one
file at a time, each replaced atomically, but thousands of files are not one atomic
step. Before the first change kb writes what it is about to do to
``<notebook>/.kb/rename-journal.json``: the move, and for every file its SHA-256
before and after and the byte ranges that change. If the process dies (``kill -9``,
a crash, power loss) the journal stays, and the next kb command in that notebook
rolls the rename forward and says so: a file that still holds its "before" bytes is
rewritten, one that holds its "after" bytes is done, and one that holds anything
else was edited since and is left alone (named in a warning). Temporary files of
that rename (``.kb-<token>-*.tmp``) are removed.

Why in the notebook and not in the index folder: the journal describes a change to
the notes, and the index is a disposable cache. Deleting the index, a different
``KB_INDEX_DIR`` or a rebuild must not lose the only record of a half-done rename.
``.kb/`` is hidden, so kb never indexes it (as with ``.kb/synonyms.txt``).

While a rename runs, it holds an exclusive ``flock`` on the journal; another kb
process that finds the journal locked leaves it alone (a rename in progress, not an
interrupted one). Every write re-checks the file just before replacing it, so a save
made between kb's read and its write is never lost. A symlinked note is written
through to its target; a hard-linked one is left as it is (replacing it would split
the link) with a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import KbError, NoteChanged, NoteExists
from .notes import fsynced_temp, move_file, remove_empty_dirs, replace_file_atomic

JOURNAL_DIR = ".kb"
JOURNAL_NAME = "rename-journal.json"
_VERSION = 1


def journal_path(root: Path) -> Path:
    return root / JOURNAL_DIR / JOURNAL_NAME


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def apply_edits(data: bytes, edits: list[list[Any]]) -> bytes:
    """``data`` with the journal's ``[start, end, base64 bytes]`` replacements made."""
    import base64

    pieces: list[bytes] = []
    last = 0
    for start, end, piece in edits:
        pieces += [data[last:start], base64.b64decode(piece)]
        last = end
    pieces.append(data[last:])
    return b"".join(pieces)


@dataclass(frozen=True)
class Change:
    """One file of a journal: where it ends up (``path``), where it was (``old_path``),
    the sha256 of its bytes before and after, and the edits as ``[start, end, base64]``."""

    path: str
    old_path: str
    before: str
    after: str
    edits: list[list[Any]]

    @classmethod
    def of(cls, entry: dict[str, Any]) -> Change:
        """From the journal's JSON; KeyError or TypeError if it is not one."""
        if not isinstance(entry, dict):
            raise TypeError(f"a change is {type(entry).__name__}, not an object")
        keys = ("path", "old_path", "before", "after", "edits")
        path, old_path, before, after, edits = (entry[k] for k in keys)
        texts = (path, old_path, before, after)
        if not all(isinstance(v, str) for v in texts) or not isinstance(edits, list):
            raise TypeError("a change with fields of the wrong type")
        return cls(path, old_path, before, after, edits)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old_path": self.old_path, "before": self.before, "after": self.after,
                "edits": self.edits}


def _changes(journal: dict[str, Any]) -> list[Change]:
    """The journal's files; the moved note first. KeyError or TypeError if malformed."""
    changes = [Change.of(c) for c in journal["changes"]]
    if not changes:
        raise KeyError("changes")
    return changes


@dataclass
class Outcome:
    """What a rename (or the finishing of an interrupted one) did."""

    old_slug: str
    new_slug: str
    rewritten: list[str] = field(default_factory=list)  # files written now
    done_before: int = 0  # files an interrupted run had already written
    warnings: list[tuple[str, str]] = field(default_factory=list)
    moved: bool = False

    def summary(self) -> str:
        """One line for ``kb`` to say after it finished an interrupted rename."""
        parts = [f"rewrote {len(self.rewritten)} file{'s' if len(self.rewritten) != 1 else ''}"]
        if self.done_before:
            parts.append(f"{self.done_before} had been done before it stopped")
        return (
            f"finished an interrupted rename of {self.old_slug} -> {self.new_slug} ({', '.join(parts)})"
        )


# --------------------------------------------------------------------------- writing a rename


def run_rename(root: Path, plan: Any) -> list[tuple[str, str]]:
    """Carry out a :class:`kb.links.RenamePlan` under a journal. Returns warnings."""
    import base64
    import secrets

    moved = plan.changes[0]
    src = root / moved.old_path
    if os.path.islink(src):
        raise KbError(
            f"{moved.old_path} is a symbolic link (to {os.readlink(src)}); rename the file it points to"
        )
    if src.read_bytes() != moved.before:
        raise NoteChanged(f"{moved.old_path} changed while kb was planning the rename; run it again")
    token = secrets.token_hex(4)
    entries = []
    for c in plan.changes:
        edits = [[s, e, base64.b64encode(b).decode("ascii")] for s, e, b in c.edits]
        if apply_edits(c.before, edits) != c.after:  # a bug, not a user's mistake
            raise KbError(f"kb cannot describe its change to {c.old_path}; nothing was changed")
        entries.append(Change(c.path, c.old_path, _sha(c.before), _sha(c.after), edits).to_dict())
    journal = {
        "version": _VERSION,
        "token": token,
        "old_slug": plan.old_slug,
        "new_slug": plan.new_slug,
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "changes": entries,
    }
    fd = _create_journal(root, journal)
    try:
        changes = _changes(journal)
        outcome = _roll_forward(root, journal, changes)
        _finish(root, journal, changes, fd)
    finally:
        os.close(fd)
    return outcome.warnings


def _create_journal(root: Path, journal: dict[str, Any]) -> int:
    """Write the journal (fsynced, then linked into place: it is whole or absent) and
    return an open descriptor holding its lock. Refuses when one is there already."""
    import fcntl
    import json

    folder = root / JOURNAL_DIR
    if folder.is_symlink():
        raise KbError(f"{folder} is a symbolic link; kb keeps its rename journal only inside the notebook")
    created = not folder.exists()
    folder.mkdir(exist_ok=True)
    journal["created_dir"] = created
    path = journal_path(root)
    tmp = fsynced_temp(folder, json.dumps(journal).encode("utf-8"), 0o600, prefix=f".kb-{journal['token']}-")
    try:
        fd = os.open(tmp, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            os.link(tmp, path)
        except FileExistsError:
            os.close(fd)
            raise KbError(
                "another kb rename is running in this notebook (or left "
                f"{JOURNAL_DIR}/{JOURNAL_NAME}); try again when it is done"
            ) from None
    finally:
        os.unlink(tmp)
    _fsync_dir(folder)
    return fd


def _finish(root: Path, journal: dict[str, Any], changes: list[Change], fd: int) -> None:
    """Everything written is on disk: remove the journal (and ``.kb/`` if kb made it)."""
    folders = {os.path.dirname(os.path.join(root, c.path)) for c in changes}
    for folder in folders:
        _fsync_dir(Path(folder))
    path = journal_path(root)
    with contextlib.suppress(FileNotFoundError):
        if os.path.samestat(os.fstat(fd), os.stat(path)):
            os.unlink(path)
    _fsync_dir(path.parent)
    if journal.get("created_dir"):
        with contextlib.suppress(OSError):
            os.rmdir(path.parent)  # only if empty: something else may be in it by now


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- rolling forward


def _roll_forward(root: Path, journal: dict[str, Any], changes: list[Change]) -> Outcome:
    """Bring every file of the journal to its "after" state where it is safe to."""
    outcome = Outcome(journal["old_slug"], journal["new_slug"])
    prefix = f".kb-{journal['token']}-"
    moved, *others = changes
    if not _move(root, moved, prefix, outcome):
        return outcome  # the note itself changed: rewriting links to its new name would break them
    for entry in others:
        _rewrite(root, entry, prefix, outcome)
    folders = {os.path.dirname(os.path.join(root, c.path)) for c in changes}
    for folder in folders | {str(root / JOURNAL_DIR)}:
        _remove_temp_files(Path(folder), prefix)
    return outcome


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _move(root: Path, entry: Change, prefix: str, outcome: Outcome) -> bool:
    """The moved note: True when it is (now) at its new name with its new bytes."""
    src, dst = root / entry.old_path, root / entry.path
    src_data, dst_data = _read(src), _read(dst)
    if dst_data is not None and _sha(dst_data) == entry.after:
        # done; a crash between making the new name and removing the old one leaves both
        if src_data is not None and _sha(src_data) == entry.before and not _same_file(src, dst):
            os.unlink(src)
            remove_empty_dirs(src.parent, root)
        outcome.done_before += 1
        outcome.moved = True
        return True
    if src_data is None or _sha(src_data) != entry.before:
        outcome.warnings.append(
            (entry.old_path, "changed or gone since the rename began; nothing more was done")
        )
        return False
    data = apply_edits(src_data, entry.edits) if entry.edits else None
    if data is not None and _sha(data) != entry.after:
        raise KbError(f"the rename journal does not fit {entry.old_path}; nothing more was done")
    if data is not None and os.stat(src).st_nlink > 1:
        outcome.warnings.append(
            (entry.old_path, "has other hard links; moved, but its own links were not rewritten")
        )
        data = None
    try:
        move_file(src, dst, data, tmp_prefix=prefix)
    except NoteExists:
        outcome.warnings.append((entry.path, "exists already (made by someone else); nothing was moved"))
        return False
    remove_empty_dirs(src.parent, root)
    outcome.moved = True
    outcome.rewritten.append(entry.path)
    return True


def _rewrite(root: Path, entry: Change, prefix: str, outcome: Outcome) -> None:
    """One linking file: rewritten if it still holds what kb planned from."""
    path = root / entry.path
    try:
        target = _write_target(root, path)
        if target is None:
            outcome.warnings.append((entry.path, "links outside the notebook; its links were not updated"))
            return
        if target != path and _is_note_path(os.path.relpath(target, os.path.realpath(root))):
            return  # a second name of a note kb rewrites under its own name (and folder)
        data = _read(target)
        if data is None:
            outcome.warnings.append((entry.path, "is gone; its links were not updated"))
            return
        digest = _sha(data)
        if digest == entry.after:  # written before an interruption, or the same file by another name
            outcome.done_before += 1
            return
        if digest != entry.before:
            outcome.warnings.append((entry.path, "changed during the rename; its links were not updated"))
            return
        if os.stat(target).st_nlink > 1:
            outcome.warnings.append(
                (entry.path, "has other hard links; its links were not updated (kb would split them)")
            )
            return
        new = apply_edits(data, entry.edits)
        if _sha(new) != entry.after:
            outcome.warnings.append((entry.path, "the rename journal does not fit it; left as it is"))
            return
        if replace_file_atomic(target, new, expected=data, tmp_prefix=prefix):
            outcome.rewritten.append(entry.path)
        else:
            outcome.warnings.append((entry.path, "changed during the rename; its links were not updated"))
    except OSError as exc:
        outcome.warnings.append((entry.path, f"cannot rewrite: {exc.strerror or exc}"))


def _write_target(root: Path, path: Path) -> Path | None:
    """The file to write for ``path``: itself, or for a symlink the file it points to
    (inside the notebook, as kb indexes only those), so the link stays a link."""
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    root_real = os.path.realpath(root)
    return real if str(real).startswith(root_real + os.sep) else None


def _is_note_path(rel: str) -> bool:
    """``rel`` is where kb finds notes: a ``.md`` name outside hidden folders."""
    parts = rel.split(os.sep)
    return rel.lower().endswith(".md") and not any(p.startswith(".") for p in parts)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _remove_temp_files(folder: Path, prefix: str) -> None:
    """This rename's temporary files in ``folder`` (kb made them; nothing else has the token)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)


# --------------------------------------------------------------------------- the next command


def finish_interrupted(root: Path) -> Outcome | None:
    """Finish the rename a journal in ``root`` records, if no kb process is running it.

    None when there is nothing to finish (no journal, or its rename is still running).
    """
    import fcntl
    import json

    path = journal_path(root)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a rename is running right now
        try:
            if not os.path.samestat(os.fstat(fd), os.stat(path)):
                return None  # finished and removed while we opened it
        except FileNotFoundError:
            return None
        try:
            with os.fdopen(os.dup(fd), "rb") as fh:
                journal = json.loads(fh.read())
            if journal.get("version") != _VERSION:
                raise ValueError(f"version {journal.get('version')}")
            changes = _changes(journal)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            aside = path.with_name(f"{JOURNAL_NAME}.unreadable")
            os.replace(path, aside)
            raise KbError(
                f"cannot read the rename journal ({exc}); moved it to {aside}: check the notes it names"
            ) from None
        outcome = _roll_forward(root, journal, changes)
        _finish(root, journal, changes, fd)
        return outcome
    finally:
        os.close(fd)
