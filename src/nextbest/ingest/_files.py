"""Finding input files and reading them into a staging relation, with clear refusals."""

from __future__ import annotations

import csv
import glob
import hashlib
from pathlib import Path

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError, did_you_mean
from nextbest.ingest._contracts import Contract
from nextbest.ingest._diagnose import diagnose_file, refuse_binary
from nextbest.ingest._transcode import duckdb_readable
from nextbest.store import Store, is_database_error, quote_literal

_SUFFIX_FORMAT = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv"}
#: what a source folder's listing takes as data
_FOLDER_FORMATS = (".parquet", ".pq", ".csv")
#: not readable, but listed from a source folder so that a week delivered as a workbook or an
#: archive is refused by name instead of silently skipped
_WRONG_EXPORT = (".xlsx", ".xlsm", ".xls", ".zip")


def _data_suffix(path: Path) -> str:
    """The extension that tells the format: ``.csv`` for ``x.csv`` and for ``x.csv.gz``
    (DuckDB reads gzip-compressed CSV as it is)."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz" and suffixes[-2] in (".csv", ".txt"):
        return suffixes[-2]
    return path.suffix.lower()


def resolve_files(pattern: str | Path, *, setting: str) -> list[Path]:
    """Files named by a path, a folder (its data files) or a glob, sorted by name."""
    p = Path(pattern)
    if p.is_dir():
        files = sorted(
            f
            for f in p.iterdir()
            if f.is_file()
            # a folder's own data files: .txt only when named or globbed (a README.txt is not
            # a week of data)
            and (_data_suffix(f) in _FOLDER_FORMATS or f.suffix.lower() in _WRONG_EXPORT)
        )
    elif any(ch in str(pattern) for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(pattern)) if Path(f).is_file())
    elif p.is_file():
        files = [p]
    else:
        raise SourceFileError(
            f"{pattern}: no such file or folder; check the path in {setting} "
            "(relative paths are relative to the config file)"
        )
    if not files and not p.is_dir():
        raise SourceFileError(f"{pattern}: no data files found; check the path in {setting}")
    return files  # an empty folder: nothing delivered yet


def file_format(path: Path, source: SourceConfig) -> str:
    if source.format != "auto":
        return source.format
    fmt = _SUFFIX_FORMAT.get(_data_suffix(path))
    if fmt is None:
        # a workbook, an archive or Parquet under another name says what it is
        refuse_binary(path, setting="this source in the config")
        raise SourceFileError(
            f"{path}: cannot tell the format from the extension '{path.suffix}'; "
            "set format = 'csv' or 'parquet' for this source in the config"
        )
    return fmt


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_sql(path: Path, fmt: str, source: SourceConfig) -> str:
    """A SELECT over the file with a 1-based data row number ``_row``."""
    lit = quote_literal(str(path))
    if fmt == "parquet":
        return (
            f"SELECT *, file_row_number + 1 AS _row "
            f"FROM read_parquet({lit}, file_row_number = true)"
        )
    nulls = ", ".join(quote_literal(v) for v in ["", *source.null_values])
    readable, encoding = duckdb_readable(path, source.encoding)
    lit = quote_literal(str(readable))
    return (
        "SELECT *, row_number() OVER () AS _row FROM read_csv("
        f"{lit}, delim = {quote_literal(source.delimiter)}, header = true, all_varchar = true, "
        # no comment lines: a row starting with '#' is data (quarantined if bad), never skipped
        f"encoding = {quote_literal(encoding)}, nullstr = [{nulls}], comment = '')"
    )


def describe_source(
    store: Store, path: Path, fmt: str, source: SourceConfig, *, setting: str
) -> dict[str, str]:
    """Column names and SQL types of the file, or a :class:`SourceFileError` saying why it
    cannot be read (what the first bytes show it is, before DuckDB's own reading)."""
    diagnose_file(path, fmt, source, setting=setting)
    try:
        cols = store.columns(source_sql(path, fmt, source))
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        if fmt == "parquet":
            hint = (
                f"it is not a readable Parquet file; if it is CSV, set format = 'csv' in {setting}"
            )
        else:
            ragged = ragged_line(path, source)
            if ragged is not None:
                line, fields, expected = ragged
                raise SourceFileError(
                    f"{path}: line {line} has {fields} field(s) where the header has {expected} "
                    f"(delimiter {source.delimiter!r}); fix that line, or quote a field that "
                    "holds the delimiter"
                ) from None
            hint = (
                f"it is not readable as CSV with delimiter {source.delimiter!r}; check "
                f"delimiter and format in {setting}"
            )
        raise SourceFileError(f"{path}: {hint} ({first})") from None
    types = {name: t for name, t in cols if name not in ("_row", "file_row_number")}
    names = list(types)
    if fmt == "csv" and len(names) == 1:
        for delim in (";", "\t", "|", ","):
            if delim != source.delimiter and delim in names[0]:
                raise SourceFileError(
                    f"{path}: the header has one column {names[0][:60]!r}, which looks "
                    f"delimited by {delim!r}; set delimiter = {delim!r} in {setting}"
                )
    return types


def ragged_line(path: Path, source: SourceConfig) -> tuple[int, int, int] | None:
    """The first line whose number of fields differs from the header's: (line, fields,
    header fields); None when every line agrees. Only asked once DuckDB has refused the file,
    to say where; a blank last line counts as none."""
    path, encoding = duckdb_readable(path, source.encoding)
    if encoding == "utf-8":
        encoding = "utf-8-sig"  # Python's codec, like DuckDB, then skips a byte-order mark
    try:
        with path.open(encoding=encoding, newline="") as fh:
            rows = csv.reader(fh, delimiter=source.delimiter)
            expected = len(next(rows, []))
            for row in rows:
                if row and not (len(row) == 1 and not row[0].strip()) and len(row) != expected:
                    return rows.line_num, len(row), expected
    except (UnicodeDecodeError, csv.Error):
        return None
    return None


def map_columns(
    contract: Contract, file_columns: list[str], source: SourceConfig, path: Path, *, setting: str
) -> dict[str, str]:
    """Canonical column → column in the file; refuses the file if a required one is missing."""
    unknown = [c for c in [*source.columns, *source.recode] if c not in contract.names]
    if unknown:
        raise SourceFileError(
            f"{setting}.columns or .recode names unknown column '{unknown[0]}';"
            f"{did_you_mean(unknown[0], contract.names)} The columns of "
            f"{contract.table} are: {', '.join(contract.names)}"
        )
    by_lower = {c.lower(): c for c in file_columns}
    mapping: dict[str, str] = {}
    for col in contract.columns:
        wanted = source.columns.get(col.name, col.name)
        if wanted in file_columns:
            mapping[col.name] = wanted
        elif wanted.lower() in by_lower:
            mapping[col.name] = by_lower[wanted.lower()]
        elif col.required:
            shown = ", ".join(file_columns[:20]) + (" …" if len(file_columns) > 20 else "")
            raise SourceFileError(
                f"{path}: missing column '{wanted}' (for {contract.table}.{col.name})."
                f"{did_you_mean(wanted, file_columns)} The file has: {shown}. "
                f"If your export names it differently, map it in {setting}.columns, "
                f'e.g. {col.name} = "<your column>"'
            )
    return mapping
