"""Reading back what ingestion did: batches, quarantine, contract issues."""

from __future__ import annotations

from typing import Any

from nextbest.store import Store


def ingest_summary(store: Store) -> list[dict[str, Any]]:
    """Per table: current batches, rows loaded and quarantined (each batch counted once, not
    once per partition it holds), partitions and the latest partition."""
    rows = store.fetchall(
        """
        WITH current AS (SELECT * FROM ingest_batches WHERE status = 'loaded'),
        per_table AS (
            SELECT table_name, count(*) AS batches, sum(rows_loaded) AS loaded,
                   sum(rows_quarantined) AS quarantined
            FROM current GROUP BY table_name
        ),
        parts AS (
            SELECT table_name, count(DISTINCT p) AS partitions, max(p) AS latest
            FROM (SELECT table_name, unnest(partitions) AS p FROM current)
            GROUP BY table_name
        )
        SELECT t.table_name, t.batches, t.loaded, t.quarantined,
               coalesce(p.partitions, 0), p.latest
        FROM per_table t LEFT JOIN parts p USING (table_name)
        ORDER BY t.table_name
        """
    )
    keys = ("table", "batches", "rows_loaded", "rows_quarantined", "partitions", "latest")
    return [dict(zip(keys, r, strict=True)) for r in rows]


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
