"""Step durations of a weekly run, recorded by name (``runs.timings``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Timer:
    """Seconds per named step since the timer was made.

    >>> timer = Timer()
    >>> with timer.step("features"):
    ...     pass
    >>> sorted(timer.timings)
    ['features']
    """

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as ``name``; a step timed twice adds up (error or not)."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t

    def total(self) -> None:
        """Record ``total``: the seconds since the timer was made."""
        self.timings["total"] = time.perf_counter() - self._started
