"""Every model figure against a hand-computed example."""

from __future__ import annotations

import pytest

from nextbest.models import brier, calibration_table, lift_at, pr_auc, roc_auc


def test_lift_worked_example() -> None:
    """Top 5 of 10 hold 3 converters (0.6), all 10 hold 4 (0.4): lift 1.5."""
    y = [1, 1, 0, 1, 0, 0, 0, 1, 0, 0]
    score = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert lift_at(y, score, 5) == pytest.approx(1.5)
    assert lift_at(y, score, 10) == pytest.approx(1.0)
    assert lift_at(y, score, 1) == pytest.approx(2.5)  # 1 / 0.4


def test_lift_needs_a_valid_bucket() -> None:
    """A bucket larger than the population is refused with the bad value."""
    with pytest.raises(ValueError, match="k must be between 1 and 3, got 4"):
        lift_at([1, 0, 0], [3, 2, 1], 4)


def test_pr_auc_by_hand() -> None:
    """Converters at ranks 1 and 3: precision 1/1 and 2/3, average 5/6."""
    assert pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)


def test_roc_auc_by_hand() -> None:
    """3 of the 4 converter/non-converter pairs are ordered right: 0.75."""
    assert roc_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.75)


def test_brier_by_hand() -> None:
    """(0.1² + 0.8² + 0.3² + 0.1²) / 4 = 0.1875."""
    assert brier([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.1875)


def test_calibration_table_by_hand() -> None:
    """Two equal-count bands: (0.1, 0.7) mean 0.4 rate 0.5; (0.8, 0.9) mean 0.85 rate 0.5."""
    bands = calibration_table([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], n_bands=2)
    assert [(b.lower, b.upper, b.n) for b in bands] == [(0.1, 0.7, 2), (0.8, 0.9, 2)]
    assert [b.mean_score for b in bands] == pytest.approx([0.4, 0.85])
    assert [b.rate for b in bands] == pytest.approx([0.5, 0.5])


def test_mismatched_lengths_are_refused() -> None:
    """Labels and scores of different lengths are an error naming both shapes."""
    with pytest.raises(ValueError, match=r"equally long, got \(2,\) and \(3,\)"):
        brier([1, 0], [0.1, 0.2, 0.3])
