"""The leakage hunt: it fires on a week key and a future leak, and stays quiet otherwise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import FeaturesConfig
from nextbest.features import (
    FEATURES,
    FeatureDefinition,
    FeatureSet,
    build_training_table,
    loaded_snapshot_dates,
    resolve_features,
)
from nextbest.models import LeakageSettings, find_time_keys, has_critical, too_good
from nextbest.pipeline import hunt_file
from nextbest.pipeline._trust import check_point_in_time
from nextbest.store import Store

SAFE = ["age", "balance", "balance_trend", "engagement", "tenure_years", "market_trend"]
NAIVE = [
    "age",
    "balance",
    "balance_trend",
    "engagement",
    "tenure_years",
    "fund_return_1w",
    "fund_return_4w",
]


def _table(store: Store, enabled: list[str]) -> pa.Table:
    fs = resolve_features(FeaturesConfig(enabled=enabled))
    dates = loaded_snapshot_dates(store)[8:20]
    return build_training_table(store, fs, dates, label_weeks=8)


def test_fund_returns_are_flagged_as_week_keys(loaded_store: Store) -> None:
    """On the synthetic bank, the fund returns identify the week: critical, named."""
    findings = find_time_keys(
        loaded_store, _table(loaded_store, NAIVE), time_column="snapshot_date", features=NAIVE
    )
    critical = [f for f in findings if f.severity == "critical"]
    assert {f.features for f in critical} == {("fund_return_1w",), ("fund_return_4w",)}
    assert "tells the model which week it is" in critical[0].evidence
    assert "coarse band" in critical[0].remedy


def test_safe_features_raise_no_time_key(loaded_store: Store) -> None:
    """With the coarse market band instead, the time-key check reports only information."""
    findings = find_time_keys(
        loaded_store, _table(loaded_store, SAFE), time_column="snapshot_date", features=SAFE
    )
    assert [(f.severity, f.features) for f in findings] == [("info", ("market_trend",))]


def test_a_pair_can_be_a_key_when_neither_alone_is() -> None:
    """Two market-wide features with two values each, together unique on four dates."""
    dates = [dt.date(2025, 1, 5) + dt.timedelta(weeks=w) for w in range(4)]
    rows = {"d": [], "a": [], "b": [], "x": []}
    for i, d in enumerate(dates):
        for k in range(5):
            rows["d"].append(d)
            rows["a"].append(float(i // 2))  # 0, 0, 1, 1
            rows["b"].append(float(i % 2))  # 0, 1, 0, 1
            rows["x"].append(float(k))
    with Store(":memory:") as store:
        findings = find_time_keys(store, pa.table(rows), time_column="d", features=["a", "b", "x"])
    critical = [f for f in findings if f.severity == "critical"]
    assert [f.features for f in critical] == [("a", "b")]
    assert "together take a different pair of values on each of the 4 dates" in (
        critical[0].evidence
    )


def test_planted_target_leak_is_too_good() -> None:
    """A column that is the outcome with a little noise is a critical 'too good' finding."""
    rng = np.random.default_rng(0)
    y = (rng.random(5000) < 0.1).astype(np.int8)
    honest = rng.normal(size=5000) + 0.3 * y
    leak = y + 0.05 * rng.normal(size=5000)
    findings = too_good(
        np.column_stack([honest, leak]), y, ["honest", "status_flag"], settings=LeakageSettings()
    )
    assert [f.features for f in findings] == [("status_flag",)]
    assert findings[0].severity == "critical"
    assert "alone separates converters with ROC-AUC" in findings[0].evidence


def _write_user_file(path: Path, *, leak: bool, week_key: bool) -> Path:
    rng = np.random.default_rng(1)
    n_dates, per = 12, 400
    d = np.repeat(np.arange(n_dates), per)
    y = (rng.random(n_dates * per) < 0.05 + 0.02 * (d % 3)).astype(int)
    cols = {
        "week": [str(dt.date(2025, 1, 5) + dt.timedelta(weeks=int(i))) for i in d],
        "bought": y,
        "income": rng.normal(size=len(d)) + 0.4 * y,
    }
    if week_key:
        cols["index_level"] = 100 + 3.7 * d + 0.1 * (d % 4)
    if leak:
        cols["closed_flag"] = y
    pa.csv.write_csv(pa.table(cols), path)  # type: ignore[attr-defined]
    return path


def test_user_file_hunt(tmp_path: Path) -> None:
    """On a user's CSV: the planted week key and the planted leak are named; a clean file
    has no critical finding; the CLI exits 1 on a critical finding."""
    import pyarrow.csv  # noqa: F401

    dirty = _write_user_file(tmp_path / "dirty.csv", leak=True, week_key=True)
    hunt = hunt_file(dirty, time_column="week", target="bought")
    assert (hunt.periods.n_periods, hunt.periods.reading) == (12, "date")
    named = {(f.check, f.features) for f in hunt.findings if f.severity == "critical"}
    assert ("time_key", ("index_level",)) in named
    assert ("too_good", ("closed_flag",)) in named
    clean = _write_user_file(tmp_path / "clean.csv", leak=False, week_key=False)
    assert not has_critical(hunt_file(clean, time_column="week", target="bought").findings)
    runner = CliRunner()
    result = runner.invoke(
        app, ["leakage", str(dirty), "--time-column", "week", "--target", "bought"]
    )
    assert result.exit_code == 1
    assert "closed_flag" in result.output
    bad = runner.invoke(app, ["leakage", str(dirty), "--time-column", "wk", "--target", "bought"])
    assert bad.exit_code == 2
    assert "no column 'wk' for --time-column; Did you mean 'week'?" in bad.output


def test_point_in_time_check_catches_a_future_read(loaded_store: Store) -> None:
    """A custom feature that peeks at later conversions is named; honest features pass and
    the altered future is rolled back."""
    dates = loaded_snapshot_dates(loaded_store)
    day = dates[-3]
    before = loaded_store.scalar("SELECT sum(total_balance) FROM snapshots")
    honest = resolve_features(FeaturesConfig(enabled=SAFE))
    assert check_point_in_time(loaded_store, honest, day) == []
    # config SQL cannot read another table (one scalar expression over the row), so the leak
    # is planted as a code-defined feature: the check guards those too
    peeking = FeatureSet(
        definitions=(
            FEATURES["age"],
            FeatureDefinition(
                "converts_later",
                "(SELECT count(*) FROM conversions c WHERE c.relation_id = base.relation_id "
                "AND c.conversion_date > base.snapshot_date)",
                "a leak planted for the test",
                "custom",
            ),
        ),
        market_fund="balanced",
    )
    findings = check_point_in_time(loaded_store, peeking, day)
    assert [(f.check, f.severity, f.features) for f in findings] == [
        ("point_in_time", "critical", ("converts_later",))
    ]
    assert "reads the future" in findings[0].evidence
    assert loaded_store.scalar("SELECT sum(total_balance) FROM snapshots") == pytest.approx(before)
