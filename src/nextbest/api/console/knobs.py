"""``/console/knobs``: the operator's knobs per action, their log, and changing one."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from nextbest.api.console._pages import Csrf, Me, back_to, checked, page
from nextbest.api.deps import Db, Gate, ProjectConfig
from nextbest.errors import NextbestError
from nextbest.pipeline import KNOBS, effective_config, knob_log, knob_table, knob_values, set_knob

router = APIRouter()

Name = Annotated[str, Form(max_length=200)]


@router.get("/knobs")
def knobs_page(
    request: Request,
    db: Db,
    config: ProjectConfig,
    who: Me,
    message: Annotated[str, Query(max_length=2000)] = "",
) -> HTMLResponse:
    return page(
        request,
        "knobs.html",
        who,
        knobs=knob_values(knob_table(db, effective_config(db, config))),
        descriptions=KNOBS,
        log=knob_log(db),
        message=message,
    )


@router.post("/knobs")
def knobs_set(
    request: Request,
    csrf: Csrf,
    gate: Gate,
    config: ProjectConfig,
    action: Name,
    knob: Name,
    value: Name,
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    who = checked(request, csrf, "admin")
    try:
        with gate.open(write=True) as db:
            old, new, warning = set_knob(
                db, config, action, knob, value, actor=who.name, reason=reason
            )
        message = f"{action}.{knob}: {old} → {new}" + (f". Warning: {warning}" if warning else "")
    except NextbestError as exc:
        message = str(exc)
    return back_to("/console/knobs", message)
