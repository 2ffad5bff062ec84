"""What every console page shares: the templates, rendering, the error page, the signed-in
caller and the CSRF check of a form."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from nextbest.api._auth import Identity
from nextbest.api._errors import clean
from nextbest.api._guard import IDENTITY, SESSION
from nextbest.api._sessions import Session

_ENV = Environment(
    loader=PackageLoader("nextbest.api", "templates"), autoescape=select_autoescape(["html"])
)
_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Not now",
    413: "Too large",
    422: "That did not work",
    500: "Something went wrong",
    503: "Busy",
}


def error_page(status: int, code: str, message: str, who: Identity | None) -> HTMLResponse:
    """The console's error page: the message, with the console's navigation."""
    html = _ENV.get_template("error.html").render(
        who=who,
        csrf="",
        status=status,
        code=code,
        title=_TITLES.get(status, "That did not work"),
        message=clean(message),
    )
    return HTMLResponse(html, status_code=status)


def session_of(request: Request) -> Session | None:
    """The request's console session, if it has one."""
    session: Session | None = request.scope.get(SESSION)
    return session


def page(request: Request, name: str, who: Identity | None, **ctx: Any) -> HTMLResponse:
    """Template ``name`` rendered for ``who``, with the session's CSRF token for its forms."""
    session = session_of(request)
    html = _ENV.get_template(name).render(who=who, csrf=session.csrf if session else "", **ctx)
    return HTMLResponse(html)


def me(request: Request) -> Identity:
    """The signed-in caller."""
    who: Identity | None = request.scope.get(IDENTITY)
    if who is None:  # the guard lets no such request through; never trust that alone
        raise HTTPException(303, headers={"Location": "/console/login"})
    return who


def checked(request: Request, csrf: str, role: str) -> Identity:
    """The caller of a form that changes state: its CSRF token valid, the role held."""
    who = me(request)
    session = session_of(request)
    if session is None or not request.app.state.sessions.csrf_ok(session, csrf):
        raise HTTPException(403, "the form is stale or forged (CSRF check failed)")
    if not who.can(role):
        raise HTTPException(403, f"this needs the {role} role; you are {who.role}")
    return who


def back_to(path: str, message: str) -> RedirectResponse:
    """After a form: back to the page ``path``, which shows ``message``."""
    return RedirectResponse(f"{path}?message={quote(message)}", status_code=303)


Me = Annotated[Identity, Depends(me)]
Csrf = Annotated[str, Form(max_length=200)]
