"""The weekly run for one snapshot date, as a sequence of steps: gather the inputs (features,
champion models) → pre-checks → decide every action (eligibility → score → arms → reasons) →
post-checks → persist (run record, decision rows, decision file), all or nothing.

One live list per week: a week whose run is ``pending_review``, ``approved`` or ``exported``
(and not superseded) is not decided again unless a person gives a reason (``supersede``) and
their name; the new run then supersedes the live one (see :mod:`._persist`). A week that
halted keeps one record (see :mod:`._halting`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.checks import (
    Check,
    concentration,
    concentration_groups,
    contract,
    drift,
    freshness,
    market_regime,
    market_state,
    row_count,
    volume,
)
from nextbest.config import ActionConfig, Config
from nextbest.decisioning import Decision, Policy, decide, eligibility, select
from nextbest.errors import NotFoundError, RunStateError
from nextbest.features import FeatureSet, build_features, loaded_snapshot_dates, resolve_features
from nextbest.models import (
    PropensityModel,
    champion_version,
    load_model,
    reason_codes,
    shadow_version,
)
from nextbest.pipeline._arbitrate_week import arbitrate_week
from nextbest.pipeline._halting import halt
from nextbest.pipeline._lifecycle import live_error, live_runs
from nextbest.pipeline._persist import DecidedWeek, store_run
from nextbest.pipeline._runs import next_run_id
from nextbest.pipeline._timer import Timer
from nextbest.pipeline._train import audience_mask
from nextbest.store import Store

Progress = Callable[[str, int, int], None]

DECISION_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("action", pa.string()),
        ("relation_id", pa.int64()),
        ("snapshot_date", pa.date32()),
        ("eligible", pa.bool_()),
        ("first_failed_rule", pa.string()),
        ("score", pa.float64()),
        ("rank", pa.int32()),
        ("selected", pa.bool_()),
        ("arm", pa.string()),
        ("assignment_probability", pa.float64()),
        ("reasons", pa.string()),
        ("shadow_score", pa.float64()),
        ("shadow_selected", pa.bool_()),
    ]
)


@dataclass
class ActionOutcome:
    """What one action decided in a run."""

    action: str
    model_version: str
    counts: dict[str, int]
    flags: list[str]
    ineligible_by_rule: dict[str, int]
    top_reasons: list[tuple[str, int]]
    scores: np.ndarray[Any, np.dtype[np.float64]] = field(repr=False)


@dataclass
class RunResult:
    run_id: str
    snapshot_date: dt.date
    status: str
    decision_file: Path
    decision_sha256: str
    outcomes: list[ActionOutcome]
    timings: dict[str, float]
    checks: list[Check] = field(default_factory=list)
    #: the runs of the same week this run superseded
    superseded: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Attempt:
    """What one call of :func:`run_week` asked for."""

    day: dt.date
    seed: int
    actor: str
    alert: bool
    #: a person's written reason to go on although checks failed, or None
    override: str | None
    #: a person's written reason to decide a live week again, or None
    supersede: str | None
    #: the week's live lists when the run started
    live: list[tuple[str, str]]


@dataclass(frozen=True)
class _Champion:
    action: ActionConfig
    version: str
    model: PropensityModel


@dataclass(frozen=True)
class _Inputs:
    fs: FeatureSet
    features: pa.Table
    champions: list[_Champion]


@dataclass(frozen=True)
class _Decided:
    action: ActionConfig
    table: pa.Table
    outcome: ActionOutcome
    #: the shadow model's version, when the action has one
    shadow: str | None


def run_week(
    store: Store,
    config: Config,
    *,
    day: dt.date | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    override: str | None = None,
    supersede: str | None = None,
    actor: str = "system",
    alert: bool = True,
) -> RunResult:
    """Check the inputs, decide every action for ``day`` (default: the latest loaded week),
    check the list, and persist the run with status ``pending_review``, started by ``actor``.

    A failed check (verdict ``halt``) records the run as ``halted`` with every check, e-mails
    the configured recipients, and raises :class:`RunHaltedError` — before any list exists —
    unless ``override`` gives a person's written reason, which is recorded with ``actor``.

    A week that already has a live list raises :class:`RunStateError` naming it, unless
    ``supersede`` gives a person's written reason (and ``actor`` names them): the new run then
    supersedes the live one(s), recorded as an event on both. ``override`` never supersedes.
    Nothing is visible until everything is written.
    """
    timer = Timer()
    attempt = _attempt(store, config, day, seed, override, supersede, actor=actor, alert=alert)
    run_id = next_run_id(store, attempt.day)  # provisional: the id is taken when the run is stored
    checks = [freshness(store, attempt.day)]
    # nothing to decide on: a late week is never overridden
    _halt_on(store, config, attempt, checks, {}, when=None, overridable=False)
    with timer.step("features"):
        inputs = _gather(store, config, attempt.day)
    checks += _pre_checks(store, config, attempt.day, inputs)
    models = {c.action.name: c.version for c in inputs.champions}
    _halt_on(store, config, attempt, checks, models, when="before deciding")
    decided = _decide(store, config, attempt, inputs, run_id, timer)
    if progress:
        progress("Deciding", len(decided), len(decided))
    models |= {f"{d.outcome.action}:shadow": d.shadow for d in decided if d.shadow is not None}
    checks += _post_checks(store, config, attempt.day, decided)
    _halt_on(store, config, attempt, checks, models, when="after deciding (the list was discarded)")
    outcomes = [d.outcome for d in decided]
    week = DecidedWeek(
        day=attempt.day,
        seed=attempt.seed,
        actor=attempt.actor,
        decisions=pa.concat_tables([d.table for d in decided]),
        counts={o.action: o.counts for o in outcomes},
        flags={o.action: o.flags for o in outcomes},
        models=models,
        checks=checks,
        override=attempt.override,
        supersede=attempt.supersede,
        live=attempt.live,
    )
    stored = store_run(store, config, week, timer)
    return RunResult(
        run_id=stored.run_id,
        snapshot_date=attempt.day,
        status="pending_review",
        decision_file=stored.decision_file,
        decision_sha256=stored.decision_sha256,
        outcomes=outcomes,
        timings=timer.timings,
        checks=checks,
        superseded=stored.superseded,
    )


def _attempt(
    store: Store,
    config: Config,
    day: dt.date | None,
    seed: int | None,
    override: str | None,
    supersede: str | None,
    *,
    actor: str,
    alert: bool,
) -> _Attempt:
    """The week (default: the latest loaded), the seed and the person's reasons; refuses a
    week with a live list unless it is superseded with a reason and a name."""
    dates = loaded_snapshot_dates(store)
    if not dates:
        raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
    day = day or dates[-1]
    if supersede is not None and (not supersede.strip() or actor.strip() in ("", "system")):
        raise RunStateError(
            "deciding a week again (supersede) needs a written reason and a name: "
            '--supersede "why" --by NAME'
        )
    live = live_runs(store, day)
    if live and supersede is None:
        raise live_error(day, live)
    return _Attempt(
        day=day,
        seed=config.run.seed if seed is None else seed,
        actor=actor,
        alert=alert,
        override=override if override and override.strip() else None,
        supersede=supersede,
        live=live,
    )


def _halt_on(
    store: Store,
    config: Config,
    attempt: _Attempt,
    checks: list[Check],
    models: dict[str, str],
    *,
    when: str | None,
    overridable: bool = True,
) -> None:
    """Halt the run when a check failed, unless a person overrode the checks."""
    if not any(c.verdict == "halt" for c in checks):
        return
    if overridable and attempt.override is not None:
        return
    halt(
        store,
        config,
        day=attempt.day,
        seed=attempt.seed,
        checks=checks,
        models=models,
        alert=attempt.alert,
        actor=attempt.actor,
        when=when,
    )


def _gather(store: Store, config: Config, day: dt.date) -> _Inputs:
    """The week's features and every action's champion model."""
    fs = resolve_features(config.features)
    features = build_features(store, fs, [day])
    champions = []
    for action in config.actions:
        version = champion_version(store, action.name).version
        champions.append(_Champion(action, version, load_model(store, version)))
    return _Inputs(fs, features, champions)


def _pre_checks(store: Store, config: Config, day: dt.date, inputs: _Inputs) -> list[Check]:
    """The data contract and row count of the week, then per action the drift of the model's
    features and the market regime against the model's training band."""
    limits, fs = config.checks, inputs.fs
    # market-wide features have one value a week: the market-regime check covers them
    market_wide = {d.name for d in fs.definitions if d.market_wide}
    checks = [contract(store, day), row_count(store, day, limits)]
    state = market_state(store, fs.market_fund, day)  # one market, whatever the action
    for champion in inputs.champions:
        model = champion.model
        # the model describes its action's audience: its drift is measured there
        ids = inputs.features["relation_id"]
        audience = inputs.features.filter(audience_mask(store, champion.action, day, ids))
        values = {
            f: audience[f].to_numpy(zero_copy_only=False).astype(np.float64)
            for f in model.features
            if f not in market_wide
        }
        checks += drift(values, model.metadata.get("profile", {}), limits)
        band = model.metadata.get("market_band")
        checks.append(market_regime(state, band, day))
    return checks


def _decide(
    store: Store,
    config: Config,
    attempt: _Attempt,
    inputs: _Inputs,
    run_id: str,
    timer: Timer,
) -> list[_Decided]:
    """Decide every action with its champion (and log its shadow model's choice); several
    actions are scored alone and then arbitrated (one action per customer, capacities)."""
    day, seed = attempt.day, attempt.seed
    scored = []
    for champion in inputs.champions:
        with timer.step(f"decide:{champion.action.name}"):
            scored.append(_score_action(store, champion, day, inputs.features, seed, timer))
    if len(scored) > 1:
        with timer.step("arbitration"):
            actions = [c.action for c in inputs.champions]
            decisions = arbitrate_week(config, day, seed, actions, [s.decision for s in scored])
        scored = [
            dataclasses.replace(s, decision=d) for s, d in zip(scored, decisions, strict=True)
        ]
    decided = []
    for champion, one in zip(inputs.champions, scored, strict=True):
        action = champion.action
        shadow_v = shadow_version(store, action.name)
        shadow = load_model(store, shadow_v.version) if shadow_v else None
        table, outcome = _finish_action(
            config, champion, day, inputs.features, one, run_id=run_id, timer=timer, shadow=shadow
        )
        outcome.model_version = champion.version
        decided.append(
            _Decided(action, table, outcome, shadow_v.version if shadow_v is not None else None)
        )
    return decided


def _post_checks(
    store: Store, config: Config, day: dt.date, decided: list[_Decided]
) -> list[Check]:
    """Per action: the volume selected, and how concentrated the selection is."""
    groups = concentration_groups(store, day)
    checks = []
    for d in decided:
        action, c = d.action, d.outcome.counts
        checks.append(
            volume(
                c["candidates"],
                c["selected"],
                min_weekly=action.min_weekly,
                max_weekly=action.max_weekly,
                limits=config.checks,
            )
        )
        checks.append(
            concentration(
                groups,
                d.table["eligible"].to_numpy(zero_copy_only=False),
                d.table["selected"].to_numpy(zero_copy_only=False),
                config.checks,
            )
        )
    return checks


@dataclass(frozen=True)
class _Scored:
    """One action's eligibility and scores for the week, with its arms (before arbitration)."""

    elig: pa.Table
    decision: Decision
    matrix: Any  # the model's feature matrix of every customer


def _score_action(
    store: Store,
    champion: _Champion,
    day: dt.date,
    features: pa.Table,
    seed: int,
    timer: Timer,
) -> _Scored:
    action, model = champion.action, champion.model
    with timer.step(f"{action.name}:eligibility"):
        elig = eligibility(store, action, day)
    X_all = model.matrix(features)
    with timer.step(f"{action.name}:decide"):
        decision = decide(
            day,
            features,
            elig,
            lambda mask: model.score(X_all[mask]),
            Policy.of(action, seed=seed, day=day),
        )
    return _Scored(elig, decision, X_all)


def _finish_action(
    config: Config,
    champion: _Champion,
    day: dt.date,
    features: pa.Table,
    scored: _Scored,
    *,
    run_id: str,
    timer: Timer,
    shadow: PropensityModel | None = None,
) -> tuple[pa.Table, ActionOutcome]:
    """Reason codes, the shadow's choice and the decision table of one action."""
    action, model = champion.action, champion.model
    elig, decision, X_all = scored.elig, scored.decision, scored.matrix
    ids, eligible, score, arms = decision.ids, decision.eligible, decision.score, decision.arms
    with timer.step(f"{action.name}:reasons"):
        readable = np.flatnonzero(arms.arm != "none")
        reasons = np.full(len(ids), None, dtype=object)
        market_wide = frozenset(
            d.name for d in resolve_features(config.features).definitions if d.market_wide
        )
        texts, leading = reason_codes(
            model, X_all[readable], top=config.run.reasons_top, exclude=market_wide
        )
        reasons[readable] = texts
    # the shadow is scored on the same customers and selected by the same rule; it is logged,
    # never acted on
    shadow_score = np.full(len(ids), np.nan)
    shadow_selected = np.zeros(len(ids), dtype=bool)
    if shadow is not None:
        with timer.step(f"{action.name}:shadow"):
            shadow_score[eligible] = shadow.score(shadow.matrix(features)[eligible])
            shadow_selected = select(
                ids,
                eligible,
                shadow_score,
                threshold=action.threshold,
                max_weekly=action.max_weekly,
            ).selected
    n = len(ids)
    table = pa.table(
        {
            "run_id": pa.array([run_id] * n, pa.string()),
            "action": pa.array([action.name] * n, pa.string()),
            "relation_id": pa.array(ids, pa.int64()),
            "snapshot_date": pa.array(np.full(n, np.datetime64(day, "D")), pa.date32()),
            "eligible": pa.array(eligible, pa.bool_()),
            "first_failed_rule": elig["first_failed_rule"],
            "score": pa.array(score, pa.float64(), mask=np.isnan(score)),
            "rank": pa.array(arms.rank.astype(np.int32), pa.int32(), mask=arms.rank == 0),
            "selected": pa.array(arms.selected, pa.bool_()),
            "arm": pa.array(arms.arm.astype(object), pa.string()),
            "assignment_probability": pa.array(arms.probability, pa.float64()),
            "reasons": pa.array(reasons.tolist(), pa.string()),
            "shadow_score": pa.array(shadow_score, pa.float64(), mask=np.isnan(shadow_score)),
            "shadow_selected": pa.array(
                shadow_selected, pa.bool_(), mask=np.full(n, shadow is None)
            ),
        },
        schema=DECISION_SCHEMA,
    )
    return table, _outcome(action.name, decision, elig, leading)


def _outcome(action: str, decision: Decision, elig: pa.Table, leading: list[str]) -> ActionOutcome:
    """The run's summary of one action's decisions: arm counts, flags, rules and reasons."""
    arms, eligible = decision.arms, decision.eligible
    counts = {a: int((arms.arm == a).sum()) for a in ("treat", "holdout", "explore", "none")}
    counts.update(
        customers=len(decision.ids),
        eligible=int(eligible.sum()),
        candidates=arms.n_candidates,
        selected=int(arms.selected.sum()),
    )
    rules = pc.value_counts(pc.drop_null(elig["first_failed_rule"])).to_pylist()
    by_rule = {r["values"]: int(r["counts"]) for r in rules}
    top: dict[str, int] = {}
    for name in leading:
        if name:
            top[name] = top.get(name, 0) + 1
    return ActionOutcome(
        action=action,
        model_version="",
        counts=counts,
        flags=list(decision.flags),
        ineligible_by_rule=dict(sorted(by_rule.items(), key=lambda kv: -kv[1])),
        top_reasons=sorted(top.items(), key=lambda kv: -kv[1])[:5],
        scores=decision.score[eligible],
    )
