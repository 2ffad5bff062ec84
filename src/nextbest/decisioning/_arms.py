"""Selection and randomised arms: pure functions over arrays sorted by relation id.

* **Selection**: eligible customers with a score at or above the threshold, highest first
  (ties by relation id), at most ``max_weekly`` of them.
* **Holdout**: exactly ``round(holdout_fraction × selected)`` of the selected, drawn uniformly
  at random, are *not* mailed (arm ``holdout``); the rest are ``treat``. Each selected
  customer's probability of holdout is that count divided by the number selected.
* **Exploration**: ``min(exploration_size, pool)`` of the eligible-but-not-selected, drawn
  uniformly at random, *are* mailed (arm ``explore``), each with probability count / pool.
* Everyone else is ``none`` (probability 1 for the ineligible, 1 − p for the pool).

Treat vs holdout estimates the incremental effect of the mail on the selected; treat vs explore
(both mailed) the model's lift. The draws come from a NumPy generator seeded by the run seed
and a stable key of the action and date, so the same inputs and seed give the same arms, and
another seed gives other arms with the same selection.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class ArmAssignment:
    rank: npt.NDArray[np.int64]  # 1 = highest score among the eligible; 0 = not ranked
    selected: npt.NDArray[np.bool_]
    arm: npt.NDArray[np.str_]
    probability: npt.NDArray[np.float64]
    n_candidates: int  # eligible at or above the threshold, before the weekly maximum


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))


@dataclass(frozen=True)
class Selection:
    rank: npt.NDArray[np.int64]  # 1 = highest score among the eligible; 0 = not ranked
    selected: npt.NDArray[np.bool_]
    n_candidates: int  # eligible at or above the threshold, before the weekly maximum


def above_threshold(
    eligible: npt.NDArray[np.bool_], score: npt.NDArray[np.float64], *, threshold: float
) -> npt.NDArray[np.bool_]:
    """The selection rule before the weekly maximum: eligible and scored at or above the
    threshold (a NaN score is never above it) — one rule for the weekly run and real time.

    >>> above_threshold(np.array([True, True, False, True]),
    ...                 np.array([0.9, 0.2, 0.6, np.nan]), threshold=0.5).tolist()
    [True, False, False, False]
    """
    return eligible & (score >= threshold)


def select(
    relation_id: npt.NDArray[np.int64],
    eligible: npt.NDArray[np.bool_],
    score: npt.NDArray[np.float64],
    *,
    threshold: float,
    max_weekly: int,
) -> Selection:
    """Rank the eligible by score (ties by relation id) and select those at or above the
    threshold, at most ``max_weekly`` — the policy without its random arms (also what a shadow
    model, a what-if or a release comparison would select).

    >>> s = select(np.array([1, 2, 3, 4]), np.array([True, True, True, False]),
    ...            np.array([0.9, 0.2, 0.6, np.nan]), threshold=0.5, max_weekly=10)
    >>> s.selected.tolist(), s.rank.tolist()
    ([True, False, True, False], [1, 3, 2, 0])
    """
    n = len(relation_id)
    if not (len(eligible) == len(score) == n):
        raise ValueError("relation_id, eligible and score must be equally long")
    if n > 1 and not np.all(relation_id[1:] > relation_id[:-1]):
        raise ValueError("relation_id must be sorted ascending and unique")
    eligible = eligible & ~np.isnan(score)
    rank = np.zeros(n, dtype=np.int64)
    idx = np.flatnonzero(eligible)
    order = idx[np.lexsort((relation_id[idx], -score[idx]))]
    rank[order] = np.arange(1, len(order) + 1)
    candidates = above_threshold(eligible, score, threshold=threshold)
    return Selection(
        rank=rank, selected=candidates & (rank <= max_weekly), n_candidates=int(candidates.sum())
    )


def assign_arms(
    relation_id: npt.NDArray[np.int64],
    eligible: npt.NDArray[np.bool_],
    score: npt.NDArray[np.float64],
    *,
    threshold: float,
    max_weekly: int,
    holdout_fraction: float,
    exploration_size: int,
    seed: int,
    key: str,
) -> ArmAssignment:
    """Select (see :func:`select`) and draw the arms; see the module docstring.

    >>> a = assign_arms(np.array([1, 2, 3, 4]), np.array([True, True, True, False]),
    ...                 np.array([0.9, 0.2, 0.6, np.nan]), threshold=0.5, max_weekly=10,
    ...                 holdout_fraction=0.5, exploration_size=1, seed=0, key="x")
    >>> a.selected.tolist(), a.rank.tolist()
    ([True, False, True, False], [1, 3, 2, 0])
    """
    chosen = select(relation_id, eligible, score, threshold=threshold, max_weekly=max_weekly)
    eligible = eligible & ~np.isnan(score)
    rank, selected, n_candidates = chosen.rank, chosen.selected, chosen.n_candidates

    arm, prob = draw_arms(
        selected,
        eligible & ~selected,
        holdout_fraction=holdout_fraction,
        exploration_size=exploration_size,
        rng=arm_generator(seed, key),
    )
    return ArmAssignment(
        rank=rank, selected=selected, arm=arm, probability=prob, n_candidates=n_candidates
    )


def arm_generator(seed: int, key: str) -> np.random.Generator:
    """The generator of one action's arms in one week: the run seed and a stable key."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def draw_arms(
    selected: npt.NDArray[np.bool_],
    pool: npt.NDArray[np.bool_],
    *,
    holdout_fraction: float,
    exploration_size: int,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]:
    """The arms of one action: ``round(holdout_fraction × selected)`` of the selected held out,
    ``min(exploration_size, pool)`` of ``pool`` explored, each drawn uniformly; every row's
    arm and the probability the draw gave it."""
    n = len(selected)
    arm = np.full(n, "none", dtype="<U7")
    prob = np.ones(n, dtype=np.float64)
    sel_idx = np.flatnonzero(selected)
    n_hold = _round(holdout_fraction * len(sel_idx))
    arm[sel_idx] = "treat"
    if len(sel_idx):
        hold = rng.permutation(sel_idx)[:n_hold]
        arm[hold] = "holdout"
        p_hold = n_hold / len(sel_idx)
        prob[sel_idx] = 1.0 - p_hold
        prob[hold] = p_hold
    pool_idx = np.flatnonzero(pool)
    m = min(exploration_size, len(pool_idx))
    if len(pool_idx):
        explore = rng.permutation(pool_idx)[:m]
        p_explore = m / len(pool_idx)
        prob[pool_idx] = 1.0 - p_explore
        arm[explore] = "explore"
        prob[explore] = p_explore
    return arm, prob
