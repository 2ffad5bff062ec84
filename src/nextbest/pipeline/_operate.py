"""The operator's week: review, approve or reject, export, schedule, replay, knobs.

* Only a run in ``pending_review`` can be approved or rejected, by a named person with a comment;
  the person who started the run cannot approve it (four eyes; rejecting it is allowed). The
  run must be named: approve, reject and export refuse ``latest``.
* Every state change is conditional (``UPDATE … WHERE status = 'pending_review'``) and checked
  inside its transaction, so of several calls at once exactly one succeeds; the others get
  :class:`RunStateError`, also when the database reports a write-write conflict.
* Export is in :mod:`nextbest.pipeline._export`.
* ``due_week`` picks the week the schedule should run; a week that already has a run is not
  run twice.
* ``replay`` recomputes a past run from its recorded config, model versions and seed and checks
  the decision file is byte-identical; when it is not, it names the re-delivered inputs.
* Knobs: a few safe settings per action, changed with who, when, old → new and why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

from nextbest.config import Config, config_from_mapping
from nextbest.errors import ConfigError, NotFoundError, RunStateError, did_you_mean
from nextbest.features import loaded_snapshot_dates
from nextbest.pipeline._contacts import forget_contacts_since
from nextbest.pipeline._lifecycle import (
    LIVE_STATUSES,
    is_conflict,
    require_named,
    resolve_run,
    same_person,
)
from nextbest.pipeline._review import (
    CheckResult,
    Overlap,
    RunEvent,
    RunReview,
    _run_row,
    run_summary,
)
from nextbest.pipeline._runs import (
    RunRecord,
    RunStatus,
    change_status,
    insert_run,
    new_run_id,
    record_event,
)
from nextbest.pipeline._superseded import ReplayResult, superseded_inputs
from nextbest.store import Store

KNOBS: dict[str, str] = {
    "enabled": "on/off: a disabled action's scheduled runs are skipped and recorded",
    "threshold": "select customers whose score is at least this",
    "min_weekly": "fewer selected than this is flagged",
    "max_weekly": "most customers selected in a week",
    "holdout_fraction": "share of the selected kept out",
    "exploration_size": "eligible, not-selected customers mailed at random",
    "cooldown_weeks": "no new contact within this many weeks",
    "lever": "business weight of the action when actions compete for a customer",
    "contact_cost": "euros one contact costs, subtracted from its worth when actions compete",
}


def decide_review(store: Store, run_id: str, *, approve: bool, actor: str, comment: str) -> str:
    """Approve or reject a run waiting for review; returns the new status.

    The person who started the run cannot approve it (four eyes); they may reject it. The
    status change is conditional and checked inside its transaction: of several calls at once,
    one succeeds and the others raise :class:`RunStateError`."""
    step = "approve" if approve else "reject"
    if not actor.strip():
        raise RunStateError("approving or rejecting needs the operator's name (--by NAME)")
    require_named(run_id, step)
    rid, _, _ = resolve_run(store, run_id)
    new: RunStatus = "approved" if approve else "rejected"
    try:
        with store.transaction():
            row = store.fetchone(
                "SELECT status, superseded_by, coalesce(started_by, (SELECT arg_min(e.actor, "
                "e.event_at) FROM run_events e WHERE e.run_id = runs.run_id AND "
                "e.event = 'created')) FROM runs WHERE run_id = ?",
                [rid],
            )
            assert row is not None
            status, superseded_by, starter = row
            if status != "pending_review" or superseded_by:
                by = f" (by {superseded_by})" if superseded_by else ""
                raise RunStateError(
                    f"run {rid} is {status}{by}; only a run pending review can be "
                    f"{'approved' if approve else 'rejected'}"
                )
            if approve and starter and same_person(str(starter), actor):
                raise RunStateError(
                    f"run {rid} was started by {starter}; someone else must approve it (four "
                    "eyes). You may reject it."
                )
            if not change_status(store, rid, was="pending_review", now=new):
                raise RunStateError(f"run {rid} changed while it was being {new}; run review again")
            record_event(store, rid, new, actor, comment)
    except Exception as exc:
        if is_conflict(exc):
            raise RunStateError(
                f"run {rid} was approved, rejected or exported by someone else at the same "
                f"time; see 'nextbest review {rid}'"
            ) from None
        raise
    return new


def review(store: Store, run_id: str, *, sample: int = 10) -> RunReview:
    """What the operator checks: status, counts, volume against the band, every check, a
    seeded sample, and the overlap with the other runs of the same week and with the previous
    week's live run (``overlaps``: customers assigned an arm in both)."""
    rid, day, status = resolve_run(store, run_id)
    checks = [
        CheckResult(*r)
        for r in store.fetchall(
            "SELECT name, verdict, figure, limit_text, message FROM run_checks WHERE run_id = ?",
            [rid],
        )
    ]
    previous = store.fetchone(
        "SELECT run_id FROM runs WHERE snapshot_date < ? AND status IN (?, ?, ?) "
        "ORDER BY snapshot_date DESC, superseded_by IS NULL DESC, created_at DESC",
        [day, *LIVE_STATUSES],
    )
    previous_run = None if previous is None else str(previous[0])
    overlaps = _overlaps(store, rid, day, previous_run)
    events = [
        RunEvent(*r)
        for r in store.fetchall(
            "SELECT event, actor, comment, event_at FROM run_events WHERE run_id = ? "
            "ORDER BY event_at",
            [rid],
        )
    ]
    return RunReview(
        **_summary_fields(store, rid, day, status, sample),
        checks=checks,
        overlaps=overlaps,
        previous_run=previous_run,
        overlap_with_previous=next(
            (o.assigned_in_both for o in overlaps if o.run_id == previous_run), None
        ),
        events=events,
    )


def _summary_fields(
    store: Store, rid: str, day: dt.date, status: str, sample: int
) -> dict[str, Any]:
    """The :class:`RunSummary` part of a review; a halted run decided nothing."""
    if status != "halted":
        summary = run_summary(store, rid, sample=sample)
        return {f.name: getattr(summary, f.name) for f in dataclasses.fields(summary)}
    row = _run_row(store, rid)
    return {
        "run_id": rid,
        "snapshot_date": day,
        "status": "halted",
        "seed": None,
        "counts": {},
        "models": {},
        "flags": {},
        "started_by": row["started_by"],
        "superseded_by": row["superseded_by"],
        "settings": {},
        "sample": [],
    }


def _overlaps(store: Store, rid: str, day: dt.date, previous_run: str | None) -> list[Overlap]:
    others = store.fetchall(
        "SELECT run_id, snapshot_date, status FROM runs WHERE run_id <> ? "
        "AND status NOT IN ('halted', 'skipped') AND (snapshot_date = ? OR run_id = ?) "
        "ORDER BY snapshot_date DESC, created_at",
        [rid, day, previous_run],
    )
    overlaps = []
    for other, other_day, other_status in others:
        both = store.scalar(
            "SELECT count(*) FROM decisions a JOIN decisions b USING (relation_id, action) "
            "WHERE a.run_id = ? AND b.run_id = ? AND a.arm <> 'none' AND b.arm <> 'none'",
            [rid, other],
        )
        overlaps.append(Overlap(other, other_day, other_status, int(both)))
    return overlaps


def due_week(store: Store) -> tuple[dt.date | None, str]:
    """The week the schedule should run now, or None with the reason there is nothing to do.

    The due week is the one after the latest week that has a run (other than a halted one);
    with no runs yet it is the latest loaded week. A due week whose snapshot is not loaded is
    still due: the run then halts on freshness, which is what tells the operator."""
    loaded = loaded_snapshot_dates(store)
    if not loaded:
        raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
    last = store.scalar("SELECT max(snapshot_date) FROM runs WHERE status NOT IN ('halted')")
    if last is None:
        return loaded[-1], "first run"
    due = last + dt.timedelta(weeks=1)
    if due > dt.date.today():
        return None, f"the week of {last} has run; {due} is not due yet"
    return due, f"the week after {last}"


def effective_config(store: Store, config: Config) -> Config:
    """The config with the operator's knob values applied."""
    rows = store.fetchall(
        "SELECT action, knob, arg_max(new_value, changed_at) FROM knob_changes GROUP BY ALL"
    )
    if not rows:
        return config
    data = json.loads(config.model_dump_json(exclude={"source_path"}))
    for action, knob, value in rows:
        for a in data["actions"]:
            if a["name"] == action and knob != "enabled":
                a[knob] = json.loads(value)
    out = config_from_mapping(data, origin="config with knobs")
    return out.model_copy(update={"source_path": config.source_path})


def action_enabled(store: Store, action: str) -> bool:
    value = store.scalar(
        "SELECT arg_max(new_value, changed_at) FROM knob_changes "
        "WHERE action = ? AND knob = 'enabled'",
        [action],
    )
    return value is None or json.loads(value) is True


_COUNT_KNOBS = frozenset({"min_weekly", "max_weekly", "exploration_size", "cooldown_weeks"})
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = frozenset({"nan", "inf", "infinity"})


def _shown(text: str) -> str:
    return repr(text if len(text) <= 20 else text[:20] + "…")


def parse_knob(knob: str, value: str | bool | int | float) -> bool | int | float:
    """The typed value of a knob from its JSON text (``0.04``, ``800``, ``false``) or from an
    already decoded JSON scalar, refusing what only looks right: a boolean for a number, a
    number for ``enabled``, a quoted string, NaN or infinity, a fraction for a count.
    Counts written as a whole float (``800.0``, ``1e3``) are taken as the integer."""
    kind = (
        "true or false"
        if knob == "enabled"
        else "a whole number"
        if knob in _COUNT_KNOBS
        else "a number"
    )
    parsed: object = value
    if isinstance(value, str):
        text = value.strip()
        if text in ("true", "false"):
            parsed = text == "true"
        elif len(text) <= 40 and _NUMBER.fullmatch(text):
            parsed = json.loads(text)
        elif text.startswith('"'):
            raise ConfigError(
                f"knob {knob} must be {kind}, not a string: write it without quotes "
                f"(got {_shown(text)})"
            )
        elif knob != "enabled" and text.lower().lstrip("+-") in _NON_FINITE:
            raise ConfigError(f"knob {knob} must be a finite number, got {_shown(text)}")
        else:
            raise ConfigError(f"knob {knob} must be {kind}, got {_shown(text)}")
    shown = json.dumps(parsed) if isinstance(parsed, bool | int | float) else repr(parsed)
    if knob == "enabled":
        if not isinstance(parsed, bool):
            raise ConfigError(f"knob enabled must be true or false, got {shown}")
        return parsed
    if isinstance(parsed, bool) or not isinstance(parsed, int | float):
        raise ConfigError(f"knob {knob} must be {kind}, got {shown}")
    if not math.isfinite(parsed):
        raise ConfigError(f"knob {knob} must be a finite number, got {_shown(str(parsed))}")
    if knob in _COUNT_KNOBS:
        if parsed != int(parsed):
            raise ConfigError(f"knob {knob} must be a whole number, got {shown}")
        return int(parsed)
    return float(parsed)


def set_knob(
    store: Store,
    config: Config,
    action: str,
    knob: str,
    value: str | bool | int | float,
    *,
    actor: str,
    reason: str,
) -> tuple[Any, Any, str | None]:
    """Change one knob; returns (old, new, warning). The value is typed strictly by
    :func:`parse_knob`, then validated by the config model (so a value out of range is
    refused with the setting named), and logged as the validated config applies it."""
    if knob not in KNOBS:
        raise ConfigError(
            f"unknown knob '{knob}';{did_you_mean(knob, KNOBS)} Knobs: {', '.join(KNOBS)}"
        )
    if not actor.strip() or not reason.strip():
        raise ConfigError("a knob change needs who makes it (--by) and why (--reason)")
    cfg = effective_config(store, config)
    act = cfg.action(action)
    parsed = parse_knob(knob, value)
    if knob == "enabled":
        old: Any = action_enabled(store, action)
        new: Any = parsed
    else:
        old = getattr(act, knob)
        data = json.loads(cfg.model_dump_json(exclude={"source_path"}))
        for a in data["actions"]:
            if a["name"] == action:
                a[knob] = parsed
        validated = config_from_mapping(data, origin=f"knob {action}.{knob}")  # or raises
        new = getattr(validated.action(action), knob)
    warning = None
    last = store.scalar(
        "SELECT max(changed_at) FROM knob_changes WHERE action = ? AND knob <> 'enabled'",
        [action],
    )
    if knob != "enabled" and last is not None:
        since = (dt.datetime.now() - last).days
        if since < 7 * act.label_weeks:
            warning = (
                f"the knobs of {action} changed {since} day(s) ago; changing them more often than "
                f"the {act.label_weeks}-week evaluation window makes their effect unmeasurable"
            )
    store.execute(
        "INSERT INTO knob_changes (action, knob, old_value, new_value, actor, reason, changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [action, knob, json.dumps(old), json.dumps(new), actor, reason],
    )
    return old, new, warning


def knob_log(store: Store) -> list[dict[str, Any]]:
    rows = store.fetchall(
        "SELECT changed_at, action, knob, old_value, new_value, actor, reason "
        "FROM knob_changes ORDER BY changed_at"
    )
    keys = ("at", "action", "knob", "old", "new", "by", "reason")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def record_skipped(store: Store, config: Config, day: dt.date, reason: str) -> str:
    """A scheduled week that did not run (e.g. disabled) is recorded as skipped."""
    with store.transaction():
        rid = new_run_id(store, day)
        insert_run(
            store,
            RunRecord(
                run_id=rid,
                snapshot_date=day,
                status="skipped",
                seed=config.run.seed,
                halted_reason=reason,
                started_by="system",
            ),
        )
        record_event(store, rid, "skipped", "system", reason)
    return rid


def replay(store: Store, run_id: str) -> ReplayResult:
    """Recompute a past run from its recorded config, models and seed into a scratch folder
    (inside a rolled-back transaction) and compare the decision files byte for byte; the
    result names the run's inputs that re-delivered files replaced since.

    The contact history is put back as it was when the run was made: the contacts of every
    run exported after it was created are left out (its own included), and so are contacts
    from elsewhere (no export record) dated on or after the run date."""
    import tempfile

    from nextbest.models import set_status
    from nextbest.pipeline._weekly import run_week

    run_id, _, _ = resolve_run(store, run_id)
    row = store.fetchone(
        "SELECT snapshot_date, seed, config_json, models, decision_sha256, status, created_at "
        "FROM runs WHERE run_id = ?",
        [run_id],
    )
    assert row is not None
    day, seed, config_json, models, sha, status, created_at = row
    if status in ("halted", "skipped") or not config_json:
        raise RunStateError(f"run {run_id} is {status}: there is no decision file to replay")
    cfg = config_from_mapping(json.loads(config_json), origin=f"run {run_id}")
    recorded = json.loads(models)

    with tempfile.TemporaryDirectory() as scratch:
        scratch_cfg = cfg.model_copy(
            update={"store": cfg.store.model_copy(update={"path": Path(scratch) / "replay.duckdb"})}
        )
        with store.discarding():
            # the world as it was: the recorded champion and shadow, no later contacts
            for action in cfg.actions:
                if f"{action.name}:shadow" not in recorded:
                    store.execute(
                        "UPDATE model_versions SET status = 'candidate' "
                        "WHERE action = ? AND status = 'shadow'",
                        [action.name],
                    )
            for key, version in recorded.items():
                set_status(
                    store,
                    version,
                    "shadow" if key.endswith(":shadow") else "champion",
                    actor="replay",
                    reason=f"replay of {run_id}",
                )
            forget_contacts_since(store, made_at=created_at, day=day)
            result = run_week(
                store,
                scratch_cfg,
                day=day,
                seed=int(seed),
                alert=False,
                override="replay of a recorded run",
                supersede=f"replay of {run_id}",
                actor="replay",
            )
            new_sha = result.decision_sha256
    same = new_sha == sha
    gone = superseded_inputs(store, run_id, since_run=not same)
    return ReplayResult(run_id, same, sha, new_sha, gone)
