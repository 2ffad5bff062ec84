"""Each step of the feature and label query alone, on small hand-made tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from nextbest.config import FeaturesConfig
from nextbest.features import resolve_features
from nextbest.features._build import feature_steps

D = dt.date(2025, 6, 29)
FS = resolve_features(FeaturesConfig(enabled=["age"]))


def _run(
    step: str, tables: dict[str, pa.Table], params: dict[str, Any], **kind: Any
) -> list[dict[str, Any]]:
    """Run the one step ``step`` over ``tables`` registered under their names."""
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    sql = feature_steps(FS, **kind).step_sql(step)
    rows: list[dict[str, Any]] = con.sql(sql, params=params).to_arrow_table().to_pylist()
    return rows


def _days(*offsets: int) -> list[dt.date]:
    return [D - dt.timedelta(days=k) for k in offsets]


def test_target_is_the_distinct_dates() -> None:
    """Two dates, one given twice: two target rows."""
    rows = _run("target", {}, {"dates": [D, D, D - dt.timedelta(days=7)]})
    assert sorted(r["snapshot_date"] for r in rows) == _days(7, 0)


def test_cur_keeps_the_target_dates_and_the_population() -> None:
    """Of four snapshot rows, the non-investors on the target date: customers 1 and 3."""
    snapshots = pa.table(
        {
            "snapshot_date": _days(0, 0, 0, 7),
            "relation_id": [1, 2, 3, 4],
            "is_investor": [False, True, False, False],
        }
    )
    target = pa.table({"snapshot_date": [D]})
    tables = {"snapshots": snapshots, "target": target}
    rows = _run("cur", tables, {}, population="non_investors")
    assert [r["relation_id"] for r in rows] == [1, 3]
    listed = _run("cur", tables, {"ids": [2, 4]}, population="listed")
    assert [r["relation_id"] for r in listed] == [2]


def test_cur_samples_by_the_seeded_hash() -> None:
    """A sample below 0 of a million keeps nobody; below a million keeps everyone."""
    snapshots = pa.table({"snapshot_date": _days(0, 0), "relation_id": [1, 2]})
    tables = {"snapshots": snapshots, "target": pa.table({"snapshot_date": [D]})}
    none = _run("cur", tables, {"seed": 7, "sample_below": 0}, sampled=True)
    every = _run("cur", tables, {"seed": 7, "sample_below": 1_000_000}, sampled=True)
    assert (len(none), len(every)) == (0, 2)


def test_cand_spans_each_lag_plus_the_tolerance() -> None:
    """Point 1 looks 28 to 42 days back, point 2 56 to 70: fifteen dates each."""
    rows = _run("cand", {"target": pa.table({"snapshot_date": [D]})}, {})
    for point, (near, far) in {1: (28, 42), 2: (56, 70)}.items():
        dates = [r["hist_date"] for r in rows if r["point"] == point]
        assert (len(dates), max(dates), min(dates)) == (15, *_days(near, far))


def test_hist_takes_the_latest_balance_in_each_window() -> None:
    """Balances 28, 35 and 56 days back: the 4-week point is the one 28 days back (the
    latest in its window), the 8-week point the one 56 days back."""
    cand = _run("cand", {"target": pa.table({"snapshot_date": [D]})}, {})
    snapshots = pa.table(
        {
            "snapshot_date": _days(28, 35, 56, 28),
            "relation_id": [1, 1, 1, 2],
            "total_balance": [100.0, 200.0, 300.0, 999.0],
        }
    )
    tables = {
        "cand": pa.Table.from_pylist(cand),
        "snapshots": snapshots,
        "cur": pa.table({"relation_id": [1]}),  # customer 2 is not in this week's population
    }
    rows = _run("hist", tables, {})
    assert rows == [
        {"snapshot_date": D, "relation_id": 1, "balance_4w": 100.0, "balance_8w": 300.0}
    ]


def test_mkt_reads_the_fund_at_three_points() -> None:
    """Prices 0, 3, 10, 30 and 40 days back, and another fund's: price now is the one today,
    a week back the one 10 days back, four weeks back the one 30 days back (40 is too old)."""
    prices = pa.table(
        {
            "fund": ["F"] * 5 + ["G"],
            "price_date": _days(0, 3, 10, 30, 40, 0),
            "price": [10.0, 9.0, 8.0, 7.0, 6.0, 99.0],
        }
    )
    tables = {"market_prices": prices, "target": pa.table({"snapshot_date": [D]})}
    rows = _run("mkt", tables, {"fund": "F"})
    assert rows == [{"snapshot_date": D, "price_0": 10.0, "price_1w": 8.0, "price_4w": 7.0}]


def test_lab_sums_conversions_strictly_after_the_date_within_the_window() -> None:
    """Conversions on D (too early), D + 1, D + 14 and D + 15 with a 14-day window: the two
    inside count, 20 + 30; another outcome inside the window (D + 2, 99) does not."""
    conversions = pa.table(
        {
            "relation_id": [1, 1, 1, 1, 1],
            "conversion_date": [D + dt.timedelta(days=k) for k in (0, 1, 14, 15, 2)],
            "amount": [10.0, 20.0, 30.0, 40.0, 99.0],
            "outcome": ["investing"] * 4 + ["savings"],
        }
    )
    tables = {"conversions": conversions, "target": pa.table({"snapshot_date": [D]})}
    rows = _run("lab", tables, {"label_days": 14, "outcome": "investing"}, labelled=True)
    assert rows == [{"snapshot_date": D, "relation_id": 1, "amount_invested": 50.0}]


def test_the_steps_of_each_query() -> None:
    """The label step is there only for the training table."""
    assert feature_steps(FS).names == ["target", "cur", "cand", "hist", "mkt", "base", "feat"]
    assert "lab" in feature_steps(FS, labelled=True).names
