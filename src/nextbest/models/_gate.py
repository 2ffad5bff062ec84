"""The release gate: what a model must show on the evaluation weeks before it may go live.

Three rules, each measured on the evaluation weeks of the time split (the rows the metrics use):

* **above_chance** — the lower end of the 95% interval of the model's ROC-AUC is above 0.5.
  The interval comes from a bootstrap over *customers* (``scipy.stats.bootstrap``, percentile
  method): a customer appears on several evaluation dates with nearly the same features and
  outcome, so resampling rows would pretend to more evidence than there is.
* **beats_baseline** — the model's ROC-AUC is at least the logistic baseline's on the same rows,
  less a small tolerance (the figures of two models fitted on the same data differ by a few
  thousandths from seed and tie noise alone).
* **not_everyone** — on no evaluation date would the action's policy (eligibility, threshold,
  weekly maximum) select more than a limit (95%) of the eligible: a policy that selects
  everyone decides nothing and leaves no one for the exploration arm.

A failed rule is a ``critical`` finding: the model stays a candidate, and only a person can
promote it, with a written reason recorded under their name (``--override``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nextbest.config import ReleaseConfig
from nextbest.models._leakage import Finding

#: the checks of the release gate, in the order they are evaluated
GATE_CHECKS = ("above_chance", "beats_baseline", "not_everyone")


@dataclass(frozen=True)
class GateSettings:
    """Limits of the release gate; the defaults are ``[release]``'s."""

    confidence: float = 0.95
    baseline_tolerance: float = 0.01
    max_selected_share: float = 0.95
    n_resamples: int = 1000
    seed: int = 0

    @classmethod
    def from_config(cls, config: ReleaseConfig) -> GateSettings:
        """The ``[release]`` limits, with the defaults for the rest."""
        return cls(
            baseline_tolerance=config.baseline_auc_tolerance,
            max_selected_share=config.max_selected_share,
        )


def _fmt_ci(m: dict[str, Any]) -> str:
    lo, hi = m.get("roc_auc_ci") or (float("nan"), float("nan"))
    level = m.get("roc_auc_ci_level", 0.95)
    return f"{level:.0%} interval {lo:.3f}–{hi:.3f}"


@dataclass(frozen=True)
class _Rule:
    """One rule of the gate as it came out: its record, and the finding when it failed."""

    name: str
    passed: bool
    figure: float
    limit: str
    evidence: str
    remedy: str


def _above_chance(metrics: dict[str, Any], calibration_slope: float | None) -> _Rule:
    auc = float(metrics.get("roc_auc", float("nan")))
    lo = float((metrics.get("roc_auc_ci") or [float("nan")])[0])
    passed = not math.isnan(lo) and lo > 0.5
    inverted = (
        f" The calibration slice reversed the model's ranking (Platt slope "
        f"{calibration_slope:+.3f})."
        if calibration_slope is not None and calibration_slope <= 0
        else ""
    )
    return _Rule(
        "above_chance",
        passed,
        lo,
        "lower end > 0.5",
        f"ROC-AUC {auc:.3f} on the evaluation weeks ({_fmt_ci(metrics)}, bootstrap over "
        f"customers; {metrics.get('n_positive', 0)} converters): "
        + (
            "clearly above chance."
            if passed
            else "not clearly above chance (0.5) — the model may rank no better than a coin."
        )
        + inverted,
        "Train on more weeks or customers (a longer label window gives more converters), use "
        "fewer or simpler features, or keep the current champion.",
    )


def _beats_baseline(
    metrics: dict[str, Any], baseline: dict[str, Any], settings: GateSettings
) -> _Rule:
    auc = float(metrics.get("roc_auc", float("nan")))
    base_auc = float(baseline.get("roc_auc", float("nan")))
    margin = auc - base_auc
    return _Rule(
        "beats_baseline",
        not math.isnan(margin) and margin >= -settings.baseline_tolerance,
        margin,
        f"≥ −{settings.baseline_tolerance}",
        f"ROC-AUC {auc:.3f} against {base_auc:.3f} for the logistic baseline on the same "
        f"rows ({margin:+.3f}; tolerance {settings.baseline_tolerance}).",
        "Prefer the baseline ([actions.model] kind = 'logistic'), or regularise the model "
        "more (fewer leaves, more customers per leaf).",
    )


def _not_everyone(selection: dict[str, Any], settings: GateSettings) -> _Rule:
    share = float(selection["max_share"])
    ok = share <= settings.max_selected_share
    return _Rule(
        "not_everyone",
        ok,
        share,
        f"≤ {settings.max_selected_share:.0%}",
        f"On {selection['date']} the policy would select {selection['selected']:,} of "
        f"{selection['eligible']:,} eligible ({share:.0%}; limit "
        f"{settings.max_selected_share:.0%}): "
        + ("it still chooses." if ok else "it selects everyone and leaves no one to explore."),
        "Raise the action's threshold or lower max_weekly, or fix the calibration (scores "
        "far above the base rate).",
    )


def release_gate(
    metrics: dict[str, Any],
    *,
    baseline: dict[str, Any] | None,
    selection: dict[str, Any] | None,
    settings: GateSettings,
    calibration_slope: float | None = None,
) -> tuple[dict[str, Any], list[Finding]]:
    """Apply the three rules to the deployed model's evaluation figures.

    ``metrics`` are the model's (with ``roc_auc`` and ``roc_auc_ci``), ``baseline`` the
    logistic baseline's on the same rows (``None`` when the model *is* the baseline), and
    ``selection`` the policy on the evaluation dates: ``max_share`` (the highest share of the
    eligible selected on one date) with ``date``, ``selected`` and ``eligible`` of that date.
    Returns the gate record (kept in the metrics) and one critical finding per failed rule.
    """
    rules = [_above_chance(metrics, calibration_slope)]
    if baseline is not None:
        rules.append(_beats_baseline(metrics, baseline, settings))
    if selection is not None and selection.get("max_share") is not None:
        rules.append(_not_everyone(selection, settings))
    findings = [
        Finding(r.name, "critical", (), r.evidence, r.remedy, r.figure)
        for r in rules
        if not r.passed
    ]
    record = {
        "passed": not findings,
        "rules": [
            {
                "rule": r.name,
                "passed": r.passed,
                "figure": r.figure,
                "limit": r.limit,
                "evidence": r.evidence,
            }
            for r in rules
        ],
    }
    return record, findings


def gate_failures(findings: list[Finding]) -> list[Finding]:
    """The critical findings that come from the release gate (not from the leakage hunt)."""
    return [f for f in findings if f.check in GATE_CHECKS and f.severity == "critical"]
