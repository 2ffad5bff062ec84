"""The store: schema matches the contracts, transactions are all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.errors import StoreError
from nextbest.ingest import CONTRACTS
from nextbest.store import DATA_TABLES, Store


def test_contracts_cover_the_schema() -> None:
    """Every data table has a contract for exactly its columns, in the same order."""
    by_table = {c.table: c for c in CONTRACTS.values()}
    assert set(by_table) == set(DATA_TABLES)
    for table, columns in DATA_TABLES.items():
        assert by_table[table].names == [name for name, _ in columns]


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    """Statements inside a failed transaction leave no trace, also after reopening."""
    path = tmp_path / "db.duckdb"
    with Store(path) as store:
        with pytest.raises(ValueError, match="boom"), store.transaction():
            store.execute("INSERT INTO market_prices VALUES ('balanced', DATE '2025-01-03', 1, 1)")
            raise ValueError("boom")
        assert store.scalar("SELECT count(*) FROM market_prices") == 0
    with Store(path) as store:
        assert store.scalar("SELECT count(*) FROM market_prices") == 0


def test_schema_is_idempotent(tmp_path: Path) -> None:
    """Opening an existing store keeps its data."""
    path = tmp_path / "db.duckdb"
    with Store(path) as store:
        store.execute("INSERT INTO market_prices VALUES ('balanced', DATE '2025-01-03', 1, 1)")
    with Store(path) as store:
        assert store.scalar("SELECT count(*) FROM market_prices") == 1
        assert store.scalar("SELECT value FROM meta WHERE key = 'schema_version'") == "1"


def test_unopenable_store_is_explained(tmp_path: Path) -> None:
    """A path that is not a database gives a StoreError naming the path and setting."""
    bad = tmp_path / "not-a-db.duckdb"
    bad.write_text("hello, I am a text file" * 100)
    with pytest.raises(
        StoreError, match=r"cannot open the store at .*not-a-db\.duckdb.*\[store\] path"
    ):
        Store(bad)
