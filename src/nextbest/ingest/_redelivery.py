"""Re-delivered partitions that an approved or exported run read.

A run records the batches it read (``runs.inputs``: ``batch_ids`` per table, or, for runs made
before those were kept, the files' sha256 in ``batches``). When a file replaces, with other
rows, a partition whose rows came from such a batch and that is on or before the run's date,
the run's replay can no longer give its decision file: the load records this in
``input_redeliveries`` (inside its own transaction) and warns. A partition re-delivered with
the very same rows (the same count and sum of row hashes) is not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from nextbest.ingest._contracts import Contract
from nextbest.store import Store, quote_identifier

#: the runs whose inputs must stay reproducible: their list was approved or sent
_KEPT_STATUSES = ("approved", "exported")

#: how a partition column is named in a sentence
_PARTITION_WORD = {"snapshot_date": "week"}


@dataclass(frozen=True)
class UsedPartitions:
    """The partitions a new batch replaced that one approved or exported run had read."""

    run_id: str
    run_status: str
    run_date: str
    partitions: tuple[str, ...]

    def message(self, table: str, partition_column: str) -> str:
        word = _PARTITION_WORD.get(partition_column, partition_column.replace("_", " "))
        shown = ", ".join(self.partitions[:3])
        if len(self.partitions) > 3:
            shown += f" and {len(self.partitions) - 3} more"
        one = len(self.partitions) == 1
        own = self.run_date in self.partitions
        return (
            f"{table} {word}{'' if one else 's'} {shown} {'was' if one else 'were'} used by "
            f"{self.run_status} run {self.run_id}"
            + ("" if own else f" (as history for {self.run_date})")
            + f"; the re-delivered file replaces {'it' if one else 'them'} — that run's replay "
            # a changed row need not change a decision: only the replay can tell
            + "may now differ"
        )


def record_redeliveries(
    store: Store, contract: Contract, partitions: list[str], batch_id: int
) -> None:
    """Record which kept runs read the partitions batch ``batch_id`` is about to replace with
    other rows (a partition re-delivered with the very same rows changes no replay); call it
    inside the load's transaction, before the old rows are deleted."""
    part = contract.partition
    if part is None or contract.audit_only or not partitions:
        return
    kept = "SELECT count(*) > 0 FROM runs WHERE status IN (?, ?)"
    if not store.scalar(kept, list(_KEPT_STATUSES)):
        return  # nothing to compare the rows for
    col = quote_identifier(part)
    row_hash = (
        "hash(" + ", ".join(quote_identifier(c.name) for c in contract.columns) + ")::HUGEINT"
    )
    store.execute(
        f"""
        INSERT INTO input_redeliveries
        WITH old AS (
            SELECT CAST({col} AS VARCHAR) AS p, batch_id, {row_hash} AS h FROM {contract.table}
            WHERE {col} IN (SELECT CAST(unnest(?::VARCHAR[]) AS {contract.sql_type(part)}))
        ), changed AS (
            SELECT p FROM (SELECT p, count(*) AS n, sum(h) AS s FROM old GROUP BY p) o
            JOIN (SELECT CAST({col} AS VARCHAR) AS p, count(*) AS n, sum({row_hash}) AS s
                  FROM _stage WHERE len(_violations) = 0 GROUP BY p) staged USING (p)
            WHERE o.n <> staged.n OR o.s <> staged.s
        )
        SELECT r.run_id, ?, old.p, old.batch_id, ?, now()::TIMESTAMP
        FROM (SELECT DISTINCT p, batch_id FROM old WHERE p IN (SELECT p FROM changed)) old
        JOIN ingest_batches b ON b.batch_id = old.batch_id
        JOIN runs r ON r.status IN (?, ?) AND try_cast(old.p AS DATE) <= r.snapshot_date
          AND coalesce(
            list_contains(CAST(json_extract(r.inputs, ?) AS BIGINT[]), old.batch_id),
            list_contains(CAST(json_extract(r.inputs, ?) AS VARCHAR[]), b.file_sha256),
            false)
        """,
        [
            partitions,
            contract.table,
            batch_id,
            *_KEPT_STATUSES,
            f"$.batch_ids.{contract.table}",
            f"$.batches.{contract.table}",
        ],
    )


def redeliveries_of(store: Store, batch_id: int) -> list[UsedPartitions]:
    """What batch ``batch_id`` replaced that kept runs had read, one entry per run."""
    rows = store.fetchall(
        """
        SELECT d.run_id, any_value(r.status), CAST(any_value(r.snapshot_date) AS VARCHAR),
            list(DISTINCT d.partition_value ORDER BY d.partition_value)
        FROM input_redeliveries d JOIN runs r USING (run_id)
        WHERE d.new_batch_id = ?
        GROUP BY d.run_id ORDER BY d.run_id
        """,
        [batch_id],
    )
    return [UsedPartitions(str(r), str(s), str(d), tuple(p)) for r, s, d, p in rows]
