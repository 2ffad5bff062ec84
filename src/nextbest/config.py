"""Typed project configuration: one TOML file, validated at load with actionable errors.

The configuration holds the business knobs and where the data lives. Secrets never live here;
they come from the environment. Relative paths are resolved against the folder of the TOML
file, so a project folder can be moved as a whole.

Example
-------
>>> cfg = Config.model_validate({"store": {"path": "bank.duckdb"}})
>>> cfg.store.path.name
'bank.duckdb'
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nextbest._scalar_sql import FEATURE_COLUMNS, RULE_COLUMNS, scalar_sql, sensitive_message
from nextbest.errors import ConfigError

__all__ = [
    "DEFAULT_FEATURES",
    "SENSITIVE_ATTRIBUTES",
    "ActionConfig",
    "AlertsConfig",
    "ApiConfig",
    "BacktestConfig",
    "ChecksConfig",
    "Config",
    "CustomFeature",
    "EligibilityRule",
    "FeaturesConfig",
    "LeakageConfig",
    "ModelSpec",
    "ReleaseConfig",
    "RunConfig",
    "SourceConfig",
    "SourcesConfig",
    "StoreConfig",
    "TrainingConfig",
    "WhatIf",
    "load_config",
]

#: Attributes that may never become model features. They may only be loaded into the
#: audit-only table (``audit.sensitive_attributes``) for fairness checks.
SENSITIVE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "gender",
        "sex",
        "postcode",
        "postcode_area",
        "zip",
        "zipcode",
        "name",
        "first_name",
        "last_name",
        "address",
        "street",
        "nationality",
        "ethnicity",
        "religion",
        "birth_place",
    }
)

#: The feature set used when the config does not name one.
DEFAULT_FEATURES: tuple[str, ...] = (
    "age",
    "balance",
    "balance_trend",
    "engagement",
    "tenure_years",
    "market_trend",
)

_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Model):
    """Where the embedded DuckDB store lives."""

    path: Path = Field(
        default=Path("nextbest-data/nextbest.duckdb"),
        description="DuckDB database file; created on first use.",
    )
    memory_limit: str | None = Field(
        default=None, description="DuckDB memory limit, e.g. '8GB'; default: DuckDB's own (80%)."
    )
    threads: int | None = Field(default=None, ge=1, description="DuckDB worker threads.")


class SourceConfig(_Model):
    """One input table delivered as files (a warehouse export)."""

    path: str = Field(description="A file, a folder, or a glob such as 'exports/snap_*.csv'.")
    format: Literal["auto", "parquet", "csv"] = Field(
        default="auto", description="'auto' decides by file extension."
    )
    delimiter: str = Field(default=",", description="CSV field delimiter.")
    date_format: str | None = Field(
        default=None, description="strptime format of CSV dates, e.g. '%d-%m-%Y'; default ISO."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Mapping from nextbest's column name to the column name in your file.",
    )

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"delimiter must be one character, got {value!r}")
        return value


class SourcesConfig(_Model):
    """The input tables. Each is optional; a command that needs a missing one says so."""

    snapshots: SourceConfig | None = None
    market: SourceConfig | None = None
    conversions: SourceConfig | None = None
    email_events: SourceConfig | None = Field(
        default=None, description="What the e-mail tool reports: sent, opened, clicked, …"
    )
    audit: SourceConfig | None = Field(
        default=None,
        description="Audit-only sensitive attributes for fairness checks; never features.",
    )

    @model_validator(mode="after")
    def _no_sensitive_outside_audit(self) -> SourcesConfig:
        for table in ("snapshots", "market", "conversions", "email_events"):
            source: SourceConfig | None = getattr(self, table)
            if source is None:
                continue
            for canonical in source.columns:
                if canonical.lower() in SENSITIVE_ATTRIBUTES:
                    raise ValueError(
                        f"[sources.{table}.columns] maps the sensitive attribute "
                        f"'{canonical}'; sensitive attributes may only be loaded through "
                        "[sources.audit] for fairness checks. Remove it from "
                        f"[sources.{table}.columns]."
                    )
        return self


class CustomFeature(_Model):
    """A feature defined by a SQL expression over the snapshot columns at date D.

    The SQL must be one scalar expression over the columns of the feature base (see
    docs/configuration.md); it is parsed at load and refused otherwise.
    """

    name: str
    sql: str = Field(description="SQL expression over the current snapshot row, e.g. 'n_accounts'")
    description: str = Field(description="Plain-language description a data analyst can pass on.")

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(
                f"feature name {value!r} must be lower-case letters, digits and '_' "
                "and start with a letter"
            )
        return value

    @model_validator(mode="after")
    def _scalar(self) -> CustomFeature:
        if self.name.lower() in SENSITIVE_ATTRIBUTES:
            raise ValueError(sensitive_message(self.name, "[[features.custom]] name"))
        try:
            self.checked_sql()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self

    def checked_sql(self, *, table: str | None = None) -> str:
        """The SQL regenerated from its parsed tree, columns qualified with ``table``; what a
        query embeds (never :attr:`sql` itself). Raises ConfigError when it breaks the grammar."""
        return scalar_sql(
            self.sql,
            columns=FEATURE_COLUMNS,
            what=f"custom feature '{self.name}'",
            table=table,
            sensitive=SENSITIVE_ATTRIBUTES,
        )


class FeaturesConfig(_Model):
    """Which features the models see."""

    enabled: list[str] = Field(default_factory=lambda: list(DEFAULT_FEATURES))
    custom: list[CustomFeature] = Field(default_factory=list)
    market_fund: str = Field(
        default="balanced", description="Fund whose price series feeds the market features."
    )

    @model_validator(mode="after")
    def _no_sensitive_features(self) -> FeaturesConfig:
        for name in self.enabled:
            if name.lower() in SENSITIVE_ATTRIBUTES:
                raise ValueError(sensitive_message(name, "[features].enabled"))
        names = [*self.enabled, *(f.name for f in self.custom)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"feature names must be unique; repeated: {duplicates}")
        return self


class TrainingConfig(_Model):
    """How training tables are sampled from history."""

    label_weeks: int = Field(
        default=8, ge=1, le=52, description="Label: converted within this many weeks after D."
    )
    n_dates: int = Field(default=20, ge=1, description="Snapshot dates sampled across history.")
    customer_fraction: float = Field(
        default=1.0, gt=0.0, le=1.0, description="Share of customers sampled per date."
    )
    history_weeks: int = Field(
        default=8, ge=0, description="Weeks of history a date needs before it can be sampled."
    )
    seed: int = Field(default=0, description="Seed of the customer sample.")


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

    kind: Literal["lightgbm", "logistic"] = Field(
        default="lightgbm", description="'lightgbm' (gradient boosting) or 'logistic'."
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

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]*$", value):
            raise ValueError(
                f"action name {value!r} must be lower-case letters, digits and '-', "
                "e.g. 'invest-onboarding'"
            )
        return value

    @field_validator("content_type")
    @classmethod
    def _content(cls, value: str) -> str:
        if not _IDENT.match(value):
            raise ValueError(f"content_type {value!r} must be lower-case letters and '_'")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> ActionConfig:
        if self.min_weekly > self.max_weekly:
            raise ValueError(
                f"min_weekly ({self.min_weekly}) is above max_weekly ({self.max_weekly}) "
                f"for action '{self.name}'; lower min_weekly or raise max_weekly"
            )
        return self


def _default_actions() -> list[ActionConfig]:
    return [
        ActionConfig(
            name="invest-onboarding",
            description="A three-message e-mail flow towards a first investment.",
        )
    ]


class LeakageConfig(_Model):
    """Ceilings of the leakage hunt that runs at every training."""

    feature_auc_ceiling: float = Field(
        default=0.90, gt=0.5, le=1, description="A single feature above this ROC-AUC is a leak."
    )
    model_auc_ceiling: float = Field(
        default=0.95, gt=0.5, le=1, description="A model above this ROC-AUC is a leak."
    )
    gap_warning: float = Field(
        default=0.03, ge=0, description="Random-CV minus later-weeks ROC-AUC: warning from here."
    )
    gap_critical: float = Field(
        default=0.08, ge=0, description="Random-CV minus later-weeks ROC-AUC: critical from here."
    )


class ReleaseConfig(_Model):
    """The release table a candidate must pass before it becomes champion."""

    compare_weeks: int = Field(
        default=4, ge=1, le=52, description="Recent weeks with complete outcomes to compare on."
    )
    pr_auc_max_drop: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Candidate PR-AUC may be at most this share below the champion's.",
    )
    calibration_max_increase: float = Field(
        default=0.005,
        ge=0,
        description="Candidate calibration error may exceed the champion's by at most this.",
    )
    rank_correlation_min: float = Field(
        default=0.5,
        ge=-1,
        le=1,
        description="Least Spearman correlation of the two models' feature-importance ranks.",
    )
    action_change_max: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Most share of the selected whose action would change on the latest week.",
    )
    baseline_auc_tolerance: float = Field(
        default=0.01,
        ge=0,
        le=0.1,
        description="A model's evaluation ROC-AUC may be at most this below the logistic "
        "baseline's on the same rows.",
    )
    max_selected_share: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="Most share of the eligible the policy may select on an evaluation week.",
    )


class WhatIf(_Model):
    """Shift one feature for every customer and watch the weekly volume respond."""

    feature: str
    shift: float = Field(description="Added to the feature for everyone, e.g. 0.05.")
    expect: Literal["not_fall", "not_rise", "none"] = Field(
        default="none",
        description="Checked on every backtest: the volume must not fall / not rise.",
    )


class BacktestConfig(_Model):
    """History replay."""

    retrain_every_weeks: int = Field(
        default=13, ge=1, le=104, description="Retrain on the data known at the time this often."
    )
    whatif: list[WhatIf] = Field(
        default_factory=lambda: [WhatIf(feature="market_trend", shift=1.0, expect="not_fall")],
        description="Feature shifts to replay, each with an optional expectation.",
    )


class AlertsConfig(_Model):
    """Where halt alerts go. Credentials: NEXTBEST_SMTP_USER / NEXTBEST_SMTP_PASSWORD."""

    recipients: list[str] = Field(default_factory=list, description="E-mail addresses.")
    sender: str = Field(default="nextbest@localhost", description="From address.")
    smtp_host: str = Field(default="localhost", description="SMTP server.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    security: Literal["none", "starttls", "ssl"] = Field(
        default="starttls", description="'starttls', 'ssl' (implicit TLS) or 'none'."
    )
    timeout_seconds: float = Field(default=20.0, gt=0, description="SMTP timeout.")
    attempts: int = Field(
        default=3, ge=1, le=10, description="Tries per alert before it is recorded as failed."
    )
    retry_seconds: float = Field(
        default=2.0, ge=0, le=300, description="Wait before the second try; doubles each time."
    )

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or " " in address.strip():
                raise ValueError(f"recipient {address!r} is not an e-mail address")
        return value


class ApiConfig(_Model):
    """The JSON API and the console ('nextbest serve')."""

    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=64 * 1_048_576,
        description="Request bodies larger than this are refused with 413 before they are read.",
    )
    store_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="How long a request waits for another process holding the store (then 503).",
    )


class ChecksConfig(_Model):
    """Limits of the checks before and after deciding a week."""

    row_change_warn: float = Field(default=0.10, ge=0, description="Row-count change: warn.")
    row_change_halt: float = Field(default=0.25, ge=0, description="Row-count change: halt.")
    psi_warn: float = Field(default=0.10, ge=0, description="Feature drift (PSI): warn.")
    psi_halt: float = Field(default=0.25, ge=0, description="Feature drift (PSI): halt.")
    runaway_factor: float = Field(
        default=2.0, gt=1, description="Halt when more than this × max_weekly score above."
    )
    concentration_warn: float = Field(
        default=0.35, ge=0, le=1, description="Selected vs eligible distance: warn."
    )
    concentration_halt: float = Field(
        default=0.60, ge=0, le=1, description="Selected vs eligible distance: halt."
    )


class RunConfig(_Model):
    """The weekly run."""

    seed: int = Field(default=20240107, description="Seed of the randomised arms.")
    reasons_top: int = Field(default=3, ge=1, le=7, description="Reason codes per customer.")


class Config(_Model):
    """The whole project configuration."""

    store: StoreConfig = Field(default_factory=StoreConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    features: FeaturesConfig = Field(default_factory=FeaturesConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    actions: list[ActionConfig] = Field(default_factory=_default_actions)
    run: RunConfig = Field(default_factory=RunConfig)
    leakage: LeakageConfig = Field(default_factory=LeakageConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    backtest: BacktestConfig = Field(default_factory=BacktestConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)

    #: the file this config was read from (None when built in code)
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_actions(self) -> Config:
        names = [a.name for a in self.actions]
        if not names:
            raise ValueError("[[actions]] is empty; configure at least one action")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"action names must be unique; repeated: {repeated}")
        return self

    def action(self, name: str) -> ActionConfig:
        """The action called ``name``, or a ConfigError with a did-you-mean."""
        for action in self.actions:
            if action.name == name:
                return action
        from nextbest.errors import did_you_mean

        names = [a.name for a in self.actions]
        raise ConfigError(
            f"unknown action '{name}';{did_you_mean(name, names)} Actions: {', '.join(names)}"
        )

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path from the config against the folder of the config file."""
        p = Path(path)
        if p.is_absolute() or self.source_path is None:
            return p
        return self.source_path.parent / p


def _format_validation_error(exc: ValidationError, origin: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if err["type"] == "extra_forbidden":
            msg = f"unknown setting '{loc}'; check its spelling against docs/configuration.md"
        elif "input" in err and err["type"] != "value_error":
            msg = f"{msg} (got {err['input']!r})"
        lines.append(f"{origin}: setting '{loc}': {msg}")
    return "\n".join(lines)


def config_from_mapping(data: Mapping[str, Any], *, origin: str = "<config>") -> Config:
    """Validate a mapping (e.g. parsed TOML) into a :class:`Config`."""
    try:
        return Config.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin)) from None


def load_config(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load the project config.

    The file is ``path`` if given, else ``$NEXTBEST_CONFIG``, else ``./nextbest.toml`` when it
    exists; with none of these, the defaults are used (embedded store under
    ``./nextbest-data``).
    """
    env = os.environ if environ is None else environ
    chosen: Path | None
    if path is not None:
        chosen = Path(path)
    elif env.get("NEXTBEST_CONFIG"):
        chosen = Path(env["NEXTBEST_CONFIG"])
    elif Path("nextbest.toml").exists():
        chosen = Path("nextbest.toml")
    else:
        chosen = None
    if chosen is None:
        return Config()
    if not chosen.exists():
        raise ConfigError(
            f"config file {chosen} does not exist; pass an existing file with --config "
            "or create one with 'nextbest init'"
        )
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    cfg = config_from_mapping(data, origin=str(chosen))
    return cfg.model_copy(update={"source_path": chosen.resolve()})
