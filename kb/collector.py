"""Python's cyclic garbage collection off the requests' path, for kb's long-lived
processes (:mod:`kb.server`, :mod:`kb.lsp`)."""

from __future__ import annotations

import time


class Collector:
    """Python's cyclic garbage collection off the requests' path. A server that keeps a big
    notebook open holds many objects (rows, the link graph, kept plans and postings); a
    full collection set off by a request's allocations walks them all (``kb server`` at
    10x: ~40 ms; ``kb lsp``, which keeps more: pauses up to ~0.3 s). So what lives on
    after a request is frozen out of the collector's sight once the answer is sent (
    ``gc.freeze``, constant time), automatic collections wait for more allocations, and
    the whole heap is collected (and frozen anew) only while the server is idle, at most
    every :data:`FULL_EVERY` seconds, or after :data:`FULL_AFTER` requests without a pause
    (what a request leaves in reference cycles is let go of then). :mod:`kb.lsp` times the
    same policy by the editor's messages."""

    #: Allocations that set off an automatic collection (Python's default: 700).
    THRESHOLDS = (100_000, 50, 100)
    FULL_EVERY = 60.0
    FULL_AFTER = 500

    def __init__(self) -> None:
        self.last_full = time.monotonic()
        self.since_full = 0

    def start(self) -> None:
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(*self.THRESHOLDS)

    def answered(self) -> None:
        """A request is answered (its connection closed)."""
        import gc

        self.since_full += 1
        if self.since_full >= self.FULL_AFTER:
            self.full()
        else:
            gc.freeze()

    def idle(self) -> bool:
        """A step of idle time: the full collection when it is due; False (nothing more)."""
        if self.since_full and time.monotonic() - self.last_full >= self.FULL_EVERY:
            self.full()
        return False

    def full(self) -> None:
        import gc

        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.last_full = time.monotonic()
        self.since_full = 0
