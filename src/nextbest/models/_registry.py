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

from nextbest.errors import NotFoundError, StoreError
from nextbest.models._propensity import PropensityModel
from nextbest.store import Store


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


_COLUMNS = (
    "version, action, kind, status, sha256, features, train_first, train_last, metrics, created_at"
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
    )


def register_model(
    store: Store, model: PropensityModel, *, actor: str = "system", champion_if_first: bool = True
) -> ModelVersion:
    """Store ``model`` as a new version (a no-op when the same artifact is already stored).

    The first model of an action becomes its champion, since there is nothing to compare it
    with; later ones are candidates until promoted.
    """
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
        status = "champion" if champion_if_first and not has_champion else "candidate"
        store.execute(
            "INSERT INTO model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
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
            ],
        )
        store.execute(
            "INSERT INTO model_events VALUES (?, ?, 'registered', NULL, ?, ?, ?, now()::TIMESTAMP)",
            [
                version,
                model.action,
                status,
                actor,
                "first model of the action" if status == "champion" else "new candidate",
            ],
        )
    row = store.fetchone(f"SELECT {_COLUMNS} FROM model_versions WHERE version = ?", [version])
    assert row is not None
    return _version(row)


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
        raise NotFoundError(
            f"action '{action}' has no champion model; train one with 'nextbest train'"
        )
    return _version(row)


def load_model(store: Store, version: str) -> PropensityModel:
    """Load a stored version, verifying its checksum (never unpickles anything)."""
    row = store.fetchone("SELECT sha256, artifact FROM model_versions WHERE version = ?", [version])
    if row is None:
        known = [v.version for v in list_versions(store)]
        from nextbest.errors import did_you_mean

        raise NotFoundError(f"no model version '{version}';{did_you_mean(version, known)}")
    sha, artifact = row
    if hashlib.sha256(artifact.encode()).hexdigest() != sha:
        raise StoreError(
            f"model {version} does not match its checksum; the stored artifact was altered. "
            "Retrain, or restore the store from a backup"
        )
    return PropensityModel.from_json(artifact)
