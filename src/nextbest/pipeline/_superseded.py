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
    #: the run's inputs re-delivered since it was made: its own week first, then snapshots, then
    #: the latest partitions; per partition the first replacement first
    superseded: tuple[SupersededInput, ...] = ()


def superseded_inputs(
    store: Store, run_id: str, *, since_run: bool = False
) -> tuple[SupersededInput, ...]:
    """The inputs of ``run_id`` that re-delivered files replaced.

    Always those ingest recorded (for a run approved or exported at the time). With
    ``since_run``, also those found from the batches the run read (``runs.inputs``
    ``batch_ids``): a partition on or before the run's date whose last batch the run read was
    replaced by a later one — e.g. re-delivered while the run waited for review. Those cannot
    tell a re-delivery of the very same rows, so a replay asks for them only when it differs."""
    rows = store.fetchall(
        """
        WITH run AS (SELECT inputs, snapshot_date FROM runs WHERE run_id = $run),
        read AS (
            SELECT j.key AS table_name, unnest(CAST(j.value AS BIGINT[])) AS batch_id
            FROM run, json_each(run.inputs, '$.batch_ids') j
        ),
        read_from AS (  -- per partition, the batch the run read it from
            SELECT r.table_name, p.p, max(r.batch_id) AS old_batch_id
            FROM read r JOIN ingest_batches b USING (batch_id), unnest(b.partitions) AS p(p)
            WHERE try_cast(p.p AS DATE) <= (SELECT snapshot_date FROM run)
            GROUP BY ALL
        ),
        found AS (
            SELECT f.table_name, f.p, f.old_batch_id, min(l.batch_id) AS new_batch_id
            FROM read_from f JOIN ingest_batches l ON l.table_name = f.table_name
              AND l.batch_id > f.old_batch_id AND list_contains(l.partitions, f.p)
            GROUP BY ALL
        ),
        gone AS (
            SELECT table_name, partition_value AS p, old_batch_id, new_batch_id
            FROM input_redeliveries WHERE run_id = $run
            UNION
            SELECT * FROM found WHERE $since_run
        )
        SELECT g.table_name, g.p, g.old_batch_id, o.source_file, o.loaded_at,
            g.new_batch_id, n.source_file, n.loaded_at
        FROM gone g
        JOIN ingest_batches o ON o.batch_id = g.old_batch_id
        JOIN ingest_batches n ON n.batch_id = g.new_batch_id
        -- the run's own week first, then snapshots, then the latest partitions
        ORDER BY g.p = (SELECT CAST(snapshot_date AS VARCHAR) FROM run) DESC,
            g.table_name = 'snapshots' DESC, g.p DESC, g.table_name, g.new_batch_id
        """,
        {"run": run_id, "since_run": since_run},
    )
    return tuple(
        SupersededInput(str(t), str(p), int(ob), str(of), oa, int(nb), str(nf), na)
        for t, p, ob, of, oa, nb, nf, na in rows
    )
