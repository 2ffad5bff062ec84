"""Leakage hunting: the checks that would have caught a model memorising which week it was.

Each finding has a check name, a severity (``critical`` blocks promotion to champion unless a
person overrides it with a written reason; ``warning`` and ``info`` are shown), the features
involved, the evidence with its figure, and the remedy.

* **time_key** — a feature, or a pair of features, that is constant within each date and
  takes a different value on every date identifies the date: a model can learn "this was the
  week of May 12" instead of anything about people. Market-wide features (constant within a
  date, not unique) are reported as ``info``; nearly unique ones as ``warning``.
* **random_vs_time_gap** — ROC-AUC under random cross-validation (rows of the same week on
  both sides) minus ROC-AUC on later weeks. A large gap means the model does well only on
  weeks it has seen: memorisation.
* **too_good** — a single feature, or the whole model, ranks converters better than human
  behaviour allows (ROC-AUC above a ceiling): usually the target leaking in.
* **point_in_time** — a feature whose value for date D changes when data after D is altered
  (run by the pipeline, which can alter the future inside a rolled-back transaction).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from nextbest.config import LeakageConfig
from nextbest.models._estimators import LightGBMPropensity
from nextbest.models._propensity import feature_matrix
from nextbest.store import Store

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    features: tuple[str, ...]
    evidence: str
    remedy: str
    figure: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(**{**d, "features": tuple(d["features"])})


@dataclass(frozen=True)
class LeakageSettings:
    """Ceilings and gaps; the defaults suit marketing propensity on human behaviour."""

    feature_auc_ceiling: float = 0.90
    model_auc_ceiling: float = 0.95
    gap_warning: float = 0.03
    gap_critical: float = 0.08
    max_rows: int = 200_000
    seed: int = 0

    @classmethod
    def from_config(cls, config: LeakageConfig) -> LeakageSettings:
        """The ``[leakage]`` settings, with the defaults for the rest."""
        return cls(
            feature_auc_ceiling=config.feature_auc_ceiling,
            model_auc_ceiling=config.model_auc_ceiling,
            gap_warning=config.gap_warning,
            gap_critical=config.gap_critical,
        )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def find_time_keys(
    store: Store, table: pa.Table, *, time_column: str, features: list[str]
) -> list[Finding]:
    """Features alone or in pairs that identify the date (see the module docstring)."""
    store.register("_leak_keys", table)
    try:
        n_dates = int(store.scalar(f"SELECT count(DISTINCT {_q(time_column)}) FROM _leak_keys"))
        if n_dates < 3:
            return []
        constant: dict[str, int] = {}  # feature -> distinct values across dates
        for f in features:
            row = store.fetchone(
                f"""
                WITH per AS (
                    SELECT {_q(time_column)} AS t, count(DISTINCT {_q(f)}) AS n,
                           any_value({_q(f)}) AS v
                    FROM _leak_keys WHERE {_q(f)} IS NOT NULL GROUP BY t)
                SELECT max(n), count(DISTINCT v), count(*) FROM per
                """
            )
            if row and row[0] == 1 and row[2] == n_dates:
                constant[f] = int(row[1])
        findings: list[Finding] = []
        keys: set[str] = set()
        for f, distinct in constant.items():
            share = distinct / n_dates
            if distinct == n_dates:
                keys.add(f)
                findings.append(
                    Finding(
                        "time_key",
                        "critical",
                        (f,),
                        f"'{f}' is the same for every customer on a date and different on "
                        f"each of the {n_dates} dates: it tells the model which week it is.",
                        f"Drop '{f}', or replace it by a coarse band (a few values) of the "
                        "market climate, and replay history before going live.",
                        1.0,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "time_key",
                        "warning" if share >= 0.8 else "info",
                        (f,),
                        f"'{f}' is market-wide: one value per date, {distinct} distinct values "
                        f"over {n_dates} dates ({share:.0%}).",
                        "Market-wide features shift every customer alike; keep them coarse and "
                        "check the backtest for weeks whose volume they drive.",
                        share,
                    )
                )
        for a, b in combinations(sorted(set(constant) - keys), 2):
            pairs = int(
                store.scalar(
                    f"SELECT count(DISTINCT ({_q(a)}, {_q(b)})) FROM (SELECT DISTINCT "
                    f"{_q(time_column)}, {_q(a)}, {_q(b)} FROM _leak_keys "
                    f"WHERE {_q(a)} IS NOT NULL AND {_q(b)} IS NOT NULL)"
                )
            )
            if pairs == n_dates:
                findings.append(
                    Finding(
                        "time_key",
                        "critical",
                        (a, b),
                        f"'{a}' and '{b}' together take a different pair of values on each of "
                        f"the {n_dates} dates (alone they do not): together they tell the model "
                        "which week it is — the failure this product was built to catch.",
                        f"Keep at most one of '{a}' and '{b}', as a coarse band, and replay "
                        "history to check the weekly volume stays stable.",
                        1.0,
                    )
                )
        return findings
    finally:
        store.unregister("_leak_keys")


def _auc_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of a ROC-AUC (Hanley & McNeil, 1982)."""
    if n_pos == 0 or n_neg == 0 or math.isnan(auc):
        return float("inf")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return math.sqrt(max(var, 0.0))


def _auc(y: npt.NDArray[np.int8], s: npt.NDArray[np.float64]) -> float:
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, s))


def random_vs_time_gap(
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.int8],
    dates: npt.NDArray[Any],
    *,
    settings: LeakageSettings,
    make_model: Callable[[], Any] | None = None,
    groups: npt.NDArray[Any] | None = None,
) -> Finding | None:
    """ROC-AUC of random 3-fold CV minus ROC-AUC on the latest third of the dates.

    ``make_model`` builds the estimator to test; by default a deliberately flexible LightGBM
    (31 leaves, 20 customers per leaf, no penalty), since the check asks what the *data* lets a
    model memorise.
    ``groups`` (e.g. relation numbers) keeps each customer's rows in one fold: the folds are
    random over customers, so every week is on both sides and memorising *weeks* shows, while
    recognising the same person in the next week does not count.
    """
    rng = np.random.default_rng(settings.seed)
    if len(y) > settings.max_rows:
        keep = np.sort(rng.choice(len(y), settings.max_rows, replace=False))
        X, y, dates = X[keep], y[keep], dates[keep]
        groups = None if groups is None else groups[keep]
    uniq = np.unique(dates)
    if len(uniq) < 4 or y.sum() < 30:
        return None
    cut = uniq[int(len(uniq) * 2 / 3)]
    later = dates >= cut

    def model() -> Any:
        if make_model is not None:
            return make_model()
        # deliberately flexible: the check asks what the data lets a model memorise
        return LightGBMPropensity(
            n_estimators=150, learning_rate=0.1, num_leaves=31, min_child_samples=20, reg_lambda=0.0
        )

    if y[~later].min() == y[~later].max() or y[later].min() == y[later].max():
        return None
    time_auc = _auc(y[later], model().fit(X[~later], y[~later]).decision_function(X[later]))
    if groups is None:
        folds = rng.integers(0, 3, size=len(y))
    else:
        uniq_groups, inverse = np.unique(groups, return_inverse=True)
        folds = rng.integers(0, 3, size=len(uniq_groups))[inverse]
    scores = np.empty(len(y))
    for k in range(3):
        test = folds == k
        scores[test] = model().fit(X[~test], y[~test]).decision_function(X[test])
    random_auc = _auc(y, scores)
    gap = random_auc - time_auc
    # the gap must also be clear of chance: two standard errors of the two AUCs (Hanley-McNeil)
    noise = 2.0 * math.hypot(
        _auc_se(time_auc, int(y[later].sum()), int((1 - y[later]).sum())),
        _auc_se(random_auc, int(y.sum()), int((1 - y).sum())),
    )
    severity = (
        "critical"
        if gap >= max(settings.gap_critical, noise)
        else "warning"
        if gap >= max(settings.gap_warning, noise)
        else "info"
    )
    return Finding(
        "random_vs_time_gap",
        severity,
        (),
        f"ROC-AUC {random_auc:.3f} with random cross-validation"
        f"{' over customers' if groups is not None else ''} against {time_auc:.3f} on the "
        f"later weeks (gap {gap:+.3f}; warning from {settings.gap_warning}, critical from "
        f"{settings.gap_critical}, and beyond chance ±{noise:.3f}).",
        "A model that does much better on weeks it has seen has memorised them: look for "
        "time keys and features that describe the week rather than the customer."
        if severity != "info"
        else "No sign of memorising weeks.",
        gap,
    )


def too_good(
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.int8],
    features: list[str],
    *,
    settings: LeakageSettings,
    model_auc: float | None = None,
) -> list[Finding]:
    """Single features, or the model, ranking converters better than the ceilings allow."""
    findings = []
    for j, name in enumerate(features):
        col = X[:, j]
        ok = ~np.isnan(col)
        if ok.sum() < 10:
            continue
        auc = _auc(y[ok], col[ok])
        strength = max(auc, 1 - auc)
        if strength > settings.feature_auc_ceiling:
            findings.append(
                Finding(
                    "too_good",
                    "critical",
                    (name,),
                    f"'{name}' alone separates converters with ROC-AUC {strength:.3f} "
                    f"(ceiling {settings.feature_auc_ceiling}): human behaviour is rarely this "
                    "predictable — the outcome is probably leaking into the feature.",
                    f"Check how '{name}' is made: it must use only data known before the "
                    "snapshot date (e.g. not a status that changes when the customer converts).",
                    strength,
                )
            )
    if model_auc is not None and model_auc > settings.model_auc_ceiling:
        findings.append(
            Finding(
                "too_good",
                "critical",
                (),
                f"The model's ROC-AUC {model_auc:.3f} is above the ceiling "
                f"{settings.model_auc_ceiling} for predicting people's choices.",
                "Treat it as a leak until shown otherwise: run the backtest and the "
                "point-in-time check, and inspect the strongest features.",
                model_auc,
            )
        )
    return findings


def hunt_table(
    store: Store,
    table: pa.Table,
    *,
    time_column: str,
    target: str,
    features: list[str],
    settings: LeakageSettings | None = None,
    make_model: Callable[[], Any] | None = None,
    id_column: str | None = None,
) -> list[Finding]:
    """All table-level checks (time keys, random-vs-time gap, too good), most severe first."""
    settings = settings or LeakageSettings()
    findings = find_time_keys(store, table, time_column=time_column, features=features)
    X = feature_matrix(table, features)
    y = table[target].to_numpy(zero_copy_only=False).astype(np.int8)
    dates = table[time_column].to_numpy(zero_copy_only=False)
    findings += too_good(X, y, features, settings=settings)
    groups = None if id_column is None else table[id_column].to_numpy(zero_copy_only=False)
    gap = random_vs_time_gap(X, y, dates, settings=settings, make_model=make_model, groups=groups)
    if gap is not None:
        findings.append(gap)
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.check))


def has_critical(findings: list[Finding]) -> bool:
    return any(f.severity == "critical" for f in findings)
