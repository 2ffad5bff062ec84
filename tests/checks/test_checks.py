"""Each check's figure against a hand-computed example."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from nextbest.checks import concentration, drift, market_regime, psi, volume
from nextbest.config import ChecksConfig

LIMITS = ChecksConfig()


def test_psi_by_hand() -> None:
    """(0.3 − 0.5) ln(0.3/0.5) + (0.7 − 0.5) ln(0.7/0.5) = 0.1695."""
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert psi([0.5, 0.5], [0.3, 0.7]) == pytest.approx(expected)
    assert psi([0.5, 0.5], [0.3, 0.7]) == pytest.approx(0.1695, abs=1e-4)


def test_drift_takes_the_closest_training_week() -> None:
    """A week like the second training week has PSI 0 against it, whatever the first was."""
    profile = {
        "x": {
            "edges": [0.5],
            "weeks": {
                "2025-01-05": {"shares": [0.9, 0.1], "missing": 0.0},
                "2025-05-04": {"shares": [0.5, 0.5], "missing": 0.0},
            },
        }
    }
    (check,) = drift({"x": np.array([0.0, 1.0, 0.0, 1.0])}, profile, LIMITS)
    assert check.verdict == "pass"
    assert check.figure == pytest.approx(0.0, abs=1e-9)
    assert "closest training week (2025-05-04)" in check.message
    (bad,) = drift({"x": np.array([np.nan] * 4)}, profile, LIMITS)
    assert bad.verdict == "halt"
    assert "100% missing" in bad.message


def test_volume_runaway_and_minimum() -> None:
    """Over twice the maximum above the threshold halts; below the minimum warns."""
    assert volume(4001, 2000, min_weekly=10, max_weekly=2000, limits=LIMITS).verdict == "halt"
    assert volume(4000, 2000, min_weekly=10, max_weekly=2000, limits=LIMITS).verdict == "pass"
    low = volume(3, 3, min_weekly=10, max_weekly=2000, limits=LIMITS)
    assert (low.verdict, low.figure) == ("warn", 3.0)


def test_concentration_by_hand() -> None:
    """Eligible half young, half old; everyone selected is young: distance 0.5 → warn."""
    groups = {"age band": np.array(["18-29", "18-29", "60-74", "60-74"])}
    eligible = np.ones(4, bool)
    selected = np.array([True, True, False, False])
    check = concentration(groups, eligible, selected, LIMITS)
    assert check.figure == pytest.approx(0.5)
    assert check.verdict == "warn"
    assert "18-29 is 100% of the selected" in check.message


def test_market_regime_outside_the_band_halts() -> None:
    """A −25% month outside a trained band of −5%…+6% halts; inside passes."""
    band = {"fund_return_4w_min": -0.05, "fund_return_4w_max": 0.06, "volatility_max": 0.01}
    day = dt.date(2025, 3, 16)
    crash = market_regime({"return_4w": -0.25, "volatility": 0.03}, band, day)
    assert crash.verdict == "halt"
    assert "-25.0% is outside the trained band [-5.0%, +6.0%]" in crash.message
    assert "volatility 3.00% is above 1.5× the highest seen in training (1.00%)" in crash.message
    calm = market_regime({"return_4w": 0.01, "volatility": 0.008}, band, day)
    assert calm.verdict == "pass"


def test_age_bands_at_their_edges() -> None:
    """One definition of the bands: 17 is under 18, each band starts at its lower age, and an
    unknown age falls in the last band (as the fairness report has always counted it)."""
    from nextbest.checks import age_band_sql
    from nextbest.store import Store

    with Store(":memory:") as store:
        rows = store.fetchall(
            f"SELECT {age_band_sql('a')} "
            "FROM (SELECT unnest([17, 18, 29, 30, 59, 60, 75, NULL]) AS a)"
        )
    assert [r[0] for r in rows] == [
        "under 18",
        "18-29",
        "18-29",
        "30-44",
        "45-59",
        "60-74",
        "75+",
        "75+",
    ]


def test_concentration_groups_by_relation_id() -> None:
    """Customers 2 (age 17, no segment) and 1 (age 40, mass): sorted by relation id, the
    minor in 'under 18' and the missing segment 'unknown'; other days are left out."""
    from nextbest.checks import concentration_groups
    from nextbest.store import Store

    day = dt.date(2025, 3, 2)
    with Store(":memory:") as store:
        for rid, age, segment, when in [
            (2, 17, None, day),
            (1, 40, "mass", day),
            (3, 50, "mass", day - dt.timedelta(days=7)),
        ]:
            store.execute(
                "INSERT INTO snapshots VALUES (?, ?, ?, ?, true, true, 2, 500.0, true, 3, "
                "true, true, DATE '2015-01-01', false, 0)",
                [rid, when, age, segment],
            )
        groups = concentration_groups(store, day)
    assert list(groups["age band"]) == ["30-44", "under 18"]
    assert list(groups["segment"]) == ["mass", "unknown"]
