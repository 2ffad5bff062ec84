"""Projects: the commented config file a new project starts from, and the one way to open a
project — its store and its effective config (the TOML with the operator's knobs applied)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nextbest.config import Config
from nextbest.errors import ConfigError
from nextbest.pipeline._operate import effective_config
from nextbest.pipeline._review import run_config
from nextbest.store import Store, open_store


@dataclass(frozen=True)
class Project:
    """An open project: ``store``, and ``config``, the TOML with the knobs applied — what the
    next run uses. Anything about a past run reads :meth:`run_config` instead."""

    store: Store
    config: Config

    def run_config(self, run_id: str) -> Config:
        """The config run ``run_id`` was decided with (see :func:`run_config`), with this
        project's file location so that relative paths resolve as they do here."""
        recorded = run_config(self.store, run_id)
        return recorded.model_copy(update={"source_path": self.config.source_path})


@contextmanager
def open_project(
    config: Config, *, read_only: bool = False, wait_seconds: float = 30.0
) -> Iterator[Project]:
    """Open the store of ``config`` and apply the operator's knobs to it, so that no caller
    can act on the TOML alone.

    >>> with open_project(load_config("nextbest.toml")) as project:  # doctest: +SKIP
    ...     project.config.action("invest-onboarding").threshold
    0.04
    """
    with open_store(config, read_only=read_only, wait_seconds=wait_seconds) as store:
        yield Project(store=store, config=effective_config(store, config))


CONFIG_TEMPLATE = """\
# nextbest project configuration. Every setting is described in docs/configuration.md.
# Relative paths are relative to this file. Secrets never go here: they come from the
# environment.

[store]
# The embedded DuckDB database file; created on first use.
path = "{store_path}"
# What nextbest writes for people and other tools (hand-off files in handoffs/<run>/, reports
# in reports/), apart from the warehouse's files: no [sources] path may reach into it.
outputs = "nextbest-out"

# Input tables, as delivered by the warehouse: a file, a folder or a glob of CSV/Parquet
# files. Map your export's column names under [sources.<table>.columns] when they differ,
# e.g.  relation_id = "REL_NR".
[sources.snapshots]
path = "{data}/snapshots"
# A Dutch warehouse export (REL_NR;PEILDATUM;SALDO_TOTAAL;APP_J_N with 1.234,56, 05-01-2025,
# J/N and latin-1 text) reads with these lines; J/N and ja/nee are yes/no by default:
# delimiter = ";"
# decimal = ","
# thousands = "."
# encoding = "latin-1"
# date_format = "%d-%m-%Y"
# null_values = ["NULL"]
# [sources.snapshots.columns]
# relation_id = "REL_NR"
# snapshot_date = "PEILDATUM"
# total_balance = "SALDO_TOTAAL"
# app_installed = "APP_J_N"
# [sources.snapshots.recode.segment]
# "Particulier" = "mass"
# "Vermogend" = "affluent"
# "Privé Bankieren" = "private"
# ('nextbest inspect FILE' proposes these lines for your own export.)

[sources.market]
path = "{data}/market"

[sources.conversions]
path = "{data}/conversions"

# What the e-mail tool reports (sent, opened, clicked, bounced, unsubscribed).
[sources.email_events]
path = "{data}/email_events"

# Audit-only sensitive attributes (gender, postcode area) for fairness checks.
# They can never become model features.
[sources.audit]
path = "{data}/audit"

[features]
# The explainable feature set; 'nextbest features --describe' explains each one.
# fund_return_1w and fund_return_4w exist too, but together they identify the week (the
# leakage hunt flags them); market_trend is their coarse, safe summary.
enabled = ["age", "balance", "balance_trend", "engagement", "tenure_years", "market_trend"]
# Fund whose prices describe the market climate.
market_fund = "balanced"

# Actions: a list from day one. Each has eligibility rules, a model, a threshold, weekly
# volume bounds and randomised arms (holdout: selected but not mailed; exploration: not
# selected but mailed), so that the effect can be measured honestly.
[[actions]]
name = "invest-onboarding"
description = "A three-message e-mail flow towards a first investment."
content_type = "investing"          # needs snapshot column optin_investing = true
flow = ["inform", "how-to-start", "concrete-steps"]
flow_weeks = 3
target = "opens an investment account within 8 weeks"
label_weeks = 8
min_age = 18
cooldown_weeks = 8
threshold = 0.03                    # calibrated probability of the target outcome
value = 30.0                        # euros a first investment is worth (when actions compete)
min_weekly = 50
max_weekly = 800
holdout_fraction = 0.1
exploration_size = 200

# Extra eligibility rules: SQL conditions over the snapshot that must be true.
[[actions.rules]]
name = "has_some_balance"
sql = "total_balance >= 100"
description = "a first investment needs money to invest"

[actions.model]
kind = "lightgbm"                   # or "logistic"; the logistic baseline is always reported
n_estimators = 200
learning_rate = 0.05
num_leaves = 15
min_child_samples = 200
l2 = 10.0
# The score may only rise when markets rise: keeps the weekly volume from falling when the
# market improves (checked on every backtest, see [[backtest.whatif]]).
monotone = {{ market_trend = 1 }}

[backtest]
retrain_every_weeks = 13

[[backtest.whatif]]
feature = "market_trend"
shift = 1.0
expect = "not_fall"

[run]
seed = 20240107

[training]
# Label: the customer starts investing within this many weeks after the snapshot.
label_weeks = 8
# Snapshot dates sampled evenly across the usable history, and the share of customers.
n_dates = 20
customer_fraction = 1.0
history_weeks = 8
seed = 0
# Minimum history: with these settings and the action's label_weeks = 8, training needs
# 41 weekly snapshots (history_weeks 8 + 25 weeks of training, calibration and
# evaluation dates with two 8-week gaps + label_weeks 8). Fewer history_weeks or label_weeks
# need fewer.

[contracts]
# Limits of the data contracts (docs/configuration.md): most share of nulls per snapshot
# column and week, share of quarantined rows before a file is an error, and how many days
# ahead of today a date may lie.
max_null_share = 0.01
quarantine_error_share = 0.05
future_days = 0
# [contracts.max_null_share_by_column]
# age = 0.05
"""


#: the demo's further actions, after the starter config's invest-onboarding: the synthetic
#: bank has the ground truth of their outcomes (savings, private_banking)
DEMO_ACTIONS = """
# ---- The demo's further actions: each customer gets at most one action a week, the one worth
# most (score x value x margin x lever - contact_cost), within each max_weekly and the channel's
# capacity; docs/decisioning.md explains the arbitration.
[[actions]]
name = "savings-goal"
description = "Two messages inviting payment-only customers to set up a savings goal."
content_type = "general"            # needs optin_general = true
outcome = "savings"                 # conversions with outcome = 'savings'
flow = ["why-save", "set-a-goal"]
flow_weeks = 2
target = "sets up a savings goal within 6 weeks"
label_weeks = 6
cooldown_weeks = 8
threshold = 0.013
max_weekly = 600
value = 40.0                        # fixed: euros a savings goal is worth to the bank
holdout_fraction = 0.1
exploration_size = 100

[[actions.rules]]
name = "payment_only"
sql = "has_payment AND NOT has_savings"
description = "the nudge is for customers who do not save with us yet"
audience = true                     # the model learns from these customers only

[actions.model]
kind = "logistic"

[[actions]]
name = "private-banking-intro"
description = "An invitation to meet a private banker."
content_type = "general"
outcome = "private_banking"
flow = ["invitation"]
flow_weeks = 1
target = "books a private-banking introduction within 8 weeks"
label_weeks = 8
cooldown_weeks = 8
threshold = 0.07
max_weekly = 150
value = 600.0                       # fixed: euros an introduction is worth to the bank
contact_cost = 1.0                  # a banker follows up: a contact costs something
holdout_fraction = 0.1
exploration_size = 50

[[actions.rules]]
name = "wealthy_not_private"
sql = "total_balance >= 25000 AND segment <> 'private'"
description = "private banking is for customers above 25,000 euros not served there yet"
audience = true

[actions.model]
kind = "logistic"

# E-mail contacts per week over all actions: fewer than the actions' max_weekly together.
[channels.email]
capacity = 500
"""


def write_config(
    path: Path,
    *,
    data_dir: str = "bank",
    store_path: str = "nextbest.duckdb",
    force: bool = False,
    demo: bool = False,
) -> Path:
    """Write the commented starter config to ``path``; refuses to overwrite unless ``force``.

    ``path`` is the config file, or a project folder (an existing folder, or a name without
    ``.toml``) that gets ``nextbest.toml`` inside it. ``demo`` adds the demo's further
    actions (:data:`DEMO_ACTIONS`)."""
    if path.suffix.lower() != ".toml" and path.exists() and not path.is_dir():
        raise ConfigError(
            f"{path} is a file, not a folder; give a folder for the project or a .toml file "
            "name for the config"
        )
    if path.is_dir() or path.suffix.lower() != ".toml":
        path = path / "nextbest.toml"
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = CONFIG_TEMPLATE.format(data=data_dir, store_path=store_path)
    if demo:
        text += DEMO_ACTIONS
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
