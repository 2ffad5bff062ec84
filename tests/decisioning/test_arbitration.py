"""The week's assignment: exact, deterministic, and what today's single action selects."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.decisioning._arbitration import ActionLimits, arbitrate
from nextbest.decisioning._arms import select


def _limits(*spec: tuple[str, int, int, str]) -> list[ActionLimits]:
    return [ActionLimits(*s) for s in spec]


def test_a_full_channel_goes_to_the_best_use_and_its_cost_is_reported() -> None:
    # customers 1..3; action a (worth more) and b share the e-mail channel of capacity 2
    customer = np.array([1, 1, 2, 2, 3])
    action = np.array([0, 1, 0, 1, 1])
    priority = np.array([10.0, 6.0, 8.0, 7.0, 5.0])
    conversions = np.array([0.10, 0.06, 0.08, 0.07, 0.05])
    actions = _limits(("a", 0, 5, "email"), ("b", 0, 5, "email"))
    result = arbitrate(customer, action, priority, conversions, actions=actions,
                       channels={"email": 2})  # fmt: skip
    # by hand: the best two contacts are 1→a (10) and 2→a (8); 3→b (5) does not fit
    assert result.chosen.tolist() == [True, False, True, False, False]
    assert result.objective == pytest.approx(18.0)
    assert result.expected_conversions == pytest.approx(0.18)
    (binding,) = result.binding()
    assert (binding.kind, binding.name, binding.used, binding.limit) == ("channel", "email", 2, 2)
    # a third slot would go to 3→b: 5 euros, 0.05 conversions
    assert binding.gain_per_unit == pytest.approx(5.0)
    assert binding.conversions_per_unit == pytest.approx(0.05)


def test_one_customer_one_action_even_when_both_have_room() -> None:
    customer = np.array([7, 7])
    action = np.array([0, 1])
    result = arbitrate(customer, action, np.array([3.0, 4.0]), np.array([0.3, 0.4]),
                       actions=_limits(("a", 0, 1, "email"), ("b", 0, 1, "sms")),
                       channels={"email": 9, "sms": 9})  # fmt: skip
    assert result.chosen.tolist() == [False, True]
    assert not result.binding()


def test_a_minimum_takes_a_customer_from_a_better_use_and_says_what_it_costs() -> None:
    customer = np.array([1, 1, 2])
    action = np.array([0, 1, 0])
    priority = np.array([9.0, 2.0, 8.0])
    actions = _limits(("a", 0, 2, "email"), ("b", 1, 2, "email"))
    result = arbitrate(customer, action, priority, priority / 100, actions=actions,
                       channels={"email": 5})  # fmt: skip
    # b needs one customer: 1→b (2) + 2→a (8) = 10 beats nothing for b
    assert result.chosen.tolist() == [False, True, True]
    assert result.objective == pytest.approx(10.0)
    minimum = next(x for x in result.limits if x.kind == "action_min")
    assert minimum.binding
    assert minimum.gain_per_unit == pytest.approx(7.0)  # without it: 1→a, 9 + 8 = 17


def test_a_minimum_that_cannot_be_met_is_met_as_far_as_possible() -> None:
    customer = np.array([1, 2, 3])
    action = np.array([0, 1, 1])
    actions = _limits(("a", 3, 5, "email"), ("b", 0, 5, "email"))
    result = arbitrate(customer, action, np.array([1.0, 5.0, 5.0]), np.zeros(3),
                       actions=actions, channels={"email": 2})  # fmt: skip
    # a wants 3 and has one candidate: it gets it, and b the one place left
    assert result.chosen.tolist() == [True, True, False]
    assert result.shortfall == {"a": 2}


def test_ties_go_to_the_lower_relation_id_whatever_the_input_order() -> None:
    customer = np.array([30, 10, 20, 40])
    action = np.zeros(4, dtype=np.int64)
    priority = np.array([1.0, 1.0, 1.0, 2.0])
    actions = _limits(("a", 0, 2, "email"))
    result = arbitrate(customer, action, priority, priority, actions=actions,
                       channels={"email": 9})  # fmt: skip
    assert customer[result.chosen].tolist() == [10, 40]
    order = np.array([3, 1, 0, 2])
    again = arbitrate(customer[order], action, priority[order], priority[order],
                      actions=actions, channels={"email": 9})  # fmt: skip
    assert sorted(customer[order][again.chosen].tolist()) == [10, 40]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(50, 400),
    max_weekly=st.integers(0, 60),
    levels=st.integers(2, 30),
    seed=st.integers(0, 2**16),
)
def test_one_action_selects_exactly_what_the_single_action_policy_selects(
    n: int, max_weekly: int, levels: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10**6, size=n, replace=False)).astype(np.int64)
    eligible = rng.random(n) < 0.7
    score = np.round(rng.random(n) * levels) / levels  # many exact ties, as trees give
    threshold = 0.3
    today = select(ids, eligible, score, threshold=threshold, max_weekly=max_weekly)
    candidates = np.flatnonzero(eligible & (score >= threshold))
    result = arbitrate(ids[candidates], np.zeros(len(candidates), np.int64), score[candidates],
                       score[candidates], actions=_limits(("a", 0, max_weekly, "email")),
                       channels={"email": 10**6})  # fmt: skip
    assert np.array_equal(candidates[result.chosen], np.flatnonzero(today.selected))


def _brute_force(
    customer: np.ndarray, action: np.ndarray, priority: np.ndarray,
    actions: list[ActionLimits], channels: dict[str, int],
) -> tuple[int, float]:  # fmt: skip
    """(minimum places filled, best objective) over every assignment."""
    people = sorted(set(customer.tolist()))
    options = [[None, *np.flatnonzero(customer == p).tolist()] for p in people]
    best: tuple[int, float] = (-1, -np.inf)
    for pick in itertools.product(*options):
        chosen = [k for k in pick if k is not None]
        counts = np.bincount(action[chosen], minlength=len(actions)) if chosen else np.zeros(
            len(actions), np.int64)  # fmt: skip
        if any(counts[i] > a.maximum for i, a in enumerate(actions)):
            continue
        if any(
            sum(counts[i] for i, a in enumerate(actions) if a.channel == c) > cap
            for c, cap in channels.items()
        ):
            continue
        filled = int(sum(min(counts[i], a.minimum) for i, a in enumerate(actions)))
        value = float(priority[chosen].sum()) if chosen else 0.0
        best = max(best, (filled, round(value, 9)))
    return best


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_assignment_is_the_brute_force_optimum(data: st.DataObject) -> None:
    n_people = data.draw(st.integers(1, 5))
    n_actions = data.draw(st.integers(1, 3))
    pairs = [(p, a) for p in range(n_people) for a in range(n_actions)]
    present = data.draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    pairs = [pair for pair, keep in zip(pairs, present, strict=True) if keep]
    if not pairs:
        return
    customer = np.array([100 + p for p, _ in pairs], dtype=np.int64)
    action = np.array([a for _, a in pairs], dtype=np.int64)
    priority = np.array(
        data.draw(st.lists(st.integers(-3, 9), min_size=len(pairs), max_size=len(pairs))),
        dtype=np.float64,
    )
    channel_names = ["email", "sms"]
    actions = []
    for i in range(n_actions):
        lo = data.draw(st.integers(0, 2))
        hi = data.draw(st.integers(lo, 4))
        actions.append(ActionLimits(f"a{i}", lo, hi, data.draw(st.sampled_from(channel_names))))
    channels = {c: data.draw(st.integers(0, 4)) for c in channel_names}
    result = arbitrate(customer, action, priority, priority / 10, actions=actions,
                       channels=channels)  # fmt: skip
    chosen = np.flatnonzero(result.chosen)
    counts = np.bincount(action[chosen], minlength=n_actions)
    filled = int(sum(min(counts[i], a.minimum) for i, a in enumerate(actions)))
    assert len(set(customer[chosen].tolist())) == len(chosen)  # one action per customer
    assert (filled, round(result.objective, 9)) == _brute_force(
        customer, action, priority, actions, channels
    )
