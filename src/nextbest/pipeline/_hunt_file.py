"""The leakage hunt on an analyst's own file, read the way ingest reads a source.

The dialect is a configured source's (``--source snapshots``), or what DuckDB's sniffer finds
(delimiter and date format), either adjusted by the options (``--delimiter``, ``--decimal``,
``--thousands``, ``--encoding``, ``--date-format``, ``--null-values``). The file is then read
by ingest's own ``source_sql`` and its values cast by ingest's ``cast_sql``, so a file the hunt
reads is a file ingest would read the same way, and one it cannot read gets ingest's one-line
diagnosis.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from nextbest.config import Config, SourceConfig
from nextbest.errors import ConfigError, SourceFileError, did_you_mean
from nextbest.ingest import SOURCE_NAMES, describe_source, duckdb_readable, source_sql
from nextbest.models import (
    GAP_MIN_PERIODS,
    GAP_MIN_POSITIVES,
    Finding,
    LeakageSettings,
    by_severity,
    hunt_table,
    model_ceiling,
)
from nextbest.pipeline._hunt_columns import (
    FileColumn,
    Target,
    coded_select,
    file_columns,
    find_column,
    read_target,
    target_text,
)
from nextbest.pipeline._periods import Periods, period_readings, read_periods
from nextbest.store import Store, is_database_error, quote_identifier, quote_literal

#: Text columns with at most this many distinct values are features (coded by frequency).
MAX_CATEGORIES = 50

_RAW = "_hunt_raw"


@dataclass(frozen=True)
class FileHunt:
    """What the hunt on a file read, and found."""

    path: Path
    findings: list[Finding]
    rows: int  # rows hunted (those with a target value)
    periods: Periods
    target: Target
    dialect: SourceConfig | None  # None for Parquet
    read_as: str  # where the dialect came from: "[sources.snapshots]", "sniffed", …
    features: list[str]  # in the model fits, in file order
    text_features: list[str]  # of those, the text columns (coded by frequency)
    left_out: list[tuple[str, str]]  # (column, why) — out of the model fits
    id_column: str | None  # the customer: the gap check's random folds keep each on one side


def hunt_file(
    path: Path,
    *,
    time_column: str,
    target: str,
    features: list[str] | None = None,
    settings: LeakageSettings | None = None,
    config: Config | None = None,
    source: str | None = None,
    options: Mapping[str, str | list[str]] | None = None,
    positive: str | None = None,
    id_column: str | None = None,
    max_categories: int = MAX_CATEGORIES,
) -> FileHunt:
    """The leakage hunt (time keys, random-vs-time gap, too-good features) on any CSV or
    Parquet table with a time column and a two-valued target.

    ``source`` names a configured source of ``config`` whose dialect reads the file;
    ``options`` (``delimiter``, ``decimal``, ``thousands``, ``encoding``, ``date_format``,
    ``null_values``)
    change single settings of it, or of the sniffed dialect. ``positive`` is the target's
    positive value; by default the one in the dialect's ``true_values``. ``id_column`` names
    the customer, so that the random folds of the gap check keep each customer on one side.
    """
    if not path.is_file():
        raise SourceFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SourceFileError(f"{path}: the file is empty")
    fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    with Store(":memory:") as store, _one_line(path):
        dialect, read_as = _dialect(store, path, fmt, config, source, options or {})
        types = _read(store, path, fmt, dialect, read_as)
        time_col, target_col, id_col, chosen = _roles(
            path, list(types), time_column, target, id_column, features
        )
        columns = {c.name: c for c in file_columns(store, _RAW, types, fmt, dialect)}
        periods = read_periods(
            store,
            _RAW,
            quote_identifier(time_col),
            period_readings(quote_identifier(time_col), types[time_col], fmt, dialect),
            what=f"{path}: time column '{time_col}'",
        )
        tgt = read_target(
            store,
            _RAW,
            columns[target_col],
            positive=positive,
            true_values=dialect.true_values,
            what=f"{path}: target '{target_col}'",
        )
        split = _split([columns[f] for f in chosen], max_categories)
        table = store.arrow(
            _table_sql(time_col, periods, columns[target_col], tgt, split.searched, id_col)
        )
        findings = hunt_table(
            store,
            table,
            time_column=time_col,
            target=target_col,
            features=[c.name for c in split.fitted],
            key_features=[c.name for c in split.searched],
            categorical=split.text,
            settings=settings,
            id_column=id_col,
        )
        findings = _with_model_ceiling(findings, table[target_col], settings)
    return FileHunt(
        path=path,
        findings=findings,
        rows=table.num_rows,
        periods=periods,
        target=tgt,
        dialect=dialect if fmt == "csv" else None,
        read_as=read_as,
        features=[c.name for c in split.fitted],
        text_features=split.text,
        left_out=split.left_out,
        id_column=id_col,
    )


@contextmanager
def _one_line(path: Path) -> Iterator[None]:
    """Any database error left (e.g. a date_format DuckDB cannot parse) as one line naming the
    file, never a traceback."""
    try:
        yield
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise SourceFileError(f"{path}: the hunt cannot read it as given: {first}") from None


def _roles(
    path: Path,
    names: list[str],
    time_column: str,
    target: str,
    id_column: str | None,
    features: list[str] | None,
) -> tuple[str, str, str | None, list[str]]:
    """The file's columns for the time, the target, the customer and the features (by default
    all the others)."""
    time_col = find_column(time_column, names, what="--time-column", path=path)
    target_col = find_column(target, names, what="--target", path=path)
    id_col = find_column(id_column, names, what="--id-column", path=path) if id_column else None
    roles = [c for c in (time_col, target_col, id_col) if c]
    if len(set(roles)) < len(roles):
        raise SourceFileError(
            f"{path}: --time-column, --target and --id-column must be different columns"
        )
    chosen = [
        find_column(f, names, what="--features", path=path)
        for f in (features or [n for n in names if n not in roles])
    ]
    return time_col, target_col, id_col, [f for f in chosen if f not in roles]


def _dialect(
    store: Store,
    path: Path,
    fmt: str,
    config: Config | None,
    source: str | None,
    options: Mapping[str, str | list[str]],
) -> tuple[SourceConfig, str]:
    """The dialect that reads the file, and where it came from."""
    if source is not None:
        if source not in SOURCE_NAMES:
            raise ConfigError(
                f"--source '{source}' is not a source;{did_you_mean(source, SOURCE_NAMES)} "
                f"Sources are: {', '.join(SOURCE_NAMES)}"
            )
        base = getattr(config.sources, source) if config is not None else None
        if base is None:
            where = config.source_path if config is not None and config.source_path else "config"
            raise ConfigError(f"--source {source}: [sources.{source}] is not set in {where}")
        read_as = f"[sources.{source}]"
    elif fmt == "csv":
        encoding = options.get("encoding")
        base, read_as = _sniffed(store, path, encoding if isinstance(encoding, str) else None)
    else:
        base, read_as = SourceConfig(path=str(path)), "Parquet"
    if not options:
        return base, read_as
    try:
        dialect = SourceConfig.model_validate({**base.model_dump(), **options})
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        given = ", ".join(f"{_flag(k)} {v!r}" for k, v in options.items())
        raise ConfigError(f"{given}: {msg}") from None
    return dialect, f"{read_as} with {', '.join(_flag(k) for k in options)}"


def _flag(setting: str) -> str:
    return "--" + setting.replace("_", "-")


def _sniffed(store: Store, path: Path, encoding: str | None) -> tuple[SourceConfig, str]:
    """The delimiter and date format DuckDB's sniffer finds; the defaults if it finds none."""
    target, encoding = duckdb_readable(path, encoding) if encoding else (path, None)
    enc = f", encoding = {quote_literal(encoding)}" if encoding else ""
    try:
        row = store.fetchone(
            "SELECT Delimiter, DateFormat FROM "
            f"sniff_csv({quote_literal(str(target))}{enc}, comment = '')"
        )
    except Exception as exc:
        if not is_database_error(exc):
            raise
        row = None
    if row is not None:
        date_format = None if row[1] in (None, "%Y-%m-%d") else str(row[1])
        try:
            sniffed = SourceConfig(path=str(path), delimiter=str(row[0]), date_format=date_format)
            return sniffed, "sniffed"
        except ValidationError:
            pass  # a delimiter the settings refuse: read it the default way
    # reading it the default way gives ingest's diagnosis of why it cannot be read
    return SourceConfig(path=str(path)), "the defaults"


def _read(
    store: Store, path: Path, fmt: str, dialect: SourceConfig, read_as: str
) -> dict[str, str]:
    """The file read into ``_hunt_raw`` by ingest's reader; its columns and their SQL types."""
    setting = (
        read_as
        if read_as.startswith("[sources.")
        else "the command's options (--encoding, --delimiter, --decimal)"
    )
    types = describe_source(store, path, fmt, dialect, setting=setting)
    try:
        store.execute(f"CREATE TEMP TABLE {_RAW} AS {source_sql(path, fmt, dialect)}")
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise SourceFileError(f"{path}: cannot be read as {fmt} ({read_as}): {first}") from None
    if not store.scalar(f"SELECT count(*) FROM {_RAW}"):
        raise SourceFileError(f"{path}: the file has a header and no data rows")
    return types


@dataclass(frozen=True)
class _Split:
    fitted: list[FileColumn]  # in the model fits
    searched: list[FileColumn]  # in the time-key search: the fitted and high-cardinality text
    text: list[str]  # the fitted text columns
    left_out: list[tuple[str, str]]


def _split(columns: list[FileColumn], max_categories: int) -> _Split:
    fitted, searched, left_out = [], [], []
    for c in columns:
        if c.kind == "number" or (c.kind == "text" and c.distinct <= max_categories):
            fitted.append(c)
            searched.append(c)
        elif c.kind == "text":
            searched.append(c)
            why = f"too many distinct values ({c.distinct:,})"
            if c.not_numbers:
                example, n = c.not_numbers
                why += (
                    f"; {n:,} of its values are not numbers, e.g. {example!r}: add it to "
                    "null_values, or check decimal and thousands"
                )
            left_out.append((c.name, why))
        elif c.kind == "empty":
            left_out.append((c.name, "no values"))
        else:
            left_out.append((c.name, f"type {c.sql_type}"))
    text = [c.name for c in fitted if c.kind == "text"]
    return _Split(fitted, searched, text, left_out)


def _table_sql(
    time_col: str,
    periods: Periods,
    target: FileColumn,
    tgt: Target,
    features: list[FileColumn],
    id_col: str | None,
) -> str:
    """The rows with a target value: the period key, the target as 0/1, the features and the
    customer id (as text)."""
    text = target_text(target)
    t, y = quote_identifier("_period"), quote_identifier(target.name)
    inner, outer = coded_select(features)
    if id_col:
        qi = quote_identifier(id_col)
        inner.append(f"CAST({qi} AS VARCHAR) AS {qi}")
        outer.append(qi)
    return (
        f"SELECT {t} AS {quote_identifier(time_col)}, {y}"
        + "".join(f", {o}" for o in outer)
        + f" FROM (SELECT _row, {periods.key} AS {t}, "
        f"CAST({text} = {quote_literal(tgt.positive)} AS TINYINT) AS {y}"
        + "".join(f", {i}" for i in inner)
        + f" FROM {_RAW} WHERE {text} IS NOT NULL) ORDER BY _row"
    )


def _with_model_ceiling(
    findings: list[Finding], target: Any, settings: LeakageSettings | None
) -> list[Finding]:
    """Add the model's ceiling (the model trained on earlier weeks above it is critical), as
    training adds it for a model; most severe first."""
    gap = next((f for f in findings if f.check == "random_vs_time_gap"), None)
    if gap is None:
        # a clean bill would claim what was not checked
        return [*findings, _gap_not_run(target)]
    if gap.model_auc is None:
        return findings
    ceiling = model_ceiling(gap.model_auc, settings or LeakageSettings())
    return findings if ceiling is None else by_severity([*findings, ceiling])


def _gap_not_run(target: Any) -> Finding:
    y = np.asarray(target.to_numpy(zero_copy_only=False), dtype=np.int8)
    return Finding(
        "random_vs_time_gap",
        "warning",
        (),
        f"not run: the check needs at least {GAP_MIN_PERIODS} periods and {GAP_MIN_POSITIVES} "
        "positive rows, with both outcomes in the earlier and the later periods "
        f"({len(y):,} rows, {int(y.sum()):,} positive).",
        "Give the hunt more periods or rows before trusting it; the time-key and too-good "
        "checks above did run.",
    )
