"""Eligibility, selection, volume bounds and randomised arms — pure functions over tables."""

from nextbest.decisioning._arms import ArmAssignment, Selection, assign_arms, select
from nextbest.decisioning._eligibility import (
    BUILTIN_RULES,
    eligibility,
    eligibility_sql,
    eligibility_trail,
    rule_descriptions,
)

__all__ = [
    "BUILTIN_RULES",
    "ArmAssignment",
    "Selection",
    "assign_arms",
    "eligibility",
    "eligibility_sql",
    "eligibility_trail",
    "rule_descriptions",
    "select",
]
