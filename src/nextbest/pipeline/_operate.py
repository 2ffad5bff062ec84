"""The operator's week: review, approve or reject, export, schedule, replay, knobs.

* Only a run in ``pending_review`` can be approved or rejected, by a named person with a comment;
  the person who started the run cannot approve it (four eyes; rejecting it is allowed). The
  run must be named: approve, reject and export refuse ``latest``.
* Every state change is conditional (``UPDATE … WHERE status = 'pending_review'``) and checked
  inside its transaction, so of several calls at once exactly one succeeds; the others get
  :class:`RunStateError`, also when the database reports a write-write conflict.
* Only an ``approved`` run that is not superseded can be exported. Export writes the hand-off
  file for the e-mail tool (CSV and Parquet: relation number, action, flow, arm) for the mailed
  arms, and ``stops.csv``: customers in a running flow who converted since they were mailed,
  whose flow must stop; it re-checks the contact history (see :func:`export_run`), records a
  contact per assigned customer (treat, explore and holdout — the holdout so that the cooldown
  keeps it clean), records the three files' sha256 and marks the run ``exported``, all at once.
  Exporting again sends nothing twice, verifies the three files and rewrites a missing or
  damaged one from the recorded decisions (or fails when it cannot be rebuilt byte for byte).
* ``due_week`` picks the week the schedule should run; a week that already has a run is not
  run twice.
* ``replay`` recomputes a past run from its recorded config, model versions and seed and checks
  the decision file is byte-identical.
* Knobs: a few safe settings per action, changed with who, when, old → new and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nextbest.config import Config, config_from_mapping
from nextbest.errors import ConfigError, NotFoundError, RunStateError, StoreError, did_you_mean
from nextbest.features import loaded_snapshot_dates
from nextbest.pipeline._weekly import LIVE_STATUSES, _conflict, _event
from nextbest.store import Store

KNOBS: dict[str, str] = {
    "enabled": "on/off: a disabled action's scheduled runs are skipped and recorded",
    "threshold": "select customers whose score is at least this",
    "min_weekly": "fewer selected than this is flagged",
    "max_weekly": "most customers selected in a week",
    "holdout_fraction": "share of the selected kept out",
    "exploration_size": "eligible, not-selected customers mailed at random",
    "cooldown_weeks": "no new contact within this many weeks",
}


def _run(store: Store, run_id: str) -> tuple[str, dt.date, str]:
    """(run id, snapshot date, status) of a run id or 'latest'."""
    from nextbest.pipeline._review import _run_row

    row = _run_row(store, run_id)
    return str(row["run_id"]), row["snapshot_date"], str(row["status"])


def _named(run_id: str, step: str) -> None:
    """State changes name their run: 'latest' may be a run nobody reviewed."""
    if run_id.strip().lower() == "latest":
        raise RunStateError(
            f"name the run id to {step}: 'latest' is refused for approve, reject and export so "
            "that nobody changes a run they did not review (see 'nextbest runs' or "
            "'nextbest review latest')"
        )


def _same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def decide_review(store: Store, run_id: str, *, approve: bool, actor: str, comment: str) -> str:
    """Approve or reject a run waiting for review; returns the new status.

    The person who started the run cannot approve it (four eyes); they may reject it. The
    status change is conditional and checked inside its transaction: of several calls at once,
    one succeeds and the others raise :class:`RunStateError`."""
    step = "approve" if approve else "reject"
    if not actor.strip():
        raise RunStateError("approving or rejecting needs the operator's name (--by NAME)")
    _named(run_id, step)
    rid, _, _ = _run(store, run_id)
    new = "approved" if approve else "rejected"
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
            if approve and starter and _same_person(str(starter), actor):
                raise RunStateError(
                    f"run {rid} was started by {starter}; someone else must approve it (four "
                    "eyes). You may reject it."
                )
            changed = store.fetchone(
                "UPDATE runs SET status = ? WHERE run_id = ? AND status = 'pending_review' "
                "AND superseded_by IS NULL",
                [new, rid],
            )
            if changed is None or changed[0] != 1:
                raise RunStateError(f"run {rid} changed while it was being {new}; run review again")
            _event(store, rid, new, actor, comment)
    except Exception as exc:
        if _conflict(exc):
            raise RunStateError(
                f"run {rid} was approved, rejected or exported by someone else at the same "
                f"time; see 'nextbest review {rid}'"
            ) from None
        raise
    return new


@dataclass(frozen=True)
class ExportResult:
    run_id: str
    csv_file: Path
    parquet_file: Path
    rows: int
    contacts: int
    already: bool
    #: on a re-export, the files that were missing or damaged and were rewritten
    restored: tuple[str, ...] = ()


def _handoff(store: Store, config: Config, run_id: str) -> pa.Table:
    flows = {a.name: " > ".join(a.flow) for a in config.actions}
    table = store.arrow(
        "SELECT relation_id, action, arm FROM decisions WHERE run_id = ? "
        "AND arm IN ('treat', 'explore') ORDER BY action, relation_id",
        [run_id],
    )
    flow = [flows.get(a, "") for a in table["action"].to_pylist()]
    return pa.table(
        {
            "relation_id": table["relation_id"],
            "action": table["action"],
            "flow": pa.array(flow, pa.string()),
            "arm": table["arm"],
        }
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(table: pa.Table, folder: Path, name: str) -> tuple[Path, str]:
    """Write ``table`` as ``name`` (CSV or Parquet by its suffix) to a unique temporary file in
    ``folder``; returns (temporary path, sha256). The caller moves it into place."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    if name.endswith(".parquet"):
        pq.write_table(table, tmp)
    else:
        pacsv.write_csv(table, tmp)
    return tmp, _sha256(tmp)


def stop_list(store: Store, config: Config, run_id: str) -> pa.Table:
    """Customers inside a running flow who converted since they were mailed: the e-mail tool
    must stop the rest of their flow."""
    _, day, _ = _run(store, run_id)
    weeks = max(a.flow_weeks for a in config.actions)
    return store.arrow(
        """
        SELECT c.relation_id, c.action, min(v.conversion_date) AS converted_on
        FROM contacts c
        JOIN conversions v ON v.relation_id = c.relation_id
         AND v.conversion_date > c.contact_date AND v.conversion_date <= ?
        WHERE c.arm IN ('treat', 'explore') AND c.contact_date < ?
          AND c.contact_date > CAST(? AS DATE) - ?
        GROUP BY ALL ORDER BY c.action, c.relation_id
        """,
        [day, day, day, 7 * weeks],
    )


def _export_tables(store: Store, config: Config, rid: str) -> dict[str, Callable[[], pa.Table]]:
    """The three files of an export, by name, each rebuilt from the store on demand."""
    return {
        "handoff.csv": lambda: _handoff(store, config, rid),
        "handoff.parquet": lambda: _handoff(store, config, rid),
        "stops.csv": lambda: stop_list(store, config, rid),
    }


def _contact_conflicts(store: Store, config: Config, rid: str) -> str | None:
    """Why customers on the run's list may not be contacted now, or None.

    Compared with every contact of another run (any arm, any action, the same date included,
    before or after the run date): an assigned customer contacted within their action's
    cooldown, or a mailed customer held out elsewhere (or a held-out customer mailed elsewhere)
    within the holdout action's measurement window (``label_weeks``)."""
    rules = [(a.name, 7 * a.cooldown_weeks, 7 * a.label_weeks) for a in config.actions]
    values = ", ".join("(?, ?, ?)" for _ in rules)
    default_cool = max(r[1] for r in rules)
    default_label = max(r[2] for r in rules)
    rows = store.fetchall(
        f"""
        WITH rules AS (SELECT * FROM (VALUES {values}) AS r(action, cooldown_days, label_days)),
        list AS (
            SELECT relation_id, action, arm, snapshot_date FROM decisions
            WHERE run_id = ? AND arm IN ('treat', 'explore', 'holdout')),
        pairs AS (
            SELECT l.relation_id, l.arm AS list_arm, o.arm AS other_arm,
                coalesce(rl.cooldown_days, ?) AS cooldown_days,
                coalesce(rl.label_days, ?) AS list_label, coalesce(ro.label_days, ?) AS other_label,
                abs(datediff('day', o.contact_date, l.snapshot_date)) AS gap
            FROM list l
            JOIN contacts o ON o.relation_id = l.relation_id AND o.run_id <> ?
            LEFT JOIN rules rl ON rl.action = l.action
            LEFT JOIN rules ro ON ro.action = o.action)
        SELECT relation_id,
            bool_or(gap < cooldown_days) AS cooldown,
            bool_or((list_arm = 'holdout' AND other_arm <> 'holdout' AND gap < list_label)
                 OR (other_arm = 'holdout' AND list_arm <> 'holdout' AND gap < other_label))
                AS holdout
        FROM pairs GROUP BY relation_id HAVING cooldown OR holdout ORDER BY relation_id
        """,
        [
            *(v for r in rules for v in r),
            rid,
            default_cool,
            default_label,
            default_label,
            rid,
        ],
    )
    if not rows:
        return None
    listed = int(
        store.scalar(
            "SELECT count(DISTINCT relation_id) FROM decisions WHERE run_id = ? "
            "AND arm IN ('treat', 'explore', 'holdout')",
            [rid],
        )
    )

    def ids(which: int) -> str:
        found = [str(r[0]) for r in rows if r[which]]
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        return ", ".join(found[:10]) + more

    parts = []
    if any(r[1] for r in rows):
        n = sum(1 for r in rows if r[1])
        parts.append(f"{n} within the cooldown (relation {ids(1)})")
    if any(r[2] for r in rows):
        n = sum(1 for r in rows if r[2])
        parts.append(f"{n} within a holdout's measurement window (relation {ids(2)})")
    return (
        f"{len(rows)} of the {listed} customers on the list were contacted by another run "
        f"after this one was made: {'; '.join(parts)}"
    )


def export_run(store: Store, config: Config, run_id: str, *, actor: str) -> ExportResult:
    """Export an approved run (see the module docstring); idempotent.

    Inside its transaction the export takes the run from ``approved`` to ``exported`` only if
    it still is approved, and re-checks the contact history: if anyone on the list was
    contacted by another run within the cooldown, or a holdout would be spoiled, the whole
    export is refused with :class:`RunStateError` naming how many, which rule and who, and the
    refusal is recorded as an event; nothing is written or sent. (The list was approved as it
    is; a smaller list needs a new run of the week, which supersedes this one.)"""
    _named(run_id, "export")
    rid, day, status = _run(store, run_id)
    superseded_by = store.scalar("SELECT superseded_by FROM runs WHERE run_id = ?", [rid])
    if superseded_by:
        raise RunStateError(
            f"run {rid} ({status}) was superseded by {superseded_by}; it can no longer be "
            f"exported (see 'nextbest review {superseded_by}')"
        )
    folder = config.resolve(config.store.path).parent / "exports" / rid
    if status == "exported":
        return _verify_export(store, config, rid, folder)
    if status != "approved":
        raise RunStateError(
            f"run {rid} is {status}; only an approved run can be exported "
            f"(approve it with 'nextbest approve {rid} --by NAME --comment …')"
        )
    tables = _export_tables(store, config, rid)
    handoff = tables["handoff.csv"]()
    temps = {
        name: _write_atomic(handoff if name.startswith("handoff") else make(), folder, name)
        for name, make in tables.items()
    }
    paths = {name: folder / name for name in temps}
    refused: str | None = None
    contacts = 0
    try:
        with store.transaction():
            claimed = store.fetchone(
                "UPDATE runs SET status = 'exported' WHERE run_id = ? AND status = 'approved' "
                "AND superseded_by IS NULL",
                [rid],
            )
            if claimed is None or claimed[0] != 1:
                now = store.scalar("SELECT status FROM runs WHERE run_id = ?", [rid])
                raise RunStateError(
                    f"run {rid} became {now} while this export ran (another call at the same "
                    f"time); nothing was sent twice. See 'nextbest review {rid}'"
                )
            refused = _contact_conflicts(store, config, rid)
            if refused is not None:
                raise RunStateError(
                    f"export of {rid} refused: {refused}; nothing was exported. Decide the week "
                    f"again: 'nextbest run --date {day} --supersede \"why\" --by NAME'"
                )
            store.execute(
                "INSERT INTO contacts (relation_id, action, contact_date, run_id, arm) "
                "SELECT relation_id, action, snapshot_date, run_id, arm "
                "FROM decisions WHERE run_id = ? AND arm IN ('treat', 'explore', 'holdout')",
                [rid],
            )
            contacts = int(store.scalar("SELECT count(*) FROM contacts WHERE run_id = ?", [rid]))
            store.execute(
                "INSERT INTO exports (run_id, csv_file, parquet_file, rows, sha256, exported_at, "
                "parquet_sha256, stops_file, stops_sha256) "
                "VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?)",
                [
                    rid,
                    str(paths["handoff.csv"]),
                    str(paths["handoff.parquet"]),
                    handoff.num_rows,
                    temps["handoff.csv"][1],
                    temps["handoff.parquet"][1],
                    str(paths["stops.csv"]),
                    temps["stops.csv"][1],
                ],
            )
            _event(store, rid, "exported", actor, f"{handoff.num_rows} mailed, {contacts} contacts")
            for name, (tmp, _) in temps.items():
                tmp.replace(paths[name])
    except Exception as exc:
        if refused is not None:
            _event(store, rid, "export_refused", actor, refused)
        if _conflict(exc):
            raise RunStateError(
                f"run {rid} was exported, approved or rejected by another call at the same "
                f"time; nothing was sent twice. See 'nextbest review {rid}'"
            ) from None
        raise
    finally:
        for tmp, _ in temps.values():
            tmp.unlink(missing_ok=True)
    return ExportResult(
        rid, paths["handoff.csv"], paths["handoff.parquet"], handoff.num_rows, contacts, False
    )


def _verify_export(store: Store, config: Config, rid: str, folder: Path) -> ExportResult:
    """A re-export: check every recorded file against its sha256 and rewrite a missing or
    damaged one from the store; a file that cannot be rebuilt to its recorded bytes fails
    loudly. (Exports made before the sha256s were recorded are checked for presence only.)"""
    row = store.fetchone(
        "SELECT csv_file, sha256, parquet_file, parquet_sha256, stops_file, stops_sha256, rows "
        "FROM exports WHERE run_id = ?",
        [rid],
    )
    assert row is not None
    recorded = {
        "handoff.csv": (Path(row[0]), row[1]),
        "handoff.parquet": (Path(row[2]), row[3]),
        "stops.csv": (Path(row[4]) if row[4] else folder / "stops.csv", row[5]),
    }
    restored = []
    for name, make in _export_tables(store, config, rid).items():
        path, sha = recorded[name]
        if path.exists() and (sha is None or _sha256(path) == sha):
            continue
        state = "damaged" if path.exists() else "missing"
        tmp, got = _write_atomic(make(), path.parent, name)
        if sha is not None and got != sha:
            tmp.unlink()
            raise StoreError(
                f"export of {rid}: {name} ({path}) is {state} and cannot be rebuilt to its "
                f"recorded sha256 {sha[:12]}… (rebuilt {got[:12]}…): the contact history or "
                "the conversions changed since the export. Restore the file from a backup; "
                "the e-mail tool must not get a different list than was approved"
            )
        tmp.replace(path)
        restored.append(name)
    return ExportResult(
        rid,
        recorded["handoff.csv"][0],
        recorded["handoff.parquet"][0],
        int(row[6]),
        0,
        already=True,
        restored=tuple(restored),
    )


def review(store: Store, run_id: str, *, sample: int = 10) -> dict[str, Any]:
    """What the operator checks: status, counts, volume against the band, every check, a
    seeded sample, and the overlap with the other runs of the same week and with the previous
    week's live run (``overlaps``: customers assigned an arm in both)."""
    from nextbest.pipeline._review import run_summary

    rid, day, status = _run(store, run_id)
    summary = (
        run_summary(store, rid, sample=sample)
        if status != "halted"
        else {"run_id": rid, "snapshot_date": day, "status": status, "counts": {}, "sample": []}
    )
    summary["checks"] = [
        dict(zip(("name", "verdict", "figure", "limit", "message"), r, strict=True))
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
    others = store.fetchall(
        "SELECT run_id, snapshot_date, status FROM runs WHERE run_id <> ? "
        "AND status NOT IN ('halted', 'skipped') AND (snapshot_date = ? OR run_id = ?) "
        "ORDER BY snapshot_date DESC, created_at",
        [rid, day, None if previous is None else previous[0]],
    )
    overlaps = []
    for other, other_day, other_status in others:
        both = store.scalar(
            "SELECT count(*) FROM decisions a JOIN decisions b USING (relation_id, action) "
            "WHERE a.run_id = ? AND b.run_id = ? AND a.arm <> 'none' AND b.arm <> 'none'",
            [rid, other],
        )
        overlaps.append(
            {
                "run_id": other,
                "snapshot_date": other_day,
                "status": other_status,
                "assigned_in_both": int(both),
            }
        )
    summary["overlaps"] = overlaps
    summary["previous_run"] = None if previous is None else previous[0]
    summary["overlap_with_previous"] = next(
        (o["assigned_in_both"] for o in overlaps if o["run_id"] == summary["previous_run"]), None
    )
    if "started_by" not in summary:  # a halted run
        from nextbest.pipeline._review import _run_row

        row = _run_row(store, rid)
        summary["started_by"], summary["superseded_by"] = row["started_by"], row["superseded_by"]
    summary["events"] = store.fetchall(
        "SELECT event, actor, comment, event_at FROM run_events WHERE run_id = ? ORDER BY event_at",
        [rid],
    )
    return summary


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


def set_knob(
    store: Store, config: Config, action: str, knob: str, value: str, *, actor: str, reason: str
) -> tuple[Any, Any, str | None]:
    """Change one knob; returns (old, new, warning). The new value is validated by the config
    model, so a bad value is refused with the setting named."""
    if knob not in KNOBS:
        raise ConfigError(
            f"unknown knob '{knob}';{did_you_mean(knob, KNOBS)} Knobs: {', '.join(KNOBS)}"
        )
    if not actor.strip() or not reason.strip():
        raise ConfigError("a knob change needs who makes it (--by) and why (--reason)")
    cfg = effective_config(store, config)
    act = cfg.action(action)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    if knob == "enabled":
        if not isinstance(parsed, bool):
            raise ConfigError(f"knob 'enabled' must be true or false, got {value!r}")
        old: Any = action_enabled(store, action)
    else:
        old = getattr(act, knob)
        data = json.loads(cfg.model_dump_json(exclude={"source_path"}))
        for a in data["actions"]:
            if a["name"] == action:
                a[knob] = parsed
        config_from_mapping(data, origin=f"knob {action}.{knob}")  # validates, or raises
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
        "INSERT INTO knob_changes VALUES (?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [action, knob, json.dumps(old), json.dumps(parsed), actor, reason],
    )
    return old, parsed, warning


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
        n = int(store.scalar("SELECT count(*) FROM runs WHERE snapshot_date = ?", [day]))
        rid = f"{day.isoformat()}-r{n + 1}"
        store.execute(
            "INSERT INTO runs (run_id, snapshot_date, status, created_at, seed, config_hash, "
            "inputs, models, counts, flags, timings, decision_file, decision_sha256, "
            "halted_reason, started_by) VALUES (?, ?, 'skipped', now()::TIMESTAMP, ?, '', "
            "'{}', '{}', '{}', '{}', '{}', '', '', ?, 'system')",
            [rid, day, config.run.seed, reason],
        )
        _event(store, rid, "skipped", "system", reason)
    return rid


def replay(store: Store, run_id: str) -> tuple[bool, str, str]:
    """Recompute a past run from its recorded config, models and seed into a scratch folder
    (inside a rolled-back transaction) and compare the decision files byte for byte.

    The contact history is put back as it was when the run was made: the contacts of every
    run exported after it was created are left out (its own included), and so are contacts
    from elsewhere (no export record) dated on or after the run date."""
    import tempfile

    from nextbest.models import set_status
    from nextbest.pipeline._weekly import run_week

    run_id, _, _ = _run(store, run_id)
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

    class _UndoError(Exception):
        pass

    with tempfile.TemporaryDirectory() as scratch:
        scratch_cfg = cfg.model_copy(
            update={"store": cfg.store.model_copy(update={"path": Path(scratch) / "replay.duckdb"})}
        )
        new_sha = ""
        try:
            with store.transaction():
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
                store.execute(
                    "DELETE FROM contacts WHERE run_id IN "
                    "(SELECT run_id FROM exports WHERE exported_at >= ?) "
                    "OR (run_id NOT IN (SELECT run_id FROM exports) AND contact_date >= ?)",
                    [created_at, day],
                )
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
                raise _UndoError
        except _UndoError:
            pass
    return new_sha == sha, sha, new_sha
