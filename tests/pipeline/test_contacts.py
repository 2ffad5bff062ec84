"""The contact history's one writer: export contacts, replayed contacts, forgetting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from nextbest.pipeline._contacts import (
    forget_all_contacts,
    forget_contacts_since,
    record_contacts,
    record_run_contacts,
)
from nextbest.store import Store
from tests.pipeline.conftest import D

_ROWS = "SELECT relation_id, action, contact_date, run_id, arm FROM contacts"


def test_record_contacts_from_arrays(tiny_store: tuple[Store, Path]) -> None:
    """Each customer gets one contact with its own arm, dated the given day; none is a no-op."""
    store, _ = tiny_store
    forget_all_contacts(store)
    assert store.fetchall(_ROWS) == []
    record_contacts(
        store,
        action="a",
        day=D,
        run_id="bt",
        relation_ids=np.array([102, 101], dtype=np.int64),
        arms=np.array(["holdout", "treat"]),
    )
    record_contacts(
        store,
        action="a",
        day=D,
        run_id="bt",
        relation_ids=np.array([], np.int64),
        arms=np.array([]),
    )
    assert store.fetchall(f"{_ROWS} ORDER BY relation_id") == [
        (101, "a", D, "bt", "treat"),
        (102, "a", D, "bt", "holdout"),
    ]


def test_record_run_contacts_takes_the_contact_arms(tiny_store: tuple[Store, Path]) -> None:
    """A run's treat, explore and holdout rows become contacts; 'none' does not."""
    store, _ = tiny_store
    forget_all_contacts(store)
    for rid, arm in ((101, "treat"), (102, "explore"), (103, "holdout"), (104, "none")):
        store.execute(
            "INSERT INTO decisions (run_id, action, relation_id, snapshot_date, eligible, "
            "selected, arm, assignment_probability) VALUES ('r', 'a', ?, ?, true, true, ?, 1.0)",
            [rid, D, arm],
        )
    assert record_run_contacts(store, "r") == 3
    assert store.fetchall(f"{_ROWS} ORDER BY relation_id") == [
        (101, "a", D, "r", "treat"),
        (102, "a", D, "r", "explore"),
        (103, "a", D, "r", "holdout"),
    ]


def test_forget_contacts_since_keeps_the_history_a_run_saw(tiny_store: tuple[Store, Path]) -> None:
    """Contacts of runs exported after the moment go, and so do unexported ones from the day on;
    older exported and older unexported contacts stay."""
    store, _ = tiny_store
    forget_all_contacts(store)
    made_at = dt.datetime(2025, 3, 3, 9, 0)
    before = D - dt.timedelta(days=7)
    for rid, day, run in (
        (101, before, "old-export"),
        (102, before, "new-export"),
        (103, before, "elsewhere"),
        (104, D, "elsewhere"),
    ):
        store.execute("INSERT INTO contacts VALUES (?, 'a', ?, ?, 'treat')", [rid, day, run])
    for run, at in (("old-export", made_at - dt.timedelta(days=1)), ("new-export", made_at)):
        store.execute(
            "INSERT INTO exports (run_id, csv_file, parquet_file, rows, sha256, exported_at) "
            "VALUES (?, 'x.csv', 'x.parquet', 0, '', ?)",
            [run, at],
        )
    forget_contacts_since(store, made_at=made_at, day=D)
    assert store.fetchall("SELECT relation_id FROM contacts ORDER BY relation_id") == [
        (101,),
        (103,),
    ]
