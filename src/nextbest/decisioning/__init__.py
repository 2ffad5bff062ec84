"""Eligibility, selection, volume bounds and randomised arms — pure functions over tables."""

from nextbest.decisioning._arms import ArmAssignment, Selection, assign_arms, select
from nextbest.decisioning._eligibility import (
    BUILTIN_RULES,
    LEGAL_RULES,
    eligibility,
    eligibility_params,
    eligibility_query,
    eligibility_sql,
    eligibility_steps,
    eligibility_trail,
    rule_descriptions,
)

__all__ = [
    "BUILTIN_RULES",
    "LEGAL_RULES",
    "ArmAssignment",
    "Selection",
    "assign_arms",
    "eligibility",
    "eligibility_params",
    "eligibility_query",
    "eligibility_sql",
    "eligibility_steps",
    "eligibility_trail",
    "rule_descriptions",
    "select",
]
