"""Measuring the effect: outcomes per arm, incrementality with intervals, IPW, power."""

from nextbest.evaluation._experiment import ArmEffect, arm_effects
from nextbest.evaluation._fairness import (
    NeverSelected,
    NeverSelectedProfile,
    NeverSelectedReason,
    never_selected,
    proxy_check,
    selection_by_group,
)
from nextbest.evaluation._runs import (
    ArmFigures,
    PowerPlan,
    RunEvaluation,
    email_funnel,
    evaluate_runs,
    model_health,
    power_plan,
)
from nextbest.evaluation._stats import (
    Estimate,
    bootstrap_mean_diff,
    ipw_rate,
    newcombe,
    rate,
    weeks_to_detect,
    wilson,
)

__all__ = [
    "ArmEffect",
    "ArmFigures",
    "Estimate",
    "NeverSelected",
    "NeverSelectedProfile",
    "NeverSelectedReason",
    "PowerPlan",
    "RunEvaluation",
    "arm_effects",
    "bootstrap_mean_diff",
    "email_funnel",
    "evaluate_runs",
    "ipw_rate",
    "model_health",
    "never_selected",
    "newcombe",
    "power_plan",
    "proxy_check",
    "rate",
    "selection_by_group",
    "weeks_to_detect",
    "wilson",
]
