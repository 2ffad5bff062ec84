"""Eligibility, selection, volume bounds and randomised arms — pure functions over tables."""

from nextbest.decisioning._arbitrated_arms import ActionArms, ArbitratedArms, arbitrated_arms
from nextbest.decisioning._arbitration import ActionLimits, Assignment, Limit, arbitrate
from nextbest.decisioning._arms import ArmAssignment, Selection, assign_arms, select
from nextbest.decisioning._eligibility import (
    BUILTIN_RULES,
    LEGAL_RULES,
    eligibility,
    eligibility_params,
    eligibility_query,
    eligibility_steps,
    eligibility_trail,
    rule_descriptions,
)
from nextbest.decisioning._kernel import Decision, Policy, Scorer, check_aligned, decide

__all__ = [
    "BUILTIN_RULES",
    "LEGAL_RULES",
    "ActionArms",
    "ActionLimits",
    "ArbitratedArms",
    "ArmAssignment",
    "Assignment",
    "Decision",
    "Limit",
    "Policy",
    "Scorer",
    "Selection",
    "arbitrate",
    "arbitrated_arms",
    "assign_arms",
    "check_aligned",
    "decide",
    "eligibility",
    "eligibility_params",
    "eligibility_query",
    "eligibility_steps",
    "eligibility_trail",
    "rule_descriptions",
    "select",
]
