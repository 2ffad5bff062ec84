"""The decide kernel: alignment refused once, policy applied, flags named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from nextbest.decisioning import Policy, assign_arms, decide
from nextbest.errors import NotFoundError

DAY = dt.date(2026, 3, 2)
POLICY = Policy(
    threshold=0.5,
    min_weekly=3,
    max_weekly=2,
    holdout_fraction=0.0,
    exploration_size=0,
    seed=7,
    key="a:2026-03-02",
)


def _tables(ids: list[int], eligible: list[bool]) -> tuple[pa.Table, pa.Table]:
    feats = pa.table({"relation_id": pa.array(ids, pa.int64())})
    elig = pa.table({"relation_id": pa.array(sorted(ids), pa.int64()), "eligible": eligible})
    return feats, elig


def _scores(values: list[float]) -> Any:
    return lambda mask: np.array(values)[mask]


def test_policy_of_an_action_keys_the_week() -> None:
    class Action:
        name = "invest"
        threshold = 0.1
        min_weekly = 1
        max_weekly = 9
        holdout_fraction = 0.2
        exploration_size = 4

    assert Policy.of(Action(), seed=3, day=DAY) == Policy(0.1, 1, 9, 0.2, 4, 3, "invest:2026-03-02")


def test_decide_scores_only_the_eligible_and_caps() -> None:
    feats, elig = _tables([1, 2, 3, 4], [True, True, False, True])
    d = decide(DAY, feats, elig, _scores([0.9, 0.6, 0.99, 0.7]), POLICY)
    assert d.ids.tolist() == [1, 2, 3, 4]
    assert np.isnan(d.score[2]) and d.score[[0, 1, 3]].tolist() == [0.9, 0.6, 0.7]
    assert d.arms.selected.tolist() == [True, False, False, True]
    assert d.arms.n_candidates == 3
    assert d.flags == (
        "below_min: 2 selected, the weekly minimum is 3",
        "capped: 3 customers scored above the threshold; the weekly maximum of 2 kept the highest",
    )
    same = assign_arms(
        d.ids, d.eligible, d.score, threshold=0.5, max_weekly=2, holdout_fraction=0.0,
        exploration_size=0, seed=7, key="a:2026-03-02",
    )  # fmt: skip
    assert same.arm.tolist() == d.arms.arm.tolist()


def test_misaligned_features_are_refused_before_scoring() -> None:
    feats, elig = _tables([2, 1, 3], [True, True, True])
    called = []

    def scorer(mask: Any) -> Any:
        called.append(mask)
        return np.zeros(int(mask.sum()))

    with pytest.raises(NotFoundError, match="disagree on the customers of 2026-03-02"):
        decide(DAY, feats, elig, scorer, POLICY)
    assert called == []


def test_a_scorer_of_the_wrong_length_is_refused() -> None:
    feats, elig = _tables([1, 2, 3], [True, False, True])
    with pytest.raises(NotFoundError, match="scored 3 customers of 2026-03-02; 2 are eligible"):
        decide(DAY, feats, elig, lambda mask: np.zeros(3), POLICY)


def test_recommends_is_the_rule_decide_caps() -> None:
    """At the threshold counts, below or not eligible does not; uncapped, decide selects
    exactly the customers ``recommends`` names."""
    eligible = np.array([True, True, True, False])
    score = np.array([0.5, 0.49, 0.9, 0.99])
    assert POLICY.recommends(eligible, score).tolist() == [True, False, True, False]
    feats, elig = _tables([1, 2, 3, 4], eligible.tolist())
    uncapped = Policy(0.5, 0, 10, 0.0, 0, 7, "a:2026-03-02")
    d = decide(DAY, feats, elig, _scores(score.tolist()), uncapped)
    assert d.arms.selected.tolist() == uncapped.recommends(d.eligible, d.score).tolist()
