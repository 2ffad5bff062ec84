"""Sniffing the dialect of a warehouse export: what ``nextbest inspect`` proposes to read it with.

DuckDB's own CSV sniffer (``sniff_csv``) finds the delimiter, the quote, the header and the
column types. What it does not detect — decimal commas, thousands separators, Dutch dates,
J/N booleans, null markers such as ``NULL`` — is counted per column by one SQL query over a
sample of the file read as text (``regexp_full_match`` and ``try_strptime`` counts); Python
only decides from those counts, one column at a time. The encoding is decided in Python from
the first megabyte: not valid UTF-8 means latin-1, or cp1252 when it holds bytes in 0x80-0x9F
(€, curly quotes: control codes in latin-1).
"""

from __future__ import annotations

import codecs
import gzip
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from nextbest.config import Encoding, SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest._diagnose import emptiness, looks_utf16, refuse_binary
from nextbest.ingest._files import source_sql
from nextbest.ingest._transcode import duckdb_readable
from nextbest.store import Store, is_database_error, quote_literal

_GZIP = b"\x1f\x8b"
#: bytes that are printable in cp1252 but control characters in latin-1, which DuckDB refuses
_CP1252_ONLY = re.compile(rb"[\x80-\x9f]")

#: how much of the file decides the encoding, and how many rows the per-column checks read
HEAD_BYTES = 1 << 20
SAMPLE_ROWS = 20_000

#: the yes/no texts a source reads by default (case-insensitive)
TRUE_VALUES: tuple[str, ...] = tuple(
    SourceConfig.model_fields["true_values"].get_default(call_default_factory=True)
)
FALSE_VALUES: tuple[str, ...] = tuple(
    SourceConfig.model_fields["false_values"].get_default(call_default_factory=True)
)

Kind = Literal["empty", "integer", "number", "date", "boolean", "text"]

#: texts that mean missing in any column, and those that do only in an otherwise typed column
_NULL_MARKERS = ("NULL", "null", "Null", "(null)", "#N/A", "N/A", "n/a")
_WEAK_NULL_MARKERS = ("-", "NA", "?", ".")

#: yes/no texts beyond the defaults, recognised so that they can be proposed
_EXTRA_TRUE = ("waar", "w", "on", "oui", "wahr", "si")
_EXTRA_FALSE = ("onwaar", "o", "off", "non", "falsch")

#: the date formats tried, in order of preference (a Dutch export writes days first)
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%m/%d/%Y", "%Y%m%d")
_DATE_SHAPES = {
    "%Y-%m-%d": r"\d{4}-\d{1,2}-\d{1,2}",
    "%d-%m-%Y": r"\d{1,2}-\d{1,2}-\d{4}",
    "%m-%d-%Y": r"\d{1,2}-\d{1,2}-\d{4}",
    "%d/%m/%Y": r"\d{1,2}/\d{1,2}/\d{4}",
    "%m/%d/%Y": r"\d{1,2}/\d{1,2}/\d{4}",
    "%d.%m.%Y": r"\d{1,2}\.\d{1,2}\.\d{4}",
    "%Y%m%d": r"(19|20)\d{6}",
}

# number shapes: a value is numeric when it is digits with separators between them
_NUMERIC = r"[-+]?(\d[\d.,' ]*\d|\d)"
_INTEGER = r"[-+]?\d+"
# a decimal comma for sure: digits after the last comma that cannot be a thousands group, or a
# comma after '.' thousands (1.234,56); and the same for a decimal point
_COMMA_DECIMAL = r"[-+]?(\d+,(\d{1,2}|\d{4,})|\d{1,3}(\.\d{3})+,\d+|\d{1,3}( \d{3})+,\d+)"
_DOT_DECIMAL = r"[-+]?(\d+\.(\d{1,2}|\d{4,})|\d{1,3}(,\d{3})+\.\d+|\d{1,3}( \d{3})+\.\d+)"
Thousands = Literal["", ".", ",", " ", "'"]
_THOUSANDS: tuple[Thousands, ...] = (".", ",", " ", "'")
_GROUPED = {
    ".": r"[-+]?\d{1,3}(\.\d{3})+(,\d+)?",
    ",": r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?",
    " ": r"[-+]?\d{1,3}( \d{3})+([.,]\d+)?",
    "'": r"[-+]?\d{1,3}('\d{3})+([.,]\d+)?",
}


@dataclass(frozen=True)
class ColumnSniff:
    """What one column of the file looks like, read as text."""

    name: str
    duckdb_type: str  # the type DuckDB's sniffer gives it
    kind: Kind
    values: int  # non-empty values in the sample that are not null markers
    date_format: str | None = None  # for kind 'date'
    true_found: tuple[str, ...] = ()  # for kind 'boolean', as written
    false_found: tuple[str, ...] = ()
    example: str | None = None


@dataclass(frozen=True)
class Dialect:
    """How the file is written, as far as a sample of it tells."""

    format: Literal["csv", "parquet"]
    encoding: Encoding = "utf-8"
    bom: bool = False
    delimiter: str = ","
    quote: str = '"'
    header: bool = True
    decimal: Literal[".", ","] = "."
    thousands: Thousands = ""
    date_format: str | None = None  # None: ISO
    true_values: tuple[str, ...] = ()  # yes/no texts found, as written
    false_values: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ()  # null markers found besides the empty field
    columns: tuple[ColumnSniff, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def encoding_label(self) -> str:
        return (
            f"{self.encoding} with BOM" if self.bom and self.encoding == "utf-8" else self.encoding
        )


def read_head(path: Path) -> bytes:
    """The first :data:`HEAD_BYTES` of the file, or a :class:`SourceFileError` naming it."""
    if not path.is_file():
        raise SourceFileError(f"{path}: no such file")
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        if head.startswith(_GZIP):
            # DuckDB reads a gzip-compressed CSV as it is; its text is what tells the encoding
            with gzip.open(path, "rb") as fh:
                head = fh.read(HEAD_BYTES)
        return head
    except (OSError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SourceFileError(f"{path}: cannot be read ({reason})") from None


def detect_encoding(head: bytes) -> tuple[Encoding, bool]:
    """The encoding of the first bytes of a file, and whether they start with a BOM."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    if looks_utf16(head):  # UTF-16 without a byte-order mark: every other byte is NUL
        return "utf-16", False
    bom = head.startswith(codecs.BOM_UTF8)
    try:
        # not final: the first megabyte may end inside a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError:
        # latin-1 has no characters in 0x80-0x9F; Windows-1252 has € and curly quotes there
        return ("cp1252" if _CP1252_ONLY.search(head) else "latin-1"), False
    return "utf-8", bom


def sniff_dialect(store: Store, path: Path) -> Dialect:
    """The dialect of the CSV (or Parquet) file at ``path``; a file it cannot read gets a
    :class:`SourceFileError` naming it."""
    head = read_head(path)
    if head.startswith(b"PAR1") or path.suffix.lower() in (".parquet", ".pq"):
        return Dialect(format="parquet")
    # the same one-line diagnoses as ingest: empty, a workbook, an archive, gzip, Parquet
    refuse_binary(path, setting="the file's settings")
    empty = emptiness(path, head)
    if empty is not None:
        raise SourceFileError(f"{path}: {empty}")
    encoding, bom = detect_encoding(head)
    delimiter, quote, header, types = _duckdb_sniff(store, path, encoding)
    reading = SourceConfig(path=str(path), delimiter=delimiter, encoding=encoding)
    columns = _sniff_columns(store, path, reading, types)
    notes = _notes(quote, header)
    dialect = _decide(columns, encoding, bom, delimiter, quote, header, notes)
    if dialect.null_values:
        # DuckDB types a column holding 'NULL' as text; ask again with the markers as nulls
        _, _, _, types = _duckdb_sniff(store, path, encoding, delimiter, dialect.null_values)
        retyped = tuple(
            replace(c, duckdb_type=types.get(c.name, c.duckdb_type)) for c in dialect.columns
        )
        dialect = replace(dialect, columns=retyped)
    return dialect


def _duckdb_sniff(
    store: Store,
    path: Path,
    encoding: str,
    delimiter: str | None = None,
    nulls: tuple[str, ...] = (),
) -> tuple[str, str, bool, dict[str, str]]:
    """DuckDB's sniffer on the file: delimiter, quote, whether it has a header, column types."""
    path, encoding = duckdb_readable(path, encoding)
    options = [f"encoding = {quote_literal(encoding)}", "comment = ''"]
    if delimiter is not None:
        options.append(f"delim = {quote_literal(delimiter)}")
    if nulls:
        options.append(f"nullstr = [{', '.join(quote_literal(v) for v in ('', *nulls))}]")
    try:
        sniffed = store.fetchone(
            "SELECT Delimiter, Quote, HasHeader, Columns FROM "
            f"sniff_csv({quote_literal(str(path))}, {', '.join(options)})"
        )
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise SourceFileError(f"{path}: not readable as CSV ({first})") from None
    assert sniffed is not None
    types = {str(c["name"]): str(c["type"]) for c in sniffed[3]}
    return str(sniffed[0]), str(sniffed[1]), bool(sniffed[2]), types


def parquet_columns(types: dict[str, str]) -> tuple[ColumnSniff, ...]:
    """The columns of a Parquet file: their kind is their type."""

    def kind(sql_type: str) -> Kind:
        t = sql_type.upper()
        if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
            return "integer"
        if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
            return "number"
        if t == "DATE" or t.startswith("TIMESTAMP"):
            return "date"
        return "boolean" if t == "BOOLEAN" else "text"

    return tuple(ColumnSniff(name, t, kind(t), 0) for name, t in types.items())


def _notes(quote: str, header: bool) -> list[str]:
    notes = []
    if quote not in ('"', "(empty)"):
        notes.append(f"the file quotes with {quote!r}; nextbest reads only '\"' quotes")
    if not header:
        notes.append(
            "the first line does not look like a header; nextbest reads it as the column "
            "names, so ask for an export with a header line"
        )
    return notes


def _column_checks_sql(src: str) -> str:
    """Per column of ``src`` (all text): counts of each shape a dialect decision needs."""
    markers = ", ".join(quote_literal(m) for m in (*_NULL_MARKERS, *_WEAK_NULL_MARKERS))
    vocab = ", ".join(
        quote_literal(v) for v in (*TRUE_VALUES, *FALSE_VALUES, *_EXTRA_TRUE, *_EXTRA_FALSE)
    )
    value = f"v NOT IN ({markers})"
    dates = ", ".join(
        f"count(*) FILTER ({value} AND regexp_full_match(v, {quote_literal(_DATE_SHAPES[f])}) "
        f"AND try_strptime(v, {quote_literal(f)}) IS NOT NULL)"
        for f in _DATE_FORMATS
    )
    grouped = ", ".join(
        f"count(*) FILTER (regexp_full_match(v, {quote_literal(p)}))" for p in _GROUPED.values()
    )
    return f"""
        WITH sample AS (SELECT * EXCLUDE (_row) FROM ({src}) LIMIT {SAMPLE_ROWS}),
        long AS (UNPIVOT sample ON COLUMNS(*) INTO NAME col VALUE val),
        t AS (SELECT col, trim(val) AS v FROM long WHERE trim(val) <> '')
        SELECT col,
            count(*) FILTER ({value}) AS "values",
            list(DISTINCT v ORDER BY v) FILTER (NOT {value}) AS markers,
            count(*) FILTER ({value} AND regexp_full_match(v, {quote_literal(_NUMERIC)}))
                AS numeric,
            count(*) FILTER ({value} AND regexp_full_match(v, {quote_literal(_INTEGER)}))
                AS integer,
            count(*) FILTER (regexp_full_match(v, {quote_literal(_COMMA_DECIMAL)}))
                AS comma_decimal,
            count(*) FILTER (regexp_full_match(v, {quote_literal(_DOT_DECIMAL)})) AS dot_decimal,
            [{grouped}] AS grouped,
            [{dates}] AS dates,
            count(*) FILTER ({value} AND lower(v) IN ({vocab})) AS vocab,
            count(DISTINCT lower(v)) FILTER ({value}) AS "distinct",
            list(DISTINCT v ORDER BY v) FILTER ({value} AND lower(v) IN ({vocab})) AS vocab_found,
            arg_max(v, length(v)) FILTER ({value}) AS example
        FROM t GROUP BY col
    """


@dataclass(frozen=True)
class _Counts:
    """The counts of one column from :func:`_column_checks_sql`."""

    values: int
    markers: tuple[str, ...]
    numeric: int
    integer: int
    comma_decimal: int
    dot_decimal: int
    grouped: dict[str, int]
    dates: dict[str, int]
    vocab: int
    distinct: int
    vocab_found: tuple[str, ...]
    example: str | None


def _sniff_columns(
    store: Store, path: Path, reading: SourceConfig, types: dict[str, str]
) -> list[tuple[ColumnSniff, _Counts]]:
    src = source_sql(path, "csv", reading)
    try:
        names = [n for n, _ in store.columns(src) if n != "_row"]
        rows: list[dict[str, Any]] = store.arrow(_column_checks_sql(src)).to_pylist()
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise SourceFileError(
            f"{path}: not readable as CSV with delimiter {reading.delimiter!r} ({first})"
        ) from None
    by_name = {str(r.pop("col")): _counts(r) for r in rows}
    empty = _counts({})
    counted = [(name, by_name.get(name, empty)) for name in names]
    return [(_classify(name, types.get(name, "VARCHAR"), c), c) for name, c in counted]


def _counts(row: dict[str, Any]) -> _Counts:
    return _Counts(
        values=int(row.get("values") or 0),
        markers=tuple(row.get("markers") or ()),
        numeric=int(row.get("numeric") or 0),
        integer=int(row.get("integer") or 0),
        comma_decimal=int(row.get("comma_decimal") or 0),
        dot_decimal=int(row.get("dot_decimal") or 0),
        grouped=dict(zip(_GROUPED, row.get("grouped") or [0] * len(_GROUPED), strict=True)),
        dates=dict(zip(_DATE_FORMATS, row.get("dates") or [0] * len(_DATE_FORMATS), strict=True)),
        vocab=int(row.get("vocab") or 0),
        distinct=int(row.get("distinct") or 0),
        vocab_found=tuple(row.get("vocab_found") or ()),
        example=row.get("example"),
    )


def _classify(name: str, duckdb_type: str, c: _Counts) -> ColumnSniff:
    """The kind of one column from its counts: all its values must fit the kind."""
    n = c.values
    if n == 0:
        return ColumnSniff(name, duckdb_type, "empty", 0)
    date_format = next((f for f in _DATE_FORMATS if c.dates.get(f) == n), None)
    if date_format is not None:
        return ColumnSniff(name, duckdb_type, "date", n, date_format, example=c.example)
    lowered = {v.lower() for v in c.vocab_found}
    trues = tuple(v for v in c.vocab_found if v.lower() in (*TRUE_VALUES, *_EXTRA_TRUE))
    falses = tuple(v for v in c.vocab_found if v.lower() in (*FALSE_VALUES, *_EXTRA_FALSE))
    if c.vocab == n and c.distinct <= 2 and not lowered <= {"0", "1"}:
        return ColumnSniff(name, duckdb_type, "boolean", n, None, trues, falses, c.example)
    if c.integer == n:
        return ColumnSniff(name, duckdb_type, "integer", n, example=c.example)
    if c.numeric == n:
        return ColumnSniff(name, duckdb_type, "number", n, example=c.example)
    return ColumnSniff(name, duckdb_type, "text", n, example=c.example)


def _decide(
    columns: list[tuple[ColumnSniff, _Counts]],
    encoding: Encoding,
    bom: bool,
    delimiter: str,
    quote: str,
    header: bool,
    notes: list[str],
) -> Dialect:
    """The file's dialect from its columns: separators from the numeric ones, the date format
    most date columns share, the yes/no texts and the null markers found."""
    numeric = [c for s, c in columns if s.kind in ("integer", "number")]
    comma = sum(c.comma_decimal for c in numeric)
    dot = sum(c.dot_decimal for c in numeric)
    decimal: Literal[".", ","] = "," if comma > dot else "."
    if decimal == delimiter:
        notes.append(
            "the numbers have decimal commas but the file is also delimited by ','; "
            "ask for an export delimited by ';'"
        )
        decimal = "."
    thousands: Thousands = next(
        (
            sep
            for sep in _THOUSANDS
            if sep not in (decimal, delimiter) and any(c.grouped.get(sep, 0) for c in numeric)
        ),
        "",
    )
    formats = [s.date_format for s, _ in columns if s.kind == "date"]
    date_format = max(formats, key=formats.count) if formats else None
    for s, _ in columns:
        if s.kind == "date" and s.date_format != date_format:
            notes.append(
                f"{s.name} is written {s.date_format}, the other dates {date_format}; one "
                "date_format reads a source, so that column's dates will not read"
            )
    typed_kinds = ("integer", "number", "date", "boolean")
    markers: set[str] = set()
    for s, c in columns:
        markers.update(m for m in c.markers if m in _NULL_MARKERS or s.kind in typed_kinds)
    trues = sorted({v for s, _ in columns if s.kind == "boolean" for v in s.true_found})
    falses = sorted({v for s, _ in columns if s.kind == "boolean" for v in s.false_found})
    return Dialect(
        format="csv",
        encoding=encoding,
        bom=bom,
        delimiter=delimiter,
        quote=quote,
        header=header,
        decimal=decimal,
        thousands=thousands,
        date_format=None if date_format == "%Y-%m-%d" else date_format,
        true_values=tuple(trues),
        false_values=tuple(falses),
        null_values=tuple(m for m in (*_NULL_MARKERS, *_WEAK_NULL_MARKERS) if m in markers),
        columns=tuple(s for s, _ in columns),
        notes=tuple(notes),
    )
