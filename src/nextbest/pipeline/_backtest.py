"""History replay: what would the policy have done, week by week, with what was known then?

For every past week W, the action's model is (re)trained every ``retrain_every_weeks`` on
training dates whose label windows closed by W (``training_dates(until=W)``; the latest fifth
of them calibrates, after a gap as long as the label window), features are built
for W (point-in-time), eligibility is applied with the replay's *own* earlier selections as the
contact history, and the real decision policy (threshold, weekly maximum, holdout, exploration)
picks the arms. Realised outcomes — conversions in the label window after W — are then read to
measure precision and lift. Everything happens inside one transaction that is rolled back, so
the replay leaves the store as it found it.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.config import ActionConfig, Config
from nextbest.decisioning import Policy, decide, eligibility, select
from nextbest.errors import ConfigError, NotFoundError
from nextbest.features import (
    build_features,
    loaded_snapshot_dates,
    resolve_features,
    training_dates,
    training_table,
)
from nextbest.models import PropensityModel, feature_matrix, make_estimator
from nextbest.pipeline._contacts import forget_all_contacts, record_contacts
from nextbest.store import Store

Progress = Callable[[str, int, int], None]


@dataclass
class BacktestWeek:
    week: dt.date
    model_trained_until: dt.date
    eligible: int
    candidates: int  # above the threshold, before the weekly maximum
    selected: int
    mails: int  # treat + explore: what would have gone out
    treat: int
    holdout: int
    explore: int
    mean_score: float
    outcome_complete: bool
    conv_selected: float | None
    conv_not_selected: float | None
    precision: float | None
    lift: float | None
    fund_return_4w: float | None
    whatif_selected: dict[str, int] = field(default_factory=dict)


@dataclass
class BacktestResult:
    action: str
    weeks: list[BacktestWeek]
    summary: dict[str, Any]
    expectations: list[dict[str, Any]]
    seconds: float

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for w in self.weeks:
            row = asdict(w)
            row.pop("whatif_selected")
            for k, v in w.whatif_selected.items():
                row[f"whatif:{k}"] = v
            out.append(row)
        return out


def _fund_returns(store: Store, fund: str, weeks: list[dt.date]) -> dict[dt.date, float]:
    rows = store.fetchall(
        """
        WITH t AS (SELECT unnest(?::DATE[]) AS d)
        SELECT t.d, max_by(m.price, m.price_date)
               / max_by(m.price, m.price_date) FILTER (WHERE m.price_date <= t.d - 28) - 1
        FROM t JOIN market_prices m ON m.fund = ? AND m.price_date BETWEEN t.d - 38 AND t.d
        GROUP BY t.d
        """,
        [weeks, fund],
    )
    return {d: float(r) for d, r in rows if r is not None}


def _outcomes(
    store: Store, week: dt.date, label_weeks: int, ids: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """1 where the customer converted in (week, week + label_weeks]."""
    rows = store.fetchall(
        "SELECT DISTINCT relation_id FROM conversions WHERE conversion_date > ? "
        "AND conversion_date <= ?",
        [week, week + dt.timedelta(weeks=label_weeks)],
    )
    converted = np.array([r[0] for r in rows], dtype=np.int64)
    return np.isin(ids, converted).astype(np.int8)


def _replay_split(
    dates: list[dt.date], gap_weeks: int
) -> tuple[list[dt.date], list[dt.date]] | None:
    """Train and calibration dates for a replay model: the replay itself is the evaluation,
    so no evaluation slice is held back. Calibration is the latest fifth of the dates, training
    every date at least ``gap_weeks`` before it."""
    dates = sorted(dates)
    n_cal = max(1, round(len(dates) * 0.2))
    calibration = dates[-n_cal:]
    train = [d for d in dates if d <= calibration[0] - dt.timedelta(weeks=gap_weeks)]
    return (train, calibration) if len(train) >= 2 else None


def _fit_for_replay(
    table: pa.Table,
    features: list[str],
    action: ActionConfig,
    split: tuple[list[dt.date], list[dt.date]],
) -> PropensityModel:

    def xy(dates: list[dt.date]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        t = table.filter(pc.is_in(table["snapshot_date"], value_set=pa.array(dates, pa.date32())))
        return feature_matrix(t, features), t["converted"].to_numpy().astype(np.int8)

    X, y = xy(split[0])
    est = make_estimator(action, action.model.kind, features).fit(X, y)
    model = PropensityModel(action=action.name, features=list(features), estimator=est)
    return model.calibrate(*xy(split[1]))


def _first_trainable(store: Store, config: Config, action: ActionConfig) -> dt.date:
    for week in loaded_snapshot_dates(store):
        try:
            dates = training_dates(
                store, config.training, until=week, label_weeks=action.label_weeks
            )
        except NotFoundError:
            continue
        if _replay_split(dates, action.label_weeks) is not None:
            return week
    raise NotFoundError(
        "no week has enough history to train a model on what was known at the time; load "
        "more weeks or lower [training] history_weeks"
    )


def run_backtest(
    store: Store,
    config: Config,
    *,
    action_name: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay the policy over history; see the module docstring."""
    t0 = time.perf_counter()
    action = config.action(action_name) if action_name else config.actions[0]
    fs = resolve_features(config.features)
    loaded = loaded_snapshot_dates(store)
    first = max(_first_trainable(store, config, action), start or loaded[0])
    weeks = [w for w in loaded if first <= w <= (end or loaded[-1])]
    if not weeks:
        raise NotFoundError(f"no loaded week between {first} and {end or loaded[-1]}")
    unknown = [w.feature for w in config.backtest.whatif if w.feature not in fs.names]
    if unknown:
        raise ConfigError(
            f"[[backtest.whatif]] shifts '{unknown[0]}', which is not an enabled feature; "
            f"enabled: {', '.join(fs.names)}"
        )
    returns = _fund_returns(store, fs.market_fund, weeks)
    with store.discarding():
        results = _replay(
            store, config, action, weeks, horizon=loaded[-1], returns=returns, progress=progress
        )
    summary = _summarise(results, action)
    expectations = _check_expectations(results, config)
    return BacktestResult(
        action=action.name,
        weeks=results,
        summary=summary,
        expectations=expectations,
        seconds=time.perf_counter() - t0,
    )


def _replay(
    store: Store,
    config: Config,
    action: ActionConfig,
    weeks: list[dt.date],
    *,
    horizon: dt.date,
    returns: dict[dt.date, float],
    progress: Progress | None,
) -> list[BacktestWeek]:
    """Replay ``weeks`` in order, retraining on schedule; the caller discards what it writes."""
    fs = resolve_features(config.features)
    results: list[BacktestWeek] = []
    model: PropensityModel | None = None
    trained_at: dt.date | None = None
    # the replay's own selections are its contact history
    forget_all_contacts(store)
    for i, week in enumerate(weeks):
        if trained_at is None or (week - trained_at).days >= 7 * (
            config.backtest.retrain_every_weeks
        ):
            dates, table = training_table(
                store, fs, config.training, until=week, label_weeks=action.label_weeks
            )
            split = _replay_split(dates, action.label_weeks)
            assert split is not None
            model = _fit_for_replay(table, fs.names, action, split)
            trained_at = week
        assert model is not None
        results.append(
            _replay_week(
                store,
                config,
                action,
                model,
                trained_at,
                week,
                fs_features=build_features(store, fs, [week]),
                horizon=horizon,
                fund_return=returns.get(week),
            )
        )
        if progress:
            progress("Replaying history", i + 1, len(weeks))
    return results


def _replay_week(
    store: Store,
    config: Config,
    action: ActionConfig,
    model: PropensityModel,
    trained_at: dt.date,
    week: dt.date,
    *,
    fs_features: pa.Table,
    horizon: dt.date,
    fund_return: float | None,
) -> BacktestWeek:
    elig = eligibility(store, action, week)
    X = model.matrix(fs_features)
    decision = decide(
        week,
        fs_features,
        elig,
        lambda mask: model.score(X[mask]),
        Policy.of(action, seed=config.run.seed, day=week),
    )
    ids, ok, score, arms = decision.ids, decision.eligible, decision.score, decision.arms
    assigned = arms.arm != "none"
    record_contacts(
        store,
        action=action.name,
        day=week,
        run_id="backtest",
        relation_ids=ids[assigned],
        arms=arms.arm[assigned],
    )
    whatif: dict[str, int] = {}
    for w in config.backtest.whatif:
        if w.feature not in model.features:
            whatif[f"{w.feature}{w.shift:+g}"] = int(arms.selected.sum())
            continue
        shifted = X.copy()
        shifted[:, model.features.index(w.feature)] += w.shift
        s2 = np.full(len(ids), np.nan)
        s2[ok] = model.score(shifted[ok])
        shifted_sel = select(ids, ok, s2, threshold=action.threshold, max_weekly=action.max_weekly)
        whatif[f"{w.feature}{w.shift:+g}"] = int(shifted_sel.selected.sum())
    complete = week + dt.timedelta(weeks=action.label_weeks) <= horizon
    y = _outcomes(store, week, action.label_weeks, ids)
    sel, rest = arms.selected, ok & ~arms.selected
    conv_sel = float(y[sel].mean()) if sel.any() else None
    conv_rest = float(y[rest].mean()) if rest.any() else None
    base = float(y[ok].mean()) if ok.any() else None
    lift = conv_sel / base if conv_sel is not None and base else None
    return BacktestWeek(
        week=week,
        model_trained_until=trained_at,
        eligible=int(ok.sum()),
        candidates=arms.n_candidates,
        selected=int(sel.sum()),
        mails=int(((arms.arm == "treat") | (arms.arm == "explore")).sum()),
        treat=int((arms.arm == "treat").sum()),
        holdout=int((arms.arm == "holdout").sum()),
        explore=int((arms.arm == "explore").sum()),
        mean_score=float(np.nanmean(score)) if ok.any() else float("nan"),
        outcome_complete=complete,
        conv_selected=conv_sel,
        conv_not_selected=conv_rest,
        precision=conv_sel,
        lift=lift,
        fund_return_4w=fund_return,
        whatif_selected=whatif,
    )


def _summarise(weeks: list[BacktestWeek], action: ActionConfig) -> dict[str, Any]:
    volumes = [w.selected for w in weeks]
    median = statistics.median(volumes)
    scores = [w.mean_score for w in weeks]
    typical = statistics.median(scores)
    outside = [
        w for w in weeks if w.selected < action.min_weekly or w.candidates > action.max_weekly
    ]
    complete = [w for w in weeks if w.outcome_complete and w.lift is not None]

    def why(w: BacktestWeek) -> str:
        parts = [f"{w.selected:,} selected"]
        if w.candidates > action.max_weekly:
            parts.append(
                f"{w.candidates:,} above the threshold ({w.candidates / action.max_weekly:.1f}× "
                "the weekly maximum)"
            )
        if w.selected < action.min_weekly:
            parts.append(f"below the weekly minimum of {action.min_weekly}")
        parts.append(f"mean score {w.mean_score:.3f} against a typical {typical:.3f}")
        if w.fund_return_4w is not None:
            parts.append(f"fund {w.fund_return_4w:+.1%} over 4 weeks")
        if w.week.month == 5:
            parts.append("May (holiday pay)")
        if w.lift is not None and w.outcome_complete:
            parts.append(f"realised lift {w.lift:.2f}")
        return "; ".join(parts)

    worst = sorted(weeks, key=lambda w: (-abs(w.candidates - median), w.week))[:3]
    return {
        "weeks": len(weeks),
        "first_week": weeks[0].week.isoformat(),
        "last_week": weeks[-1].week.isoformat(),
        "max_weekly_volume": max(volumes),
        "median_weekly_volume": median,
        "max_to_median": max(volumes) / median if median else float("inf"),
        "weeks_outside_bounds": len(outside),
        "weeks_outside_bounds_list": [w.week.isoformat() for w in outside],
        "mean_precision": float(np.mean([w.precision for w in complete])) if complete else None,
        "mean_lift": float(np.mean([w.lift for w in complete])) if complete else None,
        "total_mails": sum(w.mails for w in weeks),
        "worst_weeks": [{"week": w.week.isoformat(), "why": why(w)} for w in worst],
    }


def _check_expectations(weeks: list[BacktestWeek], config: Config) -> list[dict[str, Any]]:
    out = []
    for w in config.backtest.whatif:
        key = f"{w.feature}{w.shift:+g}"
        if w.expect == "none":
            continue
        bad = [
            wk
            for wk in weeks
            if (w.expect == "not_fall" and wk.whatif_selected[key] < wk.selected)
            or (w.expect == "not_rise" and wk.whatif_selected[key] > wk.selected)
        ]
        verb = "fall" if w.expect == "not_fall" else "rise"
        out.append(
            {
                "what_if": key,
                "expect": f"volume must not {verb} when {w.feature} shifts by {w.shift:+g}",
                "passed": not bad,
                "violations": [
                    f"{wk.week}: {wk.selected} → {wk.whatif_selected[key]}" for wk in bad[:10]
                ],
            }
        )
    return out


def market_series(
    store: Store, fund: str, first: dt.date, last: dt.date
) -> list[tuple[dt.date, float]]:
    return [
        (d, float(p))
        for d, p in store.fetchall(
            "SELECT price_date, price FROM market_prices WHERE fund = ? AND price_date "
            "BETWEEN ? AND ? ORDER BY price_date",
            [fund, first - dt.timedelta(days=28), last],
        )
    ]
