"""``Store.discarding()``: what is written inside is gone after, error or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.errors import StoreError
from nextbest.store import Store

ROW = "INSERT INTO market_prices VALUES ('balanced', DATE '2025-01-03', 1, 1)"


def test_writes_inside_are_seen_inside_and_gone_after(tmp_path: Path) -> None:
    path = tmp_path / "db.duckdb"
    with Store(path) as store:
        store.execute("INSERT INTO market_prices VALUES ('balanced', DATE '2025-01-02', 1, 1)")
        with store.discarding():
            store.execute(ROW)
            assert store.scalar("SELECT count(*) FROM market_prices") == 2
        assert store.scalar("SELECT count(*) FROM market_prices") == 1
        with store.transaction():  # the store is usable afterwards
            store.execute(ROW)
    with Store(path) as store:
        assert store.scalar("SELECT count(*) FROM market_prices") == 2


def test_an_error_inside_still_rolls_back_and_propagates(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        with pytest.raises(ValueError, match="boom"), store.discarding():
            store.execute(ROW)
            raise ValueError("boom")
        assert store.scalar("SELECT count(*) FROM market_prices") == 0


def test_refused_inside_a_transaction(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        with store.transaction():
            store.execute(ROW)
            with pytest.raises(StoreError, match="inside a transaction"), store.discarding():
                pass
        assert store.scalar("SELECT count(*) FROM market_prices") == 1
