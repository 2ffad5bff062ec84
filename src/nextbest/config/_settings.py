"""Settings of the guards and the operation: leakage, release, backtest, checks, alerts, the
API and the weekly run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from nextbest.config._base import _Model


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
