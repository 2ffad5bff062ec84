"""The JSON API: runs, review, export, models, and real-time decisions.

(No ``from __future__ import annotations`` here: FastAPI reads the route signatures, whose
dependency aliases are local to ``create_app``.)

Every route answers errors in one shape: ``{"error": {"code", "message", "status"}}``. The store
is opened per request and closed after it, so a weekly CLI run can take the embedded database
between requests.
"""

import json
import os
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from nextbest.api._auth import Identity, identify, load_tokens
from nextbest.api._serving import ServingCache
from nextbest.config import Config
from nextbest.errors import (
    ConfigError,
    NextbestError,
    NotFoundError,
    ReleaseBlockedError,
    RunHaltedError,
    RunStateError,
    StoreError,
)
from nextbest.models import list_versions, rollback
from nextbest.pipeline import (
    KNOBS,
    action_enabled,
    decide_review,
    effective_config,
    export_run,
    knob_log,
    list_runs,
    promote,
    review,
    set_knob,
)
from nextbest.store import Store, open_store

_STATUS = {
    NotFoundError: 404,
    RunStateError: 409,
    ReleaseBlockedError: 409,
    RunHaltedError: 409,
    ConfigError: 400,
    StoreError: 503,
}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message, "status": status}}
    )


class DecideRequest(BaseModel):
    relation_id: int | None = Field(default=None, description="Decide from the latest snapshot.")
    features: dict[str, float | None] | None = Field(
        default=None, description="Or decide from these feature values."
    )
    action: str | None = Field(default=None, description="Default: the first action.")


class ReviewRequest(BaseModel):
    comment: str = ""


class KnobRequest(BaseModel):
    action: str
    knob: str
    value: str = Field(description="JSON value, e.g. 0.04, 800, false")
    reason: str = Field(min_length=1)


class PromoteRequest(BaseModel):
    to: str = Field(pattern="^(shadow|champion)$")
    reason: str = Field(min_length=1)
    override: str | None = None


def create_app(
    config: Config, *, environ: Mapping[str, str] | None = None, cache_seconds: float = 60.0
) -> FastAPI:
    """Make the application; refuses to start without real API tokens. Real-time decisions
    use the latest week held in memory, reloaded when older than ``cache_seconds``."""
    tokens = load_tokens(os.environ if environ is None else environ)
    app = FastAPI(
        title="nextbest",
        version="0.1.0",
        description="Next-Best-Action engine: runs, review, export, decisions.",
    )

    @app.exception_handler(NextbestError)
    async def _nextbest_error(request: Request, exc: NextbestError) -> JSONResponse:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
        return _error(status, exc.code, str(exc))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if 300 <= exc.status_code < 400 and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _error(422, "invalid_request", f"{where}: {first['msg']}")

    def store() -> Iterator[Store]:
        # a weekly run in another process may hold the file: wait up to 10 s, then 503
        with open_store(config, wait_seconds=10.0) as s:
            yield s

    def who(request: Request) -> Identity:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise HTTPException(401, "send 'Authorization: Bearer <token>'")
        identity = identify(tokens, header[7:].strip())
        if identity is None:
            raise HTTPException(401, "unknown token")
        return identity

    def needs(role: str) -> Any:
        def check(identity: Annotated[Identity, Depends(who)]) -> Identity:
            if not identity.can(role):
                raise HTTPException(403, f"this needs the {role} role; you are {identity.role}")
            return identity

        return check

    Db = Annotated[Store, Depends(store)]
    Viewer = Annotated[Identity, Depends(needs("viewer"))]
    Operator = Annotated[Identity, Depends(needs("operator"))]
    Admin = Annotated[Identity, Depends(needs("admin"))]

    @app.get("/v1/runs")
    def runs(db: Db, _: Viewer) -> list[dict[str, Any]]:
        """The runs, newest first."""
        return [
            {**r, "snapshot_date": str(r["snapshot_date"]), "created_at": str(r["created_at"])}
            for r in list_runs(db)
        ]

    @app.get("/v1/runs/{run_id}")
    def run(run_id: str, db: Db, _: Viewer) -> dict[str, Any]:
        """Counts, checks, a sample and the overlap with the previous run."""
        r = review(db, run_id)
        out: dict[str, Any] = json.loads(json.dumps(r, default=str))
        return out

    @app.get("/v1/runs/{run_id}/decisions")
    def decisions(
        run_id: str,
        db: Db,
        _: Viewer,
        arm: Annotated[str | None, Query(pattern="^(treat|holdout|explore|none)$")] = None,
        relation_id: int | None = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        size: Annotated[int, Query(ge=1, le=1000)] = 50,
    ) -> dict[str, Any]:
        """One page of a run's decisions, searchable by arm and relation number."""
        rid = review(db, run_id, sample=0)["run_id"]
        where = "run_id = ? AND (? IS NULL OR arm = ?) AND (? IS NULL OR relation_id = ?)"
        args: list[Any] = [rid, arm, arm, relation_id, relation_id]
        total = int(db.scalar(f"SELECT count(*) FROM decisions WHERE {where}", args))
        rows = db.arrow(
            "SELECT relation_id, action, arm, score, rank, eligible, first_failed_rule, "
            f"assignment_probability, reasons FROM decisions WHERE {where} "
            "ORDER BY action, rank NULLS LAST, relation_id LIMIT ? OFFSET ?",
            [*args, size, (page - 1) * size],
        ).to_pylist()
        return {"run_id": rid, "page": page, "size": size, "total": total, "items": rows}

    @app.post("/v1/runs/{run_id}/approve")
    def approve(run_id: str, body: ReviewRequest, db: Db, me: Operator) -> dict[str, str]:
        """Approve a run pending review (operators only)."""
        return {
            "run_id": run_id,
            "status": decide_review(db, run_id, approve=True, actor=me.name, comment=body.comment),
        }

    @app.post("/v1/runs/{run_id}/reject")
    def reject(run_id: str, body: ReviewRequest, db: Db, me: Operator) -> dict[str, str]:
        """Reject a run pending review (operators only)."""
        return {
            "run_id": run_id,
            "status": decide_review(db, run_id, approve=False, actor=me.name, comment=body.comment),
        }

    @app.post("/v1/runs/{run_id}/export")
    def export(run_id: str, db: Db, me: Operator) -> dict[str, Any]:
        """Export an approved run (operators only; idempotent)."""
        r = export_run(db, effective_config(db, config), run_id, actor=me.name)
        return {
            "run_id": r.run_id,
            "rows": r.rows,
            "already": r.already,
            "csv_file": str(r.csv_file),
            "parquet_file": str(r.parquet_file),
        }

    @app.get("/v1/models")
    def models(db: Db, _: Viewer) -> list[dict[str, Any]]:
        """Model versions with status and headline figures."""
        return [
            {
                "version": v.version,
                "action": v.action,
                "kind": v.kind,
                "status": v.status,
                "train_first": str(v.train_first),
                "train_last": str(v.train_last),
                "pr_auc": v.metrics.get("pr_auc"),
                "critical_findings": len(v.critical),
            }
            for v in list_versions(db)
        ]

    @app.get("/v1/knobs")
    def knobs(db: Db, _: Viewer) -> dict[str, Any]:
        """Current knob values per action, and the change log."""
        eff = effective_config(db, config)
        values = {
            a.name: {
                k: (action_enabled(db, a.name) if k == "enabled" else getattr(a, k)) for k in KNOBS
            }
            for a in eff.actions
        }
        return {"values": values, "log": json.loads(json.dumps(knob_log(db), default=str))}

    @app.post("/v1/knobs")
    def change_knob(body: KnobRequest, db: Db, me: Admin) -> dict[str, Any]:
        """Change one knob (admins only); logged with who, old → new and why."""
        old, new, warning = set_knob(
            db, config, body.action, body.knob, body.value, actor=me.name, reason=body.reason
        )
        return {
            "action": body.action,
            "knob": body.knob,
            "old": old,
            "new": new,
            "warning": warning,
        }

    @app.post("/v1/models/{version}/promote")
    def promote_model(version: str, body: PromoteRequest, db: Db, me: Admin) -> dict[str, Any]:
        """Promote a version through the release gate (admins only)."""
        v, lines = promote(
            db,
            config,
            version,
            to=body.to,
            actor=me.name,
            reason=body.reason,
            override=body.override,
        )
        return {
            "version": v.version,
            "status": v.status,
            "release_table": [vars(line) for line in lines],
        }

    @app.post("/v1/actions/{action}/rollback")
    def rollback_action(action: str, body: ReviewRequest, db: Db, me: Admin) -> dict[str, Any]:
        """Bring back the previous champion of an action (admins only)."""
        v = rollback(db, action, actor=me.name, reason=body.comment or "rollback")
        return {"version": v.version, "status": v.status}

    serving = ServingCache(config, max_age=cache_seconds)
    app.state.store_path = str(config.resolve(config.store.path))

    @app.post("/v1/decide")
    def decide(body: DecideRequest, _: Viewer) -> dict[str, Any]:
        """The next best action for one customer now: score, reasons, eligibility trail, from
        the latest week held in memory (reloaded every minute). The shadow model is scored too
        and logged, never returned."""
        if (body.relation_id is None) == (body.features is None):
            raise HTTPException(422, "send either relation_id or features")
        try:
            return serving.decide(
                action=body.action, relation_id=body.relation_id, features=body.features
            )
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None

    from nextbest.api.console import console_router

    app.include_router(console_router(config, tokens, os.environ if environ is None else environ))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)

    return app


__all__ = ["create_app"]
