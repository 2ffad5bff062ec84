"""Checks that need the whole pipeline: point-in-time correctness and the model card."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from nextbest.checks import market_state
from nextbest.config import ActionConfig, Config
from nextbest.features import FeatureSet, build_features, loaded_snapshot_dates
from nextbest.models import Finding, TrainingResult
from nextbest.store import Store


def _alter_future(store: Store, day: dt.date) -> None:
    """Change every kind of data after ``day``: later snapshots, prices and outcomes."""
    store.execute(
        "UPDATE snapshots SET total_balance = total_balance * 3 + 1000, "
        "app_installed = NOT app_installed, ib_logins_4w = ib_logins_4w + 7, "
        "n_accounts = n_accounts + 1, age = age + 1, is_investor = NOT is_investor "
        "WHERE snapshot_date > ?",
        [day],
    )
    store.execute("UPDATE market_prices SET price = price * 0.5 WHERE price_date > ?", [day])
    store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
        "SELECT relation_id, CAST(? AS DATE) + 3, 1000.0, 0 "
        "FROM snapshots WHERE snapshot_date = ?",
        [day, day],
    )


def check_point_in_time(store: Store, fs: FeatureSet, day: dt.date) -> list[Finding]:
    """Features for ``day``, then again after altering all data after ``day`` inside a
    store transaction that is discarded; every feature that moved is a critical finding."""
    before = build_features(store, fs, [day])
    with store.discarding():
        _alter_future(store, day)
        after = build_features(store, fs, [day])
    findings = []
    for name in fs.names:
        a = before[name].to_numpy(zero_copy_only=False).astype(np.float64)
        b = after[name].to_numpy(zero_copy_only=False).astype(np.float64)
        moved = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if moved.any():
            findings.append(
                Finding(
                    "point_in_time",
                    "critical",
                    (name,),
                    f"'{name}' for {day} changed for {int(moved.sum()):,} of {len(a):,} "
                    "customers when only data after that date was altered: it reads the "
                    "future.",
                    f"Rewrite '{name}' so it uses only snapshots, prices and events at or "
                    "before the snapshot date.",
                    float(moved.mean()),
                )
            )
    return findings


def pit_check_date(store: Store) -> dt.date | None:
    """A recent date with some future after it (little to alter, so the check is cheap)."""
    dates = loaded_snapshot_dates(store)
    return dates[-3] if len(dates) >= 3 else None


def market_band(store: Store, fund: str, dates: list[dt.date]) -> dict[str, float] | None:
    """Lowest and highest 4-week return, and the highest 20-business-day volatility of daily
    returns, of the fund over the training dates: the market the model has seen."""

    states = [s for d in dates if (s := market_state(store, fund, d)) is not None]
    if not states:
        return None
    return {
        "fund_return_4w_min": min(s["return_4w"] for s in states),
        "fund_return_4w_max": max(s["return_4w"] for s in states),
        "volatility_max": max(s["volatility"] for s in states),
    }


def model_card(
    action: ActionConfig,
    config: Config,
    fs: FeatureSet,
    result: TrainingResult,
    findings: list[Finding],
    band: dict[str, float] | None,
    training_rows: int,
) -> str:
    """The model card: data and purpose, figures, when not to use it, known weaknesses."""
    m = result.metrics[action.model.kind]
    split = result.split
    lines = [
        f"# Model card — {action.name} ({action.model.kind})",
        "",
        "## Purpose",
        f"Ranks customers by the probability that a customer {action.target}, to choose who "
        "receives "
        f"the '{action.name}' flow ({' → '.join(action.flow)}). It supports a marketing "
        "decision; it gives no advice and pushes no product.",
        "",
        "## Data used",
        f"- {training_rows:,} customer-weeks of non-investors on {len(split.train)} training, "
        f"{len(split.calibration)} calibration and {len(split.evaluation)} evaluation dates "
        f"(training {split.train[0]} … {split.train[-1]}; evaluation {split.evaluation[0]} … "
        f"{split.evaluation[-1]}; gaps of {split.gap_weeks} weeks).",
        "- Features: " + "; ".join(f"{d.name} ({d.unit})" for d in fs.definitions) + ".",
        "- Pseudonymous relation numbers only. Gender, postcode, names, addresses and "
        "nationality are never features.",
        "",
        "## Figures on the evaluation weeks",
        f"PR-AUC {m['pr_auc']:.4f}, ROC-AUC {m['roc_auc']:.3f}{_interval(m)}, lift at the "
        f"weekly bucket of {m['bucket']} {m['lift_at_bucket']:.2f}, Brier {m['brier']:.4f}, "
        f"mean score {m['mean_score']:.4f} against a base rate of {m['base_rate']:.4f}"
        f"{_baseline(action, result)}.",
        "",
    ]
    gate = m.get("gate")
    if gate:
        verdict = (
            "passed: it may become champion."
            if gate["passed"]
            else "**failed**: it stays a candidate; only a person can promote it, with "
            '`--override "reason"` recorded under their name.'
        )
        lines += ["## Release gate", f"The release gate {verdict}"]
        lines += [
            f"- {'pass' if r['passed'] else '**FAIL**'} {r['rule']} ({r['limit']}): {r['evidence']}"
            for r in gate["rules"]
        ]
        lines.append("")
    lines += ["## When not to use it"]
    if band:
        lines.append(
            f"- When the market is outside the band seen in training: the reference fund's "
            f"4-week return ranged from {band['fund_return_4w_min']:+.1%} to "
            f"{band['fund_return_4w_max']:+.1%}. In a crash, humans take the wheel."
        )
    lines += [
        f"- For customers under {action.min_age}, or without an e-mail opt-in for "
        f"{action.content_type} content (they are never eligible anyway).",
        "- For another outcome or another channel than it was trained for.",
        "",
        "## Known weaknesses",
    ]
    gap = m["mean_score"] - m["base_rate"]
    lines.append(
        f"- Calibration on the evaluation weeks is off by {gap:+.4f} on average (mean score "
        "minus base rate); seasons (May holiday pay) shift the base rate."
    )
    lines.append("- Customers without 8 weeks of history have no balance trend.")
    if findings:
        lines += ["", "## Findings at training (leakage hunt and release gate)"]
        lines += [f"- **{f.severity}** {f.check}: {f.evidence}" for f in findings]
    return "\n".join(lines) + "\n"


def _interval(m: dict[str, Any]) -> str:
    ci = m.get("roc_auc_ci")
    if not ci:
        return ""
    return f" ({m.get('roc_auc_ci_level', 0.95):.0%} interval {ci[0]:.3f}–{ci[1]:.3f})"


def _baseline(action: ActionConfig, result: TrainingResult) -> str:
    base = result.metrics.get("logistic")
    if action.model.kind == "logistic" or not base:
        return ""
    return f"; the logistic baseline on the same rows: ROC-AUC {base['roc_auc']:.3f}"


def describe_findings(findings: list[Finding]) -> list[dict[str, Any]]:
    return [f.to_dict() for f in findings]
