"""Reading runs back for review: counts, a random sample, and why one customer got their arm."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from nextbest.config import Config, config_from_mapping
from nextbest.decisioning import eligibility_trail
from nextbest.errors import NotFoundError, RunStateError, did_you_mean
from nextbest.features import FeatureSet, build_features, phrase, resolve_features
from nextbest.models import load_model, reason_codes
from nextbest.pipeline._runs import recent_runs
from nextbest.store import Store

Arm = Literal["treat", "holdout", "explore", "none"]
ARMS: tuple[Arm, ...] = ("treat", "holdout", "explore", "none")


RunStatus = Literal[
    "pending_review", "approved", "rejected", "exported", "superseded", "halted", "skipped"
]
Verdict = Literal["pass", "warn", "halt"]


@dataclass(frozen=True)
class RunSettings:
    """The per-action settings a run was decided with (the knobs as they were then)."""

    threshold: float
    min_weekly: int
    max_weekly: int
    holdout_fraction: float
    exploration_size: int
    cooldown_weeks: int


@dataclass(frozen=True)
class SampleRow:
    """One selected customer of the review sample."""

    relation_id: int
    action: str
    arm: Arm
    score: float
    rank: int | None
    reasons: str | None


@dataclass(frozen=True)
class RunSummary:
    """A run's record, per-action counts and settings, and a seeded sample of the selected."""

    run_id: str
    snapshot_date: dt.date
    status: RunStatus
    seed: int
    counts: dict[str, dict[str, int]]
    models: dict[str, str]
    flags: dict[str, list[Any]]
    started_by: str | None
    superseded_by: str | None
    settings: dict[str, RunSettings]
    sample: list[SampleRow]


@dataclass(frozen=True)
class CheckResult:
    """One check of a run: its verdict, the figure measured and the limit."""

    name: str
    verdict: Verdict
    figure: float | None
    limit: str
    message: str


@dataclass(frozen=True)
class Overlap:
    """Customers assigned an arm both in the run reviewed and in another run."""

    run_id: str
    snapshot_date: dt.date
    status: RunStatus
    assigned_in_both: int


@dataclass(frozen=True)
class RunEvent:
    """One step in a run's history."""

    event: str
    actor: str
    comment: str
    at: dt.datetime


@dataclass(frozen=True)
class RunReview:
    """What the operator checks before approving; a halted run has no seed, models, flags,
    settings, counts or sample (empty)."""

    run_id: str
    snapshot_date: dt.date
    status: RunStatus
    seed: int | None
    counts: dict[str, dict[str, int]]
    models: dict[str, str]
    flags: dict[str, list[Any]]
    started_by: str | None
    superseded_by: str | None
    settings: dict[str, RunSettings]
    sample: list[SampleRow]
    checks: list[CheckResult]
    overlaps: list[Overlap]
    previous_run: str | None
    overlap_with_previous: int | None
    events: list[RunEvent]


def list_runs(store: Store) -> list[dict[str, Any]]:
    """Every run, the latest first, with its total selected and its model versions."""
    return [
        {
            "run_id": run.run_id,
            "snapshot_date": run.snapshot_date,
            "status": run.status,
            "created_at": run.created_at,
            "selected": sum(c["selected"] for c in json.loads(run.counts).values()),
            "models": ", ".join(json.loads(run.models).values()),
        }
        for run in recent_runs(store)
    ]


def _run_row(store: Store, run_id: str) -> dict[str, Any]:
    """The run's record; ``latest`` is the most recently created run (for reading only:
    approve, reject and export refuse it)."""
    if run_id == "latest":
        latest = store.scalar("SELECT run_id FROM runs ORDER BY created_at DESC, run_id DESC")
        if latest is None:
            raise NotFoundError("there are no runs yet; run 'nextbest run' first")
        run_id = str(latest)
    row = store.fetchone(
        "SELECT run_id, snapshot_date, status, seed, counts, models, flags, "
        "coalesce(started_by, (SELECT arg_min(e.actor, e.event_at) FROM run_events e "
        "WHERE e.run_id = runs.run_id AND e.event = 'created')), superseded_by "
        "FROM runs WHERE run_id = ?",
        [run_id],
    )
    if row is None:
        known = [r[0] for r in store.fetchall("SELECT run_id FROM runs")]
        raise NotFoundError(f"no run '{run_id}';{did_you_mean(run_id, known)}")
    keys = (
        "run_id",
        "snapshot_date",
        "status",
        "seed",
        "counts",
        "models",
        "flags",
        "started_by",
        "superseded_by",
    )
    out = dict(zip(keys, row, strict=True))
    for key in ("counts", "models", "flags"):
        out[key] = json.loads(out[key])
    return out


#: the per-action settings a run is reviewed against: the operator's knobs as the run used them
RUN_SETTINGS = (
    "threshold",
    "min_weekly",
    "max_weekly",
    "holdout_fraction",
    "exploration_size",
    "cooldown_weeks",
)


def run_config(store: Store, run_id: str) -> Config:
    """The config run ``run_id`` (or 'latest') was decided with — the TOML and the knobs as they
    were then — from the run's record, not today's. Its relative paths are as written; use
    :meth:`Project.run_config` to resolve them against the project."""
    run = _run_row(store, run_id)
    text = store.scalar("SELECT config_json FROM runs WHERE run_id = ?", [run["run_id"]])
    if not text or text == "{}":
        raise RunStateError(f"run {run['run_id']} is {run['status']}: it has no config recorded")
    return config_from_mapping(
        json.loads(text), origin=f"the config recorded by run {run['run_id']}"
    )


def _settings(store: Store, run: dict[str, Any]) -> dict[str, RunSettings]:
    if not run["counts"]:
        return {}  # halted or skipped: nothing was decided against these settings
    try:
        config = run_config(store, run["run_id"])
    except RunStateError:
        return {}  # a run from before configs were recorded
    return {a.name: RunSettings(**{k: getattr(a, k) for k in RUN_SETTINGS}) for a in config.actions}


def run_summary(store: Store, run_id: str, *, sample: int = 10) -> RunSummary:
    """Counts per action, the settings the run used (``settings``: per action its threshold,
    weekly band and arm sizes from the run's recorded config), and a seeded random sample of
    the selected, for a four-eyes check."""
    run = _run_row(store, run_id)
    selected = store.fetchall(
        "SELECT relation_id, action, arm, score, rank, reasons FROM decisions "
        "WHERE run_id = ? AND selected ORDER BY action, relation_id",
        [run["run_id"]],
    )
    rng = np.random.default_rng([int(run["seed"]), 7])
    pick = sorted(rng.choice(len(selected), size=min(sample, len(selected)), replace=False))
    return RunSummary(
        run_id=run["run_id"],
        snapshot_date=run["snapshot_date"],
        status=run["status"],
        seed=int(run["seed"]),
        counts=run["counts"],
        models=run["models"],
        flags=run["flags"],
        started_by=run["started_by"],
        superseded_by=run["superseded_by"],
        settings=_settings(store, run),
        sample=[SampleRow(*selected[i]) for i in pick],
    )


@dataclass(frozen=True)
class RuleCheck:
    """One eligibility rule for one customer, in evaluation order."""

    rule: str
    passed: bool


@dataclass(frozen=True)
class ActionExplanation:
    """Why one customer got their arm for one action of a run."""

    action: str
    arm: Arm
    assignment_probability: float
    eligibility: list[RuleCheck]
    first_failed_rule: str | None
    score: float
    threshold: float
    rank: int | None
    reasons: str
    #: selected; or, eligible and at or above the threshold but not selected, the action that
    #: took the customer this week (arbitration), else None
    selected: bool = False
    went_to: str | None = None


@dataclass(frozen=True)
class FeatureFact:
    """One feature of the customer that week, in words; ``share_below``: the share of
    customers with a lower value (None for a market-wide feature or a missing value)."""

    name: str
    text: str
    share_below: float | None
    market_wide: bool


@dataclass(frozen=True)
class CustomerExplanation:
    """Why a customer got their arms in a run: per action, then the week's features."""

    run_id: str
    relation_id: int
    actions: list[ActionExplanation]
    features: list[FeatureFact]


def explain_customer(
    store: Store, config: Config, run_id: str, relation_id: int
) -> CustomerExplanation:
    """Why this customer got their arm: eligibility trail, score, rank, reasons (computed on
    demand for any customer, also those the run did not explain), and features — against the
    settings the run was decided with (its recorded config; ``config`` only for a run that
    recorded none)."""
    (out,) = explain_customers(store, config, run_id, [relation_id])
    return out


def explain_customers(
    store: Store, config: Config, run_id: str, relation_ids: list[int]
) -> list[CustomerExplanation]:
    """:func:`explain_customer` for several customers of one run, building the week's
    features (which the percentiles need for everyone) once."""
    run = _run_row(store, run_id)
    # a run without a recorded config has no decisions either; _explain says so
    with contextlib.suppress(RunStateError):
        config = run_config(store, run["run_id"])
    fs = resolve_features(config.features)
    feats = build_features(store, fs, [run["snapshot_date"]])
    return [_explain(store, config, run, fs, feats, rid) for rid in relation_ids]


def _explain(
    store: Store,
    config: Config,
    run: dict[str, Any],
    fs: FeatureSet,
    feats: pa.Table,
    relation_id: int,
) -> CustomerExplanation:
    rows = store.arrow(
        "SELECT * FROM decisions WHERE run_id = ? AND relation_id = ? ORDER BY action",
        [run["run_id"], relation_id],
    ).to_pylist()
    if not rows:
        raise NotFoundError(
            f"relation {relation_id} has no decision in run {run['run_id']} (no snapshot on "
            f"{run['snapshot_date']})"
        )
    idx = int(np.searchsorted(feats["relation_id"].to_numpy(), relation_id))
    values = {name: feats[name][idx].as_py() for name in fs.names}
    market_wide = frozenset(d.name for d in fs.definitions if d.market_wide)
    actions = [_explain_action(store, config, run, row, values, market_wide) for row in rows]
    taken = next((a.action for a in actions if a.selected), None)
    actions = [
        dataclasses.replace(a, went_to=taken) if not a.selected and taken is not None else a
        for a in actions
    ]
    return CustomerExplanation(
        run_id=run["run_id"],
        relation_id=relation_id,
        actions=actions,
        features=[
            FeatureFact(
                name=name,
                text=phrase(name, value),
                share_below=None if name in market_wide else _share_below(feats, name, value),
                market_wide=name in market_wide,
            )
            for name, value in values.items()
        ],
    )


def _explain_action(
    store: Store,
    config: Config,
    run: dict[str, Any],
    row: dict[str, Any],
    values: dict[str, Any],
    market_wide: frozenset[str],
) -> ActionExplanation:
    action = config.action(row["action"])
    trail = eligibility_trail(
        store, action, run["snapshot_date"], row["relation_id"], run_id=run["run_id"]
    )
    model = load_model(store, run["models"][action.name])
    x = np.array([[np.nan if values[f] is None else float(values[f]) for f in model.features]])
    texts, _ = reason_codes(model, x, top=config.run.reasons_top, exclude=market_wide)
    return ActionExplanation(
        action=action.name,
        arm=row["arm"],
        assignment_probability=row["assignment_probability"],
        eligibility=[RuleCheck(rule=name, passed=ok) for name, ok, _ in trail],
        first_failed_rule=row["first_failed_rule"],
        score=float(model.score(x)[0]),
        threshold=action.threshold,
        rank=row["rank"],
        reasons=texts[0],
        selected=bool(row["selected"]),
    )


def _share_below(feats: pa.Table, name: str, value: Any) -> float | None:
    """The share of the week's customers (with a value) below ``value``."""
    if value is None:
        return None
    col = feats[name].to_numpy(zero_copy_only=False).astype(np.float64)
    col = col[~np.isnan(col)]
    return float(np.mean(col < float(value))) if len(col) else None


@dataclass(frozen=True)
class DecisionRow:
    """One decision of a run, as listed for review."""

    relation_id: int
    action: str
    arm: Arm
    score: float | None
    rank: int | None
    eligible: bool
    first_failed_rule: str | None
    assignment_probability: float
    reasons: str | None


@dataclass(frozen=True)
class DecisionPage:
    """One page of a run's decisions, and how many match in all."""

    run_id: str
    page: int
    size: int
    total: int
    items: list[DecisionRow]


def decisions_page(
    store: Store,
    run_id: str,
    *,
    arm: Arm | None = None,
    relation_id: int | None = None,
    page: int = 1,
    size: int = 50,
) -> DecisionPage:
    """The decisions of run ``run_id`` (or 'latest'), optionally of one arm or one customer, by
    action, rank and relation number; ``page`` counts from 1."""
    rid = _run_row(store, run_id)["run_id"]
    where = "run_id = ? AND (? IS NULL OR arm = ?) AND (? IS NULL OR relation_id = ?)"
    args: list[Any] = [rid, arm, arm, relation_id, relation_id]
    total = int(store.scalar(f"SELECT count(*) FROM decisions WHERE {where}", args))
    rows = store.arrow(
        "SELECT relation_id, action, arm, score, rank, eligible, first_failed_rule, "
        f"assignment_probability, reasons FROM decisions WHERE {where} "
        "ORDER BY action, rank NULLS LAST, relation_id LIMIT ? OFFSET ?",
        [*args, size, (page - 1) * size],
    ).to_pylist()
    return DecisionPage(
        run_id=rid, page=page, size=size, total=total, items=[DecisionRow(**r) for r in rows]
    )
