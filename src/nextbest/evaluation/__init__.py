"""Measuring the effect: outcomes per arm, incrementality with intervals, IPW, power."""

from nextbest.evaluation._experiment import ArmEffect, arm_effects
from nextbest.evaluation._runs import ArmFigures, RunEvaluation, evaluate_runs, power_plan
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
    "RunEvaluation",
    "arm_effects",
    "bootstrap_mean_diff",
    "evaluate_runs",
    "ipw_rate",
    "newcombe",
    "power_plan",
    "rate",
    "weeks_to_detect",
    "wilson",
]
