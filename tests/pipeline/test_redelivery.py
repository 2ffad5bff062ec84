"""A re-delivered week that an exported run read: recorded and warned at ingest, and named by
that run's replay (on the tiny bank, its snapshots loaded from a file)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.config import Config
from nextbest.ingest import ingest_source, reload_files
from nextbest.pipeline import decide_review, export_run, replay, run_week
from nextbest.store import Store, open_store, quote_literal
from tests.pipeline._tiny import write_tiny_project

WEEK = "2025-03-02"
NEXT = "2025-03-09"


def _write_week(store: Store, path: Path, *, balance_of_101: float | None = None) -> None:
    """The tiny bank's week as a CSV export (112's unknown opt-in as no, inside the contract's
    null limit); optionally with customer 101's balance changed."""
    balance = (
        "total_balance"
        if balance_of_101 is None
        else f"CASE WHEN relation_id = 101 THEN {balance_of_101} ELSE total_balance END"
    )
    store.execute(
        f"COPY (SELECT * EXCLUDE (batch_id) REPLACE ({balance} AS total_balance, "
        "coalesce(optin_investing, false) AS optin_investing) FROM snapshots "
        f"WHERE snapshot_date = DATE '{WEEK}' ORDER BY relation_id) "
        f"TO {quote_literal(str(path))} (HEADER)"
    )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Config, Store, Path]]:
    """The tiny project with its week delivered as ``snap/week-a.csv`` and ingested."""
    cfg = write_tiny_project(tmp_path / "tiny", extra='\n[sources.snapshots]\npath = "snap"\n')
    folder = tmp_path / "tiny" / "snap"
    folder.mkdir()
    with open_store(cfg) as store:
        _write_week(store, folder / "week-a.csv")
        store.execute("DELETE FROM snapshots")
        (first,) = ingest_source(store, cfg, "snapshots")
        assert (first.rows_loaded, first.rows_quarantined) == (12, 0)
        yield cfg, store, folder


def _redeliver(store: Store, cfg: Config, folder: Path) -> tuple[str, ...]:
    """The warehouse re-delivers the week as ``week-b.csv``, 101's balance now too low."""
    _write_week(store, folder / "week-b.csv", balance_of_101=50.0)
    (folder / "week-a.csv").unlink()
    (report,) = ingest_source(store, cfg, "snapshots")
    assert report.partitions_replaced == 1
    return tuple(i.message for i in report.issues)


def test_redelivered_week_of_an_exported_run_is_recorded_and_named_by_replay(
    project: tuple[Config, Store, Path],
) -> None:
    """Ingest warns that the exported run read the week and records old batch → new batch;
    the run's replay then differs and names the superseded input, also on the command line."""
    cfg, store, folder = project
    rid = run_week(store, cfg, actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="sample ok")
    export_run(store, cfg, rid, actor="ben")
    assert replay(store, rid).identical

    assert _redeliver(store, cfg, folder) == (
        f"snapshots week {WEEK} was used by exported run {rid}; the re-delivered file replaces "
        "it — that run's replay may now differ",
    )
    (old, new) = [r[0] for r in store.fetchall("SELECT batch_id FROM ingest_batches ORDER BY 1")]
    assert store.fetchall(
        "SELECT run_id, table_name, partition_value, old_batch_id, new_batch_id "
        "FROM input_redeliveries"
    ) == [(rid, "snapshots", WEEK, old, new)]

    result = replay(store, rid)
    assert not result.identical
    ((gone),) = result.superseded
    assert (gone.table, gone.partition, gone.old_batch_id, gone.new_batch_id) == (
        "snapshots",
        WEEK,
        old,
        new,
    )
    assert (Path(gone.old_file).name, Path(gone.new_file).name) == ("week-a.csv", "week-b.csv")
    assert gone.old_loaded_at <= gone.new_loaded_at

    shown = CliRunner().invoke(app, ["-c", str(cfg.source_path), "replay", rid])
    assert shown.exit_code == 1
    first_line = shown.output.splitlines()[0]
    assert first_line.startswith(
        f"run {rid} cannot be reproduced: its input snapshots {WEEK} (batch {old}, file "
        "week-a.csv, loaded "
    )
    assert f") was superseded by batch {new} (file week-b.csv) on " in first_line
    assert "differs: recorded" in shown.output


def test_a_run_waiting_for_review_is_not_warned_about(
    project: tuple[Config, Store, Path],
) -> None:
    """Only approved or exported runs keep their inputs: re-delivering the week of a run still
    pending review records nothing and warns about nothing. Exported later, its replay still
    names the input, found from the batches the run read."""
    cfg, store, folder = project
    rid = run_week(store, cfg, actor="ana").run_id
    assert _redeliver(store, cfg, folder) == ()
    assert store.scalar("SELECT count(*) FROM input_redeliveries") == 0
    decide_review(store, rid, approve=True, actor="ben", comment="sample ok")
    export_run(store, cfg, rid, actor="ben")
    result = replay(store, rid)
    assert not result.identical
    assert [(g.partition, g.old_batch_id, g.new_batch_id) for g in result.superseded] == [
        (WEEK, 1, 2)
    ]


def test_a_run_made_before_batch_ids_were_kept_is_found_by_file_hash(
    project: tuple[Config, Store, Path],
) -> None:
    """An approved run recorded by an earlier version has only the files' sha256 in its
    inputs; the re-delivery still names it."""
    cfg, store, folder = project
    rid = run_week(store, cfg, actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="sample ok")
    store.execute(
        "UPDATE runs SET inputs = json_object('batches', json_extract(inputs, '$.batches'))"
    )
    (message,) = _redeliver(store, cfg, folder)
    assert message.startswith(f"snapshots week {WEEK} was used by approved run {rid};")


def test_the_same_rows_delivered_again_change_no_replay(
    project: tuple[Config, Store, Path],
) -> None:
    """Reading the exported run's week again with the very same rows replaces the batch but
    not the rows the run read: nothing is recorded, and the replay is still byte-identical."""
    cfg, store, folder = project
    rid = run_week(store, cfg, actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="sample ok")
    export_run(store, cfg, rid, actor="ben")
    (again,) = reload_files(store, cfg, [str(folder / "week-a.csv")])
    assert again.partitions_replaced == 1
    assert [i.message for i in again.issues] == ["reloaded: asked for with --reload"]
    assert store.scalar("SELECT count(*) FROM input_redeliveries") == 0
    result = replay(store, rid)
    assert (result.identical, result.superseded) == (True, ())


def test_an_earlier_week_is_named_as_the_runs_history(
    project: tuple[Config, Store, Path],
) -> None:
    """A run of the next week read this week as history (a partition before its date): the
    re-delivery names it too, as history, since its replay may differ."""
    cfg, store, folder = project
    store.execute(
        f"COPY (SELECT * EXCLUDE (batch_id) REPLACE (DATE '{NEXT}' AS snapshot_date) "
        f"FROM snapshots ORDER BY relation_id) TO {quote_literal(str(folder / 'week-n.csv'))} "
        "(HEADER)"
    )
    assert [r.status for r in ingest_source(store, cfg, "snapshots")] == ["unchanged", "loaded"]
    rid = run_week(store, cfg, day=dt.date.fromisoformat(NEXT), actor="ana").run_id
    decide_review(store, rid, approve=True, actor="ben", comment="sample ok")
    _write_week(store, folder / "week-b.csv", balance_of_101=50.0)
    (folder / "week-a.csv").unlink()
    reports = ingest_source(store, cfg, "snapshots")
    assert [i.message for r in reports for i in r.issues] == [
        f"snapshots week {WEEK} was used by approved run {rid} (as history for {NEXT}); the "
        "re-delivered file replaces it — that run's replay may now differ"
    ]
