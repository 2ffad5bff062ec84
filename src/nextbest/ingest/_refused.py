"""A file refused after its rows were read, with the partitions those rows hold."""

from __future__ import annotations

from nextbest.errors import SourceFileError
from nextbest.ingest._contracts import Contract
from nextbest.store import Store, quote_identifier


class RowsRefusedError(SourceFileError):
    """A file refused after its rows were read; ``partitions`` are the partition values
    (e.g. snapshot weeks) those rows hold."""

    def __init__(self, message: str, *, partitions: tuple[str, ...]) -> None:
        super().__init__(message)
        self.partitions = partitions


def staged_partitions(store: Store, contract: Contract) -> tuple[str, ...]:
    """The partition values of the rows staged in ``_stage`` (all rows, as read)."""
    if contract.partition is None:
        return ()
    part = quote_identifier(contract.partition)
    rows = store.fetchall(
        f"SELECT DISTINCT CAST({part} AS VARCHAR) AS p FROM _stage WHERE {part} IS NOT NULL "
        "ORDER BY p"
    )
    return tuple(str(r[0]) for r in rows)
