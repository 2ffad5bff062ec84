"""The Dutch dialect of the synthetic bank's files, byte for byte."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pyarrow as pa
import pytest

from nextbest.config import config_from_mapping
from nextbest.simulate import Delivery, dutch_csv, sources_toml
from nextbest.simulate._dialect import dutch_number


def test_numbers_group_thousands_with_dots_and_use_a_decimal_comma() -> None:
    values = pa.array([1234567.5, 0.5, -12.3, 999.999, 100.0, None, -1000.0])
    assert dutch_number(values, 2).to_pylist() == [
        "1.234.567,50", "0,50", "-12,30", "1.000,00", "100,00", None, "-1.000,00",
    ]  # fmt: skip
    assert dutch_number(pa.array([101.2345]), 4).to_pylist() == ["101,2345"]


def test_a_snapshot_is_written_the_way_a_dutch_warehouse_exports_it() -> None:
    table = pa.table(
        {
            "relation_id": [101, 102],
            "snapshot_date": pa.array([dt.date(2025, 1, 5)] * 2, pa.date32()),
            "segment": ["private", None],
            "has_savings": [True, False],
            "total_balance": [1234.56, -0.01],
        }
    )
    assert dutch_csv(table) == (
        "REL_NR;PEILDATUM;SEGMENT;SPAREN_J_N;SALDO_TOTAAL\n"
        "101;05-01-2025;Privé Bankieren;J;1.234,56\n"
        "102;05-01-2025;NULL;N;-0,01\n"
    ).encode("latin-1")


def test_the_lines_it_prints_are_a_valid_config() -> None:
    parsed = tomllib.loads(sources_toml("/data/bank"))
    cfg = config_from_mapping(parsed)
    snapshots = cfg.sources.snapshots
    assert snapshots is not None
    assert (snapshots.path, snapshots.delimiter, snapshots.decimal, snapshots.thousands) == (
        "/data/bank/snapshots", ";", ",", ".",
    )  # fmt: skip
    assert snapshots.columns["total_balance"] == "SALDO_TOTAAL"
    assert snapshots.recode["segment"]["Privé Bankieren"] == "private"
    assert cfg.sources.audit is not None and cfg.sources.audit.columns["gender"] == "GESLACHT"


def test_the_dutch_dialect_is_csv_only() -> None:
    with pytest.raises(ValueError, match="CSV dialect"):
        Delivery("parquet", "nl")


def test_a_bank_written_again_in_another_format_leaves_no_stale_files(tmp_path: Path) -> None:
    from nextbest.simulate import simulate_bank

    out = tmp_path / "bank"
    simulate_bank(out, n_customers=100, n_weeks=12, seed=1, faults=False, truth=False)
    (out / "snapshots" / "my_notes.md").write_text("kept")
    simulate_bank(out, n_customers=100, n_weeks=12, seed=1, file_format="csv", dialect="nl",
                  faults=False, truth=False)  # fmt: skip
    names = sorted(p.suffix for p in (out / "snapshots").iterdir())
    assert set(names) == {".csv", ".md"} and names.count(".csv") == 12
    assert (out / "nextbest-sources.toml").exists()
    simulate_bank(out, n_customers=100, n_weeks=12, seed=1, faults=False, truth=False)
    assert not (out / "nextbest-sources.toml").exists()
