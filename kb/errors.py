"""Domain errors. Each message tells the user what to do next.

The CLI catches :class:`KbError` in one place, prints ``Error: <message>`` on
stderr and exits with ``exit_code``. Nothing here imports anything heavy.
"""

from __future__ import annotations


class KbError(Exception):
    """Base class for every error a user can cause or fix."""

    exit_code = 1


class NotebookMissing(KbError):
    """The notebook folder does not exist or is not a folder."""


class BadQuery(KbError):
    """A query with nothing to search for (exit 2, as grep for a bad pattern)."""

    exit_code = 2


class NoteNotFound(KbError):
    """No note matches a slug; carries the closest candidates."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


class AmbiguousSlug(NoteNotFound):
    """A slug prefix or title matches more than one note."""


class BadSlug(KbError):
    """A slug that cannot name a note inside the notebook."""


class NoteExists(KbError):
    """kb never overwrites a note."""


class IndexLocked(KbError):
    """Another kb process holds the index writer lock for too long."""


class EditorFailed(KbError):
    """The editor could not be started or exited with an error."""


class NoteChanged(KbError):
    """A note changed on disk while kb was working on it; nothing was written."""


class UnsafeIndexDir(KbError):
    """The index folder is one kb must not write or delete in (not kb's, shared, or the notebook)."""
