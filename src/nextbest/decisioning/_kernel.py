"""The decide kernel: one week's eligibility, scores and policy in, the arms out.

The weekly run, the backtest replay and the benchmark all decide through :func:`decide`, and
real-time serving through :meth:`Policy.recommends` and :func:`check_aligned`, so the selection
rule and the relation-id alignment check (features, eligibility and scores are about the same
customers in the same order) live here once. The kernel is pure: it reads no store and knows no
model; the caller passes a scorer that maps the eligible rows to scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from nextbest.decisioning._arms import ArmAssignment, above_threshold, assign_arms
from nextbest.errors import NotFoundError

Scorer = Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]]
"""Given the boolean mask of eligible rows, the scores of those rows (in row order)."""


class _ActionLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def min_weekly(self) -> int: ...
    @property
    def max_weekly(self) -> int: ...
    @property
    def holdout_fraction(self) -> float: ...
    @property
    def exploration_size(self) -> int: ...


@dataclass(frozen=True)
class Policy:
    """How one action turns scores into arms in one week."""

    threshold: float
    min_weekly: int
    max_weekly: int
    holdout_fraction: float
    exploration_size: int
    seed: int
    key: str

    @classmethod
    def of(cls, action: _ActionLike, *, seed: int, day: dt.date) -> Policy:
        """The policy of an action's configuration for the week of ``day``."""
        return cls(
            threshold=action.threshold,
            min_weekly=action.min_weekly,
            max_weekly=action.max_weekly,
            holdout_fraction=action.holdout_fraction,
            exploration_size=action.exploration_size,
            seed=seed,
            key=f"{action.name}:{day.isoformat()}",
        )

    def recommends(
        self, eligible: np.ndarray[Any, Any], score: np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        """Who the policy would select before its weekly maximum and random arms: eligible and
        scored at or above the threshold — the rule :func:`decide` ranks and caps, and the
        one real-time serving applies to a single customer."""
        return above_threshold(eligible, score, threshold=self.threshold)


@dataclass(frozen=True)
class Decision:
    """One week's decisions for one action, row-aligned with the eligibility table.

    ``ids`` are the relation ids; ``eligible`` the eligibility mask; ``score`` the model score
    (NaN where not eligible); ``arms`` the arm assignment; ``flags`` the volume notes
    (``below_min: …``, ``capped: …``).
    """

    ids: np.ndarray[Any, Any]
    eligible: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]
    arms: ArmAssignment
    flags: tuple[str, ...]


def check_aligned(day: dt.date, *tables: pa.Table) -> np.ndarray[Any, Any]:
    """The relation ids shared by ``tables``; refused when they differ in customers or order."""
    ids: np.ndarray[Any, Any] = tables[0]["relation_id"].to_numpy()
    for other in tables[1:]:
        if not np.array_equal(ids, other["relation_id"].to_numpy()):
            raise NotFoundError(f"features and eligibility disagree on the customers of {day}")
    return ids


def _flags(policy: Policy, arms: ArmAssignment) -> tuple[str, ...]:
    flags = []
    selected = int(arms.selected.sum())
    if selected < policy.min_weekly:
        flags.append(f"below_min: {selected} selected, the weekly minimum is {policy.min_weekly}")
    if arms.n_candidates > policy.max_weekly:
        flags.append(
            f"capped: {arms.n_candidates} customers scored above the threshold; the weekly "
            f"maximum of {policy.max_weekly} kept the highest"
        )
    return tuple(flags)


def decide(
    day: dt.date, features: pa.Table, elig: pa.Table, scorer: Scorer, policy: Policy
) -> Decision:
    """Score the eligible customers and assign the arms under ``policy``.

    ``features`` and ``elig`` (columns ``relation_id``, ``eligible``) must list the same customers
    in the same order, and ``scorer`` must return one score per eligible row; otherwise
    :class:`NotFoundError` is raised before anything is decided.
    """
    ids = check_aligned(day, elig, features)
    eligible = elig["eligible"].to_numpy(zero_copy_only=False)
    scored = np.asarray(scorer(eligible), dtype=float)
    if scored.shape != (int(eligible.sum()),):
        raise NotFoundError(
            f"the model scored {scored.shape[0]} customers of {day}; {int(eligible.sum())} are "
            "eligible"
        )
    score = np.full(len(ids), np.nan)
    score[eligible] = scored
    arms = assign_arms(
        ids,
        eligible,
        score,
        threshold=policy.threshold,
        max_weekly=policy.max_weekly,
        holdout_fraction=policy.holdout_fraction,
        exploration_size=policy.exploration_size,
        seed=policy.seed,
        key=policy.key,
    )
    return Decision(ids=ids, eligible=eligible, score=score, arms=arms, flags=_flags(policy, arms))
