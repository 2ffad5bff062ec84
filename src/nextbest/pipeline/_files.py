"""Writing a table (features, a training table) to a Parquet or CSV file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

#: file suffixes :func:`write_table` writes, by format
TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def write_table(table: pa.Table, out: Path) -> None:
    """Write ``table`` to ``out`` as CSV or Parquet, chosen by the suffix (any case), through a
    temporary file so that a reader never sees half a file."""
    kind = TABLE_SUFFIXES.get(out.suffix.lower())
    if kind is None:
        raise ValueError(f"{out.name}: the suffix must be one of {sorted(TABLE_SUFFIXES)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if kind == "csv":
        pacsv.write_csv(table, tmp)
    else:
        pq.write_table(table, tmp)
    tmp.replace(out)
