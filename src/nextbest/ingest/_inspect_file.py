"""``nextbest inspect FILE``: sniff an export, propose its settings and preview the reading.

The preview is the real reading, not a re-implementation: the proposed settings stage the
file exactly as ingest does (``source_sql``, the casts of ``cast_sql``, the row rules and the
unique key) in a private in-memory store, so the project's store is never opened, and what it
shows as quarantined is what ``nextbest ingest`` would quarantine with the pasted lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.ingest._contracts import CONTRACTS, Contract
from nextbest.ingest._files import describe_source, map_columns, resolve_files
from nextbest.ingest._load import _stage
from nextbest.ingest._propose import (
    ColumnMapping,
    SettingChange,
    guess_mapping,
    proposed_source,
    recode_hint,
    setting_changes,
    source_toml,
)
from nextbest.ingest._refusal import refuse_when_one_rule_fails_most
from nextbest.ingest._sniff import Dialect, parquet_columns, sniff_dialect
from nextbest.store import REDACTED, Store, is_database_error, quote_identifier

#: rows the preview shows, and the failing values it counts per rule
PREVIEW_ROWS = 5
COMMON_VALUES = 3


@dataclass(frozen=True)
class QuarantineCount:
    """How many rows of the file one rule of one column would quarantine."""

    column: str
    rule: str
    rows: int
    first_row: int  # 1-based data row of the first
    example: str | None  # the value as written in that row
    #: the values that fail most often, with how many rows hold each (those in more than one)
    common: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Preview:
    """The file read with the proposed settings."""

    columns: tuple[str, ...]  # contract columns, in contract order
    rows: tuple[tuple[Any, ...], ...]  # the first rows as read: data row number, then columns
    rows_read: int
    rows_quarantined: int
    quarantine: tuple[QuarantineCount, ...]
    refusal: str | None  # the whole-file refusal ingest would give, if any
    redacted: bool = False  # audit-only values: rows and examples hold the redaction marker
    #: per text column with allowed values: the texts of the file that are none of them
    unknown_texts: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Inspection:
    """What ``nextbest inspect`` found in a file and proposes to read it with."""

    path: Path
    dialect: Dialect
    mapping: ColumnMapping
    guessed: bool  # the source was guessed from the columns, not given
    source: SourceConfig  # the proposed settings
    toml: str  # the [sources.NAME] block that holds them
    missing: tuple[str, ...]  # required contract columns the file lacks: ingest refuses it
    preview: Preview
    matched: int = 1  # files the given path or glob names; the first was inspected
    #: how the project's own [sources.NAME] differs, when the project has that source
    changes: tuple[SettingChange, ...] | None = None


def inspect_file(
    path: Path,
    *,
    source: str | None = None,
    path_text: str | None = None,
    configured: Mapping[str, SourceConfig | None] | None = None,
) -> Inspection:
    """Sniff ``path``, propose the source settings and preview the file read with them.

    ``path`` may be a glob or a folder, as in ``[sources.*] path``: its first file (by name)
    is inspected. ``source`` is the source to read it as (guessed from the columns when None);
    ``path_text`` is the path to write into the proposed block (default: ``path`` as given).
    ``configured`` holds the project's sources by name, to say how its own settings for the
    file's source differ from the proposal.
    """
    matched = 1
    if not path.is_file() and (path.is_dir() or any(ch in str(path) for ch in "*?[")):
        files = resolve_files(path, setting="the path given")
        if not files:
            raise SourceFileError(f"{path}: no data files in the folder")
        path_text, path, matched = path_text or str(path), files[0], len(files)
    with Store(":memory:") as store:
        dialect = sniff_dialect(store, path)
        reading = SourceConfig(
            path=str(path),
            format=dialect.format,
            delimiter=dialect.delimiter,
            encoding=dialect.encoding,
        )
        file_types = describe_source(
            store, path, dialect.format, reading, setting="the proposed settings"
        )
        if dialect.format == "parquet":
            dialect = replace(dialect, columns=parquet_columns(file_types))
        mapping = guess_mapping(list(file_types), source)
        proposed = proposed_source(path_text or str(path), dialect, mapping)
        current = (configured or {}).get(mapping.source)
        if current is not None and current.recode and not proposed.recode:
            # the project's own names for the export's texts read this file too
            proposed = proposed.model_copy(update={"recode": current.recode})
        contract = CONTRACTS[mapping.source]
        setting = f"[sources.{mapping.source}]"
        missing = tuple(
            c.name for c in contract.columns if c.required and c.name not in mapping.columns
        )
        columns = mapping.columns
        if not missing:
            # the mapping the real ingest would derive from the proposed settings
            columns = map_columns(contract, list(file_types), proposed, path, setting=setting)
        preview = _preview(store, contract, path, proposed, columns, file_types, setting=setting)
    if contract.audit_only:
        # no sensitive value as an example or a yes/no text either
        dialect = replace(
            dialect,
            columns=tuple(replace(c, example=None) for c in dialect.columns),
            true_values=(),
            false_values=(),
        )
    return Inspection(
        path=path,
        dialect=dialect,
        mapping=mapping,
        guessed=source is None,
        source=proposed,
        toml=source_toml(mapping, proposed)
        + recode_hint(mapping.source, contract, preview.unknown_texts),
        missing=missing,
        preview=preview,
        matched=matched,
        changes=None if current is None else setting_changes(current, proposed, mapping),
    )


#: at most this many texts per column are proposed for recoding
MAX_RECODE_TEXTS = 20

#: per text column that fails its allowed values in most rows: the file's texts that are none
#: of them (recode candidates)
_UNKNOWN_TEXTS_SQL = f"""
    WITH failed AS (SELECT unnest(_violations) AS f FROM _stage)
    SELECT f.c, list(DISTINCT f.v ORDER BY f.v)[1:{MAX_RECODE_TEXTS}]
    FROM failed WHERE starts_with(f.r, 'allowed:') AND f.v IS NOT NULL
    GROUP BY 1
    -- the export's own names fail in most rows; a few bad rows are faults, not names
    HAVING count(*) > $half ORDER BY 1
"""

#: per column and rule: rows, the first row and its value, and the three commonest values
_QUARANTINE_SQL = f"""
    WITH failed AS (SELECT _row, unnest(_violations) AS f FROM _stage),
    per_value AS (
        SELECT f.c AS c, f.r AS r, f.v AS value, count(*) AS n, min(_row) AS first
        FROM failed GROUP BY ALL
    )
    SELECT c, r, sum(n)::BIGINT AS rows, min(first), arg_min(value, first),
        list({{'v': value, 'n': n}} ORDER BY n DESC, first)
            FILTER (value IS NOT NULL AND NOT starts_with(r, 'unique:'))[1:{COMMON_VALUES}]
    FROM per_value GROUP BY c, r ORDER BY rows DESC, c, r
"""


def _preview(
    store: Store,
    contract: Contract,
    path: Path,
    source: SourceConfig,
    mapping: dict[str, str],
    file_types: dict[str, str],
    *,
    setting: str,
) -> Preview:
    fmt = source.format
    try:
        _stage(store, contract, mapping, file_types, path, fmt, source)
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise SourceFileError(f"{path}: could not be read as a whole ({first})") from None
    # a required column not mapped yet is said once, by the caller; the rest of the file is
    # previewed as if it were mapped
    store.execute(
        "UPDATE _stage SET _violations = "
        "list_filter(_violations, lambda v: NOT starts_with(v.r, 'missing column'))"
    )
    cols = tuple(c for c in contract.names if c in mapping)
    shown = ", ".join(["_row", *(quote_identifier(c) for c in cols)])
    rows = tuple(store.fetchall(f"SELECT {shown} FROM _stage ORDER BY _row LIMIT {PREVIEW_ROWS}"))
    counts = store.fetchone(
        "SELECT count(*), count(*) FILTER (WHERE len(_violations) > 0) FROM _stage"
    )
    assert counts is not None
    rows_read, rows_quarantined = int(counts[0]), int(counts[1])
    quarantine = tuple(
        QuarantineCount(
            str(c),
            str(r),
            int(n),
            int(first),
            None if v is None else str(v),
            tuple((str(t["v"]), int(t["n"])) for t in top or () if t["n"] > 1),
        )
        for c, r, n, first, v, top in store.fetchall(_QUARANTINE_SQL)
    )
    refusal = None
    if rows_read:
        try:
            refuse_when_one_rule_fails_most(store, path, source, rows_read, setting=setting)
        except SourceFileError as exc:
            refusal = str(exc)
    unknown: tuple[tuple[str, tuple[str, ...]], ...] = ()
    if contract.audit_only:
        # audit values never leave the audit database, not even onto the screen
        rows = tuple((r[0], *(REDACTED for _ in cols)) for r in rows)
        quarantine = tuple(replace(q, example=REDACTED, common=()) for q in quarantine)
    else:
        unknown = tuple(
            (str(c), tuple(str(t) for t in texts))
            for c, texts in store.fetchall(_UNKNOWN_TEXTS_SQL, {"half": rows_read / 2})
        )
    return Preview(
        cols, rows, rows_read, rows_quarantined, quarantine, refusal, contract.audit_only,
        unknown,
    )  # fmt: skip
