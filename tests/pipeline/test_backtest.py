"""History replay: point-in-time, rolled back, summaries and expectations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from nextbest.config import config_from_mapping
from nextbest.errors import NotFoundError
from nextbest.features import loaded_snapshot_dates
from nextbest.pipeline import BacktestWeek, run_backtest
from nextbest.pipeline._backtest import _check_expectations
from nextbest.store import Store

DECISION_FIELDS = (
    "week",
    "model_trained_until",
    "eligible",
    "candidates",
    "selected",
    "mails",
    "treat",
    "holdout",
    "explore",
    "mean_score",
    "whatif_selected",
)


def _cfg(path: Path) -> object:
    return config_from_mapping(
        {
            "store": {"path": str(path)},
            "actions": [
                {
                    "name": "invest-onboarding",
                    "threshold": 0.02,
                    "max_weekly": 150,
                    "min_weekly": 5,
                    "exploration_size": 20,
                }
            ],
            "backtest": {"retrain_every_weeks": 4},
        }
    )


def _decisions(weeks: list[BacktestWeek]) -> list[tuple[object, ...]]:
    return [tuple(getattr(w, f) for f in DECISION_FIELDS) for w in weeks]


def test_replay_never_reads_the_future(loaded_store: Store, tmp_path: Path) -> None:
    """Decisions for the weeks up to W do not move when everything after W is altered, and
    the replay leaves the store as it found it."""
    cfg = _cfg(tmp_path / "unused.duckdb")
    counts = {
        t: loaded_store.scalar(f"SELECT count(*) FROM {t}")
        for t in ("contacts", "decisions", "runs", "model_versions")
    }
    first = run_backtest(loaded_store, cfg)  # type: ignore[arg-type]
    assert len(first.weeks) >= 6
    assert {t: loaded_store.scalar(f"SELECT count(*) FROM {t}") for t in counts} == counts
    cut = first.weeks[len(first.weeks) // 2].week
    loaded_store.execute(
        "UPDATE snapshots SET total_balance = total_balance * 5, ib_logins_4w = 0, "
        "is_investor = NOT is_investor WHERE snapshot_date > ?",
        [cut],
    )
    loaded_store.execute("UPDATE market_prices SET price = price * 0.3 WHERE price_date > ?", [cut])
    loaded_store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
        "SELECT relation_id, CAST(? AS DATE) + 2, 1.0, 0 "
        "FROM snapshots WHERE snapshot_date = ?",
        [cut, cut],
    )
    again = run_backtest(loaded_store, cfg)  # type: ignore[arg-type]
    before = [w for w in first.weeks if w.week <= cut]
    after = [w for w in again.weeks if w.week <= cut]
    assert _decisions(after) == _decisions(before)
    assert _decisions(again.weeks) != _decisions(first.weeks)  # later weeks did change


def test_replay_respects_its_own_cooldown(loaded_store: Store, tmp_path: Path) -> None:
    """The replay's earlier selections count as contacts: nobody is selected twice within
    the cooldown, so the eligible base shrinks after the first weeks."""
    result = run_backtest(loaded_store, _cfg(tmp_path / "u.duckdb"))  # type: ignore[arg-type]
    weeks = result.weeks
    assert all(w.selected <= 150 for w in weeks)
    assert weeks[1].eligible < weeks[0].eligible
    s = result.summary
    assert s["max_weekly_volume"] == max(w.selected for w in weeks)
    assert len(s["worst_weeks"]) == 3
    assert all("selected" in w["why"] for w in s["worst_weeks"])


def _week(day: int, selected: int, shifted: int) -> BacktestWeek:
    return BacktestWeek(
        week=dt.date(2025, 1, 5) + dt.timedelta(weeks=day),
        model_trained_until=dt.date(2025, 1, 5),
        eligible=100,
        candidates=selected,
        selected=selected,
        mails=selected,
        treat=selected,
        holdout=0,
        explore=0,
        mean_score=0.1,
        outcome_complete=True,
        conv_selected=0.1,
        conv_not_selected=0.05,
        precision=0.1,
        lift=2.0,
        fund_return_4w=0.01,
        whatif_selected={"fund_return_4w+0.05": shifted},
    )


def test_expectations_are_checked_week_by_week(tmp_path: Path) -> None:
    """'Volume must not fall' fails on exactly the weeks where the shifted volume fell."""
    cfg = config_from_mapping(
        {
            "features": {"enabled": ["age", "fund_return_4w"]},
            "backtest": {
                "whatif": [
                    {"feature": "fund_return_4w", "shift": 0.05, "expect": "not_fall"},
                ]
            },
        }
    )
    weeks = [_week(0, 10, 12), _week(1, 10, 9), _week(2, 5, 5)]
    (check,) = _check_expectations(weeks, cfg)
    assert check["passed"] is False
    assert check["violations"] == ["2025-01-12: 10 → 9"]
    assert check["expect"] == "volume must not fall when fund_return_4w shifts by +0.05"


def test_unknown_whatif_feature_is_a_config_error(loaded_store: Store, tmp_path: Path) -> None:
    """Shifting a feature that is not enabled is refused with the enabled list."""
    import pytest

    from nextbest.errors import ConfigError

    cfg = config_from_mapping(
        {
            "backtest": {"whatif": [{"feature": "fund_return_4w", "shift": 0.05}]},
        }
    )
    with pytest.raises(ConfigError, match="shifts 'fund_return_4w', which is not an enabled"):
        run_backtest(loaded_store, cfg)
    assert loaded_snapshot_dates(loaded_store)


def test_misaligned_replay_input_is_refused(
    loaded_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay decides through the same alignment check as the weekly run: eligibility in
    another customer order than the features is refused, not silently mis-scored."""
    import nextbest.pipeline._backtest as bt

    real = bt.eligibility

    def reversed_eligibility(*args: object, **kwargs: object) -> pa.Table:
        table = real(*args, **kwargs)  # type: ignore[arg-type]
        return table.take(pa.array(range(table.num_rows - 1, -1, -1)))

    monkeypatch.setattr(bt, "eligibility", reversed_eligibility)
    with pytest.raises(NotFoundError, match="disagree on the customers"):
        run_backtest(loaded_store, _cfg(tmp_path / "unused.duckdb"))  # type: ignore[arg-type]
