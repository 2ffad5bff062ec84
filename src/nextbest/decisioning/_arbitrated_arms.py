"""Randomised arms when several actions compete for the same customers.

After the week's assignment (:mod:`nextbest.decisioning._arbitration`) every customer has at
most one action. The arms are then drawn per action, exactly as for a single action
(:func:`nextbest.decisioning._arms.draw_arms`), from pools that do not overlap, so each logged
probability is the probability the draw really had:

* **Holdout** of action *a*: ``round(holdout_fraction × n)`` of the *n* customers assigned to
  *a*, drawn uniformly; each has probability of holdout count / n, treat the rest.
* **Exploration** of action *a*: the pool is the customers eligible for *a* who got no action
  and for whom *a* is the best action by priority (ties: the action listed first). A customer
  eligible for two actions is thus a candidate for one of them — a deterministic function of
  the week's priorities, not a draw — and has probability 0 of exploration for the other.
  ``min(exploration_size, pool)`` are drawn uniformly: probability m / pool each.
* Everyone else is ``none`` for that action, with probability 1 (the ineligible and the
  candidates of another action) or 1 − m / pool (the pool's undrawn).

Each action draws from its own generator (the run seed and ``action:date``), holdout first
and then exploration, so with one action the arms are exactly today's; and a customer can be
mailed at most once a week (treat or explore), never twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nextbest.decisioning._arms import arm_generator, draw_arms

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ActionArms:
    """How one action draws its arms this week."""

    holdout_fraction: float
    exploration_size: int
    key: str  # "action:date", the stable part of its generator's seed


@dataclass(frozen=True)
class ArbitratedArms:
    """Per action (rows: the week's customers): arm, probability, and exploration candidacy."""

    arm: tuple[npt.NDArray[np.str_], ...]
    probability: tuple[FloatArray, ...]
    candidate: tuple[BoolArray, ...]  # in the action's exploration pool


def exploration_pools(eligible: BoolArray, priority: FloatArray, assigned: BoolArray) -> BoolArray:
    """``(actions, customers)``: the exploration pool of each action — eligible, unassigned,
    and that action is the customer's best by priority (the first listed on a tie)."""
    free = eligible & ~assigned.any(axis=0)
    masked = np.where(eligible, priority, -np.inf)
    best = np.argmax(masked, axis=0)  # the first maximum: ties go to the action listed first
    pools = np.zeros_like(eligible)
    pools[best, np.arange(eligible.shape[1])] = True
    return pools & free


def arbitrated_arms(
    eligible: BoolArray,
    priority: FloatArray,
    assigned: BoolArray,
    actions: Sequence[ActionArms],
    *,
    seed: int,
) -> ArbitratedArms:
    """The arms of every action; ``eligible``, ``priority`` and ``assigned`` are
    ``(actions, customers)`` arrays (a customer assigned to at most one action, only where
    eligible)."""
    if not (eligible.shape == priority.shape == assigned.shape) or eligible.ndim != 2:
        raise ValueError("eligible, priority and assigned must be (actions, customers) arrays")
    if eligible.shape[0] != len(actions):
        raise ValueError("one row of eligible per action")
    if (assigned.sum(axis=0) > 1).any() or (assigned & ~eligible).any():
        raise ValueError("a customer is assigned to two actions, or to one not eligible")
    pools = exploration_pools(eligible, priority, assigned)
    arms, probs = [], []
    for i, action in enumerate(actions):
        arm, prob = draw_arms(
            assigned[i],
            pools[i],
            holdout_fraction=action.holdout_fraction,
            exploration_size=action.exploration_size,
            rng=arm_generator(seed, action.key),
        )
        arms.append(arm)
        probs.append(prob)
    return ArbitratedArms(tuple(arms), tuple(probs), tuple(pools))
