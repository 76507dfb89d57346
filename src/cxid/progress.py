"""Progress reporting for long work: silent in the library by default, on in the CLI.

Functions that take a while accept ``progress: Progress | bool | None``. ``None`` or
``False`` is silent; ``True`` writes short lines to stderr; a :class:`Progress` can be
subclassed to route updates elsewhere (a notebook widget, a job tracker).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Receives stage updates. The base class prints nothing."""

    def update(self, stage: str, done: int, total: int | None = None, unit: str = "") -> None:
        """Report that ``done`` of ``total`` units of ``stage`` are finished."""

    def message(self, text: str) -> None:
        """Report a one-line summary (counts only, never personal data)."""


class StderrProgress(Progress):
    """Prints updates to a stream, throttled to one line per ``every`` seconds per stage."""

    def __init__(self, stream: TextIO | None = None, every: float = 1.0):
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self._last: dict[str, float] = {}
        self._start = time.monotonic()

    def update(self, stage: str, done: int, total: int | None = None, unit: str = "") -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last.get(stage, 0.0) < self.every:
            return
        self._last[stage] = now
        of = f"/{total:,}" if total is not None else ""
        self.stream.write(f"[{now - self._start:7.1f}s] {stage}: {done:,}{of} {unit}\n".rstrip() + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        now = time.monotonic()
        self.stream.write(f"[{now - self._start:7.1f}s] {text}\n")
        self.stream.flush()


def as_progress(progress: Progress | bool | None) -> Progress:
    """Turn the ``progress=`` argument of a public function into a :class:`Progress`."""
    if isinstance(progress, Progress):
        return progress
    if progress:
        return StderrProgress()
    return Progress()
