"""The release gate: above chance with an interval over customers, at least the baseline, not
selecting everyone."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from nextbest.models import GateSettings, auc_interval, release_gate
from nextbest.models._metrics import _auc_by_weights


def _scored(n: int, strength: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(np.int8)
    return y, rng.normal(size=n) + strength * y


def _hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of a ROC-AUC on independent rows (Hanley & McNeil, 1982)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)
    return math.sqrt(var / (n_pos * n_neg))


def test_weighted_auc_is_sklearns() -> None:
    """The bootstrap's AUC statistic equals scikit-learn's weighted ROC-AUC, ties included."""
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.3).astype(np.int8)
    s = np.round(rng.normal(size=300) + y, 1)  # rounded: many ties
    w = rng.integers(0, 4, size=(5, 300)).astype(float)
    ours = _auc_by_weights(y, s, np.arange(300))(w)
    for k in range(5):
        assert ours[k] == pytest.approx(roc_auc_score(y, s, sample_weight=w[k]), abs=1e-12)


def test_interval_agrees_with_hanley_mcneil_on_independent_rows() -> None:
    """With one row per customer, the bootstrap's interval is as wide as Hanley–McNeil's
    normal interval (within 20%)."""
    y, s = _scored(2000, 0.8, seed=1)
    lo, hi = auc_interval(y, s, np.arange(2000), n_resamples=500)
    auc = roc_auc_score(y, s)
    se = _hanley_mcneil_se(auc, int(y.sum()), int((1 - y).sum()))
    assert lo < auc < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_interval_counts_customers_not_rows() -> None:
    """The same 400 customers seen on five dates give no narrower interval than seen once:
    repeated weeks of one person are not new evidence."""
    y, s = _scored(400, 0.7, seed=2)
    once = auc_interval(y, s, np.arange(400), n_resamples=800, seed=4)
    five = auc_interval(np.tile(y, 5), np.tile(s, 5), np.tile(np.arange(400), 5), n_resamples=800)
    assert (five[1] - five[0]) == pytest.approx(once[1] - once[0], rel=0.15)


def test_interval_of_one_class_is_undefined() -> None:
    """Without a converter there is no ranking to measure: the interval is NaN."""
    lo, hi = auc_interval(np.zeros(50), np.arange(50.0), np.arange(50))
    assert math.isnan(lo) and math.isnan(hi)


def _metrics(auc: float, lo: float, hi: float) -> dict[str, object]:
    return {
        "roc_auc": auc,
        "roc_auc_ci": [lo, hi],
        "roc_auc_ci_level": 0.95,
        "n_positive": 40,
    }


def _selection(selected: int, eligible: int) -> dict[str, object]:
    return {
        "max_share": selected / eligible,
        "date": "2025-05-04",
        "selected": selected,
        "eligible": eligible,
    }


def test_a_good_model_passes_every_rule() -> None:
    """Clearly above chance, above the baseline, selecting a few: passed, no findings."""
    record, findings = release_gate(
        _metrics(0.68, 0.62, 0.74),
        baseline={"roc_auc": 0.66},
        selection=_selection(120, 2000),
        settings=GateSettings(),
    )
    assert findings == []
    assert record["passed"] is True
    assert [r["rule"] for r in record["rules"]] == [
        "above_chance",
        "beats_baseline",
        "not_everyone",
    ]


def test_an_inverted_model_fails_above_chance() -> None:
    """A model whose evaluation ROC-AUC is 0.394 (the reported case) fails, figure named."""
    record, findings = release_gate(
        _metrics(0.394, 0.31, 0.48),
        baseline={"roc_auc": 0.631},
        selection=_selection(271, 271),
        settings=GateSettings(),
        calibration_slope=-0.7,
    )
    assert record["passed"] is False
    assert [f.check for f in findings] == ["above_chance", "beats_baseline", "not_everyone"]
    assert all(f.severity == "critical" for f in findings)
    assert "ROC-AUC 0.394" in findings[0].evidence
    assert "95% interval 0.310–0.480" in findings[0].evidence
    assert "reversed the model's ranking" in findings[0].evidence
    assert "against 0.631 for the logistic baseline" in findings[1].evidence
    assert "select 271 of 271 eligible (100%" in findings[2].evidence


def test_above_chance_needs_the_lower_end_above_half() -> None:
    """A point figure above 0.5 is not enough when the interval reaches below it."""
    _, findings = release_gate(
        _metrics(0.56, 0.47, 0.65), baseline=None, selection=None, settings=GateSettings()
    )
    assert [f.check for f in findings] == ["above_chance"]
    assert "not clearly above chance" in findings[0].evidence


def test_baseline_tolerance_and_share_limit_are_the_settings() -> None:
    """0.009 below the baseline passes with the default tolerance 0.01, 0.011 fails; 95% of the
    eligible passes, 96% fails."""
    settings = GateSettings()
    ok, _ = release_gate(
        _metrics(0.661, 0.6, 0.72),
        baseline={"roc_auc": 0.670},
        selection=_selection(95, 100),
        settings=settings,
    )
    assert ok["passed"]
    _, bad = release_gate(
        _metrics(0.659, 0.6, 0.72),
        baseline={"roc_auc": 0.670},
        selection=_selection(96, 100),
        settings=settings,
    )
    assert [f.check for f in bad] == ["beats_baseline", "not_everyone"]


def test_no_figure_is_no_pass() -> None:
    """An evaluation slice without converters has no ROC-AUC: the model is not above chance."""
    _, findings = release_gate(
        {"roc_auc": float("nan"), "roc_auc_ci": [float("nan"), float("nan")]},
        baseline=None,
        selection=None,
        settings=GateSettings(),
    )
    assert [f.check for f in findings] == ["above_chance"]
