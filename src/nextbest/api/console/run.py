"""``/console/runs/{run_id}``: one run for review, its decisions searchable and as CSV, and
the approve, reject and export forms."""

import io
from typing import Annotated

import pyarrow.csv as pacsv
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nextbest.api._errors import refuse_latest
from nextbest.api.console._pages import Csrf, Me, checked, page
from nextbest.api.deps import MAX_ID, Db, Gate
from nextbest.pipeline import ARMS, decide_review, decisions_page, export_run, review

router = APIRouter()

_PAGE_SIZE = 50


def _relation(q: str) -> int | None:
    """The relation number searched for, if ``q`` is one."""
    wanted = q.strip()
    if wanted.isascii() and wanted.isdigit():  # '²' is a digit to isdigit(), not to int()
        return min(int(wanted), MAX_ID)
    return None


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    run_id: str,
    db: Db,
    who: Me,
    q: Annotated[str, Query(max_length=100)] = "",
    arm: Annotated[str, Query(max_length=20)] = "",
    page_no: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    r = review(db, run_id, sample=10)
    found = decisions_page(
        db,
        r.run_id,
        arm=arm if arm in ARMS else None,
        relation_id=_relation(q),
        page=page_no,
        size=_PAGE_SIZE,
    )
    return page(
        request,
        "run.html",
        who,
        r=r,
        rows=found.items,
        total=found.total,
        q=q,
        arm=arm,
        page_no=page_no,
    )


@router.get("/runs/{run_id}/decisions.csv")
def run_csv(run_id: str, db: Db, who: Me) -> Response:
    rid = review(db, run_id, sample=0).run_id
    table = db.arrow(
        "SELECT relation_id, action, arm, score, rank, first_failed_rule, "
        "reasons FROM decisions WHERE run_id = ? ORDER BY relation_id",
        [rid],
    )
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return Response(
        buf.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{rid}.csv"'},
    )


@router.post("/runs/{run_id}/{step}")
def run_step(
    request: Request,
    run_id: str,
    step: str,
    csrf: Csrf,
    gate: Gate,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    who = checked(request, csrf, "operator")
    if step not in ("approve", "reject", "export"):
        raise HTTPException(404, f"no step '{step}'")
    refuse_latest(run_id, step)
    with gate.project(write=True) as p:
        if step == "export":
            export_run(p.store, p.config, run_id, actor=who.name)
        else:
            decide_review(
                p.store, run_id, approve=step == "approve", actor=who.name, comment=comment
            )
    return RedirectResponse(f"/console/runs/{run_id}", status_code=303)
