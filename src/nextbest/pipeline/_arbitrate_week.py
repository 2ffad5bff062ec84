"""Several actions in one week: each is scored alone, then the week is arbitrated.

Every action's candidates are its eligible customers scored at or above its threshold. Each
candidate is worth ``P(convert) × value × margin × lever − contact_cost`` euros
(:meth:`ActionConfig.priority`). The week's assignment (:func:`arbitrate`) gives each customer
at most one action and keeps every action's ``max_weekly``, its ``min_weekly`` as far as its
candidates and the channels allow, and each ``[channels.X] capacity``; it is exact. The arms
are then drawn from pools that do not overlap (:func:`arbitrated_arms`), so every logged
probability is the one the draw had. With one action the weekly run does not come here: its
selection and arms are the single-action policy's, unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import numpy as np

from nextbest.config import ActionConfig, Config
from nextbest.decisioning import (
    ActionArms,
    ActionLimits,
    ArmAssignment,
    Assignment,
    Decision,
    Policy,
    arbitrate,
    arbitrated_arms,
)
from nextbest.errors import NotFoundError


def channel_capacities(config: Config, actions: Sequence[ActionConfig]) -> dict[str, int]:
    """Each channel's weekly capacity: ``[channels.X] capacity``, else no limit beyond the
    ``max_weekly`` of its actions."""
    out: dict[str, int] = {}
    for action in actions:
        if action.channel in config.channels:
            out[action.channel] = config.channels[action.channel].capacity
        else:
            out[action.channel] = out.get(action.channel, 0) + action.max_weekly
    return out


def arbitrate_week(
    config: Config,
    day: dt.date,
    seed: int,
    actions: Sequence[ActionConfig],
    decisions: Sequence[Decision],
) -> list[Decision]:
    """The decisions of ``actions`` (each scored alone) with the week's arbitration applied:
    selection and arms replaced, flags naming what arbitration changed."""
    ids = decisions[0].ids
    if any(not np.array_equal(d.ids, ids) for d in decisions):
        raise NotFoundError(f"the actions of {day} were scored on different customers")
    eligible = np.vstack([d.eligible & ~np.isnan(d.score) for d in decisions])
    score = np.vstack([np.nan_to_num(d.score) for d in decisions])
    worth = np.vstack([a.priority(score[i]) for i, a in enumerate(actions)])
    candidate = eligible & (score >= np.array([[a.threshold] for a in actions]))
    act, cust = np.nonzero(candidate)
    result = arbitrate(
        ids[cust],
        act.astype(np.int64),
        worth[act, cust],
        score[act, cust],
        actions=[ActionLimits(a.name, a.min_weekly, a.max_weekly, a.channel) for a in actions],
        channels=channel_capacities(config, actions),
    )
    assigned = np.zeros_like(eligible)
    assigned[act[result.chosen], cust[result.chosen]] = True
    keys = [Policy.of(a, seed=seed, day=day).key for a in actions]
    arms = arbitrated_arms(
        eligible,
        np.where(eligible, worth, -np.inf),
        assigned,
        [
            ActionArms(a.holdout_fraction, a.exploration_size, k)
            for a, k in zip(actions, keys, strict=True)
        ],
        seed=seed,
    )
    out = []
    for i, (action, decision) in enumerate(zip(actions, decisions, strict=True)):
        new = ArmAssignment(
            rank=decision.arms.rank,
            selected=assigned[i],
            arm=arms.arm[i],
            probability=arms.probability[i],
            n_candidates=int(candidate[i].sum()),
        )
        lost = int((candidate[i] & ~assigned[i] & assigned.any(axis=0)).sum())
        flags = _flags(action, new, lost, result)
        out.append(dataclasses.replace(decision, arms=new, flags=flags))
    return out


def _flags(
    action: ActionConfig, arms: ArmAssignment, lost: int, result: Assignment
) -> tuple[str, ...]:
    """The volume notes of one action under arbitration, and the limits that bound it."""
    selected = int(arms.selected.sum())
    flags = []
    if selected < action.min_weekly:
        flags.append(f"below_min: {selected} selected, the weekly minimum is {action.min_weekly}")
    if lost:
        flags.append(f"arbitration: {lost} of its candidates went to another action worth more")
    for limit in result.binding():
        if limit.name in (action.name, action.channel):
            flags.append(
                f"arbitration: {limit.kind.replace('_', ' ')} {limit.name} binds "
                f"({limit.used} of {limit.limit}); one more would add "
                f"{limit.gain_per_unit:,.2f} euros, {limit.conversions_per_unit:+.3f} "
                "expected conversions"
            )
    return tuple(flags)
