"""Windows-1252 exports: € and curly quotes load as written; the wrong encoding says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nextbest.errors import SourceFileError
from nextbest.ingest import SNAPSHOTS, load_file
from nextbest.store import Store
from tests.ingest.test_dialect import DUTCH, HEADER
from tests.ingest.test_dialect import ROWS as DUTCH_ROWS

# the Dutch export of test_dialect, its segment names written with € and curly quotes
ROWS = [
    DUTCH_ROWS[0].replace(";mass;", ";Café €;"),
    DUTCH_ROWS[1].replace(";affluent;", ";“Privé”;"),
]
WINDOWS = DUTCH.model_copy(
    update={"encoding": "cp1252", "recode": {"segment": {"Café €": "mass", "“Privé”": "private"}}}
)


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as s:
        yield s


def _export(tmp_path: Path, name: str = "klant_20250105.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode("cp1252"))
    return path


def test_a_cp1252_export_loads_its_euro_signs_and_curly_quotes(
    store: Store, tmp_path: Path
) -> None:
    path = _export(tmp_path)
    assert b"\x80" in path.read_bytes() and b"\x93" in path.read_bytes()  # really cp1252
    report = load_file(store, SNAPSHOTS, path, WINDOWS, setting="[sources.snapshots]")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 2, 0)
    got = store.fetchall("SELECT relation_id, segment, total_balance FROM snapshots ORDER BY 1")
    assert got == [(101, "mass", 1234.56), (102, "private", -12.5)]
    # the batch names the delivered file, not the UTF-8 copy DuckDB read
    (source_file,) = store.fetchone("SELECT source_file FROM ingest_batches") or ("",)
    assert source_file == str(path)


def test_read_as_latin_1_the_euro_byte_says_set_cp1252(store: Store, tmp_path: Path) -> None:
    latin = WINDOWS.model_copy(update={"encoding": "latin-1"})
    with pytest.raises(SourceFileError) as err:
        load_file(store, SNAPSHOTS, _export(tmp_path), latin, setting="[sources.snapshots]")
    message = str(err.value)
    assert "klant_20250105.csv: byte 0x80 at line 2 is not latin-1 text" in message
    assert 'set encoding = "cp1252" in [sources.snapshots]' in message


def test_read_as_utf_8_it_says_cp1252_not_latin_1(store: Store, tmp_path: Path) -> None:
    utf8 = WINDOWS.model_copy(update={"encoding": "utf-8"})
    with pytest.raises(SourceFileError, match='set encoding = "cp1252"'):
        load_file(store, SNAPSHOTS, _export(tmp_path), utf8, setting="[sources.snapshots]")
    # a latin-1 file without Windows bytes is still told latin-1
    plain = tmp_path / "plain.csv"
    plain.write_bytes((HEADER + "\n101;05-01-2025;Café;1,5;N\n").encode("latin-1"))
    with pytest.raises(SourceFileError, match='set encoding = "latin-1"'):
        load_file(store, SNAPSHOTS, plain, utf8, setting="[sources.snapshots]")


def test_a_byte_cp1252_does_not_define_is_refused_with_its_line(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(
        (HEADER + "\n" + DUTCH_ROWS[0] + "\n").encode() + DUTCH_ROWS[1].encode() + b"\x81\n"
    )
    with pytest.raises(SourceFileError, match=r"odd\.csv: byte 0x81 at line 3 is not a cp1252"):
        load_file(store, SNAPSHOTS, path, WINDOWS, setting="[sources.snapshots]")


def test_utf_8_sig_is_utf_8(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n" + DUTCH_ROWS[0] + "\n").encode("utf-8"))
    sig = DUTCH.model_copy(update={"encoding": "utf-8-sig"})
    report = load_file(store, SNAPSHOTS, path, sig, setting="[sources.snapshots]")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 0)
