"""Storing a decided weekly run: the decision rows, the run record, its checks and events, and
the decision file, all or nothing.

One live list per week: the check happens inside the transaction that stores the run, so of
two runs of one week made at the same time exactly one is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nextbest.checks import Check
from nextbest.config import Config
from nextbest.errors import RunStateError
from nextbest.pipeline._lifecycle import is_conflict, live_error, live_runs, supersede_runs
from nextbest.pipeline._runs import (
    RunRecord,
    delete_run,
    insert_checks,
    insert_run,
    next_run_id,
    record_event,
)
from nextbest.pipeline._timer import Timer
from nextbest.store import Store


def config_hash(config: Config) -> str:
    """sha256 of the validated config (paths as written), stable across machines."""
    text = config.model_dump_json(exclude={"source_path"})
    return hashlib.sha256(text.encode()).hexdigest()


def input_fingerprints(store: Store, day: dt.date) -> dict[str, Any]:
    """Which loaded batches the run reads, and the state of the contact history.

    ``batches``: per table, the files' sha256 (of snapshots, the week's own); ``batch_ids``:
    per table, every current batch holding a partition on or before ``day`` (or a whole table),
    so that a later re-delivery of a week the run read can name the run (ingest does)."""
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
    read = store.fetchall(
        """
        SELECT table_name, list(batch_id ORDER BY batch_id)
        FROM ingest_batches
        WHERE status = 'loaded' AND (len(partitions) = 0 OR list_min(partitions) <= ?)
        GROUP BY table_name ORDER BY table_name
        """,
        [day.isoformat()],
    )
    # the cooldown looks both ways from the run date, so the whole contact history counts
    contacts = store.fetchone("SELECT count(*), CAST(max(contact_date) AS VARCHAR) FROM contacts")
    assert contacts is not None
    return {
        "batches": {table: list(shas) for table, shas in rows},
        "batch_ids": {table: list(ids) for table, ids in read},
        "contacts": {"rows": int(contacts[0]), "last": contacts[1]},
    }


@dataclass(frozen=True)
class DecidedWeek:
    """A decided weekly run ready to be stored."""

    day: dt.date
    seed: int
    #: who started the run
    actor: str
    #: every action's decision rows (``run_id`` is replaced by the stored run's id)
    decisions: pa.Table
    #: per action: arm counts, and flags
    counts: dict[str, dict[str, int]]
    flags: dict[str, list[str]]
    #: action (and ``action:shadow``) -> model version
    models: dict[str, str]
    checks: list[Check]
    #: a person's reason to store the run although checks failed, or None
    override: str | None
    #: a person's reason to decide a week that has a live list again, or None
    supersede: str | None
    #: the week's live lists when the run started (the run supersedes them)
    live: list[tuple[str, str]]


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    decision_file: Path
    decision_sha256: str
    #: the runs of the same week this run superseded
    superseded: list[str]


def store_run(store: Store, config: Config, week: DecidedWeek, timer: Timer) -> StoredRun:
    """Store ``week`` as a run ``pending_review``: nothing is visible until everything is
    written, and the decision file is in the run's folder only when the run is stored."""
    runs_dir = config.resolve(config.store.path).parent / "runs"
    # the file holds the decisions only, not the run id, so that the same inputs, config,
    # model and seed give a byte-identical file whatever the run is called; it is written to a
    # unique name and moved to the run's folder once the run id is taken
    with timer.step("persist"):
        tmp, sha = _write_decision_tmp(week.decisions.drop_columns(["run_id"]), runs_dir)
    inputs = input_fingerprints(store, week.day)
    # a name of its own: another thread may be storing its run through the same connection
    registered = f"_decisions_{secrets.token_hex(8)}"
    store.register(registered, week.decisions)
    run_id, moved = "", None
    try:
        with store.transaction():
            now_live = _live_as_read(store, week)
            run_id = next_run_id(store, week.day)
            # a halted record of the week becomes this run
            delete_run(store, run_id)
            # named by its content: a run of the same id that fails to commit (another
            # connection stored it first) can never overwrite the stored run's file
            decision_file = runs_dir / run_id / f"decisions-{sha[:16]}.parquet"
            with timer.step("persist"):
                store.execute(
                    "INSERT INTO decisions SELECT * REPLACE (CAST(? AS VARCHAR) AS run_id) "
                    f"FROM {registered}",
                    [run_id],
                )
            timer.total()
            record = _run_record(config, week, run_id, timer, inputs=inputs)
            record = replace(record, decision_file=str(decision_file), decision_sha256=sha)
            _record(store, week, record, now_live)
            decision_file.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(decision_file)
            moved = decision_file
    except Exception as exc:
        _undo_move(store, run_id, moved)
        if is_conflict(exc):
            raise RunStateError(
                f"another run of {week.day} was stored at the same time; nothing was stored "
                "for this one. See 'nextbest runs'"
            ) from None
        raise
    finally:
        store.unregister(registered)
        tmp.unlink(missing_ok=True)
    return StoredRun(run_id, decision_file, sha, [r for r, _ in now_live])


def _live_as_read(store: Store, week: DecidedWeek) -> list[tuple[str, str]]:
    """The week's live lists, refused unless the run supersedes them and they are still the
    ones it started from."""
    now_live = live_runs(store, week.day)
    if now_live and week.supersede is None:
        raise live_error(week.day, now_live)
    if week.supersede is not None and now_live != week.live:
        raise RunStateError(
            f"the live list of {week.day} changed while this run was made (now: "
            f"{', '.join(r for r, _ in now_live) or 'none'}); nothing was stored, run again"
        )
    return now_live


def _run_record(
    config: Config, week: DecidedWeek, run_id: str, timer: Timer, *, inputs: dict[str, Any]
) -> RunRecord:
    override = None
    if week.override is not None:
        failed = [c.name for c in week.checks if c.verdict == "halt"]
        override = json.dumps({"by": week.actor, "reason": week.override, "checks": failed})
    return RunRecord(
        run_id=run_id,
        snapshot_date=week.day,
        status="pending_review",
        seed=week.seed,
        config_hash=config_hash(config),
        inputs=json.dumps(inputs, sort_keys=True),
        models=json.dumps(week.models, sort_keys=True),
        counts=json.dumps(week.counts, sort_keys=True),
        flags=json.dumps(week.flags, sort_keys=True),
        timings=json.dumps({k: round(v, 4) for k, v in timer.timings.items()}, sort_keys=True),
        override=override,
        config_json=config.model_dump_json(exclude={"source_path"}),
        started_by=week.actor,
    )


def _record(
    store: Store, week: DecidedWeek, record: RunRecord, now_live: list[tuple[str, str]]
) -> None:
    """The run's record, checks and ``created`` event; it supersedes ``now_live``."""
    insert_run(store, record)
    insert_checks(store, record.run_id, week.checks)
    comment = f"override: {week.override}" if week.override is not None else "weekly run"
    record_event(store, record.run_id, "created", week.actor, comment)
    if now_live:
        supersede_runs(store, now_live, record.run_id, actor=week.actor, reason=str(week.supersede))


def _undo_move(store: Store, run_id: str, moved: Path | None) -> None:
    """A decision file moved into place for a run that was not stored is removed, unless it
    is the stored run's own."""
    if moved is not None:
        stored = store.scalar("SELECT decision_file FROM runs WHERE run_id = ?", [run_id])
        if stored != str(moved):
            moved.unlink(missing_ok=True)


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
