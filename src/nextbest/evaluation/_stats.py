"""Estimators for measuring the effect, each with its method stated and a hand-computed test.

* Rates: Wilson score interval.
* Difference of two rates (incremental conversion, treat − holdout): Newcombe's hybrid score
  interval (Newcombe 1998, method 10), built from the two Wilson intervals.
* Difference of two means (incremental amount): percentile bootstrap, seeded.
* Whole-population rate from arms drawn with known probabilities: inverse-propensity weighting
  (Hájek, weights 1/p), with a bootstrap interval.
* Power: weeks until a two-proportion test of a target uplift reaches the wanted power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float
    method: str


def wilson(k: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials.

    >>> [round(x, 4) for x in wilson(5, 10)]
    [0.2366, 0.7634]
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact at the edges: no successes has a lower bound of 0, all successes an upper bound
    # of 1 (the floating-point difference is 1e-17 away and would exclude the rate itself)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def rate(k: int, n: int) -> Estimate:
    lo, hi = wilson(k, n)
    return Estimate(k / n if n else float("nan"), lo, hi, "Wilson score 95%")


def newcombe(k1: int, n1: int, k0: int, n0: int) -> Estimate:
    """p1 − p0 with Newcombe's hybrid score 95% interval.

    >>> e = newcombe(56, 70, 48, 80)
    >>> round(e.value, 4), round(e.low, 4), round(e.high, 4)
    (0.2, 0.0524, 0.3339)
    """
    if n1 == 0 or n0 == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), "Newcombe hybrid score 95%")
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1)
    l0, u0 = wilson(k0, n0)
    d = p1 - p0
    return Estimate(
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2),
        "Newcombe hybrid score 95%",
    )


def bootstrap_mean_diff(
    a: npt.ArrayLike, b: npt.ArrayLike, *, n_boot: int = 2000, seed: int = 0
) -> Estimate:
    """mean(a) − mean(b) with a percentile bootstrap 95% interval (resampling each group)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(x) == 0 or len(y) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), "bootstrap 95%")
    rng = np.random.default_rng(seed)
    ix = rng.integers(0, len(x), size=(n_boot, len(x)))
    iy = rng.integers(0, len(y), size=(n_boot, len(y)))
    diffs = x[ix].mean(axis=1) - y[iy].mean(axis=1)
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return Estimate(
        float(x.mean() - y.mean()),
        float(lo),
        float(hi),
        f"percentile bootstrap 95% ({n_boot} resamples)",
    )


def ipw_rate(
    y: npt.ArrayLike, probability: npt.ArrayLike, *, n_boot: int = 1000, seed: int = 0
) -> Estimate:
    """Hájek estimate Σ y/p ÷ Σ 1/p over the observed (mailed) customers, each drawn into the
    observed set with the logged probability p; bootstrap 95% interval.

    >>> round(ipw_rate([1, 0, 0], [0.5, 0.5, 0.25], n_boot=10).value, 4)
    0.25
    """
    yy, pp = np.asarray(y, dtype=np.float64), np.asarray(probability, dtype=np.float64)
    if len(yy) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), "IPW (Hájek)")
    w = 1.0 / pp
    value = float((yy * w).sum() / w.sum())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(yy), size=(n_boot, len(yy)))
    boots = (yy[idx] * w[idx]).sum(axis=1) / w[idx].sum(axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return Estimate(value, float(lo), float(hi), "IPW (Hájek), bootstrap 95%")


def weeks_to_detect(
    base_rate: float,
    uplift: float,
    *,
    weekly_treat: int,
    weekly_holdout: int,
    alpha: float = 0.05,
    power: float = 0.8,
) -> tuple[int, int]:
    """(holdout customers needed, weeks) for a two-sided two-proportion test to detect an
    absolute uplift with the given power, at the weekly treat:holdout ratio.

    >>> weeks_to_detect(0.02, 0.01, weekly_treat=1000, weekly_holdout=1000)
    (3826, 4)
    """
    if uplift <= 0 or weekly_holdout <= 0 or weekly_treat <= 0:
        raise ValueError("uplift, weekly_treat and weekly_holdout must be positive")
    p0, p1 = base_rate, base_rate + uplift
    k = weekly_treat / weekly_holdout
    pbar = (k * p1 + p0) / (k + 1)
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    n0 = (
        za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / k))
        + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1) / k)
    ) ** 2 / uplift**2
    n0 = math.ceil(n0 - 1e-9)
    return n0, math.ceil(n0 / weekly_holdout)
