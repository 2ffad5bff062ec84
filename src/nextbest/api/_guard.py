"""The outer layer of every request: know the caller first, bound the body, add the headers.

A plain ASGI middleware, so that it runs before FastAPI reads a body or opens the store:

* ``/v1/...`` needs a known bearer token, else 401 at once; ``/console/...`` (but the login
  page and the chart library) needs a live session whose token is still in the token table,
  else a redirect to the login. Neither looks at the body or the store.
* a body announced as larger than the limit is refused with 413 before it is read (a body
  without a length is counted as it comes in, by Starlette's ``RequestBodyLimitMiddleware``
  inside this one);
* every response gets the security headers; an unexpected exception becomes a 500 in the
  error shape (the traceback goes to the log, never to the caller).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nextbest.api._auth import Identity
from nextbest.api._errors import INTERNAL, error_json, log
from nextbest.api._sessions import COOKIE

IDENTITY = "nextbest.identity"
SESSION = "nextbest.session"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
_CONSOLE_OPEN = ("/console/login", "/console/static/")

#: (status, code, message, who) → the console's HTML error page
HtmlError = Callable[[int, str, str, Identity | None], Response]


def is_console(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


def is_loopback_http(scope: Scope) -> bool:
    """True for plain http served on a loopback address (a developer's own machine)."""
    if scope.get("scheme") != "http":
        return False
    host = str((scope.get("server") or ("", 0))[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """Authentication, body limit, headers and the last-resort error, around the app."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, html_error: HtmlError) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.html_error = html_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        path: str = scope["path"]
        try:
            refusal = self._refuse(scope, path)
            if refusal is not None:
                await refusal(scope, receive, send_with_headers)
                return
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), path)
            if not started:
                response = self._error(path, 500, "internal_error", INTERNAL, scope)
                await response(scope, receive, send_with_headers)

    def _refuse(self, scope: Scope, path: str) -> Response | None:
        """The answer when the request must go no further, else None (and the caller is in
        the scope)."""
        state = scope["app"].state
        if path == "/v1" or path.startswith("/v1/"):
            header = Headers(scope=scope).get("authorization", "")
            if header[:7].lower() != "bearer ":
                return error_json(
                    401,
                    "unauthorized",
                    "send 'Authorization: Bearer <token>'",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            identity = state.tokens.identify(header[7:].strip())
            if identity is None:
                return error_json(
                    401, "unauthorized", "unknown token", headers={"WWW-Authenticate": "Bearer"}
                )
            scope[IDENTITY] = identity
        elif is_console(path) and not path.startswith(_CONSOLE_OPEN):
            sessions = state.sessions
            session = sessions.find(Request(scope).cookies.get(COOKIE))
            who = sessions.who(session, state.tokens) if session is not None else None
            if who is None:
                response = RedirectResponse("/console/login", status_code=303)
                if COOKIE in Request(scope).cookies:
                    response.delete_cookie(COOKIE, path="/console")
                return response
            scope[IDENTITY], scope[SESSION] = who, session
        length = Headers(scope=scope).get("content-length")
        if length is not None and not (length.isascii() and length.isdigit()):
            return self._error(path, 400, "bad_request", "Content-Length is not a number", scope)
        if length is not None and int(length) > self.max_body_bytes:
            return self._error(
                path,
                413,
                "too_large",
                f"the request body is larger than {self.max_body_bytes} bytes",
                scope,
            )
        return None

    def _error(self, path: str, status: int, code: str, message: str, scope: Scope) -> Response:
        if is_console(path):
            return self.html_error(status, code, message, scope.get(IDENTITY))
        return error_json(status, code, message)
