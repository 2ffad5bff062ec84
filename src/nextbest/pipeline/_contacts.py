"""The contact history: the one writer of ``contacts`` rows.

A contact is a customer an exported run assigned to an arm (treat, explore and holdout — the
holdout so that the cooldown keeps it clean). The backtest replays its own history and the run
replay puts the history back as it was; both only inside :meth:`Store.discarding`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from nextbest.store import Store

#: the arms that count as a contact
CONTACT_ARMS = ("treat", "explore", "holdout")


def record_run_contacts(store: Store, run_id: str) -> int:
    """A contact per customer the run assigned to a contact arm, dated the run's week;
    returns how many the run has."""
    store.execute(
        "INSERT INTO contacts (relation_id, action, contact_date, run_id, arm) "
        "SELECT relation_id, action, snapshot_date, run_id, arm "
        "FROM decisions WHERE run_id = ? AND arm IN (?, ?, ?)",
        [run_id, *CONTACT_ARMS],
    )
    return int(store.scalar("SELECT count(*) FROM contacts WHERE run_id = ?", [run_id]))


def record_contacts(
    store: Store,
    *,
    action: str,
    day: dt.date,
    run_id: str,
    relation_ids: npt.NDArray[np.int64],
    arms: npt.NDArray[Any],
) -> None:
    """A contact per customer in ``relation_ids`` (with its arm in ``arms``) on ``day``."""
    if len(relation_ids) == 0:
        return
    # a name of its own: another thread may be using the same connection
    name = f"_contacts_{secrets.token_hex(8)}"
    store.register(
        name,
        pa.table(
            {
                "relation_id": pa.array(relation_ids, pa.int64()),
                "arm": pa.array(arms.astype(object), pa.string()),
            }
        ),
    )
    try:
        store.execute(
            "INSERT INTO contacts (relation_id, action, contact_date, run_id, arm) "
            f"SELECT relation_id, ?, ?, ?, arm FROM {name}",
            [action, day, run_id],
        )
    finally:
        store.unregister(name)


def forget_all_contacts(store: Store) -> None:
    """Empty the contact history (the backtest's replay starts from none)."""
    store.execute("DELETE FROM contacts")


def forget_contacts_since(store: Store, *, made_at: dt.datetime, day: dt.date) -> None:
    """The history as a run of ``day`` made at ``made_at`` saw it: without the contacts of the
    runs exported since, nor those from elsewhere (no export record) dated ``day`` or later."""
    store.execute(
        "DELETE FROM contacts WHERE run_id IN "
        "(SELECT run_id FROM exports WHERE exported_at >= ?) "
        "OR (run_id NOT IN (SELECT run_id FROM exports) AND contact_date >= ?)",
        [made_at, day],
    )
