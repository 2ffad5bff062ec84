"""Writing the bank's files on one background thread, in submission order."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa

from nextbest.simulate._dialect import Delivery


class _Writer:
    """Writes files on one background thread, in submission order."""

    def __enter__(self) -> _Writer:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[None]] = []
        return self

    def submit(self, table: pa.Table, path: Path, delivery: Delivery) -> None:
        self._pending.append(self._pool.submit(delivery.write, table, path))

    def wait_beyond(self, n: int) -> None:
        while len(self._pending) > n:
            self._pending.pop(0).result()

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait_beyond(0)
        finally:
            self._pool.shutdown(wait=True)
