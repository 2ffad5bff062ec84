"""Leakage hunting: the checks that would have caught a model memorising which week it was.

Each finding has a check name, a severity (``critical`` blocks promotion to champion unless a
person overrides it with a written reason; ``warning`` and ``info`` are shown), the features
involved, the evidence with its figure, and the remedy.

* **time_key** — a feature, or a pair of features, that is constant within each date and
  takes a different value on every date identifies the date: a model can learn "this was the
  week of May 12" instead of anything about people. Market-wide features (constant within a
  date, not unique) are reported as ``info``; nearly unique ones as ``warning``.
* **random_vs_time_gap** — ROC-AUC under random cross-validation over customers (every week on
  both sides) minus ROC-AUC of a model trained on earlier weeks only, both on the same later
  rows (at training: the evaluation weeks, and the deployed model's own figure). A large gap
  means the model does well only on weeks it has seen: memorisation.
* **too_good** — a single feature, or the whole model, ranks converters better than human
  behaviour allows (ROC-AUC above a ceiling): usually the target leaking in.
* **point_in_time** — a feature whose value for date D changes when data after D is altered
  (run by the pipeline, which can alter the future inside a rolled-back transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from nextbest.config import LeakageConfig
from nextbest.models._estimators import LightGBMPropensity
from nextbest.models._metrics import auc_interval
from nextbest.models._propensity import feature_matrix
from nextbest.store import Store, quote_identifier

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}

#: the random-vs-time gap check needs this many periods and positive rows to run
GAP_MIN_PERIODS = 4
GAP_MIN_POSITIVES = 30


def by_severity(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by check."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.check))


@dataclass(frozen=True)
class Finding:
    check: str
    severity: str
    features: tuple[str, ...]
    evidence: str
    remedy: str
    figure: float | None = None
    #: the gap check's ROC-AUC of the model trained on earlier weeks (for the model ceiling)
    model_auc: float | None = None

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


def find_time_keys(
    store: Store, table: pa.Table, *, time_column: str, features: list[str]
) -> list[Finding]:
    """Features alone or in pairs that identify the date (see the module docstring)."""
    store.register("_leak_keys", table)
    try:
        n_dates = int(
            store.scalar(f"SELECT count(DISTINCT {quote_identifier(time_column)}) FROM _leak_keys")
        )
        if n_dates < 3:
            return []
        constant = _market_wide(store, time_column, features, n_dates)
        findings = [_single_key(f, distinct, n_dates) for f, distinct in constant.items()]
        keys = {f for f, distinct in constant.items() if distinct == n_dates}
        for a, b in combinations(sorted(set(constant) - keys), 2):
            if _distinct_pairs(store, time_column, a, b) == n_dates:
                findings.append(_pair_key(a, b, n_dates))
        return findings
    finally:
        store.unregister("_leak_keys")


def _market_wide(
    store: Store, time_column: str, features: list[str], n_dates: int
) -> dict[str, int]:
    """The features constant within every date of ``_leak_keys``, with their distinct values."""
    constant: dict[str, int] = {}
    t = quote_identifier(time_column)
    for f in features:
        qf = quote_identifier(f)
        row = store.fetchone(
            f"""
            WITH per AS (
                SELECT {t} AS t, count(DISTINCT {qf}) AS n, any_value({qf}) AS v
                FROM _leak_keys WHERE {qf} IS NOT NULL GROUP BY t)
            SELECT max(n), count(DISTINCT v), count(*) FROM per
            """
        )
        if row and row[0] == 1 and row[2] == n_dates:
            constant[f] = int(row[1])
    return constant


def _distinct_pairs(store: Store, time_column: str, a: str, b: str) -> int:
    """How many distinct (a, b) pairs the dates of ``_leak_keys`` show."""
    qa, qb, t = quote_identifier(a), quote_identifier(b), quote_identifier(time_column)
    return int(
        store.scalar(
            f"SELECT count(DISTINCT ({qa}, {qb})) FROM (SELECT DISTINCT "
            f"{t}, {qa}, {qb} FROM _leak_keys "
            f"WHERE {qa} IS NOT NULL AND {qb} IS NOT NULL)"
        )
    )


def _single_key(f: str, distinct: int, n_dates: int) -> Finding:
    """A market-wide feature: a time key when it differs on every date, else a note."""
    if distinct == n_dates:
        return Finding(
            "time_key",
            "critical",
            (f,),
            f"'{f}' is the same for every customer on a date and different on "
            f"each of the {n_dates} dates: it tells the model which week it is.",
            f"Drop '{f}', or replace it by a coarse band (a few values) of the "
            "market climate, and replay history before going live.",
            1.0,
        )
    share = distinct / n_dates
    return Finding(
        "time_key",
        "warning" if share >= 0.8 else "info",
        (f,),
        f"'{f}' is market-wide: one value per date, {distinct} distinct values "
        f"over {n_dates} dates ({share:.0%}).",
        "Market-wide features shift every customer alike; keep them coarse and "
        "check the backtest for weeks whose volume they drive.",
        share,
    )


def _pair_key(a: str, b: str, n_dates: int) -> Finding:
    return Finding(
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
    later: npt.NDArray[np.bool_] | None = None,
    earlier: npt.NDArray[np.bool_] | None = None,
    time_scores: npt.NDArray[np.float64] | None = None,
) -> Finding | None:
    """ROC-AUC under random cross-validation minus ROC-AUC on later weeks, both measured on
    the *same* rows: the later weeks.

    ``later`` marks those rows (by default the latest third of the dates) and ``earlier`` the
    rows a model may learn from without seeing them (by default all the others).
    ``time_scores`` are the scores of the ``later`` rows (in order) of a model that learned
    from ``earlier`` only — at training, the deployed model's scores on the evaluation weeks,
    so the hunt and the metrics quote the same ROC-AUC; without them, a model is fitted on
    ``earlier``. The random side scores the same later rows out of fold, with 3 folds random
    over ``groups`` (customers): each fold's model learns from ``earlier`` and the later weeks
    of the other customers — what it gains is what having seen those *weeks* is worth.

    Whether the gap is beyond chance comes from a bootstrap over customers of the difference
    of the two ROC-AUCs on the same rows (paired). ``make_model`` builds the estimator (at
    training, the action's own); by default a deliberately flexible LightGBM (31 leaves, 20
    customers per leaf, no penalty), since on a user's file the check asks what the *data*
    lets a model memorise.
    """
    rows = _later_and_earlier(y, dates, later, earlier)
    if rows is None:
        return None
    later, earlier = rows
    fitter = _Fitter(X, y, settings, np.random.default_rng(settings.seed), make_model)
    if time_scores is None:
        time_measured_on = "the later weeks"
        time_scores = fitter.fit(earlier).decision_function(X[later])
    else:
        time_measured_on = "the evaluation weeks"
    time_scores = np.asarray(time_scores, dtype=np.float64)
    ids = np.arange(len(y)) if groups is None else groups
    random_scores = _random_scores(fitter, ids, earlier, later)
    if np.isnan(random_scores).any():
        return None
    y_later = y[later]
    time_auc, random_auc = _auc(y_later, time_scores), _auc(y_later, random_scores)
    lo, hi = auc_interval(y_later, random_scores, ids[later], minus=time_scores, seed=settings.seed)
    return _gap_finding(
        random_auc,
        time_auc,
        (lo, hi),
        settings=settings,
        over_customers=groups is not None,
        measured_on=time_measured_on,
        n_rows=int(later.sum()),
    )


def _later_and_earlier(
    y: npt.NDArray[np.int8],
    dates: npt.NDArray[Any],
    later: npt.NDArray[np.bool_] | None,
    earlier: npt.NDArray[np.bool_] | None,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None:
    """The rows both sides are measured on and the rows to learn from; None if too few."""
    if later is None:
        uniq = np.unique(dates)
        if len(uniq) < GAP_MIN_PERIODS:
            return None
        later = dates >= uniq[int(len(uniq) * 2 / 3)]
    if earlier is None:
        earlier = ~later
    if not later.any() or not earlier.any():
        return None
    if (
        y.sum() < GAP_MIN_POSITIVES
        or y[later].min() == y[later].max()
        or y[earlier].min() == y[earlier].max()
    ):
        return None
    return later, earlier


@dataclass
class _Fitter:
    """Fits a fresh model on a subset of rows (at most ``settings.max_rows``, drawn by ``rng``)."""

    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.int8]
    settings: LeakageSettings
    rng: np.random.Generator
    make_model: Callable[[], Any] | None

    def fit(self, rows: npt.NDArray[np.bool_]) -> Any:
        idx = np.flatnonzero(rows)
        if len(idx) > self.settings.max_rows:
            idx = np.sort(self.rng.choice(idx, self.settings.max_rows, replace=False))
        return self._model().fit(self.X[idx], self.y[idx])

    def _model(self) -> Any:
        if self.make_model is not None:
            return self.make_model()
        # deliberately flexible: the check asks what the data lets a model memorise
        return LightGBMPropensity(
            n_estimators=150, learning_rate=0.1, num_leaves=31, min_child_samples=20, reg_lambda=0.0
        )


def _random_scores(
    fitter: _Fitter,
    ids: npt.NDArray[Any],
    earlier: npt.NDArray[np.bool_],
    later: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float64]:
    """Out-of-fold scores of the later rows, 3 folds random over ``ids`` (NaN where unscored)."""
    y = fitter.y
    uniq_groups, inverse = np.unique(ids, return_inverse=True)
    folds = fitter.rng.integers(0, 3, size=len(uniq_groups))[inverse]
    scores = np.full(len(y), np.nan)
    for k in range(3):
        test = folds == k
        learn = (earlier | later) & ~test
        if not (test & later).any() or y[learn].min() == y[learn].max():
            continue
        scores[test & later] = fitter.fit(learn).decision_function(fitter.X[test & later])
    return scores[later]


def _gap_finding(
    random_auc: float,
    time_auc: float,
    interval: tuple[float, float],
    *,
    settings: LeakageSettings,
    over_customers: bool,
    measured_on: str,
    n_rows: int,
) -> Finding:
    """The finding for a gap, graded only when its interval is clear of zero."""
    gap = random_auc - time_auc
    lo, hi = interval
    clear = lo > 0
    severity = (
        "critical"
        if clear and gap >= settings.gap_critical
        else "warning"
        if clear and gap >= settings.gap_warning
        else "info"
    )
    return Finding(
        "random_vs_time_gap",
        severity,
        (),
        f"ROC-AUC {random_auc:.3f} with random cross-validation"
        f"{' over customers' if over_customers else ''} against {time_auc:.3f} trained on "
        f"earlier weeks only, both on {measured_on} ({n_rows:,} rows; gap "
        f"{gap:+.3f}, 95% interval {lo:+.3f}…{hi:+.3f}; warning from {settings.gap_warning}, "
        f"critical from {settings.gap_critical}, when the interval is clear of zero).",
        "A model that does much better on weeks it has seen has memorised them: look for "
        "time keys and features that describe the week rather than the customer."
        if severity != "info"
        else "No sign of memorising weeks.",
        gap,
        model_auc=time_auc,
    )


def model_ceiling(model_auc: float, settings: LeakageSettings) -> Finding | None:
    """The model ranking converters better than people's choices allow, or None."""
    if model_auc <= settings.model_auc_ceiling:
        return None
    return Finding(
        "too_good",
        "critical",
        (),
        f"The model's ROC-AUC {model_auc:.3f} is above the ceiling "
        f"{settings.model_auc_ceiling} for predicting people's choices.",
        "Treat it as a leak until shown otherwise: run the backtest and the "
        "point-in-time check, and inspect the strongest features.",
        model_auc,
    )


def too_good(
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.int8],
    features: list[str],
    *,
    settings: LeakageSettings,
    model_auc: float | None = None,
    categorical: Collection[str] = (),
) -> list[Finding]:
    """Single features, or the model, ranking converters better than the ceilings allow.

    A ``categorical`` feature holds codes of values in no meaningful order: it ranks rows by
    the conversion rate of their value, the best any ordering of its values can do."""
    findings = []
    for j, name in enumerate(features):
        col = X[:, j]
        ok = ~np.isnan(col)
        if ok.sum() < 10:
            continue
        score = _value_rates(col[ok], y[ok]) if name in categorical else col[ok]
        auc = _auc(y[ok], score)
        strength = max(auc, 1 - auc)
        if strength > settings.feature_auc_ceiling:
            how = " (ranking its values by their conversion rate)" if name in categorical else ""
            findings.append(
                Finding(
                    "too_good",
                    "critical",
                    (name,),
                    f"'{name}' alone{how} separates converters with ROC-AUC {strength:.3f} "
                    f"(ceiling {settings.feature_auc_ceiling}): human behaviour is rarely this "
                    "predictable — the outcome is probably leaking into the feature.",
                    f"Check how '{name}' is made: it must use only data known before the "
                    "snapshot date (e.g. not a status that changes when the customer converts).",
                    strength,
                )
            )
    ceiling = None if model_auc is None else model_ceiling(model_auc, settings)
    if ceiling is not None:
        findings.append(ceiling)
    return findings


def _value_rates(
    codes: npt.NDArray[np.float64], y: npt.NDArray[np.int8]
) -> npt.NDArray[np.float64]:
    """Each row's score: the conversion rate of the rows holding its code."""
    _, inverse = np.unique(codes, return_inverse=True)
    rates = np.bincount(inverse, weights=y) / np.bincount(inverse)
    out: npt.NDArray[np.float64] = rates[inverse]
    return out


def hunt_table(
    store: Store,
    table: pa.Table,
    *,
    time_column: str,
    target: str,
    features: list[str],
    key_features: list[str] | None = None,
    categorical: Collection[str] = (),
    settings: LeakageSettings | None = None,
    make_model: Callable[[], Any] | None = None,
    id_column: str | None = None,
    later: npt.NDArray[np.bool_] | None = None,
    earlier: npt.NDArray[np.bool_] | None = None,
    time_scores: npt.NDArray[np.float64] | None = None,
) -> list[Finding]:
    """All table-level checks (time keys, random-vs-time gap, too good), most severe first.

    ``later``, ``earlier`` and ``time_scores`` go to :func:`random_vs_time_gap`: at training,
    the evaluation rows, the training rows and the deployed model's scores. ``key_features``
    are searched for time keys (by default ``features``, the columns the models learn from);
    ``categorical`` features are codes of text values (see :func:`too_good`)."""
    settings = settings or LeakageSettings()
    findings = find_time_keys(
        store,
        table,
        time_column=time_column,
        features=features if key_features is None else key_features,
    )
    X = feature_matrix(table, features)
    y = table[target].to_numpy(zero_copy_only=False).astype(np.int8)
    dates = table[time_column].to_numpy(zero_copy_only=False)
    findings += too_good(X, y, features, settings=settings, categorical=categorical)
    groups = None if id_column is None else table[id_column].to_numpy(zero_copy_only=False)
    gap = random_vs_time_gap(
        X,
        y,
        dates,
        settings=settings,
        make_model=make_model,
        groups=groups,
        later=later,
        earlier=earlier,
        time_scores=time_scores,
    )
    if gap is not None:
        findings.append(gap)
    return by_severity(findings)


def has_critical(findings: list[Finding]) -> bool:
    return any(f.severity == "critical" for f in findings)
