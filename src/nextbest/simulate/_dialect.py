"""How the synthetic bank's files are formatted: Parquet, plain CSV, or the CSV a Dutch
warehouse exports (``;``, ``1.234,56``, ``dd-mm-yyyy``, ``J``/``N``, ``NULL``, latin-1, its own
column names and segment names).

The Dutch dialect carries the same values as the plain one: loaded with the config lines of
:func:`sources_toml`, a Dutch bank and a plain bank of the same seed hold the same rows and
quarantine the same ones.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DialectName = Literal["plain", "nl"]
FileFormat = Literal["parquet", "csv"]

#: per source folder of the bank, its columns as a Dutch warehouse names them
DUTCH_NAMES: dict[str, dict[str, str]] = {
    "snapshots": {
        "relation_id": "REL_NR",
        "snapshot_date": "PEILDATUM",
        "age": "LEEFTIJD",
        "segment": "SEGMENT",
        "has_savings": "SPAREN_J_N",
        "has_payment": "BETALEN_J_N",
        "n_accounts": "AANTAL_REKENINGEN",
        "total_balance": "SALDO_TOTAAL",
        "app_installed": "APP_J_N",
        "ib_logins_4w": "IB_LOGINS_4W",
        "optin_general": "OPTIN_ALGEMEEN",
        "optin_investing": "OPTIN_BELEGGEN",
        "customer_since": "KLANT_SINDS",
        "is_investor": "BELEGGER_J_N",
    },
    "market": {"fund": "FONDS", "price_date": "KOERSDATUM", "price": "KOERS"},
    "conversions": {
        "relation_id": "REL_NR",
        "conversion_date": "STARTDATUM",
        "amount": "BEDRAG",
        "outcome": "PRODUCT",
    },
    "email_events": {},
    "audit": {"relation_id": "REL_NR", "gender": "GESLACHT", "postcode_area": "POSTCODEGEBIED"},
}
#: one Dutch name per column of any table
DUTCH_COLUMNS: dict[str, str] = {c: d for names in DUTCH_NAMES.values() for c, d in names.items()}

#: the segment names of the Dutch export; the config recodes them to nextbest's
DUTCH_SEGMENTS: dict[str, str] = {
    "mass": "Particulier",
    "affluent": "Vermogend",
    "private": "Privé Bankieren",
}

#: where a Dutch-dialect bank keeps the config lines that read it
SOURCES_FILE = "nextbest-sources.toml"

#: decimals written for each fractional column (the bank rounds to these)
DECIMALS: dict[str, int] = {"total_balance": 2, "amount": 2, "price": 4}


@dataclass(frozen=True)
class Delivery:
    """The format and dialect the bank's files are written in."""

    file_format: FileFormat = "parquet"
    dialect: DialectName = "plain"

    def __post_init__(self) -> None:
        if self.dialect == "nl" and self.file_format != "csv":
            raise ValueError("the Dutch dialect is a CSV dialect; use file_format='csv'")

    def numbers(self, values: pa.Array | pa.ChunkedArray, column: str) -> pa.Array:
        """Numbers as the file writes them (text), for a column that holds text in a fault."""
        if self.dialect == "nl":
            return dutch_number(values, DECIMALS.get(column, 2))
        return pc.cast(values, pa.string())

    @property
    def bad_number(self) -> str:
        """A number no parser of this dialect reads (a fault of the malformed week)."""
        # a Dutch file reads '1.234,56', so its broken numbers are 'not applicable'
        return "n.v.t." if self.dialect == "nl" else "1.234,56"

    def write_sources(self, bank: Path) -> None:
        """For a Dutch bank, write the ``[sources]`` lines that read it (:data:`SOURCES_FILE`)."""
        if self.dialect == "nl":
            text = sources_toml(bank.resolve().as_posix())
            (bank / SOURCES_FILE).write_text(text, encoding="utf-8")

    def write(self, table: pa.Table, path: Path) -> None:
        """Write ``table`` to ``path`` atomically (a reader never sees half a file)."""
        tmp = path.with_name(path.name + ".tmp")
        if self.file_format == "parquet":
            pq.write_table(table, tmp, compression="snappy")
        elif self.dialect == "nl":
            tmp.write_bytes(dutch_csv(table))
        else:
            pacsv.write_csv(table, tmp)
        tmp.replace(path)


def dutch_number(values: pa.Array | pa.ChunkedArray, decimals: int) -> pa.Array:
    """``1234567.5`` → ``'1.234.567,50'``: ``.`` groups thousands, ``,`` is the decimal mark."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    scale = 10**decimals
    scaled = pc.cast(pc.round(pc.multiply(pc.abs(arr), float(scale))), pa.int64())
    whole = pc.cast(pc.divide(scaled, scale), pa.string())  # integer division of int64
    frac = pc.utf8_lpad(
        pc.cast(pc.subtract(scaled, pc.multiply(pc.divide(scaled, scale), scale)), pa.string()),
        width=decimals,
        padding="0",
    )
    # group the digits in threes from the right: reverse, dot after every three, reverse
    grouped = pc.utf8_reverse(
        pc.utf8_rtrim(
            pc.replace_substring_regex(pc.utf8_reverse(whole), r"(\d\d\d)", r"\1."),
            characters=".",
        )
    )
    sign = pc.if_else(pc.less(arr, 0.0), "-", "")
    text = pc.binary_join_element_wise(sign, grouped, ",", frac, "")
    return pc.if_else(pc.is_null(arr), pa.scalar(None, pa.string()), text)


def _dutch_column(name: str, column: pa.ChunkedArray) -> pa.Array:
    arr = column.combine_chunks()
    t = arr.type
    if pa.types.is_boolean(t):
        text = pc.if_else(arr, "J", "N")
    elif pa.types.is_date(t):
        text = pc.strftime(arr, format="%d-%m-%Y")
    elif pa.types.is_floating(t):
        text = dutch_number(arr, DECIMALS.get(name, 2))
    elif name == "segment":
        text = arr
        for ours, theirs in DUTCH_SEGMENTS.items():
            text = pc.if_else(pc.equal(text, ours), theirs, text)
    else:
        text = pc.cast(arr, pa.string())
    return pc.fill_null(text, "NULL")


def dutch_csv(table: pa.Table) -> bytes:
    """The table as a Dutch warehouse writes it, encoded in latin-1."""
    names = [DUTCH_COLUMNS.get(n, n.upper()) for n in table.column_names]
    text = pa.table([_dutch_column(n, table[n]) for n in table.column_names], names=names)
    buffer = io.BytesIO()
    buffer.write((";".join(names) + "\n").encode("utf-8"))
    options = pacsv.WriteOptions(include_header=False, delimiter=";", quoting_style="none")
    pacsv.write_csv(text, buffer, options)
    return buffer.getvalue().decode("utf-8").encode("latin-1")


def sources_toml(data_dir: str) -> str:
    """The ``[sources.*]`` lines that read a Dutch-dialect bank in ``data_dir`` (TOML strings
    are JSON strings for the paths and names written here)."""
    blocks = []
    for source, names in DUTCH_NAMES.items():
        lines = [f"[sources.{source}]", f"path = {json.dumps(f'{data_dir}/{source}')}"]
        if names:
            lines += [
                'format = "csv"',
                'delimiter = ";"',
                'decimal = ","',
                'thousands = "."',
                'encoding = "latin-1"',
                'date_format = "%d-%m-%Y"',
                'null_values = ["NULL"]',
                f"[sources.{source}.columns]",
                *(f'{c} = "{theirs}"' for c, theirs in names.items()),
            ]
        if source == "snapshots":
            lines.append("[sources.snapshots.recode.segment]")
            lines += [
                f"{json.dumps(theirs)} = {json.dumps(ours)}"
                for ours, theirs in DUTCH_SEGMENTS.items()
            ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
