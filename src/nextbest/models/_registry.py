"""The model registry: immutable, content-addressed model versions in the store.

A version is ``<action>@<first 12 hex digits of the artifact's sha256>``: the same model gives
the same version, and a stored artifact is checked against its sha256 every time it is loaded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from nextbest.errors import NotFoundError, ReleaseBlockedError, StoreError, did_you_mean
from nextbest.models._leakage import Finding
from nextbest.models._propensity import PropensityModel
from nextbest.store import Store

STATUSES = ("candidate", "shadow", "champion", "retired")
_EVENT_COLUMNS = "(version, action, event, from_status, to_status, actor, reason, event_at)"


@dataclass(frozen=True)
class ModelVersion:
    version: str
    action: str
    kind: str
    status: str
    sha256: str
    features: list[str]
    train_first: dt.date
    train_last: dt.date
    metrics: dict[str, Any]
    created_at: dt.datetime
    findings: list[Finding]
    card: str
    backtest: dict[str, Any] | None

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "critical"]


_COLUMNS = (
    "version, action, kind, status, sha256, features, train_first, train_last, metrics, "
    "created_at, findings, card, backtest"
)


def _version(row: tuple[Any, ...]) -> ModelVersion:
    return ModelVersion(
        version=row[0],
        action=row[1],
        kind=row[2],
        status=row[3],
        sha256=row[4],
        features=list(row[5]),
        train_first=row[6],
        train_last=row[7],
        metrics=json.loads(row[8]),
        created_at=row[9],
        findings=[Finding.from_dict(f) for f in json.loads(row[10])],
        card=row[11],
        backtest=json.loads(row[12]) if row[12] else None,
    )


def register_model(
    store: Store,
    model: PropensityModel,
    *,
    actor: str = "system",
    champion_if_first: bool = True,
    findings: list[Finding] | None = None,
    card: str = "",
) -> ModelVersion:
    """Store ``model`` as a new version (a no-op when the same artifact is already stored).

    The first model of an action becomes its champion when its leakage hunt found nothing
    critical and it passed the release gate (``metrics["gate"]``, recorded by training); every
    other model is a candidate until a person promotes it. A hand-built model without a gate
    record is taken as it is: the gate needs evaluation weeks, which only training has.
    """
    findings = findings or []
    artifact = model.to_json()
    sha = hashlib.sha256(artifact.encode()).hexdigest()
    version = f"{model.action}@{sha[:12]}"
    existing = store.fetchone(f"SELECT {_COLUMNS} FROM model_versions WHERE version = ?", [version])
    if existing is not None:
        return _version(existing)
    train_dates = model.metadata.get("train_dates") or []
    if not train_dates:
        raise ValueError("model metadata lacks train_dates; train it with train_action")
    with store.transaction():
        has_champion = store.scalar(
            "SELECT count(*) FROM model_versions WHERE action = ? AND status = 'champion'",
            [model.action],
        )
        critical = [f for f in findings if f.severity == "critical"]
        gate: dict[str, Any] | None = (model.metadata.get("metrics") or {}).get("gate")
        gate_failed = gate is not None and not gate.get("passed", False)
        status = (
            "champion"
            if champion_if_first and not has_champion and not critical and not gate_failed
            else "candidate"
        )
        if status == "champion":
            why = "first model of the action"
        elif champion_if_first and not has_champion:
            why = "first model of the action, held back: " + _blocked_by(critical, gate)
        else:
            why = "new candidate"
        store.execute(
            "INSERT INTO model_versions VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, NULL)",
            [
                version,
                model.action,
                model.kind,
                status,
                sha,
                model.features,
                train_dates[0],
                train_dates[-1],
                json.dumps(model.metadata.get("metrics", {}), sort_keys=True),
                artifact,
                json.dumps([f.to_dict() for f in findings]),
                card,
            ],
        )
        store.execute(
            "INSERT INTO model_events "
            + _EVENT_COLUMNS
            + " VALUES (?, ?, 'registered', NULL, ?, ?, ?, now()::TIMESTAMP)",
            [
                version,
                model.action,
                status,
                actor,
                why,
            ],
        )
    row = store.fetchone(f"SELECT {_COLUMNS} FROM model_versions WHERE version = ?", [version])
    assert row is not None
    return _version(row)


def _blocked_by(critical: list[Finding], gate: dict[str, Any] | None) -> str:
    """The failed gate rules and critical leakage findings, named, for an event or an error."""
    parts = [
        f"release gate {r['rule']}: {r['evidence']}"
        for r in (gate or {}).get("rules", [])
        if not r["passed"]
    ]
    named = {r["rule"] for r in (gate or {}).get("rules", [])}
    leaks = [f for f in critical if f.check not in named]
    if leaks:
        names = "; ".join(f"{f.check} {'/'.join(f.features) or '(model)'}" for f in leaks)
        parts.append(f"critical leakage findings ({names})")
    return "; ".join(parts) or "critical findings"


def gate_passed(v: ModelVersion) -> bool:
    """Whether the version passed the release gate at training (``True`` without a record:
    a hand-built model has no evaluation weeks to judge)."""
    gate = v.metrics.get("gate")
    return not gate or bool(gate.get("passed", False))


def blocked_by(v: ModelVersion) -> str:
    """What keeps ``v`` from becoming champion without an override, in words."""
    return _blocked_by(v.critical, v.metrics.get("gate")).rstrip(".")


def list_versions(store: Store, action: str | None = None) -> list[ModelVersion]:
    rows = store.fetchall(
        f"SELECT {_COLUMNS} FROM model_versions WHERE ? IS NULL OR action = ? "
        "ORDER BY created_at DESC, version",
        [action, action],
    )
    return [_version(r) for r in rows]


def champion_version(store: Store, action: str) -> ModelVersion:
    row = store.fetchone(
        f"SELECT {_COLUMNS} FROM model_versions WHERE action = ? AND status = 'champion'",
        [action],
    )
    if row is None:
        latest = store.fetchone(
            f"SELECT {_COLUMNS} FROM model_versions WHERE action = ? AND status = 'candidate' "
            "ORDER BY created_at DESC, version LIMIT 1",
            [action],
        )
        if latest is None:
            raise NotFoundError(
                f"action '{action}' has no champion model; train one with 'nextbest train'"
            )
        v = _version(latest)
        gate = v.metrics.get("gate")
        promote = f'nextbest models promote {v.version} --to champion --by NAME --reason "why"'
        if not v.critical and not (gate and not gate.get("passed", False)):
            raise NotFoundError(
                f"action '{action}' has no champion model; its latest model {v.version} is a "
                f"candidate: {promote}"
            )
        raise NotFoundError(
            f"action '{action}' has no champion model: its latest model {v.version} is a "
            f"candidate, held back by {_blocked_by(v.critical, gate).rstrip('.')}. Retrain "
            f"with more weeks or customers (see 'nextbest models show {v.version}'), or, if a "
            f'person accepts it: {promote} --override "reason"'
        )
    return _version(row)


def load_model(store: Store, version: str) -> PropensityModel:
    """Load a stored version, verifying its checksum (never unpickles anything)."""
    row = store.fetchone("SELECT sha256, artifact FROM model_versions WHERE version = ?", [version])
    if row is None:
        known = [v.version for v in list_versions(store)]

        raise NotFoundError(f"no model version '{version}';{did_you_mean(version, known)}")
    sha, artifact = row
    if hashlib.sha256(artifact.encode()).hexdigest() != sha:
        raise StoreError(
            f"model {version} does not match its checksum; the stored artifact was altered. "
            "Retrain, or restore the store from a backup"
        )
    return PropensityModel.from_json(artifact)


def get_version(store: Store, version: str) -> ModelVersion:
    row = store.fetchone(f"SELECT {_COLUMNS} FROM model_versions WHERE version = ?", [version])
    if row is None:
        known = [r[0] for r in store.fetchall("SELECT version FROM model_versions")]
        raise NotFoundError(f"no model version '{version}';{did_you_mean(version, known)}")
    return _version(row)


def shadow_version(store: Store, action: str) -> ModelVersion | None:
    row = store.fetchone(
        f"SELECT {_COLUMNS} FROM model_versions WHERE action = ? AND status = 'shadow'", [action]
    )
    return None if row is None else _version(row)


def _event(
    store: Store, v: ModelVersion, event: str, to_status: str, actor: str, reason: str
) -> None:
    store.execute(
        "INSERT INTO model_events "
        + _EVENT_COLUMNS
        + " VALUES (?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [v.version, v.action, event, v.status, to_status, actor, reason],
    )
    store.execute("UPDATE model_versions SET status = ? WHERE version = ?", [to_status, v.version])


def set_status(
    store: Store,
    version: str,
    to_status: str,
    *,
    actor: str,
    reason: str,
    override: str | None = None,
) -> ModelVersion:
    """Move a version to ``to_status``; the displaced champion or shadow steps aside.

    A version with critical leakage findings becomes champion only with an ``override``: the
    written reason of the person who takes responsibility, recorded with their name.
    """
    if to_status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {to_status!r}")
    if not actor.strip() or not reason.strip():
        raise ValueError("a status change needs the name of who makes it and a reason")
    v = get_version(store, version)
    if v.status == to_status:
        return v
    blocked = v.critical or not gate_passed(v)
    if to_status == "champion" and blocked and not (override and override.strip()):
        raise ReleaseBlockedError(
            f"{version} is held back by {blocked_by(v)}; it cannot become champion unless a "
            "person overrides with a written reason (--override '…')"
        )
    with store.transaction():
        if to_status in ("champion", "shadow"):
            current = store.fetchone(
                f"SELECT {_COLUMNS} FROM model_versions WHERE action = ? AND status = ?",
                [v.action, to_status],
            )
            if current is not None:
                displaced = _version(current)
                _event(
                    store,
                    displaced,
                    "displaced",
                    "retired" if to_status == "champion" else "candidate",
                    actor,
                    f"replaced by {version}: {reason}",
                )
        if override and override.strip():
            store.execute(
                "INSERT INTO model_events "
                + _EVENT_COLUMNS
                + " VALUES (?, ?, 'override', ?, ?, ?, ?, now()::TIMESTAMP)",
                [v.version, v.action, v.status, to_status, actor, override],
            )
        _event(
            store,
            v,
            "promoted" if to_status in ("shadow", "champion") else "status",
            to_status,
            actor,
            reason,
        )
    return get_version(store, version)


def rollback(store: Store, action: str, *, actor: str, reason: str) -> ModelVersion:
    """Retire the current champion and bring back the champion before it."""
    current = champion_version(store, action)
    previous = store.fetchone(
        """
        SELECT version FROM model_events
        WHERE action = ? AND from_status = 'champion' AND version <> ?
        ORDER BY event_id DESC LIMIT 1
        """,
        [action, current.version],
    )
    if previous is None:
        raise NotFoundError(
            f"action '{action}' has no earlier champion to roll back to; promote another "
            "version instead"
        )
    before = get_version(store, str(previous[0]))
    with store.transaction():
        _event(store, current, "rolled_back", "retired", actor, reason)
        _event(
            store, before, "rollback", "champion", actor, f"rollback of {current.version}: {reason}"
        )
    return get_version(store, before.version)


def record_backtest(store: Store, version: str, summary: dict[str, Any]) -> None:
    store.execute(
        "UPDATE model_versions SET backtest = ? WHERE version = ?",
        [json.dumps(summary, sort_keys=True, default=str), version],
    )


def model_events(store: Store, action: str | None = None) -> list[dict[str, Any]]:
    rows = store.fetchall(
        "SELECT version, action, event, from_status, to_status, actor, reason, event_at "
        "FROM model_events WHERE ? IS NULL OR action = ? ORDER BY event_id",
        [action, action],
    )
    keys = ("version", "action", "event", "from", "to", "actor", "reason", "at")
    return [dict(zip(keys, r, strict=True)) for r in rows]
