"""The measurement estimators against hand-computed examples, and their coverage by
simulation on the synthetic bank's known true effect."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from nextbest.evaluation import (
    arm_effects,
    bootstrap_mean_diff,
    ipw_rate,
    newcombe,
    weeks_to_detect,
    wilson,
)
from nextbest.simulate import conversion_probability, draw_conversion_weeks, simulate_bank


def test_wilson_by_hand() -> None:
    """5 of 10: centre 0.5, half-width 1.96·√(0.025 + 0.0096)/1.384 = 0.2634."""
    lo, hi = wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.236593, abs=1e-6), pytest.approx(0.763407, abs=1e-6))
    assert wilson(0, 20)[0] == 0.0


def test_newcombe_matches_the_published_example() -> None:
    """Newcombe (1998), method 10: 56/70 − 48/80 = 0.20, 95% CI 0.0524 to 0.3339."""
    e = newcombe(56, 70, 48, 80)
    assert (round(e.value, 4), round(e.low, 4), round(e.high, 4)) == (0.2, 0.0524, 0.3339)


def test_ipw_by_hand() -> None:
    """Weights 1/p = 2, 2, 4; one converter of weight 2 over total weight 8: 0.25."""
    assert ipw_rate([1, 0, 0], [0.5, 0.5, 0.25]).value == pytest.approx(0.25)


def test_bootstrap_contains_the_difference() -> None:
    """A mean difference of exactly 1 lies inside its bootstrap interval; same seed, same."""
    a, b = np.arange(10.0) + 1, np.arange(10.0)
    e = bootstrap_mean_diff(a, b, seed=3)
    assert e.value == pytest.approx(1.0)
    assert e.low < 1.0 < e.high
    assert bootstrap_mean_diff(a, b, seed=3) == e


def test_power_by_hand() -> None:
    """2% → 3% with equal arms: n = (1.96·√(2·0.025·0.975) + 0.8416·√(0.0196 + 0.0291))² / 0.01²
    = 3,826 per arm; at 1,000 held out a week, 4 weeks; with 4 treated per held out, more."""
    assert weeks_to_detect(0.02, 0.01, weekly_treat=1000, weekly_holdout=1000) == (3826, 4)
    n, weeks = weeks_to_detect(0.02, 0.01, weekly_treat=4000, weekly_holdout=1000)
    assert n < 3826
    assert weeks == 3
    with pytest.raises(ValueError, match="must be positive"):
        weeks_to_detect(0.02, 0.0, weekly_treat=1, weekly_holdout=1)


def test_arm_effects_by_hand() -> None:
    """Arm B converts 2 of 4, control A 1 of 4: +0.25; spend means 3 and 1: +2."""
    arms = np.array(["A", "A", "A", "A", "B", "B", "B", "B"])
    conv = np.array([1, 0, 0, 0, 1, 1, 0, 0], dtype=float)
    spend = np.array([4, 0, 0, 0, 6, 6, 0, 0], dtype=float)
    out = arm_effects(arms, {"conv": conv, "spend": spend}, control="A", binary={"conv"})
    by = {e.outcome: e for e in out}
    assert by["conv"].effect.value == pytest.approx(0.25)
    assert by["conv"].effect.method.startswith("Newcombe")
    assert by["spend"].difference_in_means == pytest.approx(2.0)
    assert by["spend"].effect.method.startswith("percentile bootstrap")


def test_interval_coverage_on_the_synthetic_bank(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Random holdouts of the same selection, outcomes from the bank's true hazards and mail
    effects: the Newcombe 95% interval for treat − holdout covers the true average effect of
    the selected in about 95% of 300 repetitions."""
    bank = tmp_path_factory.mktemp("cov")
    manifest = simulate_bank(bank, n_customers=8000, n_weeks=12, seed=21, faults=False)
    day = manifest.snapshot_dates[-1]
    hazard = pq.read_table(bank / "truth" / f"hazard_{day}.parquet")["hazard"].to_numpy()
    uplift = pq.read_table(bank / "truth" / "customers.parquet")["uplift_factor"].to_numpy()
    hazard = hazard.astype(np.float64)
    selected = np.flatnonzero(hazard > 0)  # every non-investor adult
    h, u = hazard[selected], uplift[selected]
    truth = float(
        np.mean(
            conversion_probability(h, u, np.ones(len(h), bool), flow_weeks=3, label_weeks=8)
            - conversion_probability(h, u, np.zeros(len(h), bool), flow_weeks=3, label_weeks=8)
        )
    )
    rng = np.random.default_rng(5)
    covered, reps = 0, 300
    for _ in range(reps):
        hold = np.zeros(len(h), bool)
        hold[rng.permutation(len(h))[: len(h) // 5]] = True
        weeks = draw_conversion_weeks(h, u, ~hold, flow_weeks=3, label_weeks=8, rng=rng)
        y = weeks >= 0
        e = newcombe(int(y[~hold].sum()), int((~hold).sum()), int(y[hold].sum()), int(hold.sum()))
        covered += e.low <= truth <= e.high
    coverage = covered / reps
    assert truth > 0
    assert 0.91 <= coverage <= 0.985, coverage
