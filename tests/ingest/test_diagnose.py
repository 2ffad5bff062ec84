"""One-line diagnoses, from the first bytes, of files that are not what they are read as."""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest import SNAPSHOTS, load_file
from nextbest.ingest import _diagnose as diagnose
from nextbest.store import Store

from .helpers import HEADER, row, write_csv

CSV = SourceConfig(path="x")
SETTING = "[sources.snapshots]"


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


def _refused(store: Store, path: Path, source: SourceConfig = CSV) -> None:
    """Nothing at all was written for a refused file."""
    with pytest.raises(SourceFileError) as caught:
        load_file(store, SNAPSHOTS, path, source, setting=SETTING)
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 0
    assert store.scalar("SELECT count(*) FROM snapshots") == 0
    raise caught.value


def test_a_zero_byte_file_is_empty(store: Store, tmp_path: Path) -> None:
    """A 0-byte export is called empty, not a file missing column 'relation_id'."""
    path = tmp_path / "x.csv"
    path.write_bytes(b"")
    with pytest.raises(
        SourceFileError,
        match=r"^\S*x\.csv: the file is empty \(0 bytes\); ask for the delivery again or "
        r"remove the file$",
    ):
        _refused(store, path)


def test_blank_lines_only_are_empty(store: Store, tmp_path: Path) -> None:
    """A file of blank lines is empty too, with its size."""
    path = tmp_path / "x.csv"
    path.write_bytes(b"\r\n\r\n  \n")
    with pytest.raises(SourceFileError, match=r"x\.csv: the file is empty \(7 bytes of blank"):
        _refused(store, path)


def test_a_header_without_rows_has_no_data_rows(store: Store, tmp_path: Path) -> None:
    """A header line and nothing after it (blank lines aside) is its own diagnosis."""
    path = tmp_path / "x.csv"
    path.write_text(HEADER + "\n\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"x\.csv: the file has no data rows \(only the h"):
        _refused(store, path)


def test_an_xlsx_named_csv_is_called_a_workbook(store: Store, tmp_path: Path) -> None:
    """A workbook saved under a .csv name is named as Excel, with how to export CSV."""
    path = tmp_path / "x.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    with pytest.raises(
        SourceFileError,
        match=r"x\.csv: it is an Excel workbook \(XLSX\), not a CSV; save it as CSV \(';' "
        r"separated\) from Excel or ask the warehouse for a CSV export$",
    ):
        _refused(store, path)


def test_a_zip_archive_is_to_be_unpacked(store: Store, tmp_path: Path) -> None:
    """A plain ZIP (an export zipped for mailing) is told to be unpacked."""
    path = tmp_path / "x.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("klant_snapshot_20250105.csv", HEADER + "\n" + row(1) + "\n")
    with pytest.raises(SourceFileError, match=r"x\.csv: it is a ZIP archive, not a CSV; unpack"):
        _refused(store, path)


def test_gzip_needs_the_gz_name_and_then_loads(store: Store, tmp_path: Path) -> None:
    """Gzip named .csv is diagnosed; the same bytes named .csv.gz load as they are."""
    data = gzip.compress((HEADER + "\n" + row(1) + "\n" + row(2) + "\n").encode())
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(SourceFileError, match=r"x\.csv: it is gzip-compressed, not a CSV; name"):
        _refused(store, path)
    gz = tmp_path / "x.csv.gz"
    gz.write_bytes(data)
    assert load_file(store, SNAPSHOTS, gz, CSV, setting=SETTING).rows_loaded == 2


def test_parquet_named_csv_and_csv_named_parquet(store: Store, tmp_path: Path) -> None:
    """Parquet bytes under .csv, and CSV text under .parquet, each say which they are."""
    path = tmp_path / "x.csv"
    store.execute(f"COPY (SELECT 1 AS relation_id) TO '{tmp_path / 'p.parquet'}' (FORMAT parquet)")
    path.write_bytes((tmp_path / "p.parquet").read_bytes())
    with pytest.raises(SourceFileError, match=r"x\.csv: it is a Parquet file, not a CSV; name"):
        _refused(store, path)
    text = write_csv(tmp_path / "y.parquet", [row(1)])
    with pytest.raises(
        SourceFileError,
        match=r"y\.parquet: it is not a readable Parquet file: it is text starting "
        r"'relation_id,snapshot_date,.*; name it \.csv or set format = 'csv'",
    ):
        _refused(store, text)


def test_latin1_read_as_utf8_names_byte_line_and_setting(store: Store, tmp_path: Path) -> None:
    """The first byte that is not UTF-8 is named with its line, its text and the setting."""
    path = tmp_path / "x.csv"
    rows = [row(1), row(2, segment="Caf\xe9")]
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    with pytest.raises(
        SourceFileError,
        match=r"x\.csv: it is not UTF-8: byte 0xe9 at line 3 \('Caf\\xe9'\); set "
        r'encoding = "latin-1" in \[sources\.snapshots\]$',
    ):
        _refused(store, path)
    latin = SourceConfig(path="x", encoding="latin-1")
    report = load_file(store, SNAPSHOTS, path, latin, setting=SETTING)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert store.scalar("SELECT value FROM quarantine") == "Café"  # not an allowed segment


def test_utf16_read_as_utf8_suggests_utf16(store: Store, tmp_path: Path) -> None:
    """A UTF-16 export (with or without its byte-order mark) is told to set utf-16."""
    for name, codec in (("bom.csv", "utf-16"), ("le.csv", "utf-16-le")):
        path = tmp_path / name
        path.write_bytes((HEADER + "\n" + row(1) + "\n").encode(codec))
        with pytest.raises(
            SourceFileError, match=rf'{name}: it is UTF-16 text, not utf-8; set encoding = "utf-16"'
        ):
            _refused(store, path)


def test_the_bad_byte_is_found_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks that split a valid character, or a line, still give the right byte and line."""
    monkeypatch.setattr(diagnose, "_BLOCK", 7)
    good = tmp_path / "good.csv"
    good.write_bytes("a;b\néé;ü\nCafé;x\n".encode())
    assert diagnose.first_invalid_utf8(good) == None  # noqa: E711
    bad = tmp_path / "bad.csv"
    bad.write_bytes("a;b\néé;ü\n".encode() + b"x;Noord Caf\xe9 Zuid;y\n")
    assert diagnose.first_invalid_utf8(bad) == (0xE9, 3, "Noord Caf\\xe9 Zuid")
    truncated = tmp_path / "cut.csv"
    truncated.write_bytes(b"a;b\n1;\xc3")
    assert diagnose.first_invalid_utf8(truncated) == (0xC3, 2, "\\xc3")


def test_encoding_is_not_checked_for_other_encodings(store: Store, tmp_path: Path) -> None:
    """A latin-1 source is read as latin-1: bytes invalid in UTF-8 are no diagnosis."""
    path = tmp_path / "x.csv"
    path.write_bytes((HEADER + "\n" + row(1, segment="mass") + "\n").encode("latin-1"))
    diagnose.diagnose_file(path, "csv", SourceConfig(path="x", encoding="latin-1"), setting="s")


def test_utf8_read_as_latin1_is_refused_before_it_loads_garbled(
    store: Store, tmp_path: Path
) -> None:
    """latin-1 would load UTF-8 'Café' as 'CafÃ©' without an error; the file is refused."""
    path = tmp_path / "x.csv"
    path.write_bytes((HEADER + "\n" + row(1) + "\n" + row(2, segment="Café") + "\n").encode())
    latin = SourceConfig(path="x", encoding="latin-1")
    with pytest.raises(
        SourceFileError,
        match=r"x\.csv: it is UTF-8 text, not latin-1: line 3 holds 'Café', which encoding = "
        r"\"latin-1\" would load as 'CafÃ©'; remove encoding from \[sources\.snapshots\]",
    ):
        _refused(store, path, latin)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n" + row(1) + "\n").encode())
    with pytest.raises(SourceFileError, match=r"bom\.csv: it is UTF-8 text \(it starts with a"):
        _refused(store, bom, latin)
    assert load_file(store, SNAPSHOTS, bom, CSV, setting=SETTING).rows_loaded == 1


def test_a_line_with_too_many_or_too_few_fields_is_named(tmp_path: Path) -> None:
    """DuckDB refuses the file as a whole; the message says which line breaks it."""
    from nextbest.config import SourceConfig
    from nextbest.ingest import SNAPSHOTS, load_file
    from nextbest.store import Store

    for name, bad in (("extra.csv", "4,5,6,7"), ("short.csv", "4,5")):
        path = tmp_path / name
        path.write_text("a,b,c\n1,2,3\n" + bad + "\n8,9,10\n")
        with Store(":memory:") as store, pytest.raises(SourceFileError) as err:
            load_file(store, SNAPSHOTS, path, SourceConfig(path="x"), setting="[sources.s]")
        fields = len(bad.split(","))
        assert f"{name}: line 3 has {fields} field(s) where the header has 3" in str(err.value)
