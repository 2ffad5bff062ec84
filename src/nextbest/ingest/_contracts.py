"""Data contracts: what each input table must satisfy before it is trusted.

A contract has two kinds of rules:

* **row rules** (type, not-null, range, allowed values, unique key): a row that breaks one goes
  to the ``quarantine`` table with the column, the rule and the value — never silently dropped
  (for the audit-only table, a redaction marker instead of the values);
* **batch rules** (share of nulls per column and partition): recorded in ``contract_issues``
  with the figure and the limit, so the checks before a weekly run can halt on them.

The limits are settings under ``[contracts]``; :func:`contract_for` gives a table's contract
with the config's limits, and the contracts below carry the defaults.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from nextbest.config import ContractsConfig
from nextbest.errors import ConfigError, did_you_mean
from nextbest.store import DATA_TABLES


@dataclass(frozen=True)
class ColumnContract:
    """Rules for one canonical column."""

    name: str
    description: str
    nullable: bool = True
    max_null_fraction: float | None = None
    #: where ``max_null_fraction`` is set, named in the message when a week exceeds it
    null_limit_setting: str = "[contracts] max_null_share"
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    required: bool = True  # must exist in the file (after the column mapping)
    #: the value of an optional column the file does not have (None: NULL)
    default: str | None = None


@dataclass(frozen=True)
class Contract:
    """Rules for one table, with its key and the column that partitions re-deliveries."""

    table: str
    columns: tuple[ColumnContract, ...]
    key: tuple[str, ...]
    partition: str | None  # a re-delivery replaces these partitions; None: the whole table
    description: str
    #: the table lives in the audit database, and its values never leave it: a quarantined row
    #: keeps the file, row number, column and rule, and a redaction marker for the values
    audit_only: bool = False
    #: a file with more than this share of its rows quarantined is an error, not a warning
    quarantine_error_share: float = 0.05
    #: partition dates more than this many days after today are quarantined
    future_days: int = 0

    def sql_type(self, column: str) -> str:
        return dict(DATA_TABLES[self.table])[column]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


SNAPSHOTS = Contract(
    table="snapshots",
    key=("relation_id", "snapshot_date"),
    partition="snapshot_date",
    description="One row per customer per weekly snapshot date.",
    columns=(
        ColumnContract("relation_id", "pseudonymous relation number", nullable=False, min=1),
        ColumnContract("snapshot_date", "date the snapshot describes", nullable=False),
        ColumnContract("age", "age in whole years", max_null_fraction=0.01, min=0, max=120),
        ColumnContract(
            "segment",
            "commercial segment",
            max_null_fraction=0.01,
            allowed=("mass", "affluent", "private"),
        ),
        ColumnContract("has_savings", "holds a savings account", max_null_fraction=0.01),
        ColumnContract("has_payment", "holds a payment account", max_null_fraction=0.01),
        ColumnContract("n_accounts", "number of accounts", max_null_fraction=0.01, min=0, max=100),
        ColumnContract(
            "total_balance",
            "total balance over all accounts, euros",
            max_null_fraction=0.01,
            min=-1_000_000,
            max=1_000_000_000,
        ),
        ColumnContract(
            "app_installed",
            "mobile app installed",
            max_null_fraction=0.05,
            null_limit_setting="[contracts.max_null_share_by_column] app_installed",
        ),
        ColumnContract(
            "ib_logins_4w",
            "internet-banking logins in the last 4 weeks",
            max_null_fraction=0.05,
            null_limit_setting="[contracts.max_null_share_by_column] ib_logins_4w",
            min=0,
            max=10_000,
        ),
        ColumnContract(
            "optin_general", "e-mail opt-in for general content", max_null_fraction=0.01
        ),
        ColumnContract(
            "optin_investing", "e-mail opt-in for investing content", max_null_fraction=0.01
        ),
        # unreliable at the source (migration defaults, typos): no range rule here; the
        # tenure feature cleans it, and a high null share is normal
        ColumnContract(
            "customer_since",
            "customer since (unreliable)",
            max_null_fraction=0.5,
            null_limit_setting="[contracts.max_null_share_by_column] customer_since",
        ),
        ColumnContract("is_investor", "already holds an investment account", nullable=False),
    ),
)

MARKET = Contract(
    table="market_prices",
    key=("fund", "price_date"),
    partition="price_date",
    description="The bank's own fund prices, one row per fund per business day.",
    columns=(
        ColumnContract("fund", "fund name", nullable=False),
        ColumnContract("price_date", "price date", nullable=False),
        ColumnContract("price", "closing price", nullable=False, min=0.000001),
    ),
)

CONVERSIONS = Contract(
    table="conversions",
    key=("relation_id", "outcome", "conversion_date"),
    partition="conversion_date",
    description="A customer reached an action's target outcome (by default 'investing': "
    "opened an investment account); an action's outcome setting names the rows it counts.",
    columns=(
        ColumnContract("relation_id", "pseudonymous relation number", nullable=False, min=1),
        ColumnContract("conversion_date", "date of the outcome", nullable=False),
        ColumnContract(
            "amount", "amount on conversion (e.g. first investment), euros", min=0, max=100_000_000
        ),
        ColumnContract(
            "outcome",
            "which outcome, e.g. investing (a file without the column: all are investing)",
            nullable=False,
            required=False,
            default="investing",
        ),
    ),
)

EMAIL_EVENTS = Contract(
    table="email_events",
    key=("relation_id", "action", "message", "event"),
    partition="event_date",
    description="What the e-mail tool reports per message: sent, opened, clicked, bounced, "
    "unsubscribed (unique per customer, action, message and event).",
    columns=(
        ColumnContract("relation_id", "pseudonymous relation number", nullable=False, min=1),
        ColumnContract("event_date", "date of the event", nullable=False),
        ColumnContract("action", "the action whose flow sent the message", nullable=False),
        ColumnContract("message", "the flow step, e.g. inform", nullable=False),
        ColumnContract(
            "event",
            "what happened",
            nullable=False,
            allowed=("sent", "opened", "clicked", "bounced", "unsubscribed"),
        ),
    ),
)

AUDIT = Contract(
    table="audit.sensitive_attributes",
    key=("relation_id",),
    partition=None,  # delivered whole: a new file replaces the table
    description="Audit-only sensitive attributes for fairness checks; never features.",
    audit_only=True,
    columns=(
        ColumnContract("relation_id", "pseudonymous relation number", nullable=False, min=1),
        ColumnContract("gender", "gender as registered", allowed=("F", "M", "X")),
        ColumnContract("postcode_area", "first two digits of the postcode"),
    ),
)

CONTRACTS: dict[str, Contract] = {
    "snapshots": SNAPSHOTS,
    "market": MARKET,
    "conversions": CONVERSIONS,
    "email_events": EMAIL_EVENTS,
    "audit": AUDIT,
}


def contract_for(name: str, limits: ContractsConfig) -> Contract:
    """The contract of source ``name`` with the limits of ``[contracts]``: the null limit of
    each snapshot column that has one, the quarantine share and the future-date horizon."""
    base = CONTRACTS[name]
    limited = {c.name for c in base.columns if c.max_null_fraction is not None}
    if name == "snapshots":
        for column in limits.max_null_share_by_column:
            if column not in limited:
                raise ConfigError(
                    f"[contracts.max_null_share_by_column] {column}: this column may never be "
                    f"null, so it has no null limit;{did_you_mean(column, sorted(limited))} "
                    f"Columns with a limit: {', '.join(sorted(limited))}"
                )
    columns = tuple(
        dataclasses.replace(
            c,
            max_null_fraction=limits.null_limit(c.name)[0],
            null_limit_setting=limits.null_limit(c.name)[1],
        )
        if c.name in limited
        else c
        for c in base.columns
    )
    return dataclasses.replace(
        base,
        columns=columns,
        quarantine_error_share=limits.quarantine_error_share,
        future_days=limits.future_days,
    )
