"""Training per action on a time split: train → gap → calibrate → gap → evaluate.

Splits are made on snapshot *dates*, never on rows: a customer's weeks are strongly alike, so a
random split would let the model be judged on near-copies of what it learned. Between slices
lies a gap as long as the label window, so no label of an earlier slice overlaps a later one.
The model that is evaluated is the model that is deployed.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.config import ActionConfig
from nextbest.errors import NotFoundError
from nextbest.models._estimators import LightGBMPropensity, LogisticPropensity
from nextbest.models._gate import GateSettings
from nextbest.models._metrics import (
    auc_interval,
    brier,
    calibration_table,
    lift_at,
    lift_curve,
    pr_auc,
    roc_auc,
)
from nextbest.models._propensity import PropensityModel, feature_matrix


@dataclass(frozen=True)
class TimeSplit:
    """Snapshot dates of each slice."""

    train: list[dt.date]
    calibration: list[dt.date]
    evaluation: list[dt.date]
    gap_weeks: int


def time_split(
    dates: list[dt.date],
    *,
    gap_weeks: int,
    evaluation_share: float = 0.25,
    calibration_share: float = 0.2,
) -> TimeSplit:
    """Split sorted snapshot dates into train, calibration and evaluation with gaps.

    The evaluation slice is the latest ``evaluation_share`` of the dates; the calibration slice
    the ``calibration_share`` before it, ending at least ``gap_weeks`` before evaluation starts;
    training takes every date at least ``gap_weeks`` before calibration starts.

    >>> ds = [dt.date(2024, 1, 7) + dt.timedelta(weeks=2 * i) for i in range(20)]
    >>> s = time_split(ds, gap_weeks=4)
    >>> len(s.evaluation), s.calibration[-1] <= s.evaluation[0] - dt.timedelta(weeks=4)
    (5, True)
    """
    dates = sorted(set(dates))
    n = len(dates)
    n_eval = max(1, round(n * evaluation_share))
    evaluation = dates[n - n_eval :]
    gap = dt.timedelta(weeks=gap_weeks)
    before_eval = [d for d in dates if d <= evaluation[0] - gap]
    n_cal = max(1, round(n * calibration_share))
    calibration = before_eval[-n_cal:]
    train = [d for d in before_eval if calibration and d <= calibration[0] - gap]
    if not train or not calibration:
        raise NotFoundError(
            f"{n} training dates are too few for train, calibration and evaluation slices with "
            f"{gap_weeks}-week gaps; load more weeks of history (docs/configuration.md, "
            "[training], gives the minimum)"
        )
    return TimeSplit(
        train=train, calibration=calibration, evaluation=evaluation, gap_weeks=gap_weeks
    )


def _rows(table: pa.Table, dates: list[dt.date]) -> pa.Table:

    mask = pc.is_in(table["snapshot_date"], value_set=pa.array(dates, pa.date32()))
    return table.filter(mask)


def evaluate_scores(
    y: npt.ArrayLike,
    score: npt.ArrayLike,
    dates: npt.ArrayLike,
    *,
    bucket: int,
    groups: npt.ArrayLike | None = None,
    gate: GateSettings | None = None,
) -> dict[str, Any]:
    """The release figures for one set of scores on the evaluation weeks.

    ``lift_at_bucket`` is the mean over evaluation dates of the lift in the ``bucket``
    highest-scored customers of that date (the weekly volume the action may mail). With
    ``groups`` (the relation number of each row), ``roc_auc_ci`` is the bootstrap interval of
    the ROC-AUC over customers that the release gate reads.
    """
    y_arr = np.asarray(y, dtype=np.int8)
    s_arr = np.asarray(score, dtype=np.float64)
    d_arr = np.asarray(dates)
    lifts = []
    for day in np.unique(d_arr):
        mask = d_arr == day
        if y_arr[mask].any():
            lifts.append(lift_at(y_arr[mask], s_arr[mask], min(bucket, int(mask.sum()))))
    figures: dict[str, Any] = {
        "n": len(y_arr),
        "n_positive": int(y_arr.sum()),
        "base_rate": float(y_arr.mean()),
        "pr_auc": pr_auc(y_arr, s_arr),
        "roc_auc": roc_auc(y_arr, s_arr),
        "lift_at_bucket": float(np.mean(lifts)) if lifts else float("nan"),
        "bucket": bucket,
        "brier": brier(y_arr, s_arr),
        "mean_score": float(s_arr.mean()),
        "calibration": [vars(b) for b in calibration_table(y_arr, s_arr)],
        "lift_curve": lift_curve(y_arr, s_arr),
    }
    if groups is not None:
        gate = gate or GateSettings()
        lo, hi = auc_interval(
            y_arr,
            s_arr,
            groups,
            confidence=gate.confidence,
            n_resamples=gate.n_resamples,
            seed=gate.seed,
        )
        figures.update(
            {
                "roc_auc_ci": [lo, hi],
                "roc_auc_ci_level": gate.confidence,
                "roc_auc_ci_method": f"bootstrap over customers, {gate.n_resamples} "
                "resamples, percentile",
            }
        )
    return figures


@dataclass
class TrainingResult:
    """The deployed model and everything measured on the way."""

    model: PropensityModel
    split: TimeSplit
    metrics: dict[str, dict[str, Any]]  # "logistic", "lightgbm", optionally "oracle"
    seconds: dict[str, float] = field(default_factory=dict)
    n_rows: dict[str, int] = field(default_factory=dict)


def feature_profile(
    X: npt.NDArray[np.float64], features: list[str], dates: npt.NDArray[Any]
) -> dict[str, Any]:
    """Per feature: decile edges over all rows, and per snapshot date the share of rows in
    each decile and the share missing — what the drift check (PSI) compares a new week with.
    Keeping each week apart lets a seasonal week be compared with the seasons seen."""
    profile: dict[str, Any] = {}
    days = np.unique(dates)
    for j, name in enumerate(features):
        col = X[:, j]
        ok = col[~np.isnan(col)]
        if len(ok) == 0:
            continue
        edges = np.unique(np.quantile(ok, np.linspace(0.1, 0.9, 9)))
        weeks = {}
        for day in days:
            c = col[dates == day]
            present = c[~np.isnan(c)]
            counts = np.bincount(
                np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1
            )
            weeks[str(day)] = {
                "shares": (counts / len(c)).tolist(),
                "missing": float(np.isnan(c).mean()),
            }
        profile[name] = {"edges": edges.tolist(), "weeks": weeks}
    return profile


def make_estimator(
    action: ActionConfig, kind: str, features: list[str] | None = None
) -> LogisticPropensity | LightGBMPropensity:
    """The estimator an action's model spec describes (monotone constraints need ``features``)."""
    spec = action.model
    if kind == "logistic":
        return LogisticPropensity(C=1.0 / max(spec.l2, 1e-6))
    monotone = None
    if spec.monotone and features is not None:
        unknown = [f for f in spec.monotone if f not in features]
        if unknown:
            from nextbest.errors import ConfigError

            raise ConfigError(
                f"[actions.model] monotone names '{unknown[0]}', which is not an enabled "
                f"feature; enabled: {', '.join(features)}"
            )
        monotone = [int(spec.monotone.get(f, 0)) for f in features]
    return LightGBMPropensity(
        n_estimators=spec.n_estimators,
        learning_rate=spec.learning_rate,
        num_leaves=spec.num_leaves,
        min_child_samples=spec.min_child_samples,
        reg_lambda=spec.l2,
        monotone_constraints=monotone,
    )


def _both_outcomes(name: str, target: str, split: Any, y: dict[str, Any]) -> None:
    """Each slice needs customers who reached the target and customers who did not."""
    for part, labels in y.items():
        if labels.min(initial=1) == labels.max(initial=0):
            dates = getattr(split, part)
            what = "no customer" if labels.max(initial=0) == 0 else "every customer"
            raise NotFoundError(
                f"action {name}: in the {part} weeks ({dates[0]} … {dates[-1]}) {what} "
                f"{target!r}; a model needs both. Load more weeks of history or conversions, "
                "or check [sources.conversions] and the action's label_weeks"
            )


def train_action(
    table: pa.Table,
    features: list[str],
    action: ActionConfig,
    *,
    oracle: npt.ArrayLike | None = None,
    gate: GateSettings | None = None,
) -> TrainingResult:
    """Fit the logistic baseline and the configured model; deploy the configured one.

    ``table`` is a training table (``relation_id``, ``snapshot_date``, the features and
    ``converted``). ``oracle``, when given, holds the true probability of each *evaluation*
    row (in table order) from the synthetic bank's ground truth. Both models are measured on
    the same evaluation rows, each ROC-AUC with its bootstrap interval over customers
    (``gate`` sets its level and resamples).
    """
    dates = sorted(set(table["snapshot_date"].to_pylist()))
    split = time_split(dates, gap_weeks=action.label_weeks)
    parts = {
        name: _rows(table, getattr(split, name)) for name in ("train", "calibration", "evaluation")
    }
    X = {k: feature_matrix(v, features) for k, v in parts.items()}
    y = {k: v["converted"].to_numpy().astype(np.int8) for k, v in parts.items()}
    _both_outcomes(action.name, action.target, split, y)
    eval_dates = parts["evaluation"]["snapshot_date"].to_numpy(zero_copy_only=False)
    eval_ids = parts["evaluation"]["relation_id"].to_numpy(zero_copy_only=False)
    metrics: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    chosen: PropensityModel | None = None
    for kind in ("logistic", "lightgbm"):
        t0 = time.perf_counter()
        est = make_estimator(action, kind, list(features)).fit(X["train"], y["train"])
        model = PropensityModel(action=action.name, features=list(features), estimator=est)
        model.calibrate(X["calibration"], y["calibration"])
        seconds[kind] = time.perf_counter() - t0
        metrics[kind] = evaluate_scores(
            y["evaluation"],
            model.score(X["evaluation"]),
            eval_dates,
            bucket=action.max_weekly,
            groups=eval_ids,
            gate=gate,
        )
        # a slope ≤ 0 means the calibration weeks reversed the estimator's ranking
        metrics[kind]["calibration_slope"] = model.calibration[0]
        if kind == action.model.kind:
            chosen = model
    if oracle is not None:
        metrics["oracle"] = evaluate_scores(
            y["evaluation"],
            np.asarray(oracle, dtype=np.float64),
            eval_dates,
            bucket=action.max_weekly,
        )
    assert chosen is not None
    # the reference for drift: every week the model was trained, calibrated and evaluated on
    all_dates = np.concatenate(
        [v["snapshot_date"].to_numpy(zero_copy_only=False) for v in parts.values()]
    )
    chosen.metadata["profile"] = feature_profile(
        np.vstack([X["train"], X["calibration"], X["evaluation"]]), list(features), all_dates
    )
    chosen.metadata.update(
        {
            "train_dates": [d.isoformat() for d in split.train],
            "calibration_dates": [d.isoformat() for d in split.calibration],
            "evaluation_dates": [d.isoformat() for d in split.evaluation],
            "label_weeks": action.label_weeks,
            "metrics": metrics[action.model.kind],
        }
    )
    return TrainingResult(
        model=chosen,
        split=split,
        metrics=metrics,
        seconds=seconds,
        n_rows={k: len(v) for k, v in y.items()},
    )
