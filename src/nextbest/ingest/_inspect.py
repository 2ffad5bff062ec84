"""Reading back what ingestion did: batches, quarantine, contract issues."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nextbest.ingest._contracts import CONTRACTS
from nextbest.store import Store, quote_identifier


@dataclass(frozen=True)
class TableSummary:
    """What one table holds now, as ``nextbest status`` shows it."""

    table: str
    #: distinct files behind the current batches (a file re-read after a change counts once)
    files: int
    #: current batches: loads of a file whose rows are (partly) still in the table
    batches: int
    #: rows in the table now (a week re-delivered by a later file counts once)
    rows: int
    #: rows of the current batches kept in quarantine
    quarantined: int
    #: distinct calendar weeks (Monday to Sunday) of the rows' dates; 0 for an undated table
    weeks: int
    #: the latest date in the table
    latest: dt.date | None
    #: contract issues of the current batches, and how many of them are errors
    issues: int
    errors: int


def _held_sql() -> str:
    """Rows, weeks and latest date of each table in the store's own database, as one query
    (the audit-only table lives in another file; its batches say what it holds)."""
    parts = []
    for contract in CONTRACTS.values():
        if contract.audit_only or contract.partition is None:
            continue
        day = quote_identifier(contract.partition)
        parts.append(
            f"SELECT '{contract.table}' AS table_name, count(*) AS n_rows, "
            f"count(DISTINCT date_trunc('week', {day})) AS weeks, max({day}) AS latest "
            f"FROM {contract.table}"
        )
    return " UNION ALL ".join(parts)


def ingest_summary(store: Store) -> list[TableSummary]:
    """Per table that has a current batch: files, batches, rows held, quarantined rows, weeks,
    the latest date and the contract issues (each batch counted once, however many weeks it
    holds; rows counted in the table, so a re-delivered week is not counted twice)."""
    rows = store.fetchall(
        f"""
        WITH current AS (SELECT * FROM ingest_batches WHERE status = 'loaded'),
        per_table AS (
            SELECT table_name, count(DISTINCT source_file) AS files, count(*) AS batches,
                   sum(rows_loaded) AS loaded, sum(rows_quarantined) AS quarantined
            FROM current GROUP BY table_name
        ),
        held AS ({_held_sql()}),
        issues AS (
            SELECT i.table_name, count(*) AS n,
                   count(*) FILTER (WHERE i.severity = 'error') AS errors
            FROM contract_issues i JOIN current USING (batch_id) GROUP BY i.table_name
        )
        SELECT t.table_name, t.files, t.batches, coalesce(h.n_rows, t.loaded), t.quarantined,
               coalesce(h.weeks, 0), h.latest, coalesce(i.n, 0), coalesce(i.errors, 0)
        FROM per_table t LEFT JOIN held h USING (table_name)
        LEFT JOIN issues i USING (table_name)
        ORDER BY t.table_name
        """
    )
    return [
        TableSummary(
            table=str(r[0]),
            files=int(r[1]),
            batches=int(r[2]),
            rows=int(r[3]),
            quarantined=int(r[4]),
            weeks=int(r[5]),
            latest=r[6],
            issues=int(r[7]),
            errors=int(r[8]),
        )
        for r in rows
    ]


def quarantine_summary(store: Store) -> list[dict[str, Any]]:
    """Quarantined rows of current batches, counted per table, file, column and rule."""
    rows = store.fetchall(
        """
        SELECT q.table_name, q.source_file, q.column_name, q.rule, count(*) AS n,
               min(q.source_row) AS first_row, any_value(q.value) AS example
        FROM quarantine q JOIN ingest_batches b USING (batch_id)
        WHERE b.status = 'loaded'
        GROUP BY ALL ORDER BY q.table_name, q.source_file, n DESC, q.rule
        """
    )
    keys = ("table", "file", "column", "rule", "rows", "first_row", "example")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def quarantine_rows(
    store: Store, *, table: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The quarantined rows themselves, with the reason and the row as read."""
    rows = store.fetchall(
        """
        SELECT q.table_name, q.source_file, q.source_row, q.column_name, q.rule, q.value,
               q.record
        FROM quarantine q JOIN ingest_batches b USING (batch_id)
        WHERE b.status = 'loaded' AND (? IS NULL OR q.table_name = ?)
        ORDER BY q.table_name, q.source_file, q.source_row, q.column_name
        LIMIT ?
        """,
        [table, table, limit],
    )
    keys = ("table", "file", "row", "column", "rule", "value", "record")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def contract_issues(store: Store) -> list[dict[str, Any]]:
    """Batch-level contract findings of current batches, most severe first."""
    rows = store.fetchall(
        """
        SELECT i.table_name, i.partition_value, i.column_name, i.rule, i.severity, i.figure,
               i.limit_value, i.message, b.source_file
        FROM contract_issues i JOIN ingest_batches b USING (batch_id)
        WHERE b.status = 'loaded'
        ORDER BY i.severity = 'error' DESC, i.table_name, i.partition_value, i.column_name
        """
    )
    keys = (
        "table",
        "partition",
        "column",
        "rule",
        "severity",
        "figure",
        "limit",
        "message",
        "file",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]
