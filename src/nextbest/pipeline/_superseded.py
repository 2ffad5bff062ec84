"""What a replay found: the same bytes or not, and which of the run's inputs were re-delivered.

Ingest records in ``input_redeliveries`` every partition that an approved or exported run had
read and that a later file replaced; a replay that differs names those inputs instead of only
printing two hashes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from nextbest.store import Store


@dataclass(frozen=True)
class SupersededInput:
    """One partition a run read, replaced after the run by a re-delivered file."""

    table: str
    partition: str
    old_batch_id: int
    old_file: str
    old_loaded_at: dt.datetime
    new_batch_id: int
    new_file: str
    new_loaded_at: dt.datetime


@dataclass(frozen=True)
class ReplayResult:
    """A recomputed run against its recorded decision file."""

    run_id: str
    identical: bool
    recorded_sha256: str
    replayed_sha256: str
    #: the run's inputs re-delivered since it was made, oldest replacement first per partition
    superseded: tuple[SupersededInput, ...] = ()


def superseded_inputs(store: Store, run_id: str) -> tuple[SupersededInput, ...]:
    """The inputs of ``run_id`` that re-delivered files replaced, as ingest recorded them."""
    rows = store.fetchall(
        """
        SELECT d.table_name, d.partition_value, d.old_batch_id, o.source_file, o.loaded_at,
            d.new_batch_id, n.source_file, n.loaded_at
        FROM input_redeliveries d
        JOIN ingest_batches o ON o.batch_id = d.old_batch_id
        JOIN ingest_batches n ON n.batch_id = d.new_batch_id
        WHERE d.run_id = ?
        ORDER BY d.table_name, d.partition_value, d.new_batch_id
        """,
        [run_id],
    )
    return tuple(
        SupersededInput(str(t), str(p), int(ob), str(of), oa, int(nb), str(nf), na)
        for t, p, ob, of, oa, nb, nf, na in rows
    )
