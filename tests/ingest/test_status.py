"""`nextbest status` counts each batch once, however many partitions it holds."""

from __future__ import annotations

from nextbest.ingest import ingest_summary
from nextbest.store import Store


def _batch(
    store: Store, bid: int, table: str, rows: int, bad: int, parts: list[str], status: str
) -> None:
    store.execute(
        "INSERT INTO ingest_batches (batch_id, table_name, source_file, file_sha256, file_bytes, "
        "rows_read, rows_loaded, rows_quarantined, partitions, partitions_replaced, status, "
        "loaded_at) VALUES (?, ?, ?, 'x', 1, ?, ?, ?, ?, 0, ?, now()::TIMESTAMP)",
        [bid, table, f"f{bid}.csv", rows + bad, rows, bad, parts, status],
    )


def test_rows_are_not_multiplied_by_partitions() -> None:
    """One conversions file of 2,323 rows over 3 dates is 2,323 rows, not 6,969; a superseded
    batch does not count; a table without partitions has 0 and no latest."""
    with Store(":memory:") as store:
        days = ["2025-01-05", "2025-01-12", "2025-01-19"]
        _batch(store, 1, "conversions", 2323, 7, days, "loaded")
        _batch(store, 2, "snapshots", 100, 0, ["2025-01-05"], "superseded")
        _batch(store, 3, "snapshots", 90, 1, ["2025-01-05"], "loaded")
        _batch(store, 4, "snapshots", 80, 2, ["2025-01-12"], "loaded")
        _batch(store, 5, "market_prices", 10, 0, [], "loaded")
        assert ingest_summary(store) == [
            {
                "table": "conversions",
                "batches": 1,
                "rows_loaded": 2323,
                "rows_quarantined": 7,
                "partitions": 3,
                "latest": "2025-01-19",
            },
            {
                "table": "market_prices",
                "batches": 1,
                "rows_loaded": 10,
                "rows_quarantined": 0,
                "partitions": 0,
                "latest": None,
            },
            {
                "table": "snapshots",
                "batches": 2,
                "rows_loaded": 170,
                "rows_quarantined": 3,
                "partitions": 2,
                "latest": "2025-01-12",
            },
        ]
