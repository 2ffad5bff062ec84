"""Export: the hand-off files for the e-mail tool, the contacts, and their re-checks.

Only an ``approved`` run that is not superseded can be exported. Export writes, under
``<[store] outputs>/handoffs/<run>/`` (apart from the warehouse's input files), the hand-off file
(CSV and Parquet: relation number, action, flow, arm) for the mailed arms, and ``stops.csv``:
customers in a running flow who converted since they were mailed, whose flow must stop; it
re-checks the contact history (see :func:`export_run`), records a contact per assigned customer
(treat, explore and holdout — the holdout so that the cooldown keeps it clean), records the
three files' sha256 and marks the run ``exported``, all at once. Exporting again sends nothing
twice, verifies the three files and rewrites a missing or damaged one from the recorded
decisions (or fails when it cannot be rebuilt byte for byte).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nextbest.config import Config, output_dir
from nextbest.errors import RunStateError, StoreError
from nextbest.pipeline._contacts import record_run_contacts
from nextbest.pipeline._lifecycle import is_conflict, require_named, resolve_run
from nextbest.pipeline._runs import change_status, record_event
from nextbest.store import Store


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
    _, day, _ = resolve_run(store, run_id)
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
    before or after the run date), with the windows of the list's action, as eligibility does:
    an assigned customer contacted within the cooldown; a mailed customer held out elsewhere
    within the measurement window (``label_weeks``) before the run date; a customer held out
    here mailed elsewhere within that window from the run date on."""
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
                coalesce(rl.label_days, ?) AS label_days,
                -- days from the other contact to this run's date: > 0 when it came before
                datediff('day', o.contact_date, l.snapshot_date) AS since
            FROM list l
            JOIN contacts o ON o.relation_id = l.relation_id AND o.run_id <> ?
            LEFT JOIN rules rl ON rl.action = l.action)
        SELECT relation_id,
            bool_or(abs(since) < cooldown_days) AS cooldown,
            bool_or((other_arm = 'holdout' AND list_arm <> 'holdout'
                     AND since >= 0 AND since < label_days)
                 OR (list_arm = 'holdout' AND other_arm <> 'holdout'
                     AND since <= 0 AND -since < label_days)) AS holdout
        FROM pairs GROUP BY relation_id HAVING cooldown OR holdout ORDER BY relation_id
        """,
        [
            *(v for r in rules for v in r),
            rid,
            default_cool,
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


def _claim(store: Store, rid: str) -> None:
    """Take the run from approved to exported, or refuse when another call changed it."""
    if not change_status(store, rid, was="approved", now="exported"):
        now = store.scalar("SELECT status FROM runs WHERE run_id = ?", [rid])
        raise RunStateError(
            f"run {rid} became {now} while this export ran (another call at the same "
            f"time); nothing was sent twice. See 'nextbest review {rid}'"
        )


def _record_export(
    store: Store,
    rid: str,
    paths: dict[str, Path],
    temps: dict[str, tuple[Path, str]],
    rows: int,
) -> None:
    """The ``exports`` row of the files about to be moved into place."""
    store.execute(
        "INSERT INTO exports (run_id, csv_file, parquet_file, rows, sha256, exported_at, "
        "parquet_sha256, stops_file, stops_sha256) "
        "VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?)",
        [
            rid,
            str(paths["handoff.csv"]),
            str(paths["handoff.parquet"]),
            rows,
            temps["handoff.csv"][1],
            temps["handoff.parquet"][1],
            str(paths["stops.csv"]),
            temps["stops.csv"][1],
        ],
    )


def export_run(store: Store, config: Config, run_id: str, *, actor: str) -> ExportResult:
    """Export an approved run (see the module docstring); idempotent.

    Inside its transaction the export takes the run from ``approved`` to ``exported`` only if
    it still is approved, and re-checks the contact history: if anyone on the list was
    contacted by another run within the cooldown, or a holdout would be spoiled, the whole
    export is refused with :class:`RunStateError` naming how many, which rule and who, and the
    refusal is recorded as an event; nothing is written or sent. (The list was approved as it
    is; a smaller list needs a new run of the week, which supersedes this one.)"""
    require_named(run_id, "export")
    rid, day, status = resolve_run(store, run_id)
    superseded_by = store.scalar("SELECT superseded_by FROM runs WHERE run_id = ?", [rid])
    if superseded_by:
        raise RunStateError(
            f"run {rid} ({status}) was superseded by {superseded_by}; it can no longer be "
            f"exported (see 'nextbest review {superseded_by}')"
        )
    folder = output_dir(config, "handoffs") / rid
    if status == "exported":
        return _verify_export(store, config, rid)
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
            _claim(store, rid)
            refused = _contact_conflicts(store, config, rid)
            if refused is not None:
                raise RunStateError(
                    f"export of {rid} refused: {refused}; nothing was exported. Decide the week "
                    f"again: 'nextbest run --date {day} --supersede \"why\" --by NAME'"
                )
            contacts = record_run_contacts(store, rid)
            _record_export(store, rid, paths, temps, handoff.num_rows)
            record_event(
                store, rid, "exported", actor, f"{handoff.num_rows} mailed, {contacts} contacts"
            )
            for name, (tmp, _) in temps.items():
                tmp.replace(paths[name])
    except Exception as exc:
        if refused is not None:
            record_event(store, rid, "export_refused", actor, refused)
        if is_conflict(exc):
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


def _verify_export(store: Store, config: Config, rid: str) -> ExportResult:
    """A re-export: check every recorded file against its sha256 and rewrite a missing or
    damaged one from the store; a file that cannot be rebuilt to its recorded bytes fails
    loudly. (Exports made before the sha256s were recorded are checked for presence only.)

    The files are where the export recorded them, so a run exported before ``[store]
    outputs`` moved (or existed) is verified in its old folder."""
    row = store.fetchone(
        "SELECT csv_file, sha256, parquet_file, parquet_sha256, stops_file, stops_sha256, rows "
        "FROM exports WHERE run_id = ?",
        [rid],
    )
    assert row is not None
    recorded = {
        "handoff.csv": (Path(row[0]), row[1]),
        "handoff.parquet": (Path(row[2]), row[3]),
        "stops.csv": (Path(row[4]) if row[4] else Path(row[0]).parent / "stops.csv", row[5]),
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
