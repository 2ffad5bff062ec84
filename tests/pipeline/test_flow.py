"""The flow stops when a customer converts; an unsubscribe counts at once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nextbest.config import SourceConfig
from nextbest.ingest import EMAIL_EVENTS, load_file
from nextbest.pipeline import decide_review, export_run, run_week
from nextbest.pipeline._export import stop_list
from nextbest.store import Store
from tests.pipeline.conftest import D, tiny_config


def test_converted_customers_are_on_the_stop_list(tiny_store: tuple[Store, Path]) -> None:
    """110 was mailed two weeks ago and converted since: the e-mail tool gets a stop for them;
    111 converted too (also on it); nobody else."""
    store, path = tiny_store
    cfg = tiny_config(path)
    store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
        "VALUES (110, ?, 800.0, 0)",
        [D - dt.timedelta(days=3)],
    )
    result = run_week(store, cfg)
    rows = stop_list(store, cfg, result.run_id).to_pylist()
    assert [(r["relation_id"], str(r["converted_on"])) for r in rows] == [
        (110, str(D - dt.timedelta(days=3))),
        (111, "2025-02-20"),
    ]
    decide_review(store, result.run_id, approve=True, actor="ana", comment="ok")
    exported = export_run(store, cfg, result.run_id, actor="ana")
    stops = (exported.csv_file.parent / "stops.csv").read_text().splitlines()
    assert stops[0] == '"relation_id","action","converted_on"'
    assert len(stops) == 3


def test_unsubscribe_blocks_at_once(tiny_store: tuple[Store, Path], tmp_path: Path) -> None:
    """An unsubscribe reported by the e-mail tool before D makes the customer ineligible under
    opted_in, even though the warehouse still says opted in; events load under a contract."""
    store, path = tiny_store
    events = tmp_path / "events.csv"
    events.write_text(
        "relation_id,event_date,action,message,event\n"
        f"101,{D - dt.timedelta(days=5)},invest-onboarding,inform,unsubscribed\n"
        f"102,{D - dt.timedelta(days=5)},invest-onboarding,inform,deleted\n"
    )
    report = load_file(store, EMAIL_EVENTS, events, SourceConfig(path="x"), setting="x")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    result = run_week(store, tiny_config(path))
    rule = store.fetchall(
        "SELECT relation_id, first_failed_rule FROM decisions WHERE run_id = ? "
        "AND relation_id IN (101, 102) ORDER BY 1",
        [result.run_id],
    )
    assert rule == [(101, "opted_in"), (102, None)]
