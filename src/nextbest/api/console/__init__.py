"""The operator console: server-rendered pages on the same functions as the CLI, one module
per page.

Login with an API token starts a server-side session (:mod:`nextbest.api._sessions`); the
guard in front of the app (:mod:`nextbest.api._guard`) checks it against the current token
table on every request. Every form that changes state carries the session's CSRF token, checked
on POST. Pages read the store read-only; only the forms that change something open it for
writing. No inline script and no CDN: the chart library is served from the installed Plotly
package, the page's own script from here, and its data sits in a JSON block.
"""

from fastapi import APIRouter

from nextbest.api.console import (
    alerts,
    customer,
    dashboard,
    evaluation,
    knobs,
    login,
    models,
    run,
    static,
)
from nextbest.api.console._pages import error_page

_PAGES = (login, dashboard, run, customer, models, knobs, evaluation, alerts, static)


def console_router() -> APIRouter:
    """Every console page under ``/console``."""
    router = APIRouter(include_in_schema=False)
    for module in _PAGES:
        router.include_router(module.router, prefix="/console")
    return router


__all__ = ["console_router", "error_page"]
