"""The weekly run for one snapshot date: features → eligibility → score → arms → reasons →
persist (run record, decision rows, decision file), all or nothing.

One live list per week: a week whose run is ``pending_review``, ``approved`` or ``exported``
(and not superseded) is not decided again unless a person gives a reason (``supersede``) and
their name; the new run then supersedes the live one. The check happens inside the transaction
that stores the run, so of two runs of one week made at the same time exactly one is stored.
A week that halted keeps one record: a retry updates it (every attempt is a ``run_events``
row), and a retry that gets through becomes that record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

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
from nextbest.errors import NotFoundError, RunHaltedError, RunStateError
from nextbest.features import build_features, loaded_snapshot_dates, resolve_features
from nextbest.models import (
    PropensityModel,
    champion_version,
    load_model,
    reason_codes,
    shadow_version,
)
from nextbest.pipeline._alerting import notify_halt
from nextbest.pipeline._lifecycle import (
    is_conflict,
    live_error,
    live_runs,
    supersede_runs,
)
from nextbest.pipeline._runs import (
    RunRecord,
    delete_run,
    insert_checks,
    insert_run,
    next_run_id,
    record_event,
    replace_halted_run,
    run_exists,
)
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


def config_hash(config: Config) -> str:
    """sha256 of the validated config (paths as written), stable across machines."""
    text = config.model_dump_json(exclude={"source_path"})
    return hashlib.sha256(text.encode()).hexdigest()


def input_fingerprints(store: Store, day: dt.date) -> dict[str, Any]:
    """Which loaded batches (by sha256) the run reads, and the state of the contact history."""
    rows = store.fetchall(
        """
        SELECT table_name, list(file_sha256 ORDER BY batch_id)
        FROM ingest_batches
        WHERE status = 'loaded'
          AND (table_name <> 'snapshots' OR list_contains(partitions, ?))
        GROUP BY table_name ORDER BY table_name
        """,
        [day.isoformat()],
    )
    # the cooldown looks both ways from the run date, so the whole contact history counts
    contacts = store.fetchone("SELECT count(*), CAST(max(contact_date) AS VARCHAR) FROM contacts")
    assert contacts is not None
    return {
        "batches": {table: list(shas) for table, shas in rows},
        "contacts": {"rows": int(contacts[0]), "last": contacts[1]},
    }


def _decide_action(
    store: Store,
    config: Config,
    action: ActionConfig,
    day: dt.date,
    features: pa.Table,
    model: PropensityModel,
    *,
    seed: int,
    run_id: str,
    timings: dict[str, float],
    shadow: PropensityModel | None = None,
) -> tuple[pa.Table, ActionOutcome]:
    t = time.perf_counter()
    elig = eligibility(store, action, day)
    timings[f"{action.name}:eligibility"] = time.perf_counter() - t
    X_all = model.matrix(features)
    t = time.perf_counter()
    decision = decide(
        day,
        features,
        elig,
        lambda mask: model.score(X_all[mask]),
        Policy.of(action, seed=seed, day=day),
    )
    ids, eligible, score, arms = decision.ids, decision.eligible, decision.score, decision.arms
    timings[f"{action.name}:decide"] = time.perf_counter() - t
    t = time.perf_counter()
    readable = np.flatnonzero(arms.arm != "none")
    reasons = np.full(len(ids), None, dtype=object)
    market_wide = frozenset(
        d.name for d in resolve_features(config.features).definitions if d.market_wide
    )
    texts, leading = reason_codes(
        model, X_all[readable], top=config.run.reasons_top, exclude=market_wide
    )
    reasons[readable] = texts
    timings[f"{action.name}:reasons"] = time.perf_counter() - t
    # the shadow is scored on the same customers and selected by the same rule; it is logged,
    # never acted on
    shadow_score = np.full(len(ids), np.nan)
    shadow_selected = np.zeros(len(ids), dtype=bool)
    if shadow is not None:
        t = time.perf_counter()
        shadow_score[eligible] = shadow.score(shadow.matrix(features)[eligible])
        shadow_selected = select(
            ids, eligible, shadow_score, threshold=action.threshold, max_weekly=action.max_weekly
        ).selected
        timings[f"{action.name}:shadow"] = time.perf_counter() - t
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


def _runs_dir(config: Config) -> Path:
    store_path = config.resolve(config.store.path)
    return store_path.parent / "runs"


def _record_halt(
    store: Store,
    config: Config,
    *,
    day: dt.date,
    seed: int,
    checks: list[Check],
    models: dict[str, str],
    alert: bool,
    actor: str = "system",
) -> tuple[str, str | None]:
    """Record the halt in the week's halted record (updated by a retry, created on the first
    halt) with this attempt's checks and an event, then alert; returns the run id and why the
    alert was not delivered (None when it was, or when no alert was asked for)."""
    failed = [c for c in checks if c.verdict == "halt"]
    reason = "; ".join(f"{c.name}: {c.message}" for c in failed)
    with store.transaction():
        run_id = next_run_id(store, day)
        record = RunRecord(
            run_id=run_id,
            snapshot_date=day,
            status="halted",
            seed=seed,
            config_hash=config_hash(config),
            inputs=json.dumps(input_fingerprints(store, day), sort_keys=True),
            models=json.dumps(models, sort_keys=True),
            config_json=config.model_dump_json(exclude={"source_path"}),
            halted_reason=reason,
            started_by=actor,
        )
        if run_exists(store, run_id):
            replace_halted_run(store, record)
        else:
            insert_run(store, record)
        insert_checks(store, run_id, checks)
        record_event(store, run_id, "halted", actor, reason)
    if alert:
        return run_id, notify_halt(store, config, run_id=run_id, day=day, checks=checks)
    return run_id, None


def _halt(
    store: Store,
    config: Config,
    *,
    day: dt.date,
    seed: int,
    checks: list[Check],
    models: dict[str, str],
    alert: bool,
    when: str,
    actor: str = "system",
) -> None:
    """Record the halted run, send the alert, and stop with a one-line reason."""
    run_id, alert_failure = _record_halt(
        store,
        config,
        day=day,
        seed=seed,
        checks=checks,
        models=models,
        alert=alert,
        actor=actor,
    )
    failed = ", ".join(c.name for c in checks if c.verdict == "halt")
    raise RunHaltedError(
        f"run {run_id} halted {when} ({failed}); see 'nextbest review {run_id}'",
        run_id=run_id,
        alert_failure=alert_failure,
    )


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
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    dates = loaded_snapshot_dates(store)
    if not dates:
        raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
    day = day or dates[-1]
    seed = config.run.seed if seed is None else seed
    limits = config.checks
    overriding = bool(override and override.strip())
    superseding = supersede is not None
    if superseding and (not (supersede or "").strip() or actor.strip() in ("", "system")):
        raise RunStateError(
            "deciding a week again (supersede) needs a written reason and a name: "
            '--supersede "why" --by NAME'
        )
    live = live_runs(store, day)
    if live and not superseding:
        raise live_error(day, live)
    run_id = next_run_id(store, day)  # provisional: the id is taken when the run is stored
    checks = [freshness(store, day)]
    if checks[0].verdict == "halt":
        # nothing to decide on: a late week is never overridden
        run_id, alert_failure = _record_halt(
            store, config, day=day, seed=seed, checks=checks, models={}, alert=alert, actor=actor
        )
        raise RunHaltedError(
            f"run {run_id} halted (freshness): {checks[0].message}",
            run_id=run_id,
            alert_failure=alert_failure,
        )
    checks += [contract(store, day), row_count(store, day, limits)]
    fs = resolve_features(config.features)
    features = build_features(store, fs, [day])
    timings["features"] = time.perf_counter() - t0
    models: dict[str, str] = {}
    champions: list[tuple[ActionConfig, Any, PropensityModel]] = []
    for action in config.actions:
        version = champion_version(store, action.name)
        model = load_model(store, version.version)
        models[action.name] = version.version
        champions.append((action, version, model))
        # market-wide features have one value a week: the market-regime check covers them
        market_wide = {d.name for d in fs.definitions if d.market_wide}
        values = {
            f: features[f].to_numpy(zero_copy_only=False).astype(np.float64)
            for f in model.features
            if f not in market_wide
        }
        checks += drift(values, model.metadata.get("profile", {}), limits)
        band = model.metadata.get("market_band")
        checks.append(market_regime(market_state(store, fs.market_fund, day), band, day))
    if any(c.verdict == "halt" for c in checks) and not overriding:
        _halt(
            store,
            config,
            day=day,
            seed=seed,
            checks=checks,
            models=models,
            alert=alert,
            when="before deciding",
            actor=actor,
        )
    tables = []
    outcomes = []
    groups = concentration_groups(store, day)
    for i, (action, version, model) in enumerate(champions):
        t = time.perf_counter()
        shadow_v = shadow_version(store, action.name)
        shadow = load_model(store, shadow_v.version) if shadow_v else None
        table, outcome = _decide_action(
            store,
            config,
            action,
            day,
            features,
            model,
            seed=seed,
            run_id=run_id,
            timings=timings,
            shadow=shadow,
        )
        if shadow_v is not None:
            models[f"{action.name}:shadow"] = shadow_v.version
        outcome.model_version = version.version
        tables.append(table)
        outcomes.append(outcome)
        c = outcome.counts
        checks.append(
            volume(
                c["candidates"],
                c["selected"],
                min_weekly=action.min_weekly,
                max_weekly=action.max_weekly,
                limits=limits,
            )
        )
        checks.append(
            concentration(
                groups,
                table["eligible"].to_numpy(zero_copy_only=False),
                table["selected"].to_numpy(zero_copy_only=False),
                limits,
            )
        )
        timings[f"decide:{action.name}"] = time.perf_counter() - t
        if progress:
            progress("Deciding", i + 1, len(config.actions))
    if any(c.verdict == "halt" for c in checks) and not overriding:
        _halt(
            store,
            config,
            day=day,
            seed=seed,
            checks=checks,
            models=models,
            alert=alert,
            when="after deciding (the list was discarded)",
            actor=actor,
        )
    decisions = pa.concat_tables(tables)
    t = time.perf_counter()
    runs_dir = _runs_dir(config)
    # the file holds the decisions only, not the run id, so that the same inputs, config,
    # model and seed give a byte-identical file whatever the run is called; it is written to a
    # unique name and moved to the run's folder once the run id is taken
    tmp, sha = _write_decision_tmp(decisions.drop_columns(["run_id"]), runs_dir)
    inputs = input_fingerprints(store, day)
    # a name of its own: another thread may be storing its run through the same connection
    registered = f"_decisions_{secrets.token_hex(8)}"
    store.register(registered, decisions)
    moved: Path | None = None
    try:
        with store.transaction():
            now_live = live_runs(store, day)
            if now_live and not superseding:
                raise live_error(day, now_live)
            if superseding and now_live != live:
                raise RunStateError(
                    f"the live list of {day} changed while this run was made (now: "
                    f"{', '.join(r for r, _ in now_live) or 'none'}); nothing was stored, run "
                    "again"
                )
            run_id = next_run_id(store, day)
            # a halted record of the week becomes this run
            delete_run(store, run_id)
            # named by its content: a run of the same id that fails to commit (another
            # connection stored it first) can never overwrite the stored run's file
            decision_file = runs_dir / run_id / f"decisions-{sha[:16]}.parquet"
            _persist(
                store,
                config,
                run_id,
                day,
                seed,
                decisions,
                outcomes,
                models,
                timings,
                t0,
                t,
                decision_file,
                sha,
                inputs,
                actor,
                registered,
            )
            insert_checks(store, run_id, checks)
            if overriding:
                store.execute(
                    "UPDATE runs SET override = ? WHERE run_id = ?",
                    [
                        json.dumps(
                            {
                                "by": actor,
                                "reason": override,
                                "checks": [c.name for c in checks if c.verdict == "halt"],
                            }
                        ),
                        run_id,
                    ],
                )
            record_event(
                store,
                run_id,
                "created",
                actor,
                f"override: {override}" if overriding else "weekly run",
            )
            if now_live:
                supersede_runs(store, now_live, run_id, actor=actor, reason=str(supersede))
            decision_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(decision_file)
            moved = decision_file
    except Exception as exc:
        if moved is not None:
            stored = store.scalar("SELECT decision_file FROM runs WHERE run_id = ?", [run_id])
            if stored != str(moved):
                moved.unlink(missing_ok=True)
        if is_conflict(exc):
            raise RunStateError(
                f"another run of {day} was stored at the same time; nothing was stored for "
                f"this one. See 'nextbest runs'"
            ) from None
        raise
    finally:
        store.unregister(registered)
        tmp.unlink(missing_ok=True)
    return RunResult(
        run_id=run_id,
        snapshot_date=day,
        status="pending_review",
        decision_file=decision_file,
        decision_sha256=sha,
        outcomes=outcomes,
        timings=timings,
        checks=checks,
        superseded=[r for r, _ in now_live],
    )


def _persist(
    store: Store,
    config: Config,
    run_id: str,
    day: dt.date,
    seed: int,
    decisions: pa.Table,
    outcomes: list[ActionOutcome],
    models: dict[str, str],
    timings: dict[str, float],
    t0: float,
    t: float,
    decision_file: Path,
    sha: str,
    inputs: dict[str, Any],
    actor: str,
    registered: str,
) -> None:
    with store.transaction():
        store.execute(
            "INSERT INTO decisions SELECT * REPLACE (CAST(? AS VARCHAR) AS run_id) "
            f"FROM {registered}",
            [run_id],
        )
        timings["persist"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        insert_run(
            store,
            RunRecord(
                run_id=run_id,
                snapshot_date=day,
                status="pending_review",
                seed=seed,
                config_hash=config_hash(config),
                inputs=json.dumps(inputs, sort_keys=True),
                models=json.dumps(models, sort_keys=True),
                counts=json.dumps({o.action: o.counts for o in outcomes}, sort_keys=True),
                flags=json.dumps({o.action: o.flags for o in outcomes}, sort_keys=True),
                timings=json.dumps({k: round(v, 4) for k, v in timings.items()}, sort_keys=True),
                decision_file=str(decision_file),
                decision_sha256=sha,
                config_json=config.model_dump_json(exclude={"source_path"}),
                started_by=actor,
            ),
        )


def _write_decision_tmp(decisions: pa.Table, folder: Path) -> tuple[Path, str]:
    """Write the decision table to a unique temporary file in ``folder``; (path, sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix=".decisions-", suffix=".parquet.tmp")
    os.close(fd)
    tmp = Path(name)
    pq.write_table(decisions, tmp, compression="zstd", write_statistics=True)
    return tmp, hashlib.sha256(tmp.read_bytes()).hexdigest()


def write_decision_file(decisions: pa.Table, path: Path) -> str:
    """Write the decision table atomically; return its sha256. The same rows give the same
    bytes (fixed row order, no timestamps in the file)."""
    tmp, digest = _write_decision_tmp(decisions, path.parent)
    tmp.replace(path)
    return digest
