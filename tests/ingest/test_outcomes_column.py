"""The conversions table holds several outcomes: a file without the outcome column is all
'investing' (today's files keep loading), a file with it keeps each row's outcome."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nextbest.config import SourceConfig
from nextbest.ingest import CONVERSIONS, load_file
from nextbest.store import Store

CSV = SourceConfig(path="unused")


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


def test_a_file_without_the_outcome_column_is_all_investing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("relation_id,conversion_date,amount\n101,2025-01-03,500\n102,2025-01-04,\n")
    report = load_file(store, CONVERSIONS, path, CSV, setting="x")
    assert report.rows_loaded == 2
    assert store.fetchall(
        "SELECT relation_id, outcome, amount FROM conversions ORDER BY relation_id"
    ) == [(101, "investing", 500.0), (102, "investing", None)]


def test_one_customer_may_reach_two_outcomes_on_one_day(store: Store, tmp_path: Path) -> None:
    """The key is (relation_id, outcome, conversion_date): two outcomes on one day are two
    rows, the same outcome twice with different amounts is a conflicting duplicate."""
    path = tmp_path / "c.csv"
    path.write_text(
        "relation_id,conversion_date,amount,outcome\n"
        "101,2025-01-03,500,investing\n"
        "101,2025-01-03,200,savings\n"
        "102,2025-01-03,1,savings\n"
        "102,2025-01-03,2,savings\n"
    )
    report = load_file(store, CONVERSIONS, path, CSV, setting="x")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 2)
    assert store.fetchall(
        "SELECT relation_id, outcome, amount FROM conversions ORDER BY relation_id, outcome"
    ) == [(101, "investing", 500.0), (101, "savings", 200.0)]


def test_an_empty_outcome_is_quarantined(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "relation_id,conversion_date,amount,outcome\n101,2025-01-03,5,\n"
        "102,2025-01-03,5,savings\n103,2025-01-03,5,savings\n"
    )
    report = load_file(store, CONVERSIONS, path, CSV, setting="x")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert store.fetchall("SELECT column_name FROM quarantine") == [("outcome",)]


def test_a_store_made_before_outcomes_gets_the_column(tmp_path: Path) -> None:
    path = str(tmp_path / "old.duckdb")
    with Store(path) as s:
        s.execute("ALTER TABLE conversions DROP COLUMN outcome")
        s.execute("INSERT INTO conversions VALUES (101, DATE '2025-01-03', 5.0, 1)")
    with Store(path) as s:
        assert s.fetchall("SELECT relation_id, outcome FROM conversions") == [(101, "investing")]
