"""Realised programme value on the synthetic bank, against its truth (docs/decisioning.md).

Run ``nextbest demo`` first (the three actions), then::

    .venv/bin/python scripts/programme_value.py [--dir nextbest-demo] [--draws 400]

It reads the demo's latest run: each action's calibrated score and eligibility per customer,
and the config's values, margins, levers, costs, weekly maxima and channel capacity. It reads
the bank's truth for that week: each outcome's weekly hazard, each customer's response to the
mail and the expected amount on conversion. For each policy it solves the week's assignment
exactly (:func:`nextbest.decisioning.arbitrate`, the same solver as the weekly run) and
evaluates what the assigned customers would do, mailed and not, from the truth:

* the expected incremental conversions ``Σ P(convert | mailed) − P(convert | not mailed)``,
* the incremental amount (the same, times the true expected amount on conversion),
* the incremental worth in euros (conversions × the action's value × margin),

with 95% intervals from ``--draws`` simulated weeks (each draws every assigned customer's
outcome mailed and not mailed with common random numbers, as the bank's own outcome draw does).
The policies: the arbitration (priority = P × value × margin × lever − cost), each action alone
(its own candidates, the same channel capacity), and "propensity only" (the same arbitration
with priority = P: the most expected conversions, whatever they are worth). Random arms
(holdout, exploration) are left out: every policy is compared on what it selects.

This script uses the synthetic bank only; it reads no data from ../shared.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq

from nextbest.config import ActionConfig, Config, load_config
from nextbest.decisioning import ActionLimits, arbitrate
from nextbest.pipeline._arbitrate_week import channel_capacities
from nextbest.simulate import conversion_probability, truth_columns
from nextbest.store import open_store

FloatArray = npt.NDArray[np.float64]


def _week(root: Path) -> tuple[Config, str, FloatArray, list[dict[str, FloatArray]]]:
    """The latest run's customers and, per action, score, eligibility and the truth."""
    config = load_config(root / "nextbest.toml")
    with open_store(config, read_only=True) as store:
        run_id, day = store.fetchone(
            "SELECT run_id, snapshot_date FROM runs WHERE superseded_by IS NULL "
            "AND status NOT IN ('halted', 'skipped') ORDER BY snapshot_date DESC, created_at "
            "DESC LIMIT 1"
        ) or (None, None)
        if run_id is None:
            raise SystemExit(f"{root}: no weekly run; run 'nextbest demo' first")
        decisions = store.arrow(
            "SELECT action, relation_id, eligible, score FROM decisions WHERE run_id = ? "
            "ORDER BY action, relation_id",
            [run_id],
        )
    truth = pq.read_table(root / "bank" / "truth" / f"hazard_{day.isoformat()}.parquet")
    people = pq.read_table(root / "bank" / "truth" / "customers.parquet")
    t_ids = truth["relation_id"].to_numpy()
    p_ids = people["relation_id"].to_numpy()
    actions = []
    ids: FloatArray | None = None
    for action in config.actions:
        rows = decisions.filter(decisions["action"].to_numpy(zero_copy_only=False) == action.name)
        a_ids = rows["relation_id"].to_numpy()
        ids = a_ids if ids is None else ids
        if not np.array_equal(ids, a_ids):
            raise SystemExit(f"run {run_id}: the actions were decided on different customers")
        t_pos = np.searchsorted(t_ids[np.argsort(t_ids)], a_ids)
        t_order = np.argsort(t_ids)[t_pos]
        p_order = np.argsort(p_ids)[np.searchsorted(p_ids[np.argsort(p_ids)], a_ids)]
        score = rows["score"].to_numpy(zero_copy_only=False).astype(np.float64)
        actions.append(
            {
                "eligible": rows["eligible"].to_numpy(zero_copy_only=False).astype(bool)
                & ~np.isnan(score),
                "score": np.nan_to_num(score),
                "hazard": truth[truth_columns(action.outcome)[0]]
                .to_numpy()
                .astype(np.float64)[t_order],
                "uplift": people[truth_columns(action.outcome)[2]]
                .to_numpy()
                .astype(np.float64)[p_order],
                "amount": truth[truth_columns(action.outcome)[1]]
                .to_numpy()
                .astype(np.float64)[t_order],
            }
        )
    assert ids is not None
    return config, run_id, ids.astype(np.float64), actions


Priority = Callable[[ActionConfig, FloatArray], FloatArray]


def _assign(
    config: Config,
    ids: FloatArray,
    week: list[dict[str, FloatArray]],
    priority: Priority,
    only: int | None = None,
) -> npt.NDArray[np.bool_]:
    """The exact assignment under ``priority``: (actions × customers) booleans."""
    acts = config.actions
    cand = np.vstack(
        [
            w["eligible"] & (w["score"] >= a.threshold) & (only is None or i == only)
            for i, (a, w) in enumerate(zip(acts, week, strict=True))
        ]
    )
    act, cust = np.nonzero(cand)
    worth = np.vstack([priority(a, w["score"]) for a, w in zip(acts, week, strict=True)])
    score = np.vstack([w["score"] for w in week])
    result = arbitrate(
        ids[cust].astype(np.int64),
        act.astype(np.int64),
        worth[act, cust],
        score[act, cust],
        actions=[ActionLimits(a.name, 0, a.max_weekly, a.channel) for a in acts],
        channels=channel_capacities(config, acts),
    )
    out = np.zeros_like(cand)
    out[act[result.chosen], cust[result.chosen]] = True
    return out


def _evaluate(
    config: Config,
    week: list[dict[str, FloatArray]],
    assigned: npt.NDArray[np.bool_],
    draws: int,
    seed: int,
) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    totals = np.zeros((draws, 3))
    expected = np.zeros(3)
    per_action = {}
    for i, (action, w) in enumerate(zip(config.actions, week, strict=True)):
        who = assigned[i]
        n = int(who.sum())
        per_action[action.name] = n
        if n == 0:
            continue
        h, u, amount = w["hazard"][who], w["uplift"][who], w["amount"][who]
        kw = {"flow_weeks": action.flow_weeks, "label_weeks": action.label_weeks}
        p1 = conversion_probability(h, u, np.ones(n, bool), **kw)
        p0 = conversion_probability(h, u, np.zeros(n, bool), **kw)
        euros = action.value * action.margin
        expected += [(p1 - p0).sum(), ((p1 - p0) * amount).sum(), (p1 - p0).sum() * euros]
        # common random numbers: one uniform per customer decides both potential outcomes
        uni = rng.random((draws, n))
        d = (uni < p1).astype(np.float64) - (uni < p0).astype(np.float64)
        totals += np.column_stack([d.sum(axis=1), d @ amount, d.sum(axis=1) * euros])
    lo, hi = np.quantile(totals, [0.025, 0.975], axis=0)
    names = ("conversions", "amount", "worth_euros")
    return {
        "assigned": per_action,
        **{
            k: {"expected": float(expected[j]), "lo": float(lo[j]), "hi": float(hi[j])}
            for j, k in enumerate(names)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("nextbest-demo"))
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    config, run_id, ids, week = _week(args.dir)
    value: Priority = lambda a, s: a.priority(s)  # noqa: E731
    conversions_only: Priority = lambda a, s: s  # noqa: E731
    policies = {"arbitration (propensity × value)": _assign(config, ids, week, value)}
    for i, action in enumerate(config.actions):
        policies[f"{action.name} alone"] = _assign(config, ids, week, value, only=i)
    policies["propensity only, no value"] = _assign(config, ids, week, conversions_only)
    results = {
        name: _evaluate(config, week, assigned, args.draws, args.seed)
        for name, assigned in policies.items()
    }
    print(
        f"run {run_id}: {len(ids):,} customers, {len(config.actions)} actions, "
        f"{args.draws} simulated weeks (95% intervals)"
    )
    print(
        "| policy | mailed per action | incremental conversions | incremental amount (€) "
        "| incremental worth (€) |"
    )
    print("|---|---|---|---|---|")
    for name, r in results.items():
        mailed = ", ".join(f"{k} {v:,}" for k, v in r["assigned"].items() if v)  # type: ignore[attr-defined]
        cells = []
        for k, fmt in (
            ("conversions", "{:,.1f}"),
            ("amount", "{:,.0f}"),
            ("worth_euros", "{:,.0f}"),
        ):
            f = r[k]
            cells.append(
                f"{fmt.format(f['expected'])} ({fmt.format(f['lo'])} – {fmt.format(f['hi'])})"
            )  # type: ignore[index]
        print(f"| {name} | {mailed} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
