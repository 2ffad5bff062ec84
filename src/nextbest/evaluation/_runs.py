"""What the exported runs achieved: conversion and amount per arm, incrementality with
intervals, the model's lift against the exploration arm, other thresholds by IPW, and power.

A conversion is attributed to a decision when it falls in the action's window after the run's
snapshot date: (D, D + label_weeks]. Only exported runs are measured — before export nobody was
mailed, so the arms mean nothing yet. A run whose window has not closed yet (no conversion data
up to its end) is marked incomplete.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from nextbest.config import ActionConfig, Config, config_from_mapping
from nextbest.evaluation._stats import (
    Estimate,
    bootstrap_mean_diff,
    ipw_rate,
    newcombe,
    rate,
    weeks_to_detect,
)
from nextbest.models import calibration_table, lift_at, lift_curve, pr_auc
from nextbest.store import Steps, Store


@dataclass
class ArmFigures:
    arm: str
    customers: int
    conversions: int
    conversion: Estimate
    amount_mean: float


@dataclass
class RunEvaluation:
    run_id: str
    action: str
    snapshot_date: Any
    complete: bool
    arms: dict[str, ArmFigures]
    incremental_conversion: Estimate
    incremental_amount: Estimate
    mailed_population_rate: Estimate
    model_lift: float | None
    thresholds: list[dict[str, Any]] = field(default_factory=list)


#: the label window, in weeks, of an action no config of the measured runs knows
_DEFAULT_LABEL_WEEKS = 8

# the steps of the outcome query: the measured decisions of the runs ``$run_ids``, each
# action's label window (``$actions`` zipped with ``$label_weeks``), and per decision the sum of
# the conversions in (D, D + window]
_OUTCOME_STEPS = (
    Steps()
    .add(
        "measured",
        """
SELECT * FROM decisions
WHERE run_id IN (SELECT unnest($run_ids::VARCHAR[])) AND arm <> 'none'""",
    )
    .add(
        "windows",
        """
SELECT unnest($actions::VARCHAR[]) AS action, unnest($label_weeks::INTEGER[]) AS label_weeks,
       unnest($outcomes::VARCHAR[]) AS outcome""",
    )
    .add(
        "converted",
        """
SELECT d.run_id, d.relation_id, sum(v.amount) AS amount
FROM measured d
JOIN runs r ON r.run_id = d.run_id
LEFT JOIN windows w ON w.action = d.action
JOIN conversions v ON v.relation_id = d.relation_id
 AND v.outcome = coalesce(w.outcome, 'investing')
 AND v.conversion_date > r.snapshot_date
 AND v.conversion_date <= r.snapshot_date + 7 * coalesce(w.label_weeks, $default_weeks)
GROUP BY ALL""",
    )
)

_OUTCOMES = _OUTCOME_STEPS.render(
    """
SELECT d.run_id, d.action, d.relation_id, d.arm, d.score, d.selected,
       d.assignment_probability AS p,
       CASE WHEN c.relation_id IS NULL THEN 0 ELSE 1 END AS converted,
       coalesce(c.amount, 0.0) AS amount
FROM measured d
LEFT JOIN converted c ON c.run_id = d.run_id AND c.relation_id = d.relation_id
ORDER BY d.run_id, d.action, d.relation_id"""
)


def _outcomes(
    store: Store, run_ids: list[str], label_weeks: dict[str, int], outcomes: dict[str, str]
) -> pa.Table:
    """Per measured decision of ``run_ids``: its arm, score, assignment probability, whether
    it reached its action's outcome in its action's label window and the amount."""
    return store.arrow(
        _OUTCOMES,
        {
            "run_ids": run_ids,
            "actions": list(label_weeks),
            "label_weeks": list(label_weeks.values()),
            "outcomes": [outcomes[a] for a in label_weeks],
            "default_weeks": _DEFAULT_LABEL_WEEKS,
        },
    )


def _evaluate(
    rows: dict[str, np.ndarray[Any, Any]],
    thresholds: list[float],
    *,
    run_id: str,
    action: str,
    snapshot_date: Any,
    complete: bool,
) -> RunEvaluation:
    """The figures of one run (or the pooled runs) and action from its measured decisions."""
    arm = rows["arm"]
    y = rows["converted"].astype(np.int64)
    amt = rows["amount"].astype(np.float64)
    figures = {}
    for name in ("treat", "holdout", "explore"):
        m = arm == name
        figures[name] = ArmFigures(
            name,
            int(m.sum()),
            int(y[m].sum()),
            rate(int(y[m].sum()), int(m.sum())),
            float(amt[m].mean()) if m.any() else 0.0,
        )
    t, h = arm == "treat", arm == "holdout"
    inc = newcombe(int(y[t].sum()), int(t.sum()), int(y[h].sum()), int(h.sum()))
    inc_amt = bootstrap_mean_diff(amt[t], amt[h])
    mailed = (arm == "treat") | (arm == "explore")
    population = ipw_rate(y[mailed], rows["p"][mailed])
    lift = (
        figures["treat"].conversion.value / population.value
        if population.value and population.value > 0
        else None
    )
    at = []
    score = rows["score"].astype(np.float64)
    for thr in thresholds:
        m = mailed & (score >= thr)
        if m.sum() == 0:
            continue
        est = ipw_rate(y[m], rows["p"][m])
        at.append({"threshold": thr, "mailed_observed": int(m.sum()), "conversion_if_mailed": est})
    return RunEvaluation(
        run_id=run_id,
        action=action,
        snapshot_date=snapshot_date,
        complete=complete,
        arms=figures,
        incremental_conversion=inc,
        incremental_amount=inc_amt,
        mailed_population_rate=population,
        model_lift=lift,
        thresholds=at,
    )


def _complete(run_id: str, days: dict[str, Any], last_outcome: Any, action: ActionConfig) -> bool:
    """Whether the outcomes reach past the label window of the run (of every run, pooled)."""
    window = dt.timedelta(weeks=action.label_weeks)
    if run_id == "pooled":
        return all(d + window <= (last_outcome or d) for d in days.values())
    day = days.get(run_id)
    return bool(day is not None and last_outcome is not None and day + window <= last_outcome)


def _recorded_actions(
    store: Store, run_ids: list[str], config: Config
) -> dict[str, dict[str, ActionConfig]]:
    """Per run, its actions as the run's recorded config had them (threshold and band as they
    were then); ``config``'s actions for a run that recorded none."""
    out: dict[str, dict[str, ActionConfig]] = {}
    for rid in run_ids:
        text = store.scalar("SELECT config_json FROM runs WHERE run_id = ?", [rid])
        cfg = (
            config_from_mapping(json.loads(text), origin=f"the config recorded by run {rid}")
            if text and text != "{}"
            else config
        )
        out[rid] = {a.name: a for a in cfg.actions}
    return out


def evaluate_runs(store: Store, config: Config, *, pooled: bool = True) -> list[RunEvaluation]:
    """Per exported run and action (and pooled over all of them, as run ``pooled``). Each run
    is measured against the threshold it was decided with (its recorded config); the pooled
    figures against ``config``'s."""
    runs = store.fetchall(
        "SELECT run_id, snapshot_date FROM runs WHERE status = 'exported' ORDER BY snapshot_date"
    )
    if not runs:
        return []
    recorded = _recorded_actions(store, [r[0] for r in runs], config)
    label_weeks = {a.name: a.label_weeks for acts in recorded.values() for a in acts.values()}
    label_weeks.update({a.name: a.label_weeks for a in config.actions})
    outcomes = {a.name: a.outcome for acts in recorded.values() for a in acts.values()}
    table = _outcomes(store, [r[0] for r in runs], label_weeks, outcomes)
    last_outcome = store.scalar("SELECT max(conversion_date) FROM conversions")
    days = dict(runs)
    cols = {c: table[c].to_numpy(zero_copy_only=False) for c in table.column_names}
    out: list[RunEvaluation] = []
    groups: list[tuple[str, str, np.ndarray[Any, Any]]] = []
    for rid, _ in runs:
        for action in recorded[rid].values():
            mask = (cols["run_id"] == rid) & (cols["action"] == action.name)
            if mask.any():
                groups.append((rid, action.name, mask))
    if pooled and len(runs) > 1:
        for action in config.actions:
            groups.append(("pooled", action.name, cols["action"] == action.name))
    for rid, action_name, mask in groups:
        action = config.action(action_name) if rid == "pooled" else recorded[rid][action_name]
        thr = action.threshold
        out.append(
            _evaluate(
                {k: v[mask] for k, v in cols.items()},
                [thr * f for f in (0.5, 0.75, 1.0, 1.5, 2.0)],
                run_id=rid,
                action=action_name,
                snapshot_date=days.get(rid),
                complete=_complete(rid, days, last_outcome, action),
            )
        )
    return out


@dataclass(frozen=True)
class PowerPlan:
    """One action's weekly volumes, holdout base rate, and the weeks until an uplift shows."""

    action: str
    weekly_treat: int
    weekly_holdout: int
    base_rate: float
    uplift: float
    holdout_needed: int
    weeks: int


def power_plan(store: Store, config: Config, *, uplift: float) -> list[PowerPlan]:
    """Per action: the weekly treat and holdout volumes of the recent runs, the base rate seen
    in the holdout, and the weeks until ``uplift`` (absolute) is detectable at 80% power."""
    plans: list[PowerPlan] = []
    for action in config.actions:
        row = store.fetchone(
            "SELECT avg(t), avg(h) FROM (SELECT run_id, count(*) FILTER (WHERE arm = 'treat') t, "
            "count(*) FILTER (WHERE arm = 'holdout') h FROM decisions WHERE action = ? "
            "GROUP BY run_id)",
            [action.name],
        )
        if row is None or not row[0] or not row[1]:
            continue
        base = (
            store.scalar(
                "SELECT avg(converted) FROM (SELECT d.relation_id, max(CASE WHEN v.relation_id IS "
                "NULL THEN 0 ELSE 1 END) AS converted FROM decisions d JOIN runs r USING (run_id) "
                "LEFT JOIN conversions v ON v.relation_id = d.relation_id AND v.outcome = ? "
                "AND v.conversion_date > r.snapshot_date AND v.conversion_date <= "
                "r.snapshot_date + ? WHERE d.arm = 'holdout' AND d.action = ? "
                "GROUP BY d.run_id, d.relation_id)",
                [action.outcome, 7 * action.label_weeks, action.name],
            )
            or 0.02
        )
        n, weeks = weeks_to_detect(
            float(base), uplift, weekly_treat=round(row[0]), weekly_holdout=round(row[1])
        )
        plans.append(
            PowerPlan(
                action=action.name,
                weekly_treat=round(row[0]),
                weekly_holdout=round(row[1]),
                base_rate=float(base),
                uplift=uplift,
                holdout_needed=n,
                weeks=weeks,
            )
        )
    return plans


def model_health(store: Store, config: Config) -> list[dict[str, Any]]:
    """Per run whose outcome window has closed: the model's PR-AUC, lift in the weekly bucket
    and calibration (mean score against realised conversion), measured on the eligible
    customers who were *not* mailed (holdout and none), so the mail's effect does not flatter
    it; with a warning when PR-AUC falls below 70% of the model's own evaluation or the mean
    score is off the realised rate by more than a factor of two. The weekly bucket is the
    ``max_weekly`` each run was decided with (its recorded config)."""

    last = store.scalar("SELECT max(conversion_date) FROM conversions")
    out: list[dict[str, Any]] = []
    runs = store.fetchall(
        "SELECT run_id, snapshot_date, models FROM runs WHERE status NOT IN "
        "('halted', 'skipped') ORDER BY snapshot_date",
    )
    recorded = _recorded_actions(store, [r[0] for r in runs], config)
    for today in config.actions:
        for rid, day, models in runs:
            action = recorded[rid].get(today.name)
            if action is None:
                continue
            if last is None or day + dt.timedelta(weeks=action.label_weeks - 1) > last:
                continue
            t = store.arrow(
                """
                SELECT d.score, CASE WHEN c.relation_id IS NULL THEN 0 ELSE 1 END AS y
                FROM decisions d
                LEFT JOIN (SELECT DISTINCT relation_id FROM conversions
                           WHERE outcome = ? AND conversion_date > ? AND conversion_date <= ?) c
                  ON c.relation_id = d.relation_id
                WHERE d.run_id = ? AND d.action = ? AND d.eligible
                  AND d.arm IN ('holdout', 'none')
                """,
                [
                    action.outcome,
                    day,
                    day + dt.timedelta(weeks=action.label_weeks),
                    rid,
                    action.name,
                ],
            )
            y = t["y"].to_numpy().astype(np.int8)
            s = t["score"].to_numpy(zero_copy_only=False).astype(np.float64)
            if len(y) < 50 or y.sum() == 0:
                continue
            version = json.loads(models).get(action.name)
            trained = store.scalar(
                "SELECT metrics FROM model_versions WHERE version = ?", [version]
            )
            ref = json.loads(trained).get("pr_auc") if trained else None
            p = pr_auc(y, s)
            ratio = float(s.mean() / y.mean())
            warnings = []
            if ref and p < 0.7 * ref:
                warnings.append(f"PR-AUC {p:.4f} is below 70% of the model's own {ref:.4f}")
            if not 0.5 <= ratio <= 2.0:
                warnings.append(f"mean score is {ratio:.2f}× the realised rate")
            out.append(
                {
                    "run": rid,
                    "action": action.name,
                    "customers": len(y),
                    "realised_rate": float(y.mean()),
                    "mean_score": float(s.mean()),
                    "pr_auc": p,
                    "pr_auc_at_training": ref,
                    "lift_at_bucket": lift_at(y, s, min(action.max_weekly, len(y))),
                    # the figures the evaluation report draws
                    "calibration": [asdict(b) for b in calibration_table(y, s)],
                    "lift_curve": lift_curve(y, s),
                    "warnings": warnings,
                }
            )
    return out


def email_funnel(store: Store, run_id: str) -> list[dict[str, Any]]:
    """Per action and mailed arm: customers sent a message, and the shares who opened, clicked,
    bounced and unsubscribed (any message of the run's flow)."""
    rows = store.fetchall(
        """
        SELECT d.action, d.arm, count(DISTINCT d.relation_id) AS n,
            count(DISTINCT e.relation_id) FILTER (WHERE e.event = 'sent') AS sent,
            count(DISTINCT e.relation_id) FILTER (WHERE e.event = 'opened') AS opened,
            count(DISTINCT e.relation_id) FILTER (WHERE e.event = 'clicked') AS clicked,
            count(DISTINCT e.relation_id) FILTER (WHERE e.event = 'bounced') AS bounced,
            count(DISTINCT e.relation_id) FILTER (WHERE e.event = 'unsubscribed') AS unsub
        FROM decisions d
        JOIN runs r USING (run_id)
        LEFT JOIN email_events e ON e.relation_id = d.relation_id AND e.action = d.action
         AND e.event_date > r.snapshot_date
        WHERE d.run_id = ? AND d.arm IN ('treat', 'explore')
        GROUP BY ALL ORDER BY d.action, d.arm
        """,
        [run_id],
    )
    keys = ("action", "arm", "customers", "sent", "opened", "clicked", "bounced", "unsubscribed")
    return [dict(zip(keys, r, strict=True)) for r in rows]
