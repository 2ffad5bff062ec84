"""CSV dialects of real warehouse exports: a Dutch export loads as written.

The file the tests write is what a Dutch warehouse delivers: ``;`` delimiters, decimal commas
with ``.`` thousands, ``dd-mm-yyyy`` dates, J/N booleans, ``NULL`` for missing, latin-1 text
and its own column names, mapped in the config.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest import SNAPSHOTS, load_file
from nextbest.ingest._refusal import likely_cause
from nextbest.store import Store

HEADER = (
    "REL_NR;PEILDATUM;LEEFTIJD;SEGMENT;SPAREN_J_N;BETALEN_J_N;AANTAL_REK;SALDO_TOTAAL;APP_J_N;"
    "LOGINS_4W;OPTIN_ALG;OPTIN_BELEGGEN;KLANT_SINDS;BELEGGER;FILIAAL"
)
ROWS = [
    "101;05-01-2025;30;mass;J;J;2;1.234,56;N;10;J;N;01-03-2019;N;Café Noord",
    "102;05-01-2025;61;affluent;ja;nee;3;-12,5;j;0;J;J;NULL;N;Hôtel-de-Ville",
]
MAPPING = {
    "relation_id": "REL_NR",
    "snapshot_date": "PEILDATUM",
    "age": "LEEFTIJD",
    "segment": "SEGMENT",
    "has_savings": "SPAREN_J_N",
    "has_payment": "BETALEN_J_N",
    "n_accounts": "AANTAL_REK",
    "total_balance": "SALDO_TOTAAL",
    "app_installed": "APP_J_N",
    "ib_logins_4w": "LOGINS_4W",
    "optin_general": "OPTIN_ALG",
    "optin_investing": "OPTIN_BELEGGEN",
    "customer_since": "KLANT_SINDS",
    "is_investor": "BELEGGER",
}
DUTCH = SourceConfig(
    path="unused",
    delimiter=";",
    decimal=",",
    thousands=".",
    encoding="latin-1",
    date_format="%d-%m-%Y",
    null_values=["NULL"],
    columns=MAPPING,
)


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as s:
        yield s


def _export(tmp_path: Path) -> Path:
    path = tmp_path / "klant_snapshot_20250105.csv"
    path.write_bytes(("\r\n".join([HEADER, *ROWS]) + "\r\n").encode("latin-1"))
    return path


def test_a_dutch_export_loads_as_written(store: Store, tmp_path: Path) -> None:
    report = load_file(store, SNAPSHOTS, _export(tmp_path), DUTCH, setting="[sources.snapshots]")
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 2, 0)
    got = store.fetchall(
        "SELECT relation_id, snapshot_date, total_balance, has_savings, has_payment, "
        "app_installed, optin_investing, customer_since, is_investor FROM snapshots "
        "ORDER BY relation_id"
    )
    assert got == [
        (101, dt.date(2025, 1, 5), 1234.56, True, True, False, False, dt.date(2019, 3, 1), False),
        (102, dt.date(2025, 1, 5), -12.5, True, False, True, True, None, False),
    ]


def test_without_the_dialect_the_file_is_refused_with_the_setting_to_fix(
    store: Store, tmp_path: Path
) -> None:
    """The same file read with '.' decimals: every balance fails its type, so the file is
    refused as a whole — nothing loaded, nothing quarantined — naming the setting."""
    plain = DUTCH.model_copy(update={"decimal": ".", "thousands": ""})
    with pytest.raises(SourceFileError) as refused:
        load_file(store, SNAPSHOTS, _export(tmp_path), plain, setting="[sources.snapshots]")
    assert str(refused.value).endswith(
        "klant_snapshot_20250105.csv: refused as a whole, nothing loaded: total_balance holds "
        "'1.234,56' and fails 'type: not a valid DOUBLE' in 2 of 2 rows; set decimal = \",\", "
        'thousands = "." in [sources.snapshots] (files with more than 50% failing one rule are '
        "refused: refuse_share in [sources.snapshots], default [contracts] refuse_share); "
        "'nextbest inspect klant_snapshot_20250105.csv' proposes the settings that read it"
    )
    assert store.scalar("SELECT count(*) FROM snapshots") == 0
    assert store.scalar("SELECT count(*) FROM quarantine") == 0
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_refuse_share_one_quarantines_unless_every_row_fails(store: Store, tmp_path: Path) -> None:
    """With refuse_share = 1.0 a file is refused only when every row fails; here one of two
    balances reads, so the other is quarantined with its value as written."""
    path = tmp_path / "half.csv"
    rows = [ROWS[0], ROWS[1].replace("-12,5", "-12")]
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    lenient = DUTCH.model_copy(update={"decimal": ".", "thousands": "", "refuse_share": 1.0})
    report = load_file(store, SNAPSHOTS, path, lenient, setting="[sources.snapshots]")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    got = store.fetchall("SELECT source_row, column_name, value FROM quarantine")
    assert got == [(1, "total_balance", "1.234,56")]


@pytest.mark.parametrize(
    ("rule", "example", "date_format", "advice"),
    [
        ("type: not a valid DATE", "05-01-2025", None, 'set date_format = "%d-%m-%Y" in [s]'),
        ("type: not a valid DATE", "5/1/2025", None, 'set date_format = "%d/%m/%Y"'),
        ("type: not a valid DATE", "2025-05-25", "%d-%m-%Y", "does not match date_format"),
        ("type: not a valid DOUBLE", "12,5", None, 'set decimal = "," in [s]'),
        ("type: not a valid BOOLEAN", "Wel", None, "add 'Wel' to true_values or false_values"),
        ("not null", None, None, "check the column mapping in [s].columns"),
    ],
)
def test_likely_cause_names_the_setting(
    rule: str, example: str | None, date_format: str | None, advice: str
) -> None:
    source = SourceConfig(path="x", date_format=date_format)
    assert advice in likely_cause(rule, example, source, "[s]")


def test_latin1_read_as_utf8_is_refused_naming_the_file(store: Store, tmp_path: Path) -> None:
    utf8 = DUTCH.model_copy(update={"encoding": "utf-8"})
    path = _export(tmp_path)
    with pytest.raises(SourceFileError, match=r"klant_snapshot_20250105\.csv"):
        load_file(store, SNAPSHOTS, path, utf8, setting="[sources.snapshots]")
    assert store.scalar("SELECT count(*) FROM snapshots") == 0


def test_own_yes_no_vocabulary(store: Store, tmp_path: Path) -> None:
    """true_values/false_values replace the defaults: 'ja' is no longer a yes, so the row that
    writes it is quarantined with its value."""
    strict = DUTCH.model_copy(update={"true_values": ["J"], "false_values": ["N", "nee"]})
    report = load_file(store, SNAPSHOTS, _export(tmp_path), strict, setting="[sources.snapshots]")
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    got = store.fetchall("SELECT source_row, column_name, value FROM quarantine")
    assert got == [(2, "has_savings", "ja")]  # 'j' still matches 'J' (case-insensitive)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"decimal": ",", "thousands": ","}, "thousands and decimal are both ','"),
        ({"decimal": ","}, "delimiter ',' is also the decimal or thousands separator"),
        ({"true_values": ["J"], "false_values": ["j"]}, "'j' is in both"),
    ],
)
def test_contradictory_dialects_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SourceConfig(path="x", **settings)


def test_recode_maps_the_exports_segment_names_and_keeps_unknown_ones_for_quarantine(
    store: Store, tmp_path: Path
) -> None:
    rows = [
        ROWS[0].replace(";mass;", ";Privé Bankieren;"),
        ROWS[1].replace(";affluent;", ";Particulier;"),
        ROWS[1].replace("102;", "103;").replace(";affluent;", ";Onbekend;"),
    ]
    path = tmp_path / "recode.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    source = DUTCH.model_copy(
        update={"recode": {"segment": {"Privé Bankieren": "private", "Particulier": "mass"}}}
    )
    report = load_file(store, SNAPSHOTS, path, source, setting="[sources.snapshots]")
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    got = store.fetchall("SELECT relation_id, segment FROM snapshots ORDER BY relation_id")
    assert got == [(101, "private"), (102, "mass")]
    assert report.quarantine_by_rule == {"allowed: not one of mass/affluent/private": 1}
    # a recode of a column the table does not have is refused, naming it
    wrong = DUTCH.model_copy(update={"recode": {"segmnet": {"A": "mass"}}})
    with Store(":memory:") as fresh, pytest.raises(SourceFileError, match="'segmnet'"):
        load_file(fresh, SNAPSHOTS, path, wrong, setting="[sources.snapshots]")


def test_a_number_not_written_in_the_dialect_is_quarantined_not_misread(
    store: Store, tmp_path: Path
) -> None:
    """With thousands '.' and decimal ',', '12.5' is no number (it was read as 125), nor are
    '1.23.4' (1234) or ',5'; well-grouped ones load."""
    values = ["12.5", "1.23.4", "12,5.3", ",5", "1.234.567,5", "-12,5", "1234"]
    rows = [
        ";".join([str(200 + i), *ROWS[0].split(";")[1:7], v, *ROWS[0].split(";")[8:]])
        for i, v in enumerate(values)
    ]
    path = tmp_path / "mixed.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    report = load_file(store, SNAPSHOTS, path, DUTCH.model_copy(update={"refuse_share": 1.0}),
                       setting="[sources.snapshots]")  # fmt: skip
    assert (report.rows_loaded, report.rows_quarantined) == (3, 4)
    got = store.fetchall("SELECT relation_id, total_balance FROM snapshots ORDER BY 1")
    assert got == [(204, 1234567.5), (205, -12.5), (206, 1234.0)]


def test_a_row_starting_with_a_hash_is_data_not_a_comment(store: Store, tmp_path: Path) -> None:
    """DuckDB's sniffer would take '#' as a comment sign and drop the row unseen."""
    rows = [ROWS[0], "#" + ROWS[1]]
    path = tmp_path / "hash.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("latin-1"))
    report = load_file(store, SNAPSHOTS, path, DUTCH.model_copy(update={"refuse_share": 1.0}),
                       setting="[sources.snapshots]")  # fmt: skip
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)


def test_a_date_format_with_an_unknown_directive_is_refused_at_load() -> None:
    with pytest.raises(ValidationError, match="'%Q', which is no date directive"):
        SourceConfig(path="x", date_format="%d-%Q-%Y")
    assert SourceConfig(path="x", date_format="%-d/%-m/%Y %H:%M").date_format == "%-d/%-m/%Y %H:%M"
