"""``inspect_file``: the dialect sniffed from an export, the mapping proposed for it, the lines
to paste (which the config loader accepts and ingest reads without a quarantined row), and the
preview through the real reading path."""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nextbest.config import SourceConfig, load_config
from nextbest.errors import ConfigError, SourceFileError
from nextbest.ingest import SNAPSHOTS, ingest_source, inspect_file, load_file
from nextbest.ingest._sniff import detect_encoding
from nextbest.simulate import simulate_bank
from nextbest.store import REDACTED, Store
from tests.ingest.helpers import row, write_csv
from tests.ingest.test_dialect import HEADER
from tests.ingest.test_dialect import MAPPING as DUTCH_MAPPING

ROWS = [
    "101;05-01-2025;30;mass;J;J;2;1.234,56;N;10;J;N;01-03-2019;N;Café Noord",
    "102;05-01-2025;61;affluent;J;N;3;-12,5;J;0;J;J;NULL;N;Hôtel-de-Ville",
    "103;05-01-2025;NULL;private;N;N;1;12.345.678,00;N;3;N;N;15-11-2001;J;Centrum",
]
#: the Dutch export's mapping without SEGMENT, which matches its column name as it is
MAPPING = {c: name for c, name in DUTCH_MAPPING.items() if c != "segment"}


def _dutch(tmp_path: Path, rows: list[str] = ROWS, name: str = "klant_snapshot.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("latin-1"))
    return path


def test_the_dialect_of_a_dutch_export_is_detected(tmp_path: Path) -> None:
    """';', latin-1 (é is one byte), decimal comma with '.' thousands, dd-mm-yyyy dates, J/N
    and NULL are each detected from the file itself."""
    d = inspect_file(_dutch(tmp_path)).dialect
    assert (d.format, d.delimiter, d.header, d.encoding, d.bom) == (
        "csv",
        ";",
        True,
        "latin-1",
        False,
    )
    assert (d.decimal, d.thousands, d.date_format) == (",", ".", "%d-%m-%Y")
    assert (d.true_values, d.false_values, d.null_values) == (("J",), ("N",), ("NULL",))
    kinds = {c.name: c.kind for c in d.columns}
    assert kinds["SALDO_TOTAAL"] == "number"
    assert kinds["LEEFTIJD"] == "integer"  # NULL is a marker, not text
    assert kinds["BELEGGER"] == "boolean"
    assert kinds["FILIAAL"] == "text"


def test_the_dutch_names_are_mapped_and_the_source_guessed(tmp_path: Path) -> None:
    """The source is guessed from the columns; each Dutch name maps to its contract column,
    SEGMENT needs no line (names match case-insensitively) and FILIAAL is left unused."""
    result = inspect_file(_dutch(tmp_path))
    assert result.guessed
    assert result.mapping.source == "snapshots"
    assert result.source.columns == MAPPING
    assert result.mapping.unused == ("FILIAAL",)
    assert result.mapping.unmapped == ()
    assert result.missing == ()


def test_the_lines_to_paste_load_and_ingest_quarantines_nothing(tmp_path: Path) -> None:
    """The printed block, pasted into a config as is, loads; ingest with it reads every row and
    the values are the ones the preview shows."""
    path = _dutch(tmp_path)
    result = inspect_file(path, path_text=path.name)
    assert result.toml.startswith(
        "[sources.snapshots]\n"
        'path = "klant_snapshot.csv"\n'
        'format = "csv"\n'
        'delimiter = ";"\n'
        'decimal = ","\n'
        'thousands = "."\n'
        'encoding = "latin-1"\n'
        'date_format = "%d-%m-%Y"\n'
        'null_values = ["NULL"]\n'
        "\n[sources.snapshots.columns]\n"
        'relation_id = "REL_NR"\n'
    )
    config_file = tmp_path / "nextbest.toml"
    config_file.write_text('[store]\npath = "store.duckdb"\n\n' + result.toml, encoding="utf-8")
    cfg = load_config(config_file)
    with Store(":memory:") as store:
        (report,) = ingest_source(store, cfg, "snapshots")
        loaded = store.fetchall(
            "SELECT relation_id, age, total_balance, is_investor, customer_since FROM snapshots "
            "ORDER BY relation_id"
        )
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 3, 0)
    assert loaded == [
        (101, 30, 1234.56, False, dt.date(2019, 3, 1)),
        (102, 61, -12.5, False, None),
        (103, None, 12345678.0, True, dt.date(2001, 11, 15)),
    ]
    p = result.preview
    assert (p.rows_read, p.rows_quarantined, p.quarantine, p.refusal) == (3, 0, (), None)
    first = dict(zip(("_row", *p.columns), p.rows[0], strict=True))
    assert first["_row"] == 1
    assert first["total_balance"] == 1234.56
    assert first["snapshot_date"] == dt.date(2025, 1, 5)
    assert first["has_savings"] is True


def test_a_plain_file_gives_the_defaults(tmp_path: Path) -> None:
    """An ISO, comma-delimited UTF-8 file with the contract's own names needs no line beyond
    path and format."""
    path = write_csv(tmp_path / "snap.csv", [row(101), row(102, balance=-3.25)])
    result = inspect_file(path, path_text="snap.csv")
    assert result.toml == '[sources.snapshots]\npath = "snap.csv"\nformat = "csv"\n'
    d = result.dialect
    assert (d.delimiter, d.encoding, d.decimal, d.thousands, d.date_format) == (
        ",",
        "utf-8",
        ".",
        "",
        None,
    )
    assert result.preview.rows_quarantined == 0


def test_the_preview_counts_a_bad_row_under_its_rule(tmp_path: Path) -> None:
    """One age of 150 in three rows: the preview counts it under the range rule with its row and
    value, exactly as ingest then quarantines it, and the file is not refused."""
    rows = [ROWS[0], ROWS[1].replace(";61;", ";150;"), ROWS[2]]
    path = _dutch(tmp_path, rows)
    result = inspect_file(path)
    p = result.preview
    assert (p.rows_read, p.rows_quarantined, p.refusal) == (3, 1, None)
    assert [(q.column, q.rule, q.rows, q.first_row, q.example, q.common) for q in p.quarantine] == [
        ("age", "range: outside 0..120", 1, 2, "150", ())
    ]
    with Store(":memory:") as store:
        report = load_file(store, SNAPSHOTS, path, result.source, setting="[sources.snapshots]")
    assert report.quarantine_by_rule == {"range: outside 0..120": 1}


def test_the_preview_says_when_ingest_would_refuse_the_file(tmp_path: Path) -> None:
    """Two of three ages are words: the preview names the whole-file refusal ingest gives."""
    rows = [ROWS[0].replace(";30;", ";dertig;"), ROWS[1].replace(";61;", ";zestig;"), ROWS[2]]
    p = inspect_file(_dutch(tmp_path, rows)).preview
    assert p.rows_quarantined == 2
    assert p.refusal is not None
    assert "refused as a whole, nothing loaded: age holds '" in p.refusal
    assert "fails 'type: not a valid INTEGER' in 2 of 3 rows" in p.refusal


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ("Café;1\n".encode("latin-1"), ("latin-1", False)),
        ("Café;1\n".encode(), ("utf-8", False)),
        ("\ufeffCafé;1\n".encode(), ("utf-8", True)),
        ("Café;1\n".encode("utf-16"), ("utf-16", True)),
    ],
)
def test_the_encoding_is_decided_from_the_first_bytes(
    head: bytes, expected: tuple[str, bool]
) -> None:
    """Not valid UTF-8 but valid latin-1 is latin-1; a BOM is reported."""
    assert detect_encoding(head) == expected


def test_a_bom_file_reads_as_utf8_without_an_encoding_line(tmp_path: Path) -> None:
    """UTF-8 with a BOM is reported as such; the default encoding reads it, so no line."""
    path = tmp_path / "snap.csv"
    write_csv(path, [row(101)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = inspect_file(path)
    assert result.dialect.encoding_label == "utf-8 with BOM"
    assert "encoding" not in result.toml
    assert result.preview.rows_quarantined == 0


@pytest.mark.parametrize(
    ("values", "decimal", "thousands"),
    [
        (["12,5", "3", "1,25"], ",", ""),
        (["1.234,5", "12,75"], ",", "."),
        (["1,234.5", "12.75"], ".", ","),
        (["12.5", "1000"], ".", ""),
    ],
)
def test_separators_come_from_the_numeric_columns(
    tmp_path: Path, values: list[str], decimal: str, thousands: str
) -> None:
    """Decimal and thousands separators are read off values such as 12,5 and 1.234,5."""
    path = tmp_path / "conv.csv"
    lines = ["relation_id;conversion_date;amount"]
    lines += [f"{i};2025-01-0{i};{v}" for i, v in enumerate(values, start=1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = inspect_file(path)
    assert (result.dialect.decimal, result.dialect.thousands) == (decimal, thousands)
    assert result.mapping.source == "conversions"
    assert result.preview.rows_quarantined == 0


@pytest.mark.parametrize(
    ("dates", "date_format"),
    [
        (["05-01-2025", "28-12-2024"], "%d-%m-%Y"),
        (["05/01/2025", "28/12/2024"], "%d/%m/%Y"),
        (["20250105", "20241228"], "%Y%m%d"),
        (["2025-01-05", "2024-12-28"], None),
    ],
)
def test_the_date_format_is_detected(
    tmp_path: Path, dates: list[str], date_format: str | None
) -> None:
    """Dutch, slashed, compact and ISO dates; ISO needs no date_format."""
    path = tmp_path / "conv.csv"
    lines = ["KLANT_ID,CONVERSIEDATUM,BEDRAG"]
    lines += [f"{i},{d},100" for i, d in enumerate(dates, start=1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = inspect_file(path)
    assert result.dialect.date_format == date_format
    assert result.source.columns == {
        "relation_id": "KLANT_ID",
        "conversion_date": "CONVERSIEDATUM",
        "amount": "BEDRAG",
    }
    assert result.preview.rows_quarantined == 0


def test_a_vocabulary_beyond_the_defaults_is_proposed(tmp_path: Path) -> None:
    """waar/onwaar is not read by default: the block adds it to the default lists."""
    header = "relation_id,snapshot_date,is_investor"
    path = tmp_path / "s.csv"
    path.write_text(f"{header}\n1,2025-01-05,waar\n2,2025-01-05,onwaar\n", encoding="utf-8")
    result = inspect_file(path, source="snapshots")
    assert result.source.true_values[-1] == "waar"
    assert result.source.false_values[-1] == "onwaar"
    assert 'true_values = ["true", "t", "1", "yes", "y", "j", "ja", "waar"]' in result.toml


def test_unmatched_columns_are_todo_lines(tmp_path: Path) -> None:
    """A snapshot file without several contract columns: each is a # TODO line, and the
    required ones are named as what ingest would refuse (not as quarantined rows)."""
    path = tmp_path / "s.csv"
    path.write_text("REL_NR,PEILDATUM,LEEFTIJD\n1,2025-01-05,40\n", encoding="utf-8")
    result = inspect_file(path, source="snapshots")
    assert result.mapping.unmapped[0] == "segment"
    assert '# TODO segment = "<column in your file>"  (not found in the file)' in result.toml
    assert "is_investor" in result.missing
    # said once, as missing; the rows themselves break no other rule
    p = result.preview
    assert (p.rows_read, p.rows_quarantined, p.quarantine, p.refusal) == (1, 0, (), None)


def test_audit_values_never_reach_the_screen(tmp_path: Path) -> None:
    """An audit file: the preview and the quarantine example hold the redaction marker, and no
    column example or yes/no text is kept from it."""
    path = tmp_path / "aud.csv"
    path.write_text("relation_id,gender,postcode_area\n1,F,10\n2,Q,11\n", encoding="utf-8")
    result = inspect_file(path)
    assert result.mapping.source == "audit"
    p = result.preview
    assert p.rows == ((1, REDACTED, REDACTED, REDACTED), (2, REDACTED, REDACTED, REDACTED))
    assert [(q.column, q.rule, q.first_row, q.example) for q in p.quarantine] == [
        ("gender", "allowed: not one of F/M/X", 2, REDACTED)
    ]
    assert {c.example for c in result.dialect.columns} == {None}


def test_an_unknown_source_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "snap.csv", [row(101)])
    with pytest.raises(ConfigError, match="unknown source 'snapshot'; Did you mean 'snapshots'"):
        inspect_file(path, source="snapshot")


def test_a_parquet_file_proposes_format_and_mapping(tmp_path: Path) -> None:
    """Parquet has no dialect: the block holds path, format and the mapping."""
    path = tmp_path / "conv.parquet"
    table = pa.table(
        {"rel_nr": [1, 2], "conversiedatum": [dt.date(2025, 1, 5)] * 2, "bedrag": [10.0, 2.5]}
    )
    pq.write_table(table, path)
    result = inspect_file(path, path_text="conv.parquet")
    assert result.toml == (
        '[sources.conversions]\npath = "conv.parquet"\nformat = "parquet"\n\n'
        '[sources.conversions.columns]\nrelation_id = "rel_nr"\n'
        'conversion_date = "conversiedatum"\namount = "bedrag"\n'
    )
    assert result.preview.rows == (
        (1, 1, dt.date(2025, 1, 5), 10.0),
        (2, 2, dt.date(2025, 1, 5), 2.5),
    )


def test_files_it_cannot_read_get_one_line_naming_them(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceFileError, match=r"empty\.csv: the file is empty \(0 bytes\)"):
        inspect_file(empty)
    book = tmp_path / "book.csv"
    with zipfile.ZipFile(book, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    # a ZIP without the workbook's own parts is an archive; ingest says the same
    with pytest.raises(SourceFileError, match=r"book\.csv: it is a ZIP archive, not a CSV"):
        inspect_file(book)
    sheet = tmp_path / "sheet.csv"
    with zipfile.ZipFile(sheet, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(SourceFileError, match=r"sheet\.csv: it is an Excel workbook \(XLSX\)"):
        inspect_file(sheet)
    with pytest.raises(SourceFileError, match=r"nothere\.csv: no such file"):
        inspect_file(tmp_path / "nothere.csv")


def test_a_glob_inspects_its_first_file_and_proposes_the_glob(tmp_path: Path) -> None:
    """A glob, as a source's path may be: the first file by name is read, the block keeps the
    glob so that every week's file is taken."""
    write_csv(tmp_path / "snap_2.csv", [row(102)])
    write_csv(tmp_path / "snap_1.csv", [row(101)])
    result = inspect_file(tmp_path / "snap_*.csv")
    assert (result.path.name, result.matched) == ("snap_1.csv", 2)
    assert result.source.path == str(tmp_path / "snap_*.csv")
    assert result.preview.rows[0][:2] == (1, 101)


def test_numbers_with_decimal_commas_in_a_comma_delimited_file_are_noted(tmp_path: Path) -> None:
    """'10,5' quoted in a ','-delimited file: decimal ',' cannot be set with that delimiter,
    so it stays '.', a note says why, and the preview shows the refusal to come."""
    path = tmp_path / "conv.csv"
    path.write_text(
        'relation_id,conversion_date,amount\n1,2025-01-05,"10,5"\n2,2025-01-06,"3,25"\n',
        encoding="utf-8",
    )
    result = inspect_file(path)
    assert result.dialect.decimal == "."
    assert any("decimal commas" in n for n in result.dialect.notes)
    assert result.preview.rows_quarantined == 2
    assert result.preview.refusal is not None


def test_the_faulty_week_of_the_synthetic_bank_is_previewed_as_ingest_quarantines(
    tmp_path: Path,
) -> None:
    """The bank's malformed CSV week: its few European balances do not make the file's
    decimal a comma, and the preview counts the rows the manifest says ingest must quarantine,
    under each fault's rule."""
    bank = simulate_bank(
        tmp_path / "bank", n_customers=300, n_weeks=30, seed=7, file_format="csv", truth=False
    )
    malformed = bank.faults["malformed"]
    assert isinstance(malformed, dict)
    week = tmp_path / "bank" / "snapshots" / f"snapshot_{bank.faults['malformed_week']}.csv"
    result = inspect_file(week, path_text="week.csv")
    assert result.toml == '[sources.snapshots]\npath = "week.csv"\nformat = "csv"\n'
    p = result.preview
    assert (p.rows_read, p.rows_quarantined) == (
        malformed["rows_in_file"],
        malformed["expected_quarantined_rows"],
    )
    by_rule = {(q.column, q.rule): q.rows for q in p.quarantine}
    common = {q.column: set(q.common) for q in p.quarantine}
    assert common["age"] == {("212", 3), ("-3", 3)}  # the fault writes 212 and -3 by turns
    assert common["total_balance"] == {("1.234,56", malformed["unparseable_balance"])}
    assert common["relation_id"] == set()  # a missing value is no value to count
    assert by_rule[("age", "range: outside 0..120")] == malformed["bad_age"]
    assert (
        by_rule[("total_balance", "type: not a valid DOUBLE")] == malformed["unparseable_balance"]
    )
    assert by_rule[("relation_id", "not null")] == malformed["null_relation_id"]
    assert p.refusal is None


def test_a_configured_source_is_compared_with_the_proposal(tmp_path: Path) -> None:
    """The project's [sources.snapshots] reads the Dutch file with '.' decimals and maps age
    to AGE: exactly those settings, and the names it does not map, are the changes."""
    current = SourceConfig(
        path="x.csv",
        delimiter=";",
        encoding="latin-1",
        date_format="%d-%m-%Y",
        null_values=["NULL"],
        columns={**MAPPING, "age": "AGE"},
    )
    result = inspect_file(_dutch(tmp_path), configured={"snapshots": current, "market": None})
    assert result.changes is not None
    assert [(c.setting, c.current, c.proposed) for c in result.changes] == [
        ("decimal", ".", ","),
        ("thousands", "", "."),
        ("columns.age", "AGE", "LEEFTIJD"),
    ]
    same = current.model_copy(update={"decimal": ",", "thousands": ".", "columns": MAPPING})
    assert inspect_file(_dutch(tmp_path), configured={"snapshots": same}).changes == ()
    assert inspect_file(_dutch(tmp_path), configured={"market": None}).changes is None


def test_a_gzipped_export_is_sniffed_through_its_text(tmp_path: Path) -> None:
    """A .csv.gz: the encoding comes from the unpacked text (latin-1 here), and the block says
    format = "csv" since the extension alone does not tell it."""
    plain = _dutch(tmp_path)
    packed = tmp_path / "klant_snapshot.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    result = inspect_file(packed)
    assert (result.dialect.encoding, result.dialect.decimal) == ("latin-1", ",")
    assert result.source.format == "csv"
    assert (result.preview.rows_read, result.preview.rows_quarantined) == (3, 0)


def test_cp1252_bytes_make_it_cp1252(tmp_path: Path) -> None:
    """'€' written in cp1252 is byte 0x80, a control character in latin-1: the file is
    Windows-1252, read through a UTF-8 copy, and nothing is quarantined."""
    path = tmp_path / "conv.csv"
    text = "relation_id;conversion_date;amount;valuta\n1;2025-01-05;10,5;é\n2;2025-01-06;3;€\n"
    path.write_bytes(text.encode("cp1252"))
    result = inspect_file(path)
    assert result.dialect.encoding == "cp1252"
    assert 'encoding = "cp1252"' in result.toml
    assert (result.preview.rows_read, result.preview.rows_quarantined) == (2, 0)


def test_the_exports_own_segment_names_get_recode_lines_to_fill_in(tmp_path: Path) -> None:
    """Texts that are none of a column's allowed values are listed as commented recode lines;
    filled in and uncommented, the same file loads with nothing quarantined."""
    rows = [
        ROWS[0].replace(";mass;", ";Particulier;"),
        ROWS[1].replace(";affluent;", ";Vermogend;"),
        ROWS[2].replace(";private;", ";Privé Bankieren;"),
    ]
    path = _dutch(tmp_path, rows)
    result = inspect_file(path, path_text=path.name)
    assert result.preview.unknown_texts == (
        ("segment", ("Particulier", "Privé Bankieren", "Vermogend")),
    )
    assert result.toml.endswith(
        "# [sources.snapshots.recode.segment]\n"
        '# "Particulier" = "mass | affluent | private"\n'
        '# "Privé Bankieren" = "mass | affluent | private"\n'
        '# "Vermogend" = "mass | affluent | private"\n'
    )
    chosen = {"Particulier": "mass", "Privé Bankieren": "private", "Vermogend": "affluent"}
    filled = result.toml
    for text, value in chosen.items():
        filled = filled.replace(
            f'# "{text}" = "mass | affluent | private"', f'"{text}" = "{value}"'
        )
    filled = filled.replace("# [sources.snapshots.recode", "[sources.snapshots.recode")
    config_file = tmp_path / "nextbest.toml"
    config_file.write_text('[store]\npath = "store.duckdb"\n\n' + filled, encoding="utf-8")
    with Store(":memory:") as store:
        (report,) = ingest_source(store, load_config(config_file), "snapshots")
        segments = store.fetchall("SELECT segment FROM snapshots ORDER BY relation_id")
    assert (report.rows_loaded, report.rows_quarantined) == (3, 0)
    assert segments == [("mass",), ("affluent",), ("private",)]


def test_the_synthetic_dutch_bank_is_mapped_by_inspect_as_the_simulator_names_it(
    tmp_path: Path,
) -> None:
    """The simulator's Dutch column names and inspect's proposals agree, column for column."""
    from nextbest.simulate._dialect import DUTCH_NAMES

    simulate_bank(tmp_path / "bank", n_customers=100, n_weeks=12, seed=1, file_format="csv",
                  dialect="nl", faults=False, truth=False)  # fmt: skip
    result = inspect_file(tmp_path / "bank" / "snapshots")
    expected = {c: d for c, d in DUTCH_NAMES["snapshots"].items() if c.lower() != d.lower()}
    assert result.source.columns == expected
    assert (result.preview.rows_quarantined, result.preview.unknown_texts[0][0]) == (
        result.preview.rows_read, "segment",
    )  # fmt: skip


def test_utf_16_without_a_byte_order_mark_is_proposed(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("relation_id;conversion_date;amount\n1;2025-01-05;10,5\n".encode("utf-16-le"))
    result = inspect_file(path)
    assert result.dialect.encoding == "utf-16"
    assert (result.preview.rows_read, result.preview.rows_quarantined) == (1, 0)


def test_inside_a_project_its_recode_lines_are_kept(tmp_path: Path) -> None:
    """The project's own names for the export's segments read this file too: the preview uses
    them (nothing quarantined) and the block to paste keeps them."""
    rows = [ROWS[0].replace(";mass;", ";Particulier;"), ROWS[1]]
    path = _dutch(tmp_path, rows)
    configured = SourceConfig(path="x", recode={"segment": {"Particulier": "mass"}})
    result = inspect_file(path, configured={"snapshots": configured})
    assert result.preview.rows_quarantined == 0
    assert '[sources.snapshots.recode.segment]\n"Particulier" = "mass"\n' in result.toml
