"""`nextbest status` per table: files, batches, rows, weeks, latest date, quarantined, issues —
each batch counted once, however many partitions it holds, and each row once, however often
its week was delivered."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import SourceConfig
from nextbest.ingest import CONVERSIONS, SNAPSHOTS, TableSummary, ingest_summary, load_file
from nextbest.store import Store
from tests.ingest.helpers import row, write_csv

CSV = SourceConfig(path="unused")
W1, W2, W3 = "2025-01-05", "2025-01-12", "2025-01-19"


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


def _batch(
    store: Store, bid: int, table: str, rows: int, bad: int, parts: list[str], status: str
) -> None:
    store.execute(
        "INSERT INTO ingest_batches (batch_id, table_name, source_file, file_sha256, file_bytes, "
        "rows_read, rows_loaded, rows_quarantined, partitions, partitions_replaced, status, "
        "loaded_at) VALUES (?, ?, ?, 'x', 1, ?, ?, ?, ?, 0, ?, now()::TIMESTAMP)",
        [bid, table, f"f{bid}.csv", rows + bad, rows, bad, parts, status],
    )


def test_rows_are_not_multiplied_by_partitions(store: Store) -> None:
    """One conversions file of 2,323 rows over 3 dates is 2,323 rows, not 6,969; a superseded
    batch does not count; the audit table (no dates) has its batch's rows, 0 weeks and no
    latest date."""
    days = ["2025-01-05", "2025-01-07", "2025-01-19"]
    _batch(store, 1, "conversions", 2323, 7, days, "loaded")
    store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
        "SELECT i + 1, (?::DATE[])[i % 3 + 1], 10.0, 1 FROM range(2323) "
        "t(i)",
        [days],
    )
    _batch(store, 2, "snapshots", 100, 0, [W1], "superseded")
    _batch(store, 3, "snapshots", 90, 1, [W1], "loaded")
    store.execute(
        "INSERT INTO snapshots (relation_id, snapshot_date, batch_id) "
        "SELECT i + 1, ?::DATE, 3 FROM range(90) t(i)",
        [W1],
    )
    _batch(store, 5, "audit.sensitive_attributes", 10, 0, [], "loaded")
    assert ingest_summary(store) == [
        # 2025-01-05 is a Sunday: with 01-07 and 01-19 that is three calendar weeks
        TableSummary("audit.sensitive_attributes", 1, 1, 10, 0, 0, None, 0, 0),
        TableSummary("conversions", 1, 1, 2323, 7, 3, dt.date(2025, 1, 19), 0, 0),
        TableSummary("snapshots", 1, 1, 90, 1, 1, dt.date(2025, 1, 5), 0, 0),
    ]


def _deliver(store: Store, tmp_path: Path) -> None:
    """Two snapshot files, three loads: s1 (W1), s2 (W2, W3 with one age out of range), then s1
    re-delivered with W1 (one age missing) and W2 — batch 1 is superseded, batch 2 keeps W3 —
    and one conversions file of three days in two weeks."""
    s1, s2 = tmp_path / "s1.csv", tmp_path / "s2.csv"
    load_file(
        store, SNAPSHOTS, write_csv(s1, [row(r, day=W1) for r in (1, 2, 3)]), CSV, setting="x"
    )
    rows2 = [
        row(1, day=W2),
        row(2, day=W2),
        row(1, day=W3),
        row(2, day=W3),
        row(3, day=W3, age=150),
    ]
    load_file(store, SNAPSHOTS, write_csv(s2, rows2), CSV, setting="x")
    again = [row(1, day=W1), row(2, day=W1, age=""), *(row(r, day=W2) for r in (1, 2, 3))]
    load_file(store, SNAPSHOTS, write_csv(s1, again), CSV, setting="x")
    conversions = tmp_path / "c.csv"
    conversions.write_text(
        "relation_id,conversion_date,amount\n1,2025-01-06,100\n2,2025-01-08,50\n3,2025-01-13,70\n"
    )
    load_file(store, CONVERSIONS, conversions, CSV, setting="x")


def test_status_counts_files_batches_rows_and_weeks_of_real_loads(
    store: Store, tmp_path: Path
) -> None:
    """Snapshots: 2 files, 2 current batches (of 3), rows W1 2 + W2 3 + W3 2 = 7 (not the 4 + 5
    the batches loaded), 1 quarantined, 3 weeks up to W3, 2 error issues (20% quarantined in
    s2; age null in 1 of 2 rows of W1). Conversions: 1 file, 3 rows on 2 calendar weeks."""
    _deliver(store, tmp_path)
    statuses = store.fetchall("SELECT batch_id, status FROM ingest_batches ORDER BY 1")
    assert [s for _, s in statuses] == ["superseded", "loaded", "loaded", "loaded"]
    assert ingest_summary(store) == [
        TableSummary("conversions", 1, 1, 3, 0, 2, dt.date(2025, 1, 13), 0, 0),
        TableSummary("snapshots", 2, 2, 7, 1, 3, dt.date(2025, 1, 19), 2, 2),
    ]


def test_status_command_shows_every_column(tmp_path: Path) -> None:
    """The CLI renders the typed rows: one line per table with each figure, then the issues."""
    config = tmp_path / "nextbest.toml"
    config.write_text('[store]\npath = "store.duckdb"\n')
    with Store(tmp_path / "store.duckdb") as store:
        _deliver(store, tmp_path)
    result = CliRunner().invoke(app, ["-c", str(config), "status"], terminal_width=160)
    assert result.exit_code == 0, result.output
    cells = {
        parts[0]: parts[1:]
        for line in result.output.splitlines()
        if (parts := [c.strip() for c in re.split("[│┃]", line)[1:-1]])
    }
    assert cells["table"] == [
        *("files", "batches", "rows", "weeks", "latest", "quarantined", "issues")
    ]
    assert cells["snapshots"] == ["2", "2", "7", "3", "2025-01-19", "1", "2 (2 errors)"]
    assert cells["conversions"] == ["1", "1", "3", "2", "2025-01-13", "0", "0"]
    assert "2 contract issue(s):" in result.output
    assert "snapshots.age is null in 50.0% of 2 rows of week 2025-01-05" in result.output
