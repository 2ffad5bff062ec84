"""``/v1/runs``: list, review, page through decisions, approve, reject, export."""

import dataclasses
import json
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from nextbest.api._errors import refuse_latest
from nextbest.api.deps import MAX_ID, Caller, CallerFirstRoute, Db, Gate, RunId, role
from nextbest.pipeline import (
    Arm,
    DecisionPage,
    decide_review,
    decisions_page,
    export_run,
    list_runs,
    review,
)

router = APIRouter(prefix="/v1/runs", tags=["runs"], route_class=CallerFirstRoute)


class RunItem(BaseModel):
    run_id: str
    snapshot_date: str
    status: str
    created_at: str
    selected: int
    models: str = Field(description="The model versions used, comma-separated.")


class SampleRow(BaseModel):
    relation_id: int
    action: str
    arm: Arm
    score: float | None
    rank: int | None
    reasons: str | None


class CheckRow(BaseModel):
    name: str
    verdict: str
    figure: float | None
    limit: str
    message: str


class OverlapRow(BaseModel):
    run_id: str
    snapshot_date: str
    status: str
    assigned_in_both: int


class RunReview(BaseModel):
    """A run for review; a halted run has no seed (null), models, flags or settings
    (empty)."""

    run_id: str
    snapshot_date: str
    status: str
    seed: int | None
    counts: dict[str, dict[str, Any]]
    models: dict[str, str]
    flags: Any
    started_by: str | None
    superseded_by: str | None
    settings: dict[str, dict[str, Any]]
    sample: list[SampleRow]
    checks: list[CheckRow]
    overlaps: list[OverlapRow]
    previous_run: str | None
    overlap_with_previous: int | None
    events: list[tuple[str, str, str, str]] = Field(
        description="(event, actor, comment, when), oldest first."
    )


class ReviewRequest(BaseModel):
    comment: str = Field(default="", max_length=2000)


class StatusChange(BaseModel):
    run_id: str
    status: str


class ExportResult(BaseModel):
    run_id: str
    rows: int
    already: bool
    csv_file: str
    parquet_file: str


@router.get("", openapi_extra=role("viewer"))
def runs(db: Db) -> list[RunItem]:
    """The runs, newest first."""
    return [
        RunItem(
            **{**r, "snapshot_date": str(r["snapshot_date"]), "created_at": str(r["created_at"])}
        )
        for r in list_runs(db)
    ]


@router.get("/{run_id}", openapi_extra=role("viewer"))
def run(run_id: RunId, db: Db) -> RunReview:
    """Counts, checks, a sample and the overlap with the previous run."""
    out = json.loads(json.dumps(dataclasses.asdict(review(db, run_id)), default=str))
    out["events"] = [(e["event"], e["actor"], e["comment"], e["at"]) for e in out["events"]]
    return RunReview.model_validate(out)


@router.get("/{run_id}/decisions", openapi_extra=role("viewer"))
def decisions(
    run_id: RunId,
    db: Db,
    arm: Annotated[str | None, Query(pattern="^(treat|holdout|explore|none)$")] = None,
    relation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> DecisionPage:
    """One page of a run's decisions, searchable by arm and relation number."""
    return decisions_page(
        db, run_id, arm=cast(Arm | None, arm), relation_id=relation_id, page=page, size=size
    )


def _decide(gate: Gate, run_id: str, me: Caller, *, approve: bool, comment: str) -> StatusChange:
    refuse_latest(run_id, "approve" if approve else "reject")
    with gate.open(write=True) as db:
        status = decide_review(db, run_id, approve=approve, actor=me.name, comment=comment)
    return StatusChange(run_id=run_id, status=status)


@router.post("/{run_id}/approve", openapi_extra=role("operator"))
def approve(run_id: RunId, body: ReviewRequest, gate: Gate, me: Caller) -> StatusChange:
    """Approve a run pending review (operators only). Name the run: 'latest' is refused."""
    return _decide(gate, run_id, me, approve=True, comment=body.comment)


@router.post("/{run_id}/reject", openapi_extra=role("operator"))
def reject(run_id: RunId, body: ReviewRequest, gate: Gate, me: Caller) -> StatusChange:
    """Reject a run pending review (operators only). Name the run: 'latest' is refused."""
    return _decide(gate, run_id, me, approve=False, comment=body.comment)


@router.post("/{run_id}/export", openapi_extra=role("operator"))
def export(run_id: RunId, gate: Gate, me: Caller) -> ExportResult:
    """Export an approved run (operators only; idempotent). Name the run: 'latest' is
    refused."""
    refuse_latest(run_id, "export")
    with gate.project(write=True) as p:
        r = export_run(p.store, p.config, run_id, actor=me.name)
    return ExportResult(
        run_id=r.run_id,
        rows=r.rows,
        already=r.already,
        csv_file=str(r.csv_file),
        parquet_file=str(r.parquet_file),
    )
