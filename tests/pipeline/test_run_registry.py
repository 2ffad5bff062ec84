"""The run registry: named-column inserts, one run-id generator, recent runs in a fixed order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nextbest.checks import Check
from nextbest.pipeline._operate import record_skipped
from nextbest.pipeline._runs import (
    RunRecord,
    change_status,
    delete_run,
    insert_checks,
    insert_run,
    new_run_id,
    next_run_id,
    recent_runs,
    replace_halted_run,
)
from nextbest.store import Store

DAY = dt.date(2026, 3, 2)


def _stamp(store: Store, run_id: str, at: str) -> None:
    store.execute(
        "UPDATE runs SET created_at = CAST(? AS TIMESTAMP) WHERE run_id = ?", [at, run_id]
    )


def test_insert_fills_defaults_by_name(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        insert_run(store, RunRecord("2026-03-02-r1", DAY, "skipped", 7, halted_reason="off"))
        row = store.fetchone(
            "SELECT status, seed, inputs, decision_file, config_json, halted_reason "
            "FROM runs WHERE run_id = '2026-03-02-r1'"
        )
        assert row == ("skipped", 7, "{}", "", None, "off")


def test_run_ids_skip_taken_ones_and_reuse_a_halted_latest(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        assert new_run_id(store, DAY) == "2026-03-02-r1"
        insert_run(store, RunRecord("2026-03-02-r2", DAY, "exported", 1))
        assert new_run_id(store, DAY) == "2026-03-02-r3"  # r2 is taken: count + 1 would collide
        insert_run(store, RunRecord("2026-03-02-r3", DAY, "halted", 1))
        _stamp(store, "2026-03-02-r3", "2030-01-01 00:00:00")
        assert next_run_id(store, DAY) == "2026-03-02-r3"
        assert new_run_id(store, DAY) == "2026-03-02-r4"


def test_a_skipped_week_never_collides(tmp_path: Path) -> None:
    """record_skipped used count + 1, which collides with a run id above the count."""
    from nextbest.config import config_from_mapping

    cfg = config_from_mapping({"store": {"path": str(tmp_path / "db.duckdb")}})
    with Store(tmp_path / "db.duckdb") as store:
        insert_run(store, RunRecord("2026-03-02-r1", DAY, "exported", 1))
        insert_run(store, RunRecord("2026-03-02-r3", DAY, "superseded", 1))
        store.execute("DELETE FROM runs WHERE run_id = '2026-03-02-r1'")
        assert record_skipped(store, cfg, DAY, "disabled") == "2026-03-02-r2"
        assert record_skipped(store, cfg, DAY, "disabled") == "2026-03-02-r4"


def test_recent_runs_break_ties_by_run_id(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        for rid in ("2026-03-02-r1", "2026-03-02-r2", "2026-03-09-r1"):
            insert_run(store, RunRecord(rid, DAY, "pending_review", 1))
            _stamp(store, rid, "2026-03-10 08:00:00")
        _stamp(store, "2026-03-09-r1", "2026-03-10 09:00:00")
        assert [r.run_id for r in recent_runs(store)] == [
            "2026-03-09-r1",
            "2026-03-02-r2",
            "2026-03-02-r1",
        ]
        assert [r.run_id for r in recent_runs(store, 2)] == ["2026-03-09-r1", "2026-03-02-r2"]


def test_halted_and_decided_runs_in_a_fixed_order(tmp_path: Path) -> None:
    """The console's alerts page lists halted runs and its fairness table reads the decided
    runs; both come from the registry, ties broken by run id."""
    from nextbest.pipeline import decided_run_ids, halted_runs

    later = DAY + dt.timedelta(days=7)
    with Store(tmp_path / "db.duckdb") as store:
        for rid, day, status in [
            ("2026-03-02-r1", DAY, "halted"),
            ("2026-03-02-r2", DAY, "halted"),
            ("2026-03-02-r3", DAY, "exported"),
            ("2026-03-09-r1", later, "skipped"),
            ("2026-03-09-r2", later, "pending_review"),
            ("2026-03-09-r3", later, "superseded"),
        ]:
            insert_run(
                store, RunRecord(rid, day, status, 1, halted_reason="x" * (status == "halted"))
            )
            _stamp(store, rid, "2026-03-10 08:00:00")
        assert [h.run_id for h in halted_runs(store)] == ["2026-03-02-r2", "2026-03-02-r1"]
        assert halted_runs(store)[0].halted_reason == "x"
        assert decided_run_ids(store, 12) == ["2026-03-09-r3", "2026-03-09-r2", "2026-03-02-r3"]
        assert decided_run_ids(store, 1) == ["2026-03-09-r3"]


def test_change_status_only_from_the_state_as_read(tmp_path: Path) -> None:
    """A status change applies once, only to a run still in the state read and not
    superseded; the superseding run is recorded with it."""
    with Store(tmp_path / "db.duckdb") as store:
        insert_run(store, RunRecord("r1", DAY, "pending_review", 1))
        assert change_status(store, "r1", was="pending_review", now="approved")
        assert not change_status(store, "r1", was="pending_review", now="rejected")
        assert change_status(store, "r1", was="approved", now="superseded", superseded_by="r2")
        assert not change_status(store, "r1", was="superseded", now="approved")
        assert store.fetchone("SELECT status, superseded_by FROM runs") == ("superseded", "r2")


def test_halted_record_is_replaced_then_dropped(tmp_path: Path) -> None:
    """A retry rewrites the halted record and drops the old attempt's checks; deleting a run
    removes its record and its checks."""
    halt = Check("row_count", "halt", 9.0, "at most 2", "the week doubled")
    with Store(tmp_path / "db.duckdb") as store:
        insert_run(store, RunRecord("r1", DAY, "halted", 1, halted_reason="first"))
        insert_checks(store, "r1", [halt])
        replace_halted_run(store, RunRecord("r1", DAY, "halted", 5, halted_reason="second"))
        assert store.fetchone("SELECT status, seed, halted_reason FROM runs") == (
            "halted",
            5,
            "second",
        )
        assert store.scalar("SELECT count(*) FROM run_checks") == 0
        insert_checks(store, "r1", [halt])
        assert store.fetchall("SELECT * FROM run_checks") == [
            ("r1", "row_count", "halt", 9.0, "at most 2", "the week doubled")
        ]
        delete_run(store, "r1")
        assert store.scalar("SELECT count(*) FROM runs") == 0
        assert store.scalar("SELECT count(*) FROM run_checks") == 0
