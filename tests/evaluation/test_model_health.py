"""Model health from outcomes carries the figures the evaluation report draws."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nextbest.config import config_from_mapping
from nextbest.evaluation import model_health
from nextbest.pipeline._evaluation_report import write_evaluation_report
from nextbest.store import Store

D = dt.date(2025, 3, 2)


def _store(path: Path) -> Store:
    """A run on D of action ``a`` with 100 unmailed eligible customers scored i/100; the ten
    highest-scored convert within the label window."""
    store = Store(path)
    store.execute(
        "INSERT INTO runs (run_id, snapshot_date, status, created_at, seed, config_hash, inputs,"
        " models, counts, flags, timings, decision_file, decision_sha256) VALUES"
        " ('r1', ?, 'exported', ?, 0, '', '{}', '{\"a\": \"v1\"}', '{}', '[]', '{}', '', '')",
        [D, dt.datetime(2025, 3, 2, 9)],
    )
    for i in range(1, 101):
        store.execute(
            "INSERT INTO decisions (run_id, action, relation_id, snapshot_date, eligible, score,"
            " selected, arm, assignment_probability) VALUES"
            " ('r1', 'a', ?, ?, true, ?, false, ?, 1.0)",
            [i, D, i / 100, "holdout" if i % 2 else "none"],
        )
    for i in range(91, 101):
        store.execute(
            "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id)"
            " VALUES (?, ?, 1.0, 1)",
            [i, D + dt.timedelta(days=10)],
        )
    store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id)"
        " VALUES (1, ?, 1.0, 1)",
        [D + dt.timedelta(weeks=20)],  # the outcomes reach past the window
    )
    return store


def test_health_has_the_calibration_and_lift_curve(tmp_path: Path) -> None:
    """Ten score deciles with their mean score and realised rate (0 below the top decile, 1
    in it), the lift curve from 1/20 of the customers (10×) to all (1×), and the report
    renders from them."""
    config = config_from_mapping(
        {"store": {"path": str(tmp_path / "s.duckdb")}, "actions": [{"name": "a"}]}
    )
    with _store(tmp_path / "s.duckdb") as store:
        (h,) = model_health(store, config)
    assert [b["rate"] for b in h["calibration"]] == [0.0] * 9 + [1.0]
    assert h["calibration"][-1]["mean_score"] == pytest.approx(0.955)
    assert h["lift_curve"][0] == pytest.approx((0.05, 10.0))
    assert h["lift_curve"][-1] == pytest.approx((1.0, 1.0))
    page = write_evaluation_report(tmp_path / "report.html", [], [h], []).read_text()
    assert "Calibration from outcomes, r1" in page
