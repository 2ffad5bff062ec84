"""Opening the store for one request: read-only to read, read-write to change.

DuckDB keeps one database instance per file and process, and refuses a read-only and a
read-write connection to the same file at the same time in one process. The gate lets any
number of one kind in together and never both kinds; a waiting writer goes before new readers,
so a steady stream of page views cannot starve an approval.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from nextbest.config import Config
from nextbest.errors import StoreError
from nextbest.pipeline import Project, effective_config
from nextbest.store import Store, open_store

_BUSY = (
    "the store is busy: another nextbest process, or this server's other requests, are "
    "using it; try again shortly"
)


class StoreGate:
    """Opens the store for reading or writing, one kind at a time within this process."""

    def __init__(self, config: Config, *, wait_seconds: float = 10.0) -> None:
        self.config = config
        self.wait_seconds = wait_seconds
        self._cond = threading.Condition()
        self._mode: str | None = None
        self._inside = 0
        self._writers_waiting = 0

    @contextlib.contextmanager
    def open(self, *, write: bool, wait_seconds: float | None = None) -> Iterator[Store]:
        """The store, read-only unless ``write``; waits up to ``wait_seconds`` for this process'
        other kind of use and for another process' lock, then raises StoreError."""
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        deadline = time.monotonic() + wait
        self._enter("write" if write else "read", deadline)
        try:
            remaining = max(deadline - time.monotonic(), 0.0)
            with open_store(self.config, read_only=not write, wait_seconds=remaining) as store:
                yield store
        finally:
            self._leave()

    @contextlib.contextmanager
    def project(self, *, write: bool, wait_seconds: float | None = None) -> Iterator[Project]:
        """The store with the effective config (the TOML with the operator's knobs): what a
        route that acts on settings must use, so that none can act on the TOML alone."""
        with self.open(write=write, wait_seconds=wait_seconds) as store:
            yield Project(store=store, config=effective_config(store, self.config))

    def _enter(self, mode: str, deadline: float) -> None:
        with self._cond:
            if mode == "write":
                self._writers_waiting += 1
            try:
                while not self._may_enter(mode):
                    left = deadline - time.monotonic()
                    timed_out = left <= 0 or not self._cond.wait(left)
                    if timed_out and not self._may_enter(mode):
                        raise StoreError(_BUSY)
            finally:
                if mode == "write":
                    self._writers_waiting -= 1
            self._mode = mode
            self._inside += 1

    def _may_enter(self, mode: str) -> bool:
        if self._inside == 0:
            return True
        if self._mode != mode:
            return False
        return mode == "write" or self._writers_waiting == 0

    def _leave(self) -> None:
        with self._cond:
            self._inside -= 1
            if self._inside == 0:
                self._mode = None
            self._cond.notify_all()
