"""``/v1/models`` and ``/v1/actions/{action}/rollback``: model versions, promotion, rollback."""

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from nextbest.api.deps import Caller, CallerFirstRoute, Db, Gate, WriteDb, role
from nextbest.api.routes.runs import ReviewRequest
from nextbest.models import list_versions, rollback
from nextbest.pipeline import ReleaseLine, promote

router = APIRouter(tags=["models"], route_class=CallerFirstRoute)

Name = Annotated[str, Path(max_length=200)]


class ModelItem(BaseModel):
    version: str
    action: str
    kind: str
    status: str
    train_first: str
    train_last: str
    pr_auc: float | None
    critical_findings: int


class PromoteRequest(BaseModel):
    to: str = Field(pattern="^(shadow|champion)$")
    reason: str = Field(min_length=1, max_length=2000)
    override: str | None = Field(default=None, max_length=2000)


class Promoted(BaseModel):
    version: str
    status: str
    release_table: list[ReleaseLine]


class VersionStatus(BaseModel):
    version: str
    status: str


@router.get("/v1/models", openapi_extra=role("viewer"))
def models(db: Db) -> list[ModelItem]:
    """Model versions with status and headline figures."""
    return [
        ModelItem(
            version=v.version,
            action=v.action,
            kind=v.kind,
            status=v.status,
            train_first=str(v.train_first),
            train_last=str(v.train_last),
            pr_auc=v.metrics.get("pr_auc"),
            critical_findings=len(v.critical),
        )
        for v in list_versions(db)
    ]


@router.post("/v1/models/{version}/promote", openapi_extra=role("admin"))
def promote_model(version: Name, body: PromoteRequest, gate: Gate, me: Caller) -> Promoted:
    """Promote a version through the release gate (admins only)."""
    with gate.project(write=True) as p:
        v, lines = promote(
            p.store,
            p.config,
            version,
            to=body.to,
            actor=me.name,
            reason=body.reason,
            override=body.override,
        )
    return Promoted(
        version=v.version,
        status=v.status,
        release_table=lines,
    )


@router.post("/v1/actions/{action}/rollback", openapi_extra=role("admin"))
def rollback_action(action: Name, body: ReviewRequest, db: WriteDb, me: Caller) -> VersionStatus:
    """Bring back the previous champion of an action (admins only)."""
    v = rollback(db, action, actor=me.name, reason=body.comment or "rollback")
    return VersionStatus(version=v.version, status=v.status)
