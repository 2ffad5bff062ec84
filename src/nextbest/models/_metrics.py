"""Model quality figures, each with a written definition and a hand-computed test.

* **PR-AUC** — average precision: the mean of precision at each converter's rank, when
  customers are ordered by score (scikit-learn's ``average_precision_score``).
* **ROC-AUC** — the chance that a random converter scores above a random non-converter.
* **Lift at k** — precision among the ``k`` highest scores divided by the base rate of all
  customers. Example: top 5 of 10 customers hold 3 converters (precision 0.6); all 10 hold 4
  (base rate 0.4); lift 0.6 / 0.4 = 1.5. Ties at the cut are broken by the original order.
* **ROC-AUC interval** — a percentile bootstrap over *customers* (all rows of a resampled
  customer go together, since one person's weeks are nearly copies of each other): 1,000
  resamples by default, ``scipy.stats.bootstrap``.
* **Brier score** — mean squared difference between the score and the 0/1 outcome.
* **Calibration table** — customers grouped into score bands; per band the mean score and the
  realised conversion rate (they should match when a score of 0.3 means 30%).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import bootstrap
from sklearn.metrics import average_precision_score, roc_auc_score

ArrayLike = npt.ArrayLike

_MAX_CELLS = 2_000_000  # resamples × rows held in memory at once by the AUC statistic


def _arrays(
    y_true: ArrayLike, score: ArrayLike
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    y = np.asarray(y_true, dtype=np.int8)
    s = np.asarray(score, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(
            f"y_true and score must be 1-d and equally long, got {y.shape} and {s.shape}"
        )
    if len(y) == 0:
        raise ValueError("y_true is empty")
    return y, s


def lift_at(y_true: ArrayLike, score: ArrayLike, k: int) -> float:
    """Precision in the ``k`` highest-scored customers divided by the overall base rate.

    >>> lift_at([1, 1, 0, 1, 0, 0, 0, 1, 0, 0], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 5)
    1.5
    """
    y, s = _arrays(y_true, score)
    if not 1 <= k <= len(y):
        raise ValueError(f"k must be between 1 and {len(y)}, got {k}")
    base = y.mean()
    if base == 0:
        return float("nan")
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean() / base)


def pr_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Average precision (area under the precision-recall curve)."""
    y, s = _arrays(y_true, score)
    return float(average_precision_score(y, s)) if y.any() else float("nan")


def roc_auc(y_true: ArrayLike, score: ArrayLike) -> float:
    """Area under the ROC curve."""
    y, s = _arrays(y_true, score)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def _auc_by_weights(
    y: npt.NDArray[np.int8], score: npt.NDArray[np.float64], groups: npt.NDArray[np.int64]
) -> Callable[[npt.NDArray[Any]], npt.NDArray[np.float64]]:
    """A function of group weights ``w`` (shape ``(k, n_groups)``) giving, per row of ``w``,
    the ROC-AUC with each row weighted by its group's weight, ties counted half — what
    ``sklearn.metrics.roc_auc_score(y, score, sample_weight=w[:, groups])`` gives. NaN where a
    weighting leaves only one class. The sorting is done once, so each resample costs one
    cumulative sum over the non-converters."""
    neg = y == 0
    order = np.argsort(score[neg], kind="stable")
    neg_scores, neg_groups = score[neg][order], groups[neg][order]
    pos_scores, pos_groups = score[~neg], groups[~neg]
    below = np.searchsorted(neg_scores, pos_scores, side="left")
    upto = np.searchsorted(neg_scores, pos_scores, side="right")

    def auc(w: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        w = np.asarray(w, dtype=np.float64)
        cum = np.zeros((w.shape[0], len(neg_scores) + 1))
        np.cumsum(w[:, neg_groups], axis=1, out=cum[:, 1:])
        w_pos = w[:, pos_groups]
        num = (w_pos * (0.5 * (cum[:, below] + cum[:, upto]))).sum(axis=1)
        den = w_pos.sum(axis=1) * cum[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

    return auc


def auc_interval(
    y: npt.ArrayLike,
    score: npt.ArrayLike,
    groups: npt.ArrayLike,
    *,
    minus: npt.ArrayLike | None = None,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the ROC-AUC, resampling whole ``groups`` (customers)
    with ``scipy.stats.bootstrap``; with ``minus`` (other scores of the same rows), the
    interval of the difference ROC-AUC(score) − ROC-AUC(minus), paired by customer.

    A resample without a converter or without a non-converter says nothing about ranking; it
    counts as 0.5 (chance), which can only widen the interval towards chance.

    >>> y = np.array([0, 0, 1, 1, 0, 1] * 20)
    >>> s = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7] * 20)
    >>> auc_interval(y, s, np.arange(120), n_resamples=200)
    (1.0, 1.0)
    """
    y_arr = np.asarray(y, dtype=np.int8)
    s_arr = np.asarray(score, dtype=np.float64)
    m_arr = None if minus is None else np.asarray(minus, dtype=np.float64)
    _, g = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = int(g.max()) + 1 if len(g) else 0
    if n_groups < 2 or y_arr.min(initial=0) == y_arr.max(initial=0):
        return (float("nan"), float("nan"))

    auc_of = _auc_by_weights(y_arr, s_arr, g)
    minus_of = None if m_arr is None else _auc_by_weights(y_arr, m_arr, g)

    def statistic(idx: npt.NDArray[Any], axis: int = -1) -> npt.NDArray[np.float64]:
        draws = np.asarray(idx, dtype=np.int64)
        flat = draws.reshape(-1, draws.shape[-1])
        k = flat.shape[0]
        counts = np.bincount(
            (flat + n_groups * np.arange(k)[:, None]).ravel(), minlength=k * n_groups
        ).reshape(k, n_groups)
        out = np.empty(k)
        step = max(1, _MAX_CELLS // max(len(y_arr), 1))
        for a in range(0, k, step):
            w = counts[a : a + step]
            auc = np.nan_to_num(auc_of(w), nan=0.5)
            if minus_of is not None:
                auc -= np.nan_to_num(minus_of(w), nan=0.5)
            out[a : a + step] = auc
        return out.reshape(draws.shape[:-1])

    result = bootstrap(
        (np.arange(n_groups),),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    ci = result.confidence_interval
    return (float(ci.low), float(ci.high))


def brier(y_true: ArrayLike, score: ArrayLike) -> float:
    """Mean squared error of the probability."""
    y, s = _arrays(y_true, score)
    return float(np.mean((s - y) ** 2))


@dataclass(frozen=True)
class CalibrationBand:
    lower: float
    upper: float
    n: int
    mean_score: float
    rate: float


def calibration_table(
    y_true: ArrayLike, score: ArrayLike, *, n_bands: int = 10
) -> list[CalibrationBand]:
    """Equal-count score bands (deciles by default), with mean score and realised rate."""
    y, s = _arrays(y_true, score)
    order = np.argsort(s, kind="stable")
    bands = []
    for chunk in np.array_split(order, min(n_bands, len(order))):
        if len(chunk) == 0:
            continue
        bands.append(
            CalibrationBand(
                lower=float(s[chunk].min()),
                upper=float(s[chunk].max()),
                n=len(chunk),
                mean_score=float(s[chunk].mean()),
                rate=float(y[chunk].mean()),
            )
        )
    return bands


def lift_curve(
    y_true: ArrayLike, score: ArrayLike, *, n_points: int = 20
) -> list[tuple[float, float]]:
    """(share of customers targeted, lift) at ``n_points`` evenly spaced shares."""
    y, s = _arrays(y_true, score)
    n = len(y)
    points = []
    for i in range(1, n_points + 1):
        k = max(1, round(n * i / n_points))
        points.append((k / n, lift_at(y, s, k)))
    return points
