"""Proposing how to read an export: the column mapping, the source and the lines to paste.

A file's column is matched to a contract's column by the similarity of their normalised names
(lower case, letters and digits only), against the contract's own name and a few names Dutch
warehouses use for it (``REL_NR`` for ``relation_id``, ``PEILDATUM`` for ``snapshot_date``).
The best pairs are taken first, each file column at most once.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nextbest.config import SourceConfig
from nextbest.errors import ConfigError, SourceFileError, did_you_mean
from nextbest.ingest._contracts import CONTRACTS, Contract
from nextbest.ingest._sniff import Dialect

#: a file column this similar to a contract column (or one of its synonyms) is proposed for it
MIN_SIMILARITY = 0.75

#: names warehouses give the contract's columns, besides the contract's own name
SYNONYMS: dict[str, tuple[str, ...]] = {
    "relation_id": (
        "rel_nr",
        "relnr",
        "relatienummer",
        "relatie_id",
        "klant_id",
        "klantnr",
        "klant_nr",
        "klantnummer",
        "customer_id",
        "client_id",
    ),
    "snapshot_date": ("peildatum", "peil_datum", "snapshotdatum", "rapportagedatum"),
    "age": ("leeftijd",),
    "segment": ("klantsegment", "segment_naam"),
    "has_savings": ("sparen", "sparen_j_n", "spaar_j_n", "spaarrekening", "heeft_spaarrekening"),
    "has_payment": (
        "betalen",
        "betalen_j_n",
        "betaal_j_n",
        "betaalrekening",
        "heeft_betaalrekening",
    ),
    "n_accounts": ("aantal_rek", "aantal_rekeningen", "n_rekeningen", "num_accounts"),
    "total_balance": ("saldo_totaal", "totaal_saldo", "saldo", "balance"),
    "app_installed": ("app", "app_j_n", "app_geinstalleerd", "mobiele_app"),
    "ib_logins_4w": ("logins_4w", "ib_logins", "inlog_4w", "aantal_logins_4w"),
    "optin_general": ("optin_alg", "optin_algemeen"),
    "optin_investing": ("optin_beleggen", "optin_belegging"),
    "customer_since": ("klant_sinds", "klant_vanaf", "klantdatum", "startdatum"),
    "is_investor": ("belegger", "is_belegger", "beleggen_j_n", "belegt"),
    "fund": ("fonds", "fondsnaam", "fund_name"),
    "price_date": ("koersdatum", "koers_datum", "datum_koers"),
    "price": ("koers", "slotkoers", "close", "closing_price"),
    "conversion_date": (
        "conversiedatum",
        "openingsdatum",
        "datum_opening",
        "startdatum",
        "startdatum_beleggen",
    ),
    "amount": ("bedrag", "eerste_inleg", "inleg"),
    "event_date": ("gebeurtenisdatum", "datum_gebeurtenis", "eventdatum"),
    "action": ("actie", "campagne"),
    "message": ("bericht", "stap"),
    "event": ("gebeurtenis", "event_type"),
    "gender": ("geslacht",),
    "postcode_area": ("postcode", "pc2", "postcodegebied"),
}


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def similarity(canonical: str, file_column: str) -> float:
    """How alike a file's column name is to a contract column's name or one of its synonyms
    (1.0: the same after normalising)."""
    wanted = _normal(file_column)
    return max(
        difflib.SequenceMatcher(None, _normal(name), wanted).ratio()
        for name in (canonical, *SYNONYMS.get(canonical, ()))
    )


@dataclass(frozen=True)
class ColumnMapping:
    """The proposed reading of the file's columns for one contract."""

    source: str  # the source name, e.g. 'snapshots'
    columns: dict[str, str]  # contract column → file column
    scores: dict[str, float]  # contract column → similarity of its file column
    unmapped: tuple[str, ...]  # contract columns no file column matched
    unused: tuple[str, ...]  # file columns no contract column took


def propose_mapping(name: str, contract: Contract, file_columns: list[str]) -> ColumnMapping:
    """Each contract column's most similar file column, best pairs first, each used once."""
    pairs = sorted(
        (
            (similarity(col, fc), -i, -j, col, fc)
            for i, col in enumerate(contract.names)
            for j, fc in enumerate(file_columns)
        ),
        reverse=True,
    )
    columns: dict[str, str] = {}
    scores: dict[str, float] = {}
    for score, _, _, col, fc in pairs:
        if score < MIN_SIMILARITY:
            break
        if col not in columns and fc not in columns.values():
            columns[col], scores[col] = fc, score
    ordered = {c: columns[c] for c in contract.names if c in columns}
    return ColumnMapping(
        source=name,
        columns=ordered,
        scores={c: scores[c] for c in ordered},
        # an optional column with a default (conversions.outcome) needs no line
        unmapped=tuple(
            c.name
            for c in contract.columns
            if c.name not in columns and (c.required or c.default is None)
        ),
        unused=tuple(fc for fc in file_columns if fc not in columns.values()),
    )


def guess_mapping(file_columns: list[str], source: str | None = None) -> ColumnMapping:
    """The mapping for ``source``, or, without one, for the source whose contract the file's
    columns cover best (share of its columns matched, then their similarity)."""
    if source is not None:
        if source not in CONTRACTS:
            raise ConfigError(
                f"unknown source '{source}';{did_you_mean(source, CONTRACTS)} "
                f"Sources are: {', '.join(CONTRACTS)}"
            )
        return propose_mapping(source, CONTRACTS[source], file_columns)
    proposals = [propose_mapping(n, c, file_columns) for n, c in CONTRACTS.items()]
    return max(
        proposals,
        key=lambda m: (
            len(m.columns) / len(CONTRACTS[m.source].columns),
            sum(m.scores.values()),
        ),
    )


def _default(field: str) -> Any:
    return SourceConfig.model_fields[field].get_default(call_default_factory=True)


def proposed_source(path: str, dialect: Dialect, mapping: ColumnMapping) -> SourceConfig:
    """The source settings that read the file as sniffed."""
    settings: dict[str, Any] = {"path": path, "format": dialect.format, "columns": {}}
    if dialect.format == "csv":
        settings |= {
            "delimiter": dialect.delimiter,
            "decimal": dialect.decimal,
            "thousands": dialect.thousands,
            "encoding": dialect.encoding,
            "date_format": dialect.date_format,
            "null_values": list(dialect.null_values),
        }
        settings |= _vocabulary(dialect)
    settings["columns"] = {c: fc for c, fc in mapping.columns.items() if fc.lower() != c}
    try:
        return SourceConfig.model_validate(settings)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise SourceFileError(
            f"{path}: no settings can read this file as sniffed ({reason}); set them by hand"
        ) from None


def _vocabulary(dialect: Dialect) -> dict[str, list[str]]:
    """true_values / false_values when the file's yes/no texts are not all read by default."""
    out: dict[str, list[str]] = {}
    for field, found in (
        ("true_values", dialect.true_values),
        ("false_values", dialect.false_values),
    ):
        default = [v.lower() for v in _default(field)]
        extra = [v for v in found if v.lower() not in default]
        if extra:
            out[field] = [*_default(field), *extra]
    return out


#: the settings written into the block, in this order, when they differ from the default
_DIALECT_FIELDS = (
    "delimiter",
    "decimal",
    "thousands",
    "encoding",
    "date_format",
    "true_values",
    "false_values",
    "null_values",
)


@dataclass(frozen=True)
class SettingChange:
    """A setting of a configured source that reads the file otherwise than proposed."""

    setting: str  # e.g. 'decimal', or 'columns.age' for a mapping
    current: Any
    proposed: Any


def setting_changes(
    current: SourceConfig, proposed: SourceConfig, mapping: ColumnMapping
) -> tuple[SettingChange, ...]:
    """What must change in ``current`` to read the file as ``proposed`` does: the dialect
    settings that differ, yes/no texts and null markers the file has and ``current`` lacks,
    and the mapped columns ``current`` maps elsewhere."""
    changes = []
    if current.format not in ("auto", proposed.format):
        changes.append(SettingChange("format", current.format, proposed.format))
    for field in ("delimiter", "decimal", "thousands", "encoding", "date_format"):
        if getattr(current, field) != getattr(proposed, field):
            changes.append(SettingChange(field, getattr(current, field), getattr(proposed, field)))
    for field in ("true_values", "false_values", "null_values"):
        have = {v.lower() for v in getattr(current, field)}
        if any(v.lower() not in have for v in getattr(proposed, field)):
            changes.append(SettingChange(field, getattr(current, field), getattr(proposed, field)))
    for col, file_col in mapping.columns.items():
        configured = current.columns.get(col)  # None: read by its own name
        if (configured or col).lower() != file_col.lower():
            changes.append(SettingChange(f"columns.{col}", configured, file_col))
    return tuple(changes)


def _toml(value: Any) -> str:
    # a JSON string or list of strings is a valid TOML basic string or array
    return json.dumps(value, ensure_ascii=False)


def source_toml(mapping: ColumnMapping, source: SourceConfig) -> str:
    """The ``[sources.NAME]`` block that reads the file with ``source``: path, format, the
    dialect settings that differ from the defaults, and the column mapping, with a ``# TODO``
    line for each contract column the file did not match."""
    lines = [
        f"[sources.{mapping.source}]",
        f"path = {_toml(source.path)}",
        f"format = {_toml(source.format)}",
    ]
    for field in _DIALECT_FIELDS:
        value = getattr(source, field)
        if value != _default(field):
            lines.append(f"{field} = {_toml(value)}")
    if source.columns or mapping.unmapped:
        lines += ["", f"[sources.{mapping.source}.columns]"]
        lines += [f"{c} = {_toml(fc)}" for c, fc in source.columns.items()]
        lines += [
            f'# TODO {c} = "<column in your file>"  (not found in the file)'
            for c in mapping.unmapped
        ]
    for column, table in source.recode.items():
        lines += ["", f"[sources.{mapping.source}.recode.{column}]"]
        lines += [f"{_toml(theirs)} = {_toml(ours)}" for theirs, ours in table.items()]
    return "\n".join(lines) + "\n"


def recode_hint(
    source: str, contract: Contract, unknown: Sequence[tuple[str, Sequence[str]]]
) -> str:
    """Commented ``recode`` lines for the texts of a column that are none of its allowed
    values (an export's own segment names): the user fills in which value each one means."""
    lines: list[str] = []
    for column, texts in unknown:
        allowed = next(c.allowed for c in contract.columns if c.name == column)
        if not allowed or not texts:
            continue
        choices = " | ".join(allowed)
        lines += [
            "",
            f"# {column}: these texts are not {'/'.join(allowed)} and would be quarantined;",
            "# if they are your names for them, say which (uncomment and choose):",
            f"# [sources.{source}.recode.{column}]",
            *(f"# {_toml(t)} = {_toml(choices)}" for t in texts),
        ]
    return "\n".join(lines) + ("\n" if lines else "")
