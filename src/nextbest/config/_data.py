"""Settings of the data: the store, the input files, the features and the training table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from nextbest._scalar_sql import FEATURE_COLUMNS, SNAPSHOT_COLUMNS, scalar_sql, sensitive_message
from nextbest.config._base import _IDENT, DEFAULT_FEATURES, SENSITIVE_ATTRIBUTES, _Model
from nextbest.errors import ConfigError, did_you_mean


class StoreConfig(_Model):
    """Where the embedded DuckDB store lives."""

    path: Path = Field(
        default=Path("nextbest-data/nextbest.duckdb"),
        description="DuckDB database file; created on first use.",
    )
    outputs: Path = Field(
        default=Path("nextbest-out"),
        description="Folder of what nextbest writes for people and other tools: hand-off files "
        "under handoffs/<run>/, reports under reports/; apart from the input files.",
    )
    memory_limit: str | None = Field(
        default=None, description="DuckDB memory limit, e.g. '8GB'; default: DuckDB's own (80%)."
    )
    threads: int | None = Field(default=None, ge=1, description="DuckDB worker threads.")


#: the strptime directives a date_format may use (DuckDB's)
_DIRECTIVE = re.compile(r"%-?[aAwdbBmyYHIpMSgfnzZjUWcxXGuVe%]")

#: the text encodings a CSV source may be written in
Encoding = Literal["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]


#: Null limits of snapshot columns that are emptier by nature than the rest (the others get
#: ``[contracts] max_null_share``); a config's ``[contracts.max_null_share_by_column]`` adds to
#: these and overrides them column by column.
NULL_LIMITS_BY_COLUMN: dict[str, float] = {
    "app_installed": 0.05,
    "ib_logins_4w": 0.05,
    # unreliable at the source (migration defaults): a high null share is normal
    "customer_since": 0.5,
}


#: snapshot columns a null is never allowed in (their nulls are quarantined, not limited)
NEVER_NULL = ("relation_id", "snapshot_date", "is_investor")


class ContractsConfig(_Model):
    """The limits of the data contracts: what share of nulls, quarantined rows and failing rows
    a delivery may have, and how far ahead a snapshot may be dated."""

    max_null_share: float = Field(
        default=0.01,
        strict=True,
        ge=0,
        le=1,
        description="Most share of nulls a snapshot column may have in one week (an error above).",
    )
    max_null_share_by_column: dict[str, float] = Field(
        default_factory=lambda: dict(NULL_LIMITS_BY_COLUMN),
        description="Null limits of single snapshot columns, e.g. {age = 0.05}; added to the "
        "defaults (app_installed and ib_logins_4w 0.05, customer_since 0.5).",
    )
    quarantine_error_share: float = Field(
        default=0.05,
        strict=True,
        ge=0,
        le=1,
        description="A file with more than this share of its rows quarantined is an error (a "
        "weekly run halts on it); a smaller share is a warning.",
    )
    refuse_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Default of sources.<table>.refuse_share for the sources that do not set it.",
    )
    future_days: int = Field(
        default=0,
        ge=0,
        le=3660,
        description="Rows dated more than this many days after today are quarantined (0: any "
        "date after today).",
    )

    @field_validator("max_null_share_by_column")
    @classmethod
    def _known_columns(cls, value: dict[str, float]) -> dict[str, float]:
        for column, share in value.items():
            if column not in SNAPSHOT_COLUMNS:
                raise ValueError(
                    f"[contracts.max_null_share_by_column] names '{column}', which is not a "
                    f"snapshot column;{did_you_mean(column, SNAPSHOT_COLUMNS)} Columns: "
                    f"{', '.join(SNAPSHOT_COLUMNS)}"
                )
            if column in NEVER_NULL:
                raise ValueError(
                    f"[contracts.max_null_share_by_column] {column}: this column may never be "
                    "null (a null is quarantined), so it has no null limit"
                )
            if not 0 <= share <= 1:
                raise ValueError(
                    f"[contracts.max_null_share_by_column] {column} = {share} must be a share "
                    "between 0 and 1"
                )
        return {**NULL_LIMITS_BY_COLUMN, **value}

    def null_limit(self, column: str) -> tuple[float, str]:
        """The null limit of snapshot ``column`` and the setting it comes from."""
        if column in self.max_null_share_by_column:
            return (
                self.max_null_share_by_column[column],
                f"[contracts.max_null_share_by_column] {column}",
            )
        return self.max_null_share, "[contracts] max_null_share"


#: Yes/no texts read by default (case-insensitive): English, Dutch (J/N, Ja/Nee) and digits.
TRUE_VALUES = ("true", "t", "1", "yes", "y", "j", "ja")
FALSE_VALUES = ("false", "f", "0", "no", "n", "nee")


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
    decimal: Literal[".", ","] = Field(
        default=".", description="CSV decimal separator: '.' (1234.56) or ',' (1234,56)."
    )
    thousands: Literal["", ".", ",", " ", "'"] = Field(
        default="", description="CSV thousands separator, e.g. '.' in 1.234,56; '' for none."
    )
    encoding: Encoding = Field(
        default="utf-8",
        description=(
            "CSV text encoding: utf-8 (a byte-order mark is accepted; utf-8-sig is the same), "
            "latin-1, cp1252 (Windows: latin-1 plus €, curly quotes …) or utf-16."
        ),
    )
    true_values: list[str] = Field(
        default_factory=lambda: list(TRUE_VALUES),
        description="CSV texts that mean yes in a yes/no column (compared case-insensitively).",
    )
    false_values: list[str] = Field(
        default_factory=lambda: list(FALSE_VALUES),
        description="CSV texts that mean no in a yes/no column (compared case-insensitively).",
    )
    null_values: list[str] = Field(
        default_factory=list,
        description="CSV texts that mean missing besides the empty field, e.g. ['NULL', '-'].",
    )
    refuse_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description=(
            "A file in which more than this share of the rows fails the same rule of the same "
            "column is refused as a whole (1.0: only when every row fails)."
        ),
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Mapping from nextbest's column name to the column name in your file.",
    )
    recode: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description=(
            "Texts of a text column recoded to nextbest's values, per column: e.g. "
            '[sources.snapshots.recode.segment] "Privé Bankieren" = "private". '
            "Exact match; texts not listed are read as they are."
        ),
    )

    @field_validator("date_format")
    @classmethod
    def _strptime_format(cls, value: str | None) -> str | None:
        if value is None:
            return value
        unknown = [d for d in re.findall(r"%-?.?", value) if not _DIRECTIVE.fullmatch(d)]
        if unknown:
            raise ValueError(
                f"date_format {value!r} holds {unknown[0]!r}, which is no date directive; use "
                "e.g. '%d-%m-%Y' (day, month, year) or '%Y%m%d'"
            )
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"delimiter must be one character, got {value!r}")
        return value

    @model_validator(mode="after")
    def _separators_differ(self) -> SourceConfig:
        if self.thousands == self.decimal:
            raise ValueError(
                f"thousands and decimal are both {self.decimal!r}; set thousands = '' or the "
                "other separator"
            )
        if self.delimiter in (self.decimal, self.thousands):
            raise ValueError(
                f"delimiter {self.delimiter!r} is also the decimal or thousands separator; a "
                "file with decimal commas is usually delimited by ';'"
            )
        both = {v.lower() for v in self.true_values} & {v.lower() for v in self.false_values}
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is in both true_values and false_values")
        return self


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
