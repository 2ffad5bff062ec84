"""The outcome query: each decision's conversions in its action's label window."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nextbest.evaluation._runs import _outcomes
from nextbest.store import Store

D = dt.date(2025, 3, 2)


def _store(path: Path) -> Store:
    """One run on D deciding customers 1-4 for the action ``o'brien`` (2-week window) and
    customers 5-6 for ``other`` (in no config: the 8-week default); conversions at D+10,
    D+20 and D+60 days."""
    store = Store(path)
    store.execute(
        "INSERT INTO runs (run_id, snapshot_date, status, created_at, seed, config_hash, inputs,"
        " models, counts, flags, timings, decision_file, decision_sha256) VALUES"
        " ('r1', ?, 'exported', ?, 0, '', '{}', '{}', '{}', '[]', '{}', '', '')",
        [D, dt.datetime(2025, 3, 2, 9)],
    )
    rows = [
        (1, "o'brien", "treat"),
        (2, "o'brien", "holdout"),
        (3, "o'brien", "explore"),
        (4, "o'brien", "none"),
        (5, "other", "treat"),
        (6, "other", "holdout"),
    ]
    for rid, action, arm in rows:
        store.execute(
            "INSERT INTO decisions (run_id, action, relation_id, snapshot_date, eligible, score,"
            " selected, arm, assignment_probability) VALUES ('r1', ?, ?, ?, true, 0.5, ?, ?, 1.0)",
            [action, rid, D, arm != "none", arm],
        )
    for rid, days, amount in [
        (1, 10, 5.0),
        (1, 12, 1.0),
        (2, 20, 7.0),
        (3, 60, 9.0),
        (4, 10, 3.0),
        (5, 20, 2.0),
        (6, 60, 4.0),
    ]:
        store.execute(
            "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id)"
            " VALUES (?, ?, ?, 1)",
            [rid, D + dt.timedelta(days=days), amount],
        )
    return store


def test_each_action_is_measured_in_its_own_window(tmp_path: Path) -> None:
    """``o'brien`` (a quote in its name, passed as a value) counts 14 days: customer 1 twice
    (6.0), not 2 (day 20) nor 3 (day 60); ``other`` has no window given and counts 56 days:
    5 (day 20) but not 6 (day 60); arm ``none`` is not measured."""
    with _store(tmp_path / "s.duckdb") as store:
        table = _outcomes(store, ["r1"], {"o'brien": 2}, {"o'brien": "investing"})
    got = [(r["relation_id"], r["converted"], r["amount"]) for r in table.to_pylist()]
    assert got == [(1, 1, 6.0), (2, 0, 0.0), (3, 0, 0.0), (5, 1, 2.0), (6, 0, 0.0)]


def test_only_the_given_runs_are_measured(tmp_path: Path) -> None:
    """A run not asked for contributes no rows."""
    with _store(tmp_path / "s.duckdb") as store:
        assert _outcomes(store, ["r2"], {"o'brien": 2}, {"o'brien": "investing"}).num_rows == 0


def test_each_action_counts_only_its_own_outcome(tmp_path: Path) -> None:
    """``o'brien`` aims at 'savings': customer 1 also set up a savings goal on day 5 (8.0),
    which counts, while its investments (days 10 and 12) no longer do; ``other`` (investing by
    default) is unchanged, and 1's savings goal would not count for it."""
    with _store(tmp_path / "s.duckdb") as store:
        store.execute(
            "INSERT INTO conversions (relation_id, conversion_date, amount, outcome, batch_id)"
            " VALUES (1, ?, 8.0, 'savings', 1), (5, ?, 1.0, 'savings', 1)",
            [D + dt.timedelta(days=5), D + dt.timedelta(days=6)],
        )
        table = _outcomes(store, ["r1"], {"o'brien": 2}, {"o'brien": "savings"})
    got = [(r["relation_id"], r["converted"], r["amount"]) for r in table.to_pylist()]
    assert got == [(1, 1, 8.0), (2, 0, 0.0), (3, 0, 0.0), (5, 1, 2.0), (6, 0, 0.0)]
