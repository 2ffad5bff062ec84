"""Settings of an action: its eligibility rules, its model and its contact policy."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from nextbest._scalar_sql import RULE_COLUMNS, scalar_sql
from nextbest.config._base import _IDENT, SENSITIVE_ATTRIBUTES, _Model
from nextbest.errors import ConfigError


class EligibilityRule(_Model):
    """A config-defined eligibility rule: a SQL condition over the customer's snapshot at D.

    The SQL must be one scalar expression over the snapshot columns (see
    docs/configuration.md); it is parsed at load and refused otherwise.
    """

    name: str
    sql: str = Field(
        description="Condition that must be TRUE to stay eligible, e.g. 'total_balance >= 100'."
    )
    description: str = Field(default="", description="Why the rule exists, in plain words.")
    audience: bool = Field(
        default=False,
        description="The rule also bounds whom the action's model learns from: outside it the "
        "outcome does not happen (e.g. a savings nudge for customers without savings).",
    )

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"rule name {value!r} must be lower-case letters, digits and '_'")
        return value

    @model_validator(mode="after")
    def _scalar(self) -> EligibilityRule:
        try:
            self.checked_sql()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def checked_sql(self, *, table: str | None = None) -> str:
        """The condition regenerated from its parsed tree, columns qualified with ``table``;
        what a query embeds (never :attr:`sql` itself). Raises ConfigError when it breaks the
        grammar."""
        return scalar_sql(
            self.sql,
            columns=RULE_COLUMNS,
            what=f"rule '{self.name}'",
            table=table,
            sensitive=SENSITIVE_ATTRIBUTES,
        )


class ModelSpec(_Model):
    """Which propensity model an action uses, and how strongly it is regularised."""

    kind: Literal["lightgbm", "logistic", "micromodels"] = Field(
        default="lightgbm",
        description="'lightgbm' (gradient boosting), 'logistic', or 'micromodels' (a "
        "regularised logistic combination of the components listed in 'components').",
    )
    components: list[str] = Field(
        default_factory=list,
        description="With kind = 'micromodels': the micromodel components the model combines, "
        "e.g. ['engagement', 'market_climate', 'balance_momentum'].",
    )
    n_estimators: int = Field(default=200, ge=10, le=5000, description="LightGBM trees.")
    learning_rate: float = Field(default=0.05, gt=0, le=1, description="LightGBM step size.")
    num_leaves: int = Field(default=15, ge=2, le=1024, description="LightGBM leaves per tree.")
    min_child_samples: int = Field(
        default=200, ge=1, description="LightGBM: fewest customers in a leaf (against memorising)."
    )
    l2: float = Field(
        default=10.0, ge=0, description="L2 penalty: LightGBM lambda_l2, logistic 1/C."
    )
    monotone: dict[str, Literal[-1, 1]] = Field(
        default_factory=dict,
        description="Features the score may only rise (1) or only fall (-1) with (LightGBM).",
    )

    @model_validator(mode="after")
    def _available(self) -> ModelSpec:
        # refused rather than accepted and ignored until the components are built
        if self.kind == "micromodels" or self.components:
            raise ValueError(
                "[actions.model] kind = 'micromodels' (and components) is not available in "
                "this version; use kind = 'lightgbm' or 'logistic'"
            )
        return self


class ValueModelSpec(_Model):
    """A model of the amount on conversion (e.g. the first amount invested), trained
    point-in-time like the propensity model: the action's value becomes its prediction."""

    kind: Literal["lightgbm", "ridge"] = Field(
        default="ridge", description="'ridge' (on the log amount) or 'lightgbm'."
    )
    l2: float = Field(default=10.0, ge=0, description="L2 penalty.")


class ActionConfig(_Model):
    """Something the bank can do for a customer, with its rules, model and volume bounds."""

    name: str
    description: str = ""
    channel: Literal["email"] = "email"
    content_type: str = Field(
        default="investing",
        description="Opt-in needed for this content: the snapshot column optin_<content_type>.",
    )
    flow: list[str] = Field(
        default_factory=lambda: ["inform", "how-to-start", "concrete-steps"],
        description="The messages of the flow, in order; it stops when the customer converts.",
    )
    flow_weeks: int = Field(default=3, ge=1, le=52, description="Weeks a flow runs.")
    target: str = Field(
        default="opens an investment account within 8 weeks",
        description="The outcome the action aims at, in words.",
    )
    label_weeks: int = Field(default=8, ge=1, le=52, description="Window of the target outcome.")
    outcome: str = Field(
        default="investing",
        description="Which rows of the conversions table are this action's target outcome "
        "(their outcome column); 'investing' also excludes customers who already invest.",
    )
    min_age: int = Field(
        default=18, ge=0, le=120, description="Youngest age that may be contacted."
    )
    cooldown_weeks: int = Field(
        default=8, ge=0, le=104, description="No new contact within this many weeks of the last."
    )
    rules: list[EligibilityRule] = Field(default_factory=list)
    model: ModelSpec = Field(default_factory=ModelSpec)
    threshold: float = Field(
        default=0.05, ge=0, le=1, description="Select customers whose calibrated score ≥ this."
    )
    min_weekly: int = Field(default=0, ge=0, description="Fewer selected than this is flagged.")
    max_weekly: int = Field(default=2000, ge=1, description="Most customers selected in a week.")
    holdout_fraction: float = Field(
        default=0.1, ge=0, lt=1, description="Share of the selected kept out as holdout."
    )
    exploration_size: int = Field(
        default=200, ge=0, description="Eligible, not-selected customers mailed at random."
    )
    value: float = Field(
        default=1.0,
        ge=0,
        description="Euros a conversion of the target outcome is worth (a fixed value).",
    )
    value_model: ValueModelSpec | None = Field(
        default=None,
        description="Instead of a fixed value: a model of the amount on conversion, whose "
        "prediction per customer is the value (then 'value' must not be set).",
    )
    margin: float = Field(
        default=1.0, ge=0, le=1, description="Share of the value that is the bank's margin."
    )
    lever: float = Field(
        default=1.0, ge=0, description="Business weight of the action in arbitration (a knob)."
    )
    contact_cost: float = Field(
        default=0.0, ge=0, description="Euros one contact costs, subtracted in arbitration."
    )

    def priority(self, score: Any) -> Any:
        """What a contact is worth in arbitration: P(convert) × value × margin × lever − cost
        (euros; works on a number or an array of scores)."""
        return score * (self.value * self.margin * self.lever) - self.contact_cost

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]*$", value):
            raise ValueError(
                f"action name {value!r} must be lower-case letters, digits and '-', "
                "e.g. 'invest-onboarding'"
            )
        return value

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"outcome {value!r} must be lower-case letters, digits and '_'")
        return value

    @field_validator("content_type")
    @classmethod
    def _content(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"content_type {value!r} must be lower-case letters and '_'")
        return value

    @model_validator(mode="after")
    def _one_value(self) -> ActionConfig:
        if self.value_model is not None and "value" not in self.model_fields_set:
            raise ValueError(
                f"action '{self.name}': [actions.value_model] is not available in this version "
                "(nothing would train it); set a fixed value in euros instead"
            )
        if self.value_model is not None and "value" in self.model_fields_set:
            raise ValueError(
                f"action '{self.name}' sets both value and [actions.value_model]; keep one: a "
                "fixed value in euros, or a model of the amount on conversion"
            )
        return self

    @model_validator(mode="after")
    def _bounds(self) -> ActionConfig:
        if self.min_weekly > self.max_weekly:
            raise ValueError(
                f"min_weekly ({self.min_weekly}) is above max_weekly ({self.max_weekly}) "
                f"for action '{self.name}'; lower min_weekly or raise max_weekly"
            )
        return self


class ContactPolicyConfig(_Model):
    """How often a customer may be contacted over all actions."""

    max_contacts: int = Field(
        default=1, ge=1, le=52, description="Most contacts per customer within window_weeks."
    )
    window_weeks: int | None = Field(
        default=None,
        ge=1,
        le=104,
        description="The rolling window in weeks (default: each action's cooldown_weeks).",
    )

    @model_validator(mode="after")
    def _available(self) -> ContactPolicyConfig:
        if self.max_contacts != 1 or self.window_weeks is not None:
            raise ValueError(
                "[contact_policy] max_contacts / window_weeks are not available in this "
                "version: each action's cooldown_weeks keeps out a customer contacted by any "
                "action within it (one contact per cooldown); remove [contact_policy]"
            )
        return self


class ChannelConfig(_Model):
    """A way of reaching customers and how many contacts it takes in a week."""

    capacity: int = Field(ge=0, description="Most contacts over all its actions in one week.")


def _default_actions() -> list[ActionConfig]:
    return [
        ActionConfig(
            name="invest-onboarding",
            description="A three-message e-mail flow towards a first investment.",
        )
    ]
