"""Arbitration benchmark: 1M customers × 3 actions under per-action and channel capacities.

Usage::

    .venv/bin/python benchmarks/bench_arbitration.py [--customers 1000000] [--seed 0]

Synthetic candidates (no store, no external data): each customer is eligible for each action
with some probability, with a P(convert) and a value per action; priority = P × value − cost.
Three actions share the e-mail channel (capacity below the sum of their maximums, so the channel
binds) and one has a weekly minimum. Prints, for the exact assignment (``arbitrate``: pruning +
HiGHS) and for a plain NumPy/pandas greedy baseline in the same process (all pairs sorted by
priority, taken in order while the customer is free and the limits allow): time, peak memory,
objective, and how far the greedy objective is below the optimum.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_foundation import Phase, measure
from nextbest.decisioning._arbitration import ActionLimits, arbitrate

ACTIONS = [
    ActionLimits("invest-onboarding", 0, 20_000, "email"),
    ActionLimits("savings-goal", 5_000, 15_000, "email"),
    ActionLimits("private-banking-intro", 0, 2_000, "email"),
]
CHANNELS = {"email": 30_000}


def candidates(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(900_000_000, size=n, replace=False)) + 100_000_000
    parts = []
    for a, (share, value, cost) in enumerate(
        ((0.6, 900.0, 0.5), (0.3, 250.0, 0.3), (0.05, 4000.0, 2.0))
    ):
        who = np.flatnonzero(rng.random(n) < share)
        p = rng.beta(1.2, 60.0, size=len(who))
        worth = value * rng.lognormal(0.0, 0.6, size=len(who))
        parts.append((ids[who], np.full(len(who), a), p * worth - cost, p))
    customer, action, priority, conversions = (np.concatenate(x) for x in zip(*parts, strict=True))
    return customer, action.astype(np.int64), priority, conversions


def greedy(
    customer: np.ndarray, action: np.ndarray, priority: np.ndarray
) -> tuple[np.ndarray, float]:
    """Take pairs in order of priority while the customer is free and the limits allow."""
    frame = pd.DataFrame({"customer": customer, "action": action, "priority": priority})
    frame = frame[frame["priority"] > 0].sort_values(
        ["priority", "customer"], ascending=[False, True]
    )
    taken: set[int] = set()
    counts = [0] * len(ACTIONS)
    channel = 0
    chosen = []
    for idx, cust, act in zip(
        frame.index.to_numpy(),
        frame["customer"].to_numpy(),
        frame["action"].to_numpy(),
        strict=True,
    ):
        if channel >= CHANNELS["email"]:
            break
        if cust in taken or counts[act] >= ACTIONS[act].maximum:
            continue
        taken.add(int(cust))
        counts[act] += 1
        channel += 1
        chosen.append(idx)
    picked = np.zeros(len(customer), dtype=bool)
    picked[np.array(chosen, dtype=np.int64)] = True
    return picked, float(priority[picked].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    customer, action, priority, conversions = candidates(args.customers, args.seed)
    results: dict[str, Phase] = {}
    with measure("exact (arbitrate)", results):
        best = arbitrate(
            customer, action, priority, conversions, actions=ACTIONS, channels=CHANNELS
        )
    with measure("greedy (pandas)", results):
        picked, greedy_value = greedy(customer, action, priority)
    print(
        f"{args.customers:,} customers, {len(customer):,} candidate pairs, "
        f"{len(ACTIONS)} actions, e-mail capacity {CHANNELS['email']:,}"
    )
    print("| method | seconds | peak +MB | objective (euros) | per action | vs optimum |")
    print("|---|---|---|---|---|---|")
    for name, chosen, value in (
        ("exact (arbitrate)", best.chosen, best.objective),
        ("greedy (pandas)", picked, greedy_value),
    ):
        phase = results[name]
        per = "/".join(str(c) for c in np.bincount(action[chosen], minlength=len(ACTIONS)))
        gap = (value - best.objective) / best.objective * 100
        print(
            f"| {name} | {phase.seconds:.2f} | {phase.peak_increase_mb:.0f} | {value:,.0f} "
            f"| {per} | {gap:+.3f}% |"
        )
    ratio = results["greedy (pandas)"].seconds / results["exact (arbitrate)"].seconds
    print(f"exact is {ratio:.1f}× the speed of the greedy baseline")
    print("binding limits (what one unit more buys):")
    for limit in best.binding():
        print(
            f"  {limit.kind} {limit.name}: {limit.used:,} of {limit.limit:,}; "
            f"{limit.gain_per_unit:,.2f} euros, {limit.conversions_per_unit:+.4f} conversions"
        )
    if best.shortfall:
        print(f"minimums not met: {best.shortfall}")


if __name__ == "__main__":
    main()
