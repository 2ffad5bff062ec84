"""Making the application: the JSON API's routers, the console, the guards, one error shape.

Every route answers errors in one shape: ``{"error": {"code", "message", "status"}}`` (an HTML
page under ``/console``). The caller is known before anything else happens
(:mod:`nextbest.api._guard`), and the role a route needs is checked before its body is parsed
(:class:`nextbest.api.deps.CallerFirstRoute`). The store is opened per request, read-only for
GET, and closed after it, so a weekly CLI run can take the embedded database between requests;
real-time decisions never open it on the request path.
"""

import contextlib
import os
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from nextbest.api._auth import console_secret, load_tokens
from nextbest.api._db import StoreGate
from nextbest.api._errors import (
    HTTP_CODES,
    ApiError,
    SafeJSONResponse,
    error_json,
    for_nextbest_error,
    log,
)
from nextbest.api._guard import IDENTITY, Guard, is_console
from nextbest.api._serving import ServingCache
from nextbest.api._sessions import Sessions
from nextbest.api.console import console_router, error_page
from nextbest.api.deps import CallerFirstRoute
from nextbest.api.routes import decide, knobs, models, runs
from nextbest.config import Config
from nextbest.errors import NextbestError, StoreError
from nextbest.store import private_files

MAX_BODY_BYTES = 1024 * 1024


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
    gate = StoreGate(config, wait_seconds=store_wait_seconds)
    serving = ServingCache(config, gate, max_age=cache_seconds)

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
    app.router.route_class = CallerFirstRoute
    app.state.config = config
    app.state.gate = gate
    app.state.serving = serving
    app.state.tokens = load_tokens(env)
    app.state.sessions = Sessions(console_secret(env))
    app.state.secure_cookies = secure_cookies
    app.state.max_body_bytes = max_body_bytes
    app.state.store_path = str(config.resolve(config.store.path))
    _prepare_store(gate, min(store_wait_seconds, 2.0))
    # the guard must be outside the body limit: it answers 401 without reading the body
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=max_body_bytes)
    app.add_middleware(Guard, max_body_bytes=max_body_bytes, html_error=error_page)
    _add_error_handlers(app, max_body_bytes=max_body_bytes)
    for module in (runs, models, knobs, decide):
        app.include_router(module.router)
    app.include_router(console_router())
    app.add_api_route("/", _root, include_in_schema=False)
    return app


def _prepare_store(gate: StoreGate, wait_seconds: float) -> None:
    """Create or upgrade the schema once, so that read-only requests find every table."""
    try:
        with gate.open(write=True, wait_seconds=wait_seconds):
            pass
    except StoreError as exc:
        log.warning("store not prepared at start: %s", exc)


def _root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=303)


def _answer(request: Request, status: int, code: str, message: str) -> Response:
    if is_console(request.url.path):
        return error_page(status, code, message, request.scope.get(IDENTITY))
    return error_json(status, code, message)


def _http_message(request: Request, exc: HTTPException, max_body_bytes: int) -> str:
    if exc.status_code == 413:
        return f"the request body is larger than {max_body_bytes} bytes"
    if exc.status_code == 404 and exc.detail == "Not Found":
        return f"no such page or route: {request.url.path[:200]}"
    if exc.status_code == 405:
        return f"{request.method} is not allowed on {request.url.path[:200]}"
    return str(exc.detail)


def _add_error_handlers(app: FastAPI, *, max_body_bytes: int) -> None:
    @app.exception_handler(NextbestError)
    async def _nextbest_error(request: Request, exc: NextbestError) -> Response:
        return _answer(request, *for_nextbest_error(exc))

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return _answer(request, exc.status, exc.code, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if 300 <= exc.status_code < 400 and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = _http_message(request, exc, max_body_bytes)
        return _answer(request, exc.status_code, code, message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _answer(request, 422, "invalid_request", f"{where}: {first['msg']}")


__all__ = ["MAX_BODY_BYTES", "create_app"]
