"""``/console/login`` and ``/console/logout``: a session from an API token, and its end."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nextbest.api._auth import hash_token
from nextbest.api._guard import is_loopback_http
from nextbest.api._sessions import COOKIE
from nextbest.api.console._pages import page, session_of

router = APIRouter()


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html", None, error=None)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
    state = request.app.state
    who = state.tokens.identify(token.strip())
    if who is None:
        return page(request, "login.html", None, error="unknown token")
    cookie = state.sessions.start(hash_token(token.strip()))
    secure = state.secure_cookies
    if secure is None:
        secure = not is_loopback_http(request.scope)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=state.sessions.max_age,
        path="/console",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    session = session_of(request)
    if session is not None:
        request.app.state.sessions.end(session)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response
