"""Model quality figures, each with a written definition and a hand-computed test.

* **PR-AUC** — average precision: the mean of precision at each converter's rank, when
  customers are ordered by score (scikit-learn's ``average_precision_score``).
* **ROC-AUC** — the chance that a random converter scores above a random non-converter.
* **Lift at k** — precision among the ``k`` highest scores divided by the base rate of all
  customers. Example: top 5 of 10 customers hold 3 converters (precision 0.6); all 10 hold 4
  (base rate 0.4); lift 0.6 / 0.4 = 1.5. Ties at the cut are broken by the original order.
* **Brier score** — mean squared difference between the score and the 0/1 outcome.
* **Calibration table** — customers grouped into score bands; per band the mean score and the
  realised conversion rate (they should match when a score of 0.3 means 30%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score

ArrayLike = npt.ArrayLike


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
