"""Loading files under a data contract: quarantine, issues, refusals, idempotency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest import MARKET, SNAPSHOTS, load_file
from nextbest.store import Store
from tests.ingest.helpers import HEADER, row, write_csv

CSV = SourceConfig(path="unused")


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as s:
        yield s


def _bad_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "snap.csv",
        [
            row(101),  # 1 good
            row(102, age=150),  # 2 age out of range
            row(103, segment="gold"),  # 3 not an allowed segment
            row(104, balance="abc"),  # 4 not a number
            row(""),  # 5 no relation number
            row(106, balance=1.0),  # 6 conflicting duplicate key
            row(106, balance=2.0),  # 7 conflicting duplicate key
            row(108),  # 8 first of two exact copies: kept
            row(108),  # 9 exact copy
            row(110, age=-1, accounts=-5),  # 10 two violations on one row
        ],
    )


def test_quarantine_keeps_every_failing_row_with_its_reason(store: Store, tmp_path: Path) -> None:
    """Each bad row is quarantined with column, rule and value; good rows are loaded."""
    report = load_file(store, SNAPSHOTS, _bad_file(tmp_path), CSV, setting="[sources.snapshots]")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (10, 2, 8)
    got = store.fetchall(
        "SELECT source_row, column_name, rule, value FROM quarantine "
        "ORDER BY source_row, column_name"
    )
    key = "relation_id, snapshot_date"
    assert got == [
        (2, "age", "range: outside 0..120", "150"),
        (3, "segment", "allowed: not one of mass/affluent/private", "gold"),
        (4, "total_balance", "type: not a valid DOUBLE", "abc"),
        (5, "relation_id", "not null", None),
        (
            6,
            key,
            "unique: conflicting rows share this key",
            "relation_id=106, snapshot_date=2025-01-05",
        ),
        (
            7,
            key,
            "unique: conflicting rows share this key",
            "relation_id=106, snapshot_date=2025-01-05",
        ),
        (
            9,
            key,
            "unique: exact copy of an earlier row",
            "relation_id=108, snapshot_date=2025-01-05 (same as row 8)",
        ),
        (10, "age", "range: outside 0..120", "-1"),
        (10, "n_accounts", "range: outside 0..100", "-5"),
    ]
    assert store.fetchall("SELECT relation_id FROM snapshots ORDER BY 1") == [(101,), (108,)]
    record = store.scalar("SELECT record FROM quarantine WHERE source_row = 4")
    assert '"total_balance":"abc"' in record and '"relation_id":"104"' in record


def test_load_report_counts_rules(store: Store, tmp_path: Path) -> None:
    """The report counts violations per rule and raises a warning issue for quarantined rows."""
    report = load_file(store, SNAPSHOTS, _bad_file(tmp_path), CSV, setting="[sources.snapshots]")
    assert report.quarantine_by_rule["unique: conflicting rows share this key"] == 2
    assert report.quarantine_by_rule["range: outside 0..120"] == 2
    (issue,) = report.issues
    assert issue.rule == "rows_quarantined"
    assert issue.severity == "error"  # 8 of 10 rows is far above the 5% error share
    assert issue.message.startswith("8 of 10 rows (80.00%) failed the snapshots contract")


def test_null_limit_is_a_batch_issue(store: Store, tmp_path: Path) -> None:
    """2 of 10 rows without app_installed is 20% against a 5% limit: an error issue."""
    rows = [row(200 + i, app="" if i < 2 else "true") for i in range(10)]
    report = load_file(store, SNAPSHOTS, write_csv(tmp_path / "s.csv", rows), CSV, setting="x")
    assert report.rows_loaded == 10 and report.rows_quarantined == 0
    (issue,) = report.issues
    assert (issue.column, issue.rule, issue.severity) == ("app_installed", "null_limit", "error")
    assert issue.figure == pytest.approx(0.2)
    assert issue.limit == 0.05
    assert "null in 20.0% of 10 rows of week 2025-01-05 (limit 5%, `[contracts." in issue.message
    stored = store.fetchall("SELECT column_name, figure FROM contract_issues")
    assert stored == [("app_installed", pytest.approx(0.2))]


def test_same_file_twice_is_a_no_op(store: Store, tmp_path: Path) -> None:
    """Re-ingesting an unchanged file loads nothing twice."""
    path = write_csv(tmp_path / "s.csv", [row(1), row(2)])
    first = load_file(store, SNAPSHOTS, path, CSV, setting="x")
    second = load_file(store, SNAPSHOTS, path, CSV, setting="x")
    assert (first.status, second.status) == ("loaded", "unchanged")
    assert second.batch_id == first.batch_id
    assert store.scalar("SELECT count(*) FROM snapshots") == 2
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 1


def test_redelivered_week_replaces_it(store: Store, tmp_path: Path) -> None:
    """A new file for the same week replaces that week; the old batch is superseded."""
    load_file(
        store, SNAPSHOTS, write_csv(tmp_path / "a.csv", [row(1), row(2), row(3)]), CSV, setting="x"
    )
    load_file(
        store,
        SNAPSHOTS,
        write_csv(tmp_path / "b.csv", [row(1, day="2025-01-12")]),
        CSV,
        setting="x",
    )
    report = load_file(
        store,
        SNAPSHOTS,
        write_csv(tmp_path / "a2.csv", [row(1, balance=9.0), row(4)]),
        CSV,
        setting="x",
    )
    assert report.partitions == ("2025-01-05",)
    assert report.partitions_replaced == 1
    assert store.fetchall(
        "SELECT relation_id, total_balance FROM snapshots WHERE snapshot_date = '2025-01-05' "
        "ORDER BY 1"
    ) == [(1, 9.0), (4, 1500.5)]
    assert store.scalar("SELECT count(*) FROM snapshots WHERE snapshot_date = '2025-01-12'") == 1
    statuses = store.fetchall("SELECT source_file, status FROM ingest_batches ORDER BY batch_id")
    assert [s for _, s in statuses] == ["superseded", "loaded", "loaded"]
    # the superseded file is no longer current, so loading it again restores it
    again = load_file(store, SNAPSHOTS, tmp_path / "a.csv", CSV, setting="x")
    assert again.status == "loaded"
    assert store.scalar("SELECT count(*) FROM snapshots WHERE snapshot_date = '2025-01-05'") == 3


def test_missing_column_is_refused_with_the_fix(store: Store, tmp_path: Path) -> None:
    """A file without a required column names the file, the column and the mapping to add."""
    header = HEADER.replace("total_balance", "totaal_saldo")
    path = write_csv(tmp_path / "s.csv", [row(1)], header=header)
    with pytest.raises(
        SourceFileError,
        match=r"s\.csv: missing column 'total_balance' \(for snapshots\.total_balance\)\..*"
        r"map it in \[sources\.snapshots\]\.columns, e\.g\. total_balance = ",
    ):
        load_file(store, SNAPSHOTS, path, CSV, setting="[sources.snapshots]")
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_missing_column_suggests_close_name(store: Store, tmp_path: Path) -> None:
    """A near-miss column name gets a did-you-mean."""
    path = write_csv(tmp_path / "s.csv", [row(1)], header=HEADER.replace("segment", "segmnt"))
    with pytest.raises(SourceFileError, match="Did you mean 'segmnt'"):
        load_file(store, SNAPSHOTS, path, CSV, setting="x")


def test_column_mapping_and_date_format(store: Store, tmp_path: Path) -> None:
    """Mapped column names and a day-first date format load like canonical ones."""
    header = HEADER.replace("relation_id", "REL_NR").replace("snapshot_date", "PEILDATUM")
    path = write_csv(
        tmp_path / "s.csv", [row(5, day="05-01-2025", since="31-12-2019")], header=header
    )
    source = SourceConfig(
        path="x",
        date_format="%d-%m-%Y",
        columns={"relation_id": "REL_NR", "snapshot_date": "peildatum"},
    )
    report = load_file(store, SNAPSHOTS, path, source, setting="x")
    assert report.rows_loaded == 1
    got = store.fetchone("SELECT snapshot_date, customer_since FROM snapshots")
    assert got is not None
    assert (str(got[0]), str(got[1])) == ("2025-01-05", "2019-12-31")


def test_wrong_delimiter_is_diagnosed(store: Store, tmp_path: Path) -> None:
    """A semicolon file read with ',' is refused with the delimiter to set."""
    path = write_csv(tmp_path / "s.csv", [row(1)], delimiter=";")
    with pytest.raises(SourceFileError, match=r"s\.csv: .*delimited by ';'; set delimiter = ';'"):
        load_file(store, SNAPSHOTS, path, CSV, setting="[sources.snapshots]")


def test_csv_named_parquet_is_refused(store: Store, tmp_path: Path) -> None:
    """A CSV file with a .parquet name is refused as not Parquet, with the fix."""
    path = write_csv(tmp_path / "s.parquet", [row(1)])
    with pytest.raises(SourceFileError, match=r"s\.parquet: it is not a readable Parquet file"):
        load_file(store, SNAPSHOTS, path, CSV, setting="x")


def test_header_only_file_is_refused(store: Store, tmp_path: Path) -> None:
    """A file with no data rows is refused, and nothing is recorded."""
    path = write_csv(tmp_path / "s.csv", [])
    with pytest.raises(SourceFileError, match=r"s\.csv: the file has no data rows"):
        load_file(store, SNAPSHOTS, path, CSV, setting="x")
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_unknown_extension_needs_format(store: Store, tmp_path: Path) -> None:
    """A file whose format cannot be told from its name asks for the format setting."""
    path = tmp_path / "s.dat"
    path.write_text(HEADER + "\n" + row(1) + "\n")
    with pytest.raises(SourceFileError, match=r"set format = 'csv' or 'parquet'"):
        load_file(store, SNAPSHOTS, path, CSV, setting="x")
    assert (
        load_file(
            store, SNAPSHOTS, path, SourceConfig(path="x", format="csv"), setting="x"
        ).rows_loaded
        == 1
    )


class _FailingStore(Store):
    """A store whose connection dies on the n-th statement that inserts into quarantine."""

    def execute(self, sql: str, params: Any = None) -> None:
        if "INSERT INTO quarantine" in sql:
            raise RuntimeError("simulated crash in the middle of a load")
        super().execute(sql, params)


def test_crash_mid_load_leaves_nothing(tmp_path: Path) -> None:
    """A crash after the rows were inserted rolls the whole file back."""
    with _FailingStore(tmp_path / "db.duckdb") as store:
        with pytest.raises(RuntimeError, match="simulated crash"):
            load_file(store, SNAPSHOTS, _bad_file(tmp_path), CSV, setting="x")
        assert store.scalar("SELECT count(*) FROM snapshots") == 0
        assert store.scalar("SELECT count(*) FROM ingest_batches") == 0
    with Store(tmp_path / "db.duckdb") as store:  # and the next call recovers
        report = load_file(store, SNAPSHOTS, _bad_file(tmp_path), CSV, setting="x")
        assert report.rows_loaded == 2


def test_market_contract(store: Store, tmp_path: Path) -> None:
    """Prices must be positive; a zero price is quarantined."""
    path = tmp_path / "m.csv"
    path.write_text("fund,price_date,price\nbalanced,2025-01-03,101.5\nbalanced,2025-01-06,0\n")
    report = load_file(store, MARKET, path, CSV, setting="x")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert store.fetchall("SELECT rule, value FROM quarantine") == [
        ("range: outside 1e-06..inf", "0")
    ]


def test_a_future_snapshot_date_is_quarantined_with_its_row(store: Store, tmp_path: Path) -> None:
    """A snapshot dated after today (the export's clock, or 2031 typed for 2021) is not
    loaded silently: its row is quarantined as 'future: after today' with the date as written."""
    path = write_csv(tmp_path / "snap.csv", [row(101), row(102, day="2031-01-05"), row(103)])
    report = load_file(store, SNAPSHOTS, path, CSV, setting="[sources.snapshots]")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    got = store.fetchall("SELECT source_row, column_name, rule, value FROM quarantine")
    assert got == [(2, "snapshot_date", "future: after today", "2031-01-05")]
    assert report.partitions == ("2025-01-05",)
