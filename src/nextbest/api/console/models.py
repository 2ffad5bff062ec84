"""``/console/models``: model versions, a release table between two, promotion, rollback."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from nextbest.api.console._pages import Csrf, Me, back_to, checked, page
from nextbest.api.deps import Db, Gate, ProjectConfig
from nextbest.errors import NextbestError
from nextbest.models import list_versions, rollback
from nextbest.pipeline import effective_config, promote, release_table

router = APIRouter()

Text = Annotated[str, Form(max_length=2000)]
Name = Annotated[str, Form(max_length=200)]


@router.get("/models")
def models_page(
    request: Request,
    db: Db,
    config: ProjectConfig,
    who: Me,
    message: Annotated[str, Query(max_length=2000)] = "",
    candidate: Annotated[str, Query(max_length=200)] = "",
    champion: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    lines: list[Any] = []
    if candidate and champion and candidate != champion:
        try:
            lines = release_table(db, effective_config(db, config), candidate, champion)
        except NextbestError as exc:
            message = str(exc)
    return page(
        request,
        "models.html",
        who,
        versions=list_versions(db),
        message=message,
        lines=lines,
        candidate=candidate,
        champion=champion,
        actions=[a.name for a in config.actions],
    )


@router.post("/models/rollback")
def models_rollback(
    request: Request, csrf: Csrf, gate: Gate, action: Name, reason: Text
) -> Response:
    who = checked(request, csrf, "admin")
    try:
        with gate.open(write=True) as db:
            v = rollback(db, action, actor=who.name, reason=reason)
        message = f"{v.version} is champion again"
    except NextbestError as exc:
        message = str(exc)
    return back_to("/console/models", message)


@router.post("/models/promote")
def models_promote(
    request: Request,
    csrf: Csrf,
    gate: Gate,
    version: Name,
    to: Annotated[str, Form(max_length=20)],
    reason: Text,
    override: Text = "",
) -> Response:
    who = checked(request, csrf, "admin")
    try:
        with gate.project(write=True) as p:
            v, _ = promote(
                p.store,
                p.config,
                version,
                to=to,
                actor=who.name,
                reason=reason,
                override=override or None,
            )
        message = f"{v.version} is now {v.status}"
    except NextbestError as exc:
        message = str(exc)
    return back_to("/console/models", message)
