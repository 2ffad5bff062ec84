"""Writing a table to Parquet or CSV by the file's suffix."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nextbest.pipeline import write_table

TABLE = pa.table({"relation_id": [1, 2], "score": [0.5, 0.25]})


def test_csv_and_parquet_by_suffix(tmp_path: Path) -> None:
    """.csv writes CSV, .PQ (any case) writes Parquet; no temporary file stays behind."""
    write_table(TABLE, tmp_path / "a" / "t.csv")
    write_table(TABLE, tmp_path / "b" / "t.PQ")
    assert (tmp_path / "a" / "t.csv").read_text().splitlines() == [
        '"relation_id","score"',
        "1,0.5",
        "2,0.25",
    ]
    assert pq.read_table(tmp_path / "b" / "t.PQ").to_pylist() == TABLE.to_pylist()
    assert sorted(p.name for p in tmp_path.rglob("*.tmp")) == []


def test_other_suffix_is_refused(tmp_path: Path) -> None:
    """A suffix that is neither CSV nor Parquet is refused before anything is written."""
    with pytest.raises(ValueError, match=r"t\.txt: the suffix must be one of"):
        write_table(TABLE, tmp_path / "new" / "t.txt")
    assert not (tmp_path / "new").exists()
