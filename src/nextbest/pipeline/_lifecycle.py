"""The states of a run and the rules between them, shared by the weekly run, review and export.

A run is ``halted``, ``pending_review``, ``approved``, ``rejected``, ``exported``, ``skipped`` or
``superseded``. A week has at most one *live* list (pending, approved or exported, and not
superseded); deciding it again needs a person's reason and supersedes the live run. State
changes are conditional updates checked inside their transaction; a write-write conflict
between two connections is reported as :class:`RunStateError`, never as a database error.
"""

from __future__ import annotations

import datetime as dt

from nextbest.errors import RunStateError
from nextbest.pipeline._review import _run_row
from nextbest.pipeline._runs import RunStatus, change_status, record_event
from nextbest.store import Store, is_database_error

#: statuses of a run whose list is live (unless another run of the week superseded it)
LIVE_STATUSES = ("pending_review", "approved", "exported")


def resolve_run(store: Store, run_id: str) -> tuple[str, dt.date, str]:
    """(run id, snapshot date, status) of a run id or 'latest'."""
    row = _run_row(store, run_id)
    return str(row["run_id"]), row["snapshot_date"], str(row["status"])


def require_named(run_id: str, step: str) -> None:
    """State changes name their run: 'latest' may be a run nobody reviewed."""
    if run_id.strip().lower() == "latest":
        raise RunStateError(
            f"name the run id to {step}: 'latest' is refused for approve, reject and export so "
            "that nobody changes a run they did not review (see 'nextbest runs' or "
            "'nextbest review latest')"
        )


def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def live_runs(store: Store, day: dt.date) -> list[tuple[str, str]]:
    """(run id, status) of the week's live lists, oldest first."""
    rows = store.fetchall(
        "SELECT run_id, status FROM runs WHERE snapshot_date = ? AND status IN (?, ?, ?) "
        "AND superseded_by IS NULL ORDER BY created_at, run_id",
        [day, *LIVE_STATUSES],
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def live_error(day: dt.date, live: list[tuple[str, str]]) -> RunStateError:
    names = ", ".join(f"{rid} ({status})" for rid, status in live)
    ids = ", ".join(rid for rid, _ in live)
    return RunStateError(
        f"the week of {day} already has a live list: {names}. There is one list per week: "
        f"review it with 'nextbest review {live[0][0]}'; to decide the week again, give the "
        f"reason and your name: 'nextbest run --date {day} --supersede \"why\" --by NAME' "
        f"(the new run supersedes {ids}, which can then no longer be approved or exported)"
    )


def is_conflict(exc: BaseException) -> bool:
    """A write-write conflict between two connections (another call changed the same rows)."""
    text = str(exc).lower()
    return is_database_error(exc) and ("conflict" in text or "duplicate key" in text)


def supersede_runs(
    store: Store, live: list[tuple[str, str]], new: str, *, actor: str, reason: str
) -> None:
    """Mark the week's live runs as superseded by ``new``, each only if still as read. An
    exported run keeps its status (its mails went out; its contacts and outcomes stand)."""
    for old, status in live:
        now: RunStatus = "exported" if status == "exported" else "superseded"
        if not change_status(store, old, was=status, now=now, superseded_by=new):
            raise RunStateError(
                f"run {old} changed while run {new} was made; nothing was stored, run again"
            )
        record_event(store, old, "superseded", actor, f"superseded by {new}: {reason}")
        record_event(store, new, "superseded", actor, f"supersedes {old} ({status}): {reason}")
