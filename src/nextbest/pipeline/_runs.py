"""The run registry: the one writer of ``runs``, ``run_events`` and ``run_checks`` rows and the
one run-id generator.

Placed in ``pipeline`` because every writer of a run is a pipeline step and the CLI, API and
console sit above it. ``evaluation`` and ``decisioning`` read ``runs`` only inside relational SQL
joins (with decisions, contacts, exports); those joins stay SQL where they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass, fields
from typing import Literal

from nextbest.checks import Check
from nextbest.store import Store

RunStatus = Literal[
    "halted", "pending_review", "approved", "rejected", "exported", "skipped", "superseded"
]


@dataclass(frozen=True)
class RunRecord:
    """One new ``runs`` row; ``created_at`` is the store's clock at insert. JSON columns are
    passed already encoded (``"{}"`` when empty)."""

    run_id: str
    snapshot_date: dt.date
    status: RunStatus
    seed: int
    config_hash: str = ""
    inputs: str = "{}"
    models: str = "{}"
    counts: str = "{}"
    flags: str = "{}"
    timings: str = "{}"
    decision_file: str = ""
    decision_sha256: str = ""
    override: str | None = None
    config_json: str | None = None
    halted_reason: str | None = None
    started_by: str | None = None


def insert_run(store: Store, record: RunRecord) -> None:
    """Insert ``record`` by column name, stamped with the store's clock."""
    names = [f.name for f in fields(record)]
    store.execute(
        f"INSERT INTO runs ({', '.join(names)}, created_at) "
        f"VALUES ({', '.join('?' for _ in names)}, now()::TIMESTAMP)",
        list(astuple(record)),
    )


def replace_halted_run(store: Store, record: RunRecord) -> None:
    """A retry of a halted week updates the week's halted record (stamped with the store's
    clock) and drops that attempt's checks; the status and the run id stay."""
    store.execute(
        "UPDATE runs SET created_at = now()::TIMESTAMP, seed = ?, config_hash = ?, "
        "inputs = ?, models = ?, config_json = ?, halted_reason = ?, started_by = ? "
        "WHERE run_id = ?",
        [
            record.seed,
            record.config_hash,
            record.inputs,
            record.models,
            record.config_json,
            record.halted_reason,
            record.started_by,
            record.run_id,
        ],
    )
    store.execute("DELETE FROM run_checks WHERE run_id = ?", [record.run_id])


def delete_run(store: Store, run_id: str) -> None:
    """Drop a run's record and its checks (a halted record about to become a decided run)."""
    store.execute("DELETE FROM run_checks WHERE run_id = ?", [run_id])
    store.execute("DELETE FROM runs WHERE run_id = ?", [run_id])


def change_status(
    store: Store,
    run_id: str,
    *,
    was: str,
    now: RunStatus,
    superseded_by: str | None = None,
) -> bool:
    """Move a run that is still ``was`` and not superseded to ``now`` (and, with
    ``superseded_by``, mark the run that supersedes it); False when the run is no longer as
    read (another call changed it first)."""
    row = store.fetchone(
        "UPDATE runs SET status = ?, superseded_by = ? "
        "WHERE run_id = ? AND status = ? AND superseded_by IS NULL",
        [now, superseded_by, run_id, was],
    )
    return row is not None and row[0] == 1


def run_exists(store: Store, run_id: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]))


def record_event(store: Store, run_id: str, event: str, actor: str, comment: str) -> None:
    """One ``run_events`` row, stamped with the store's clock."""
    store.execute(
        "INSERT INTO run_events (run_id, event, actor, comment, event_at) "
        "VALUES (?, ?, ?, ?, now()::TIMESTAMP)",
        [run_id, event, actor, comment],
    )


def insert_checks(store: Store, run_id: str, checks: list[Check]) -> None:
    """The run's ``run_checks`` rows, one per check, in the order given."""
    for c in checks:
        store.execute(
            "INSERT INTO run_checks (run_id, name, verdict, figure, limit_text, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, c.name, c.verdict, c.figure, c.limit, c.message],
        )


def new_run_id(store: Store, day: dt.date) -> str:
    """A run id of ``day`` not yet taken: ``<day>-r<n>``."""
    n = int(store.scalar("SELECT count(*) FROM runs WHERE snapshot_date = ?", [day]))
    while store.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [f"{day}-r{n + 1}"]):
        n += 1
    return f"{day.isoformat()}-r{n + 1}"


def next_run_id(store: Store, day: dt.date) -> str:
    """The week's halted record when it is the week's latest run (a retry updates it), else
    a new id."""
    latest = store.fetchone(
        "SELECT run_id, status FROM runs WHERE snapshot_date = ? "
        "ORDER BY created_at DESC, run_id DESC LIMIT 1",
        [day],
    )
    if latest is not None and latest[1] == "halted":
        return str(latest[0])
    return new_run_id(store, day)


@dataclass(frozen=True)
class RecentRun:
    run_id: str
    snapshot_date: dt.date
    status: RunStatus
    created_at: dt.datetime
    counts: str
    models: str


def recent_runs(store: Store, limit: int | None = None) -> list[RecentRun]:
    """The latest runs first; ties on ``created_at`` broken by run id, descending."""
    sql = (
        "SELECT run_id, snapshot_date, status, created_at, counts, models FROM runs "
        "ORDER BY created_at DESC, run_id DESC"
    )
    rows = store.fetchall(sql) if limit is None else store.fetchall(f"{sql} LIMIT ?", [limit])
    return [RecentRun(*row) for row in rows]


@dataclass(frozen=True)
class HaltedRun:
    run_id: str
    snapshot_date: dt.date
    created_at: dt.datetime
    halted_reason: str | None


def halted_runs(store: Store) -> list[HaltedRun]:
    """Every halted run, the latest first (ties by run id, descending)."""
    rows = store.fetchall(
        "SELECT run_id, snapshot_date, created_at, halted_reason FROM runs "
        "WHERE status = 'halted' ORDER BY created_at DESC, run_id DESC"
    )
    return [HaltedRun(*row) for row in rows]


def decided_run_ids(store: Store, limit: int) -> list[str]:
    """The ``limit`` runs that decided a week (not halted, not skipped), the latest snapshot
    week first; within a week the latest created first, then by run id."""
    rows = store.fetchall(
        "SELECT run_id FROM runs WHERE status NOT IN ('halted', 'skipped') "
        "ORDER BY snapshot_date DESC, created_at DESC, run_id DESC LIMIT ?",
        [limit],
    )
    return [str(row[0]) for row in rows]
