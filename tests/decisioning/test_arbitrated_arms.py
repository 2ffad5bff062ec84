"""Arms under arbitration: disjoint pools, true logged probabilities, today's arms for one."""

from __future__ import annotations

import numpy as np
import pytest

from nextbest.decisioning import assign_arms
from nextbest.decisioning._arbitrated_arms import ActionArms, arbitrated_arms, exploration_pools


def test_the_exploration_pool_is_the_best_action_of_the_unassigned() -> None:
    eligible = np.array([[1, 1, 1, 0], [1, 1, 0, 1]], dtype=bool)
    priority = np.array([[5.0, 1.0, 2.0, 0.0], [4.0, 3.0, 0.0, 9.0]])
    assigned = np.array([[1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    pools = exploration_pools(eligible, priority, assigned)
    # customer 0 is assigned (no pool); 1 prefers b; 2 only a; 3 only b
    assert pools.astype(int).tolist() == [[0, 0, 1, 0], [0, 1, 0, 1]]
    tie = exploration_pools(eligible[:, 1:2], np.array([[2.0], [2.0]]), assigned[:, 1:2])
    assert tie.astype(int).tolist() == [[1], [0]]  # a tie goes to the action listed first


def test_one_action_draws_exactly_todays_arms() -> None:
    rng = np.random.default_rng(3)
    n = 500
    ids = np.arange(1, n + 1)
    eligible = rng.random(n) < 0.8
    score = np.where(eligible, rng.random(n), np.nan)
    today = assign_arms(ids, eligible, score, threshold=0.6, max_weekly=120,
                        holdout_fraction=0.1, exploration_size=40, seed=9,
                        key="a:2025-01-05")  # fmt: skip
    result = arbitrated_arms(
        eligible[None, :],
        np.nan_to_num(score)[None, :],
        today.selected[None, :],
        [ActionArms(0.1, 40, "a:2025-01-05")],
        seed=9,
    )
    assert np.array_equal(result.arm[0], today.arm)
    assert np.array_equal(result.probability[0], today.probability)


def _week() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[ActionArms]]:
    """40 customers, three overlapping actions, some assigned."""
    rng = np.random.default_rng(0)
    n = 40
    eligible = rng.random((3, n)) < np.array([[0.7], [0.5], [0.3]])
    priority = rng.random((3, n))
    assigned = np.zeros((3, n), dtype=bool)
    for c in range(0, n, 4):
        options = np.flatnonzero(eligible[:, c])
        if len(options):
            assigned[options[0], c] = True
    actions = [ActionArms(0.25, 5, "a:d"), ActionArms(0.5, 3, "b:d"), ActionArms(0.0, 2, "c:d")]
    return eligible, priority, assigned, actions


def test_no_customer_is_mailed_twice_and_probabilities_are_laws() -> None:
    eligible, priority, assigned, actions = _week()
    for seed in range(50):
        r = arbitrated_arms(eligible, priority, assigned, actions, seed=seed)
        mailed = np.array([np.isin(a, ("treat", "explore")) for a in r.arm])
        assert (mailed.sum(axis=0) <= 1).all()
        for arm, prob, pool, got in zip(r.arm, r.probability, r.candidate, assigned, strict=True):
            assert (prob > 0).all() and (prob <= 1).all()
            # 'none' outside the pool and the assigned is certain
            assert (prob[~pool & ~got] == 1.0).all() and (arm[~pool & ~got] == "none").all()


def test_logged_probabilities_match_the_frequencies_over_many_seeds() -> None:
    """Each customer's logged probability of each arm equals how often the draw gives it,
    within sampling error (|z| < 4.5 over every customer, action and arm)."""
    eligible, priority, assigned, actions = _week()
    seeds = 3000
    counts = {arm: np.zeros(eligible.shape) for arm in ("treat", "holdout", "explore", "none")}
    logged = {arm: np.zeros(eligible.shape) for arm in counts}
    for seed in range(seeds):
        r = arbitrated_arms(eligible, priority, assigned, actions, seed=seed)
        for i, (arm, prob) in enumerate(zip(r.arm, r.probability, strict=True)):
            for name in counts:
                hit = arm == name
                counts[name][i] += hit
                # the logged probability of the arm the customer got is the law of that arm
                logged[name][i] = np.where(hit, prob, logged[name][i])
    for name in counts:
        p = logged[name]
        seen = counts[name] > 0
        freq = counts[name] / seeds
        se = np.sqrt(np.maximum(p * (1 - p), 1e-12) / seeds)
        z = np.abs(freq[seen] - p[seen]) / se[seen]
        assert z.max() < 4.5, name
    # and the explored share of a pool is its exploration size
    r = arbitrated_arms(eligible, priority, assigned, actions, seed=1)
    for arm, pool, action in zip(r.arm, r.candidate, actions, strict=True):
        assert int((arm == "explore").sum()) == min(action.exploration_size, int(pool.sum()))


def test_inconsistent_inputs_are_refused() -> None:
    eligible, priority, assigned, actions = _week()
    twice = assigned.copy()
    twice[:, 0] = eligible[:, 0]
    if twice[:, 0].sum() > 1:
        with pytest.raises(ValueError, match="two actions"):
            arbitrated_arms(eligible, priority, twice, actions, seed=0)
    with pytest.raises(ValueError, match="one row of eligible per action"):
        arbitrated_arms(eligible, priority, assigned, actions[:2], seed=0)
