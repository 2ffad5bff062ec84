"""The audit database: a file of its own, attached only while the audit data is needed.

Feature and rule SQL run on the store's connection; the audit table is not in that database at
all, so no query text can reach it. :meth:`nextbest.store.Store.audit` attaches it as ``audit``
for the audit ingest and the fairness queries, and detaches it after.

Stores made before the audit database existed held ``audit.sensitive_attributes`` in their own
file (and the values of quarantined audit rows). Opening one read-write moves those rows to the
audit database, drops the table, redacts the quarantine and then rewrites the store into a fresh
file, because a dropped table's pages stay in the file (free, but readable) until they happen
to be reused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from nextbest.errors import StoreError
from nextbest.store._private import make_private, tighten
from nextbest.store._quoting import quote_identifier, quote_literal
from nextbest.store._schema import AUDIT_TABLES, REDACTED, audit_ddl

#: the name the audit database is attached under, inside ``Store.audit`` only
AUDIT_CATALOG = "audit"

#: meta key set while a store that held the audit table still needs its rewrite
_REWRITE_PENDING = "audit_moved_rewrite_pending"


def audit_path_for(store_path: str | Path) -> Path:
    """The audit database of the store at ``store_path``: ``<name>.audit.duckdb`` next to it.

    >>> audit_path_for("nextbest-data/nextbest.duckdb").as_posix()
    'nextbest-data/nextbest.audit.duckdb'
    """
    path = Path(store_path)
    return path.with_name(f"{path.stem}.audit.duckdb")


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The first value of the first row, reading the result to its end (DuckDB keeps a
    half-read result open and refuses the connection's next statement)."""
    rows = con.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


def has_legacy_audit(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the store's own file still has the ``audit`` schema of an earlier version."""
    return bool(
        _one(
            con,
            "SELECT count(*) FROM duckdb_schemas() "
            "WHERE database_name = current_database() AND schema_name = 'audit'",
        )
    )


def attach_audit(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> None:
    """Attach the audit database at ``path`` as ``audit`` (created, 0600, when missing; an
    empty in-memory one for a read-only store whose audit file does not exist yet)."""
    if has_legacy_audit(con):
        raise StoreError(
            "the store still holds the audit table of an earlier version; open it once "
            "read-write (e.g. 'nextbest status') to move it to its own audit database"
        )
    try:
        if read_only and not path.exists():
            con.execute(f"ATTACH ':memory:' AS {AUDIT_CATALOG} (READ_WRITE)")
            con.execute(audit_ddl(AUDIT_CATALOG))
            return
        created = not path.exists()
        mode = " (READ_ONLY)" if read_only else ""
        con.execute(f"ATTACH {quote_literal(str(path))} AS {AUDIT_CATALOG}{mode}")
    except duckdb.Error as exc:
        raise StoreError(
            f"cannot open the audit database {path.name}: {str(exc).splitlines()[0]}. "
            "Another nextbest process may be using it; try again when it has finished."
        ) from None
    if created:
        make_private(path)
    if not read_only:
        tighten(path)
        con.execute(audit_ddl(AUDIT_CATALOG))


def detach_audit(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DETACH {AUDIT_CATALOG}")


def move_legacy_audit(con: duckdb.DuckDBPyConnection, audit_path: Path) -> None:
    """Move the rows of an earlier version's ``audit`` schema to the audit database and drop
    the schema, marking the store for its rewrite (:func:`rewrite_if_pending`)."""
    if not has_legacy_audit(con):
        return
    main = quote_identifier(str(_one(con, "SELECT current_database()")))
    legacy = {
        f"audit.{r[0]}"
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'audit'"
        ).fetchall()
    }
    created = not audit_path.exists()
    con.execute(f"ATTACH {quote_literal(str(audit_path))} AS _audit_move")
    try:
        if created:
            make_private(audit_path)
        con.execute(audit_ddl("_audit_move"))
        # one transaction writes one database file: the audit file first; a crash before the
        # drop below only repeats this move at the next open
        con.execute("BEGIN TRANSACTION")
        for table in AUDIT_TABLES:
            if table in legacy:
                target = "_audit_move." + table.removeprefix("audit.")
                con.execute(f"DELETE FROM {target}")
                con.execute(f"INSERT INTO {target} SELECT * FROM {main}.{table}")
        con.execute("COMMIT")
    finally:
        con.execute("DETACH _audit_move")
    con.execute("BEGIN TRANSACTION")
    for table in sorted(legacy):
        con.execute(f"DROP TABLE {main}.{table}")
    con.execute(f"DROP SCHEMA {main}.audit")
    # earlier versions also copied the sensitive values of quarantined audit rows
    con.execute(
        "UPDATE quarantine SET value = ?, record = ? "
        "WHERE table_name IN (SELECT unnest(?::VARCHAR[]))",
        [REDACTED, REDACTED, list(AUDIT_TABLES)],
    )
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, 'true')", [_REWRITE_PENDING])
    con.execute("COMMIT")


def rewrite_if_pending(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Copy the store into a fresh file when it once held the audit table, so the dropped
    table's pages are gone; returns True when the caller must reconnect to ``path``."""
    if not _one(con, "SELECT count(*) FROM meta WHERE key = ?", [_REWRITE_PENDING]):
        return False
    db = _one(con, "SELECT current_database()")
    fresh = path.with_name(path.name + ".rewrite")
    fresh.unlink(missing_ok=True)
    con.execute(f"ATTACH {quote_literal(str(fresh))} AS _rewrite")
    make_private(fresh)
    try:
        con.execute(f"COPY FROM DATABASE {quote_identifier(str(db))} TO _rewrite")
        con.execute("DELETE FROM _rewrite.meta WHERE key = ?", [_REWRITE_PENDING])
    finally:
        con.execute("DETACH _rewrite")
    con.close()
    os.replace(fresh, path)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    return True
