"""The JSON API: runs, review, export, models, and real-time decisions.

(No ``from __future__ import annotations`` here: FastAPI reads the route signatures, whose
dependency aliases are local to ``create_app``.)

Every route answers errors in one shape: ``{"error": {"code", "message", "status"}}``. The
caller is known before anything else happens (:mod:`nextbest.api._guard`), and the role a route
needs is checked before its body is parsed (:class:`_CallerFirstRoute`). The store is opened
per request, read-only for GET, and closed after it, so a weekly CLI run can take the embedded
database between requests; real-time decisions never open it on the request path.
"""

import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from nextbest.api._auth import Identity, console_secret, load_tokens
from nextbest.api._db import StoreGate
from nextbest.api._errors import (
    HTTP_CODES,
    ApiError,
    SafeJSONResponse,
    error_json,
    for_nextbest_error,
    log,
    refuse_latest,
)
from nextbest.api._guard import IDENTITY, Guard, is_console
from nextbest.api._serving import InvalidInputError, ServingCache
from nextbest.api._sessions import Sessions
from nextbest.api.console import console_router, error_page
from nextbest.config import Config
from nextbest.errors import NextbestError, StoreError
from nextbest.models import list_versions, rollback
from nextbest.pipeline import (
    KNOBS,
    action_enabled,
    decide_review,
    export_run,
    knob_log,
    list_runs,
    promote,
    review,
    set_knob,
)
from nextbest.store import Store, private_files

MAX_BODY_BYTES = 1024 * 1024
_MAX_ID = 2**63 - 1


class DecideRequest(BaseModel):
    relation_id: int | None = Field(
        default=None, ge=1, le=_MAX_ID, description="Decide from the latest snapshot."
    )
    features: dict[str, float | None] | None = Field(
        default=None,
        max_length=100,
        description="Or decide from these feature values (checked against the snapshot "
        "contract's ranges; no NaN or infinities).",
    )
    action: str | None = Field(default=None, max_length=200, description="Default: the first.")


class ReviewRequest(BaseModel):
    comment: str = Field(default="", max_length=2000)


class KnobRequest(BaseModel):
    action: str = Field(max_length=200)
    knob: str = Field(max_length=200)
    value: str = Field(max_length=200, description="JSON value, e.g. 0.04, 800, false")
    reason: str = Field(min_length=1, max_length=2000)


class PromoteRequest(BaseModel):
    to: str = Field(pattern="^(shadow|champion)$")
    reason: str = Field(min_length=1, max_length=2000)
    override: str | None = Field(default=None, max_length=2000)


def _role(role: str) -> dict[str, Any]:
    """The route's ``openapi_extra``: the role it needs, checked before the body is read."""
    return {"x-role": role}


class _CallerFirstRoute(APIRoute):
    """A route that checks the caller's role before FastAPI reads and parses the body (a
    dependency would run only after the body is parsed)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = (self.openapi_extra or {}).get("x-role")
        if role is None:
            return handler

        async def checked(request: Request) -> Response:
            who: Identity | None = request.scope.get(IDENTITY)
            if who is None:
                raise HTTPException(401, "send 'Authorization: Bearer <token>'")
            if not who.can(role):
                raise HTTPException(403, f"this needs the {role} role; you are {who.role}")
            return await handler(request)

        return checked


def _caller(request: Request) -> Identity:
    who: Identity | None = request.scope.get(IDENTITY)
    if who is None:
        raise HTTPException(401, "send 'Authorization: Bearer <token>'")
    return who


def create_app(
    config: Config,
    *,
    environ: Mapping[str, str] | None = None,
    cache_seconds: float = 60.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    store_wait_seconds: float = 10.0,
    secure_cookies: bool | None = None,
) -> FastAPI:
    """Make the application; refuses to start without real API tokens or with a weak
    ``NEXTBEST_SECRET``.

    Real-time decisions use the latest week held in memory, reloaded in the background when
    older than ``cache_seconds``. Bodies over ``max_body_bytes`` are refused (413). A request
    waits up to ``store_wait_seconds`` while another process holds the store, then gets 503.
    ``secure_cookies``: the console cookie's ``Secure`` flag; None (the default) sets it on
    every request except plain http to a loopback address.
    """
    env = os.environ if environ is None else environ
    private_files()  # exports and the store's files are created readable by their owner only

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        serving.wait_idle(30.0)  # let a background reload finish before the store goes

    app = FastAPI(
        lifespan=lifespan,
        title="nextbest",
        version="0.1.0",
        description="Next-Best-Action engine: runs, review, export, decisions.",
        docs_url=None,  # Swagger UI and ReDoc would load from a CDN: off, /openapi.json stays
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.router.route_class = _CallerFirstRoute
    app.state.tokens = load_tokens(env)
    app.state.sessions = Sessions(console_secret(env))
    app.state.secure_cookies = secure_cookies
    app.state.max_body_bytes = max_body_bytes
    app.state.store_path = str(config.resolve(config.store.path))
    gate = StoreGate(config, wait_seconds=store_wait_seconds)
    try:  # create or upgrade the schema once, so that read-only requests find every table
        with gate.open(write=True, wait_seconds=min(store_wait_seconds, 2.0)):
            pass
    except StoreError as exc:
        log.warning("store not prepared at start: %s", exc)
    # the guard must be outside the body limit: it answers 401 without reading the body
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=max_body_bytes)
    app.add_middleware(Guard, max_body_bytes=max_body_bytes, html_error=error_page)

    def answer(request: Request, status: int, code: str, message: str) -> Response:
        if is_console(request.url.path):
            return error_page(status, code, message, request.scope.get(IDENTITY))
        return error_json(status, code, message)

    @app.exception_handler(NextbestError)
    async def _nextbest_error(request: Request, exc: NextbestError) -> Response:
        return answer(request, *for_nextbest_error(exc))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc.status, exc.code, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if 300 <= exc.status_code < 400 and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        message = str(exc.detail)
        if exc.status_code == 413:
            message = f"the request body is larger than {max_body_bytes} bytes"
        elif exc.status_code == 404 and message == "Not Found":
            message = f"no such page or route: {request.url.path[:200]}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path[:200]}"
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return answer(request, exc.status_code, code, message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return answer(request, 422, "invalid_request", f"{where}: {first['msg']}")

    def reader() -> Iterator[Store]:
        with gate.open(write=False) as s:
            yield s

    def writer() -> Iterator[Store]:
        with gate.open(write=True) as s:
            yield s

    Db = Annotated[Store, Depends(reader)]
    WriteDb = Annotated[Store, Depends(writer)]
    Caller = Annotated[Identity, Depends(_caller)]
    RunId = Annotated[str, Path(max_length=200)]

    @app.get("/v1/runs", openapi_extra=_role("viewer"))
    def runs(db: Db) -> list[dict[str, Any]]:
        """The runs, newest first."""
        return [
            {**r, "snapshot_date": str(r["snapshot_date"]), "created_at": str(r["created_at"])}
            for r in list_runs(db)
        ]

    @app.get("/v1/runs/{run_id}", openapi_extra=_role("viewer"))
    def run(run_id: RunId, db: Db) -> dict[str, Any]:
        """Counts, checks, a sample and the overlap with the previous run."""
        r = review(db, run_id)
        out: dict[str, Any] = json.loads(json.dumps(r, default=str))
        return out

    @app.get("/v1/runs/{run_id}/decisions", openapi_extra=_role("viewer"))
    def decisions(
        run_id: RunId,
        db: Db,
        arm: Annotated[str | None, Query(pattern="^(treat|holdout|explore|none)$")] = None,
        relation_id: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None,
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

    @app.post("/v1/runs/{run_id}/approve", openapi_extra=_role("operator"))
    def approve(run_id: RunId, body: ReviewRequest, me: Caller) -> dict[str, str]:
        """Approve a run pending review (operators only). Name the run: 'latest' is refused."""
        refuse_latest(run_id, "approve")
        with gate.open(write=True) as db:
            status = decide_review(db, run_id, approve=True, actor=me.name, comment=body.comment)
        return {"run_id": run_id, "status": status}

    @app.post("/v1/runs/{run_id}/reject", openapi_extra=_role("operator"))
    def reject(run_id: RunId, body: ReviewRequest, me: Caller) -> dict[str, str]:
        """Reject a run pending review (operators only). Name the run: 'latest' is refused."""
        refuse_latest(run_id, "reject")
        with gate.open(write=True) as db:
            status = decide_review(db, run_id, approve=False, actor=me.name, comment=body.comment)
        return {"run_id": run_id, "status": status}

    @app.post("/v1/runs/{run_id}/export", openapi_extra=_role("operator"))
    def export(run_id: RunId, me: Caller) -> dict[str, Any]:
        """Export an approved run (operators only; idempotent). Name the run: 'latest' is
        refused."""
        refuse_latest(run_id, "export")
        with gate.project(write=True) as p:
            r = export_run(p.store, p.config, run_id, actor=me.name)
        return {
            "run_id": r.run_id,
            "rows": r.rows,
            "already": r.already,
            "csv_file": str(r.csv_file),
            "parquet_file": str(r.parquet_file),
        }

    @app.get("/v1/models", openapi_extra=_role("viewer"))
    def models(db: Db) -> list[dict[str, Any]]:
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

    @app.get("/v1/knobs", openapi_extra=_role("viewer"))
    def knobs() -> dict[str, Any]:
        """Current knob values per action, and the change log."""
        with gate.project(write=False) as p:
            values = {
                a.name: {
                    k: (action_enabled(p.store, a.name) if k == "enabled" else getattr(a, k))
                    for k in KNOBS
                }
                for a in p.config.actions
            }
            log = knob_log(p.store)
        return {"values": values, "log": json.loads(json.dumps(log, default=str))}

    @app.post("/v1/knobs", openapi_extra=_role("admin"))
    def change_knob(body: KnobRequest, db: WriteDb, me: Caller) -> dict[str, Any]:
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

    @app.post("/v1/models/{version}/promote", openapi_extra=_role("admin"))
    def promote_model(
        version: Annotated[str, Path(max_length=200)],
        body: PromoteRequest,
        me: Caller,
    ) -> dict[str, Any]:
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
        return {
            "version": v.version,
            "status": v.status,
            "release_table": [vars(line) for line in lines],
        }

    @app.post("/v1/actions/{action}/rollback", openapi_extra=_role("admin"))
    def rollback_action(
        action: Annotated[str, Path(max_length=200)],
        body: ReviewRequest,
        db: WriteDb,
        me: Caller,
    ) -> dict[str, Any]:
        """Bring back the previous champion of an action (admins only)."""
        v = rollback(db, action, actor=me.name, reason=body.comment or "rollback")
        return {"version": v.version, "status": v.status}

    serving = ServingCache(config, gate, max_age=cache_seconds)
    app.state.serving = serving

    @app.post("/v1/decide", openapi_extra=_role("viewer"))
    def decide(body: DecideRequest) -> dict[str, Any]:
        """The next best action for one customer now: score, reasons, eligibility trail, from
        the latest week held in memory (reloaded in the background when it is older than a
        minute; the store is never waited on once a week is loaded). ``recommended`` and
        ``eligible`` are null for inline features: eligibility was not checked. The shadow
        model is scored too and logged, never returned."""
        if (body.relation_id is None) == (body.features is None):
            raise ApiError(422, "invalid_request", "send either relation_id or features")
        try:
            return serving.decide(
                action=body.action, relation_id=body.relation_id, features=body.features
            )
        except InvalidInputError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None

    app.include_router(console_router(config, gate))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)

    return app


__all__ = ["create_app"]
