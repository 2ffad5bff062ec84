"""The demo end to end on a mid-sized synthetic bank, judged against its ground truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.pipeline import DemoResult
from tests.conftest import DemoFactory


@pytest.fixture(scope="module")
def demo(demos: DemoFactory) -> DemoResult:
    return demos.result(n_customers=3000, seed=5)


def test_model_is_useful_but_not_better_than_the_truth(demo: DemoResult) -> None:
    """The deployed model beats chance, and never the oracle: a model that beats the true
    probabilities has seen something it should not have."""
    (trained,) = demo.trained
    m = trained.result.metrics
    assert set(m) == {"logistic", "lightgbm", "oracle"}
    assert m["lightgbm"]["roc_auc"] > 0.6
    assert m["oracle"]["pr_auc"] > m["lightgbm"]["pr_auc"]
    assert m["oracle"]["roc_auc"] > m["lightgbm"]["roc_auc"]
    assert m["lightgbm"]["lift_at_bucket"] > 1.0
    split = trained.result.split
    assert max(split.train) < min(split.calibration) < min(split.evaluation)


def test_run_respects_the_bounds(demo: DemoResult) -> None:
    """The run selects at most the weekly maximum, and every arm adds up."""
    (outcome,) = demo.run.outcomes
    c = outcome.counts
    assert c["selected"] <= 800
    assert c["treat"] + c["holdout"] == c["selected"]
    assert c["treat"] + c["holdout"] + c["explore"] + c["none"] == c["customers"] == 3000
    assert c["explore"] == min(200, c["eligible"] - c["selected"])
    assert demo.run.status == "pending_review"
    assert Path(demo.report_path).stat().st_size > 1_000_000  # Plotly is inlined
