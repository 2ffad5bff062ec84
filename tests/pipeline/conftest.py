"""A tiny hand-made bank whose decisions can be worked out by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from nextbest.config import Config, config_from_mapping
from nextbest.models import LogisticPropensity, PropensityModel, register_model
from nextbest.store import Store, open_store

D = dt.date(2025, 3, 2)

# relation_id: (age, optin_investing, is_investor, app, accounts, logins, balance)
CUSTOMERS: dict[int, tuple[int, bool | None, bool, bool, int, int, float]] = {
    101: (40, True, False, True, 4, 20, 1000.0),  # engagement 3    -> score 0.5
    102: (35, True, False, True, 2, 10, 1000.0),  # engagement 2    -> 0.2689
    103: (50, True, False, False, 4, 20, 1000.0),  # engagement 2   -> 0.2689 (tie, higher id)
    104: (60, True, False, True, 1, 0, 1000.0),  # engagement 1.25  -> 0.1480
    105: (16, True, False, True, 4, 20, 1000.0),  # minor
    106: (40, False, False, True, 4, 20, 1000.0),  # not opted in
    107: (40, True, True, True, 4, 20, 1000.0),  # already invests
    108: (40, True, False, True, 4, 20, 1000.0),  # held out 3 weeks ago: cooldown
    109: (40, True, False, True, 4, 20, 50.0),  # too little balance (custom rule)
    110: (40, True, False, True, 4, 20, 1000.0),  # mailed 2 weeks ago: inside the flow
    111: (40, True, False, True, 4, 20, 1000.0),  # mailed 2 weeks ago, converted: cooldown
    112: (40, None, False, True, 4, 20, 1000.0),  # opt-in unknown
}


def tiny_config(store_path: Path, **action: object) -> Config:
    base: dict[str, object] = {
        "name": "invest-onboarding",
        "threshold": 0.2,
        "min_weekly": 2,
        "max_weekly": 2,
        "holdout_fraction": 0.0,
        "exploration_size": 0,
        "cooldown_weeks": 8,
        "flow_weeks": 3,
        "rules": [{"name": "has_some_balance", "sql": "total_balance >= 100"}],
        "model": {"kind": "logistic"},
    }
    base.update(action)
    return config_from_mapping(
        {
            "store": {"path": str(store_path)},
            "features": {"enabled": ["engagement"]},
            "actions": [base],
            "run": {"seed": 7},
        }
    )


def hand_model() -> PropensityModel:
    """score = sigmoid(engagement - 3): no scaling, coefficient 1, intercept -3."""
    est = LogisticPropensity.from_dict(
        {
            "kind": "logistic",
            "params": {"C": 1.0, "max_iter": 100},
            "medians": [0.0],
            "mean": [0.0],
            "scale": [1.0],
            "coef": [1.0],
            "intercept": -3.0,
        }
    )
    return PropensityModel(
        action="invest-onboarding",
        features=["engagement"],
        estimator=est,
        metadata={"train_dates": ["2024-06-02", "2024-12-01"], "metrics": {}},
    )


def fill(store: Store) -> None:
    for rid, (age, optin, investor, app, accounts, logins, balance) in CUSTOMERS.items():
        store.execute(
            "INSERT INTO snapshots VALUES (?, ?, ?, 'mass', true, true, ?, ?, ?, ?, true, ?, "
            "DATE '2015-01-01', ?, 0)",
            [rid, D, age, accounts, balance, app, logins, optin, investor],
        )
    for rid, days_ago, arm in ((108, 21, "holdout"), (110, 14, "treat"), (111, 14, "treat")):
        store.execute(
            "INSERT INTO contacts VALUES (?, 'invest-onboarding', ?, 'earlier', ?)",
            [rid, D - dt.timedelta(days=days_ago), arm],
        )
    store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
        "VALUES (111, DATE '2025-02-20', 500.0, 0)"
    )


@pytest.fixture
def tiny_store(tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    path = tmp_path / "tiny.duckdb"
    cfg = tiny_config(path)
    with open_store(cfg) as store:
        fill(store)
        register_model(store, hand_model())
        yield store, path
