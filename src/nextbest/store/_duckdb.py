"""The embedded DuckDB store: the only code that talks to the database.

Two database files make a store: the store itself (``nextbest.duckdb``) and, next to it, the
audit database (``nextbest.audit.duckdb``) with the audit-only sensitive attributes. The
connection that runs feature and rule SQL never has the audit database attached; it is attached
as ``audit`` only inside :meth:`Store.audit` (the audit ingest and the fairness queries) and
detached after, with the store's lock held throughout.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from nextbest.config import Config
from nextbest.errors import StoreError
from nextbest.store._audit import (
    attach_audit,
    audit_path_for,
    detach_audit,
    move_legacy_audit,
    rewrite_if_pending,
)
from nextbest.store._private import private_folder, tighten
from nextbest.store._schema import SCHEMA_VERSION, ddl

Params = Sequence[Any] | dict[str, Any] | None


class Store:
    """A DuckDB database file (or ``":memory:"``) with nextbest's schema.

    Other layers pass SQL text and parameters; they never hold a connection. Statements run
    on one connection guarded by a lock, and :meth:`transaction` makes a group of them atomic,
    so a crash leaves no half-written state.

    Example
    -------
    >>> with Store(":memory:") as store:
    ...     store.fetchone("SELECT 40 + 2")
    (42,)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        read_only: bool = False,
        wait_seconds: float = 0.0,
    ) -> None:
        self.path = str(path)
        self._cleanup: weakref.finalize[Any, Any] | None = None
        if self.path == ":memory:":
            # an in-memory store keeps its audit data in a private temporary file, so that it
            # too is out of reach of the connection except inside audit()
            audit_dir = tempfile.mkdtemp(prefix="nextbest-audit-")
            self._cleanup = weakref.finalize(self, shutil.rmtree, audit_dir, ignore_errors=True)
            self.audit_path = Path(audit_dir) / "audit.duckdb"
        else:
            private_folder(Path(self.path).parent)
            self.audit_path = audit_path_for(self.path)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        self._config = config
        self._connect(read_only=read_only, wait_seconds=wait_seconds)
        if self.path != ":memory:" and not read_only:
            tighten(Path(self.path))
        self.read_only = read_only
        self._lock = threading.RLock()
        self._in_tx = False
        self._audit_attached = False
        if not read_only:
            self._con.execute(ddl())
            self._con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )
            move_legacy_audit(self._con, self.audit_path)
            if self.path != ":memory:" and rewrite_if_pending(self._con, Path(self.path)):
                self._connect(read_only=False, wait_seconds=wait_seconds)

    def _connect(self, *, read_only: bool, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self._con = duckdb.connect(self.path, read_only=read_only, config=self._config)
                break
            except duckdb.Error as exc:
                # another process (a weekly run, the console) holds the file: wait a little
                if "lock" in str(exc).lower() and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                busy = "lock" in str(exc).lower()
                self._remove_audit_dir()
                raise StoreError(
                    f"cannot open the store at {self.path}: {str(exc).splitlines()[0]}. "
                    + (
                        "Another nextbest process is using it; try again when it has finished."
                        if busy
                        else "Check [store] path in the config."
                    )
                ) from None

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._con.close()
        self._remove_audit_dir()

    def _remove_audit_dir(self) -> None:
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- statements --------------------------------------------------------------------------
    def execute(self, sql: str, params: Params = None) -> None:
        with self._lock:
            self._con.execute(sql, params)

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        """The first row, or None. The result is read to its end so that the connection is
        free for the next statement."""
        with self._lock:
            rows = self._con.execute(sql, params).fetchall()
            return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.fetchone(sql, params)
        return None if row is None else row[0]

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        with self._lock:
            return self._con.sql(sql, params=params).to_arrow_table()

    def df(self, sql: str, params: Params = None) -> pd.DataFrame:
        with self._lock:
            frame: pd.DataFrame = self._con.sql(sql, params=params).df()
            return frame

    def columns(self, sql: str, params: Params = None) -> list[tuple[str, str]]:
        """Names and SQL types of a query's result, without running it in full."""
        with self._lock:
            rel = self._con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params)
            return [(d[0], str(d[1])) for d in rel.description or []]

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an in-memory Arrow table to SQL under ``name`` (until unregistered)."""
        with self._lock:
            self._con.register(name, table)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._con.unregister(name)

    def table_exists(self, name: str) -> bool:
        schema, _, table = name.rpartition(".")
        row = self.fetchone(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            [schema or "main", table],
        )
        return bool(row and row[0])

    # -- the audit database ------------------------------------------------------------------
    @contextlib.contextmanager
    def audit(self) -> Iterator[Store]:
        """Attach the audit database as ``audit`` for the statements inside, then detach it.

        Only the audit ingest and the fairness queries enter here; the store's lock is held
        throughout, so no other statement (a feature query on another thread) runs while the
        audit table is reachable. A read-only store attaches it read-only (empty when the file
        does not exist yet).

        Example
        -------
        >>> with Store(":memory:") as store, store.audit():
        ...     store.scalar("SELECT count(*) FROM audit.sensitive_attributes")
        0
        """
        with self._lock:
            if self._audit_attached:
                yield self
                return
            attach_audit(self._con, self.audit_path, read_only=self.read_only)
            self._audit_attached = True
            try:
                yield self
            finally:
                self._audit_attached = False
                detach_audit(self._con)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All statements inside commit together or not at all."""
        with self._lock:
            if self._in_tx:
                yield self
                return
            self._con.execute("BEGIN TRANSACTION")
            self._in_tx = True
            try:
                yield self
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            else:
                self._con.execute("COMMIT")
            finally:
                self._in_tx = False

    @contextlib.contextmanager
    def discarding(self) -> Iterator[Store]:
        """Do it and roll back: every statement inside is undone on leaving, error or not.

        Refused inside a transaction, whose own writes it could not keep apart.
        """
        with self._lock:
            if self._in_tx:
                raise StoreError("discarding() cannot run inside a transaction")
            self._con.execute("BEGIN TRANSACTION")
            self._in_tx = True
            try:
                yield self
            finally:
                self._in_tx = False
                self._con.execute("ROLLBACK")


def is_database_error(exc: BaseException) -> bool:
    """True when ``exc`` came from the database engine (for callers that translate it)."""
    return isinstance(exc, duckdb.Error)


def open_store(config: Config, *, read_only: bool = False, wait_seconds: float = 30.0) -> Store:
    """Open the store the config points at (created on first use), waiting up to
    ``wait_seconds`` while another process holds it."""
    path: str | Path = config.store.path
    if str(path) != ":memory:":
        path = config.resolve(path)
    return Store(
        path,
        memory_limit=config.store.memory_limit,
        threads=config.store.threads,
        read_only=read_only,
        wait_seconds=wait_seconds,
    )
