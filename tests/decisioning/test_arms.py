"""Invariants of selection and randomised arms, as properties over random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.decisioning import assign_arms


@st.composite
def populations(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(min_value=1, max_value=300))
    ids = np.array(sorted(draw(st.sets(st.integers(1, 10**9), min_size=n, max_size=n))))
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    raw = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n))
    score = np.where(eligible, np.array(raw), np.nan)
    return {
        "relation_id": ids,
        "eligible": eligible,
        "score": score,
        "threshold": draw(st.floats(0, 1)),
        "max_weekly": draw(st.integers(1, 400)),
        "holdout_fraction": draw(st.floats(0, 0.9)),
        "exploration_size": draw(st.integers(0, 100)),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def _assign(p: dict[str, object], **override: object) -> object:
    args = {**p, **override}
    return assign_arms(
        args["relation_id"],  # type: ignore[arg-type]
        args["eligible"],  # type: ignore[arg-type]
        args["score"],  # type: ignore[arg-type]
        threshold=args["threshold"],  # type: ignore[arg-type]
        max_weekly=args["max_weekly"],  # type: ignore[arg-type]
        holdout_fraction=args["holdout_fraction"],  # type: ignore[arg-type]
        exploration_size=args["exploration_size"],  # type: ignore[arg-type]
        seed=args["seed"],  # type: ignore[arg-type]
        key="invest-onboarding:2025-06-29",
    )


@settings(max_examples=200, deadline=None)
@given(populations())
def test_arm_invariants(p: dict[str, object]) -> None:
    """Only the eligible get an arm; the max holds; the selection is the top of the ranking;
    arm counts and logged probabilities follow their definitions."""
    a = _assign(p)
    eligible = p["eligible"]
    score = p["score"]
    assert isinstance(eligible, np.ndarray) and isinstance(score, np.ndarray)
    arm = a.arm  # type: ignore[attr-defined]
    selected = a.selected  # type: ignore[attr-defined]
    prob = a.probability  # type: ignore[attr-defined]
    # no ineligible customer is ever in treat, holdout or explore
    assert set(arm[~eligible]) <= {"none"}
    assert not selected[~eligible].any()
    # the weekly maximum is never exceeded
    assert selected.sum() <= p["max_weekly"]
    # the selected are exactly the highest-ranked customers at or above the threshold
    candidates = eligible & (score >= p["threshold"])
    assert selected.sum() == min(candidates.sum(), p["max_weekly"])
    if selected.any() and (eligible & ~selected).any():
        assert score[selected].min() >= score[eligible & ~selected & candidates].max(initial=-1.0)
    # treat + holdout = selected; holdout is the rounded fraction; explore is min(size, pool)
    n_sel = int(selected.sum())
    n_hold = int(np.floor(p["holdout_fraction"] * n_sel + 0.5))  # type: ignore[operator]
    assert (arm == "holdout").sum() == n_hold
    assert (arm == "treat").sum() == n_sel - n_hold
    pool = int((eligible & ~selected).sum())
    assert (arm == "explore").sum() == min(p["exploration_size"], pool)  # type: ignore[call-overload]
    assert set(arm[selected]) <= {"treat", "holdout"}
    assert set(arm[eligible & ~selected]) <= {"explore", "none"}
    # logged probabilities are proper and sum to one across the two arms a customer could get
    assert ((prob > 0) & (prob <= 1)).all()
    if n_sel:
        p_hold = n_hold / n_sel
        assert np.allclose(prob[arm == "holdout"], p_hold)
        assert np.allclose(prob[arm == "treat"], 1 - p_hold)
    assert (prob[~eligible] == 1.0).all()


@settings(max_examples=100, deadline=None)
@given(populations(), st.integers(0, 2**32 - 1))
def test_seed_changes_arms_not_selection(p: dict[str, object], other: int) -> None:
    """The same seed gives identical arms; another seed the same selection."""
    a, b = _assign(p), _assign(p)
    assert (a.arm == b.arm).all()  # type: ignore[attr-defined]
    c = _assign(p, seed=other)
    assert (a.selected == c.selected).all()  # type: ignore[attr-defined]
    assert (a.rank == c.rank).all()  # type: ignore[attr-defined]


def _big(seed: int) -> object:
    n = 2000
    ids = np.arange(1, n + 1, dtype=np.int64)
    score = np.linspace(0, 1, n)
    return assign_arms(
        ids,
        np.ones(n, bool),
        score,
        threshold=0.5,
        max_weekly=600,
        holdout_fraction=0.2,
        exploration_size=300,
        seed=seed,
        key="k",
    )


def test_different_seeds_draw_different_arms() -> None:
    """On a real-sized week, two seeds put different customers in holdout."""
    a, b = _big(1), _big(2)
    assert (a.selected == b.selected).all()  # type: ignore[attr-defined]
    assert (a.arm != b.arm).any()  # type: ignore[attr-defined]


def test_assignment_frequencies_match_logged_probabilities() -> None:
    """Over 400 seeds each selected customer is held out about 20% of the time and each pool
    customer explored about 300/1400 of the time (within 4.5 binomial standard errors)."""
    runs = 400
    hold = np.zeros(2000)
    explore = np.zeros(2000)
    for seed in range(runs):
        a = _big(seed)
        hold += a.arm == "holdout"  # type: ignore[attr-defined]
        explore += a.arm == "explore"  # type: ignore[attr-defined]
    a = _big(0)
    sel = a.selected  # type: ignore[attr-defined]
    p_hold, p_exp = 120 / 600, 300 / 1400
    for freq, mask, p in ((hold, sel, p_hold), (explore, ~sel, p_exp)):
        rate = freq[mask] / runs
        se = np.sqrt(p * (1 - p) / runs)
        assert np.abs(rate - p).max() < 4.5 * se
        assert rate.mean() == pytest.approx(p, abs=0.01)
    assert np.allclose(a.probability[sel & (a.arm == "holdout")], p_hold)  # type: ignore[attr-defined]


def test_unsorted_ids_are_refused() -> None:
    """The arrays must come sorted by relation id, so draws are reproducible."""
    with pytest.raises(ValueError, match="sorted ascending and unique"):
        assign_arms(
            np.array([2, 1]),
            np.array([True, True]),
            np.array([0.5, 0.5]),
            threshold=0,
            max_weekly=1,
            holdout_fraction=0,
            exploration_size=0,
            seed=0,
            key="k",
        )
