"""How a file was read: the settings of its source that change the rows a file gives.

A loaded file is unchanged only when its content *and* these settings are as they were, so
fixing ``decimal = ","`` reads the file again on the next ingest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from nextbest.config import SourceConfig
from nextbest.ingest._contracts import Contract
from nextbest.store import Store

#: why a file is read into a new batch (see :func:`why_loaded`)
LoadReason = Literal["new", "settings", "reload", "redelivered"]

#: the fields of a source that say where its files are or when to refuse one, not how to read
_NOT_READING = frozenset({"path", "refuse_share"})

#: every other field of :class:`SourceConfig`: a dialect setting added later counts by itself
READER_FIELDS: tuple[str, ...] = tuple(
    name for name in SourceConfig.model_fields if name not in _NOT_READING
)


#: the key of the contract's limits in the reading settings (they decide what is quarantined
#: and which weeks have issues, so changing one reads the file again)
LIMITS = "[contracts]"


def _limits(contract: Contract) -> dict[str, Any]:
    return {
        "max_null": {c.name: c.max_null_fraction for c in contract.columns},
        "quarantine_error_share": contract.quarantine_error_share,
        "future_days": contract.future_days,
    }


def reader_json(source: SourceConfig, contract: Contract | None = None) -> str:
    """The reading settings of ``source`` as canonical JSON (sorted keys, no spaces), with the
    limits of ``contract`` when given."""
    settings = source.model_dump(include=set(READER_FIELDS), mode="json")
    if contract is not None:
        settings[LIMITS] = _limits(contract)
    return json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def reader_sha256(source: SourceConfig, contract: Contract | None = None) -> str:
    return hashlib.sha256(reader_json(source, contract).encode()).hexdigest()


def changed_settings(
    previous_json: str | None, source: SourceConfig, contract: Contract | None = None
) -> tuple[str, ...]:
    """The reading settings whose value differs from ``previous_json``, in field order, and
    ``[contracts]`` when the limits did."""
    if previous_json is None:
        return ()
    before: dict[str, Any] = json.loads(previous_json)
    now: dict[str, Any] = json.loads(reader_json(source, contract))
    fields = (*READER_FIELDS, LIMITS) if LIMITS in before or contract is not None else READER_FIELDS
    return tuple(f for f in fields if before.get(f) != now.get(f))


def _current_batch(
    store: Store, table: str, digest: str
) -> tuple[int, str | None, str | None] | None:
    """The latest batch of the same file content whose every partition is still its own:
    (batch id, reader sha256, reader settings JSON)."""
    row = store.fetchone(
        """
        SELECT b.batch_id, b.reader_sha256, b.reader_json FROM ingest_batches b
        WHERE b.table_name = ? AND b.file_sha256 = ? AND b.status = 'loaded'
          AND NOT EXISTS (
            SELECT 1 FROM ingest_batches later
            WHERE later.table_name = b.table_name AND later.batch_id > b.batch_id
              AND (len(b.partitions) = 0 OR list_has_any(later.partitions, b.partitions)))
        ORDER BY b.batch_id DESC LIMIT 1
        """,
        [table, digest],
    )
    return None if row is None else (int(row[0]), row[1], row[2])


def unchanged_batch(store: Store, table: str, digest: str, reader: str) -> int | None:
    """A current batch of the same file content read with the same settings, if every
    partition of it is still its own. A batch loaded before the settings were kept (no reader
    hash) counts as read with today's: an upgrade does not reload every file."""
    current = _current_batch(store, table, digest)
    if current is None or current[1] not in (None, reader):
        return None
    return current[0]


def why_loaded(
    store: Store, table: str, digest: str, source: SourceConfig, contract: Contract | None = None
) -> tuple[LoadReason, tuple[str, ...]]:
    """Why this file is read now: (reason, the reading settings that changed).

    ``reload``: the same content read the same way is still current, so only ``--reload`` gets
    here; ``settings``: it is current but was read with other settings; ``redelivered``: it was
    loaded before and later files replaced its partitions; ``new`` otherwise."""
    current = _current_batch(store, table, digest)
    if current is not None:
        _, previous_sha, previous_json = current
        if previous_sha in (None, reader_sha256(source, contract)):
            return "reload", ()
        return "settings", changed_settings(previous_json, source, contract)
    seen = store.scalar(
        "SELECT count(*) > 0 FROM ingest_batches WHERE table_name = ? AND file_sha256 = ?",
        [table, digest],
    )
    return ("redelivered" if seen else "new"), ()


def reload_note(reason: LoadReason, changed: tuple[str, ...]) -> str | None:
    """What the load report says about a file read again, or None for a file read anew."""
    if reason == "settings":
        return f"reloaded: the reading settings changed ({', '.join(changed) or 'not recorded'})"
    if reason == "reload":
        return "reloaded: asked for with --reload"
    return None
