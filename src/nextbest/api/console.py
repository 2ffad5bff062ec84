"""The operator console: server-rendered pages on the same functions as the CLI.

Login with an API token; the session is a signed cookie (HMAC over name, role and expiry with a
secret from ``NEXTBEST_SECRET`` or, if unset, one made at start). Every form that changes state
carries a CSRF token derived from the session, checked on POST. No CDN: the chart library is
served from the installed Plotly package.
"""

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator, Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from nextbest.api._auth import Identity, identify
from nextbest.config import Config
from nextbest.errors import NextbestError
from nextbest.models import list_versions, rollback
from nextbest.pipeline import (
    KNOBS,
    action_enabled,
    decide_review,
    effective_config,
    explain_customer,
    export_run,
    knob_log,
    list_runs,
    promote,
    release_table,
    review,
    set_knob,
)
from nextbest.store import Store, open_store

_COOKIE = "nb_session"
_HOURS = 8


class _Session:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def sign(self, who: Identity) -> str:
        payload = f"{who.name}|{who.role}|{int(time.time()) + _HOURS * 3600}"
        mac = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()
        return f"{payload}|{mac}"

    def read(self, value: str | None) -> Identity | None:
        if not value or value.count("|") != 3:
            return None
        name, role, expiry, mac = value.split("|")
        payload = f"{name}|{role}|{expiry}"
        good = hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, mac) or int(expiry) < time.time():
            return None
        return Identity(name, role)

    def csrf(self, value: str) -> str:
        return hmac.new(self.secret, b"csrf|" + value.encode(), hashlib.sha256).hexdigest()


def console_router(
    config: Config, tokens: dict[str, Identity], environ: Mapping[str, str]
) -> APIRouter:
    secret = environ.get("NEXTBEST_SECRET", "").encode() or secrets.token_bytes(32)
    session = _Session(secret)
    env = Environment(
        loader=PackageLoader("nextbest.api", "templates"), autoescape=select_autoescape(["html"])
    )
    router = APIRouter(prefix="/console", include_in_schema=False)

    def store() -> Iterator[Store]:
        with open_store(config) as s:
            yield s

    def page(request: Request, name: str, who: Identity | None, **ctx: Any) -> HTMLResponse:
        cookie = request.cookies.get(_COOKIE, "")
        html = env.get_template(name).render(
            who=who, csrf=session.csrf(cookie) if cookie else "", **ctx
        )
        return HTMLResponse(html)

    def me(request: Request) -> Identity:
        who = session.read(request.cookies.get(_COOKIE))
        if who is None:
            raise HTTPException(303, headers={"Location": "/console/login"})
        return who

    def checked(request: Request, csrf: str, role: str) -> Identity:
        who = me(request)
        cookie = request.cookies.get(_COOKIE, "")
        if not hmac.compare_digest(session.csrf(cookie), csrf):
            raise HTTPException(403, "the form is stale or forged (CSRF check failed)")
        if not who.can(role):
            raise HTTPException(403, f"this needs the {role} role; you are {who.role}")
        return who

    Db = Annotated[Store, Depends(store)]
    Me = Annotated[Identity, Depends(me)]

    @router.get("/login")
    def login_form(request: Request) -> HTMLResponse:
        return page(request, "login.html", None, error=None)

    @router.post("/login")
    def login(request: Request, token: Annotated[str, Form()]) -> Response:
        who = identify(tokens, token.strip())
        if who is None:
            return page(request, "login.html", None, error="unknown token")
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(
            _COOKIE, session.sign(who), httponly=True, samesite="strict", max_age=_HOURS * 3600
        )
        return response

    @router.post("/logout")
    def logout() -> Response:
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(_COOKIE)
        return response

    @router.get("")
    def dashboard(request: Request, db: Db, who: Me) -> HTMLResponse:
        runs = list_runs(db)
        latest = review(db, runs[0]["run_id"], sample=0) if runs else None
        action = config.actions[0]
        volume = [{"run": r["run_id"], "selected": r["selected"]} for r in reversed(runs)]
        return page(
            request,
            "dashboard.html",
            who,
            runs=runs,
            latest=latest,
            volume=json.dumps(volume),
            band=[action.min_weekly, action.max_weekly],
        )

    @router.get("/runs/{run_id}")
    def run_page(
        request: Request, run_id: str, db: Db, who: Me, q: str = "", arm: str = "", page_no: int = 1
    ) -> HTMLResponse:
        r = review(db, run_id, sample=10)
        where, args = "run_id = ?", [r["run_id"]]
        if arm in ("treat", "holdout", "explore", "none"):
            where += " AND arm = ?"
            args.append(arm)
        if q.strip().isdigit():
            where += " AND relation_id = ?"
            args.append(int(q.strip()))
        total = int(db.scalar(f"SELECT count(*) FROM decisions WHERE {where}", args))
        rows = db.arrow(
            "SELECT relation_id, action, arm, score, rank, first_failed_rule, reasons "
            f"FROM decisions WHERE {where} ORDER BY rank NULLS LAST, relation_id "
            "LIMIT 50 OFFSET ?",
            [*args, (max(page_no, 1) - 1) * 50],
        ).to_pylist()
        return page(
            request,
            "run.html",
            who,
            r=r,
            rows=rows,
            total=total,
            q=q,
            arm=arm,
            page_no=max(page_no, 1),
        )

    @router.get("/runs/{run_id}/decisions.csv")
    def run_csv(run_id: str, db: Db, who: Me) -> Response:
        import io

        import pyarrow.csv as pacsv

        rid = review(db, run_id, sample=0)["run_id"]
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
        db: Db,
        csrf: Annotated[str, Form()],
        comment: Annotated[str, Form()] = "",
    ) -> Response:
        who = checked(request, csrf, "operator")
        if step in ("approve", "reject"):
            decide_review(db, run_id, approve=step == "approve", actor=who.name, comment=comment)
        elif step == "export":
            export_run(db, effective_config(db, config), run_id, actor=who.name)
        else:
            raise HTTPException(404, f"no step '{step}'")
        return RedirectResponse(f"/console/runs/{run_id}", status_code=303)

    @router.get("/customers/{relation_id}")
    def customer(
        request: Request, relation_id: int, db: Db, who: Me, run: str = "latest"
    ) -> HTMLResponse:
        info = explain_customer(db, effective_config(db, config), run, relation_id)
        contacts = db.fetchall(
            "SELECT contact_date, action, arm, run_id FROM contacts WHERE relation_id = ? "
            "ORDER BY contact_date DESC",
            [relation_id],
        )
        return page(
            request, "customer.html", who, info=info, contacts=contacts, relation_id=relation_id
        )

    @router.get("/models")
    def models_page(
        request: Request,
        db: Db,
        who: Me,
        message: str = "",
        candidate: str = "",
        champion: str = "",
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
        request: Request,
        db: Db,
        csrf: Annotated[str, Form()],
        action: Annotated[str, Form()],
        reason: Annotated[str, Form()],
    ) -> Response:
        who = checked(request, csrf, "admin")
        try:
            v = rollback(db, action, actor=who.name, reason=reason)
            message = f"{v.version} is champion again"
        except NextbestError as exc:
            message = str(exc)
        return RedirectResponse(f"/console/models?message={quote(message)}", status_code=303)

    @router.post("/models/promote")
    def models_promote(
        request: Request,
        db: Db,
        csrf: Annotated[str, Form()],
        version: Annotated[str, Form()],
        to: Annotated[str, Form()],
        reason: Annotated[str, Form()],
        override: Annotated[str, Form()] = "",
    ) -> Response:
        who = checked(request, csrf, "admin")
        try:
            v, _ = promote(
                db, config, version, to=to, actor=who.name, reason=reason, override=override or None
            )
            message = f"{v.version} is now {v.status}"
        except NextbestError as exc:
            message = str(exc)
        return RedirectResponse(f"/console/models?message={quote(message)}", status_code=303)

    @router.get("/knobs")
    def knobs_page(request: Request, db: Db, who: Me, message: str = "") -> HTMLResponse:
        eff = effective_config(db, config)
        knobs = {
            a.name: {
                k: (action_enabled(db, a.name) if k == "enabled" else getattr(a, k)) for k in KNOBS
            }
            for a in eff.actions
        }
        return page(
            request,
            "knobs.html",
            who,
            knobs=knobs,
            descriptions=KNOBS,
            log=knob_log(db),
            message=message,
        )

    @router.post("/knobs")
    def knobs_set(
        request: Request,
        db: Db,
        csrf: Annotated[str, Form()],
        action: Annotated[str, Form()],
        knob: Annotated[str, Form()],
        value: Annotated[str, Form()],
        reason: Annotated[str, Form()],
    ) -> Response:
        who = checked(request, csrf, "admin")
        try:
            old, new, warning = set_knob(
                db, config, action, knob, value, actor=who.name, reason=reason
            )
            message = f"{action}.{knob}: {old} → {new}" + (
                f". Warning: {warning}" if warning else ""
            )
        except NextbestError as exc:
            message = str(exc)
        return RedirectResponse(f"/console/knobs?message={quote(message)}", status_code=303)

    @router.get("/evaluation")
    def evaluation_page(request: Request, db: Db, who: Me) -> HTMLResponse:
        from nextbest.evaluation import evaluate_runs, selection_by_group

        results = evaluate_runs(db, effective_config(db, config))
        run_ids = [
            r[0]
            for r in db.fetchall(
                "SELECT run_id FROM runs WHERE status NOT IN ('halted', 'skipped') "
                "ORDER BY snapshot_date DESC LIMIT 12"
            )
        ]
        groups = selection_by_group(db, run_ids) if run_ids else []
        return page(request, "evaluation.html", who, results=results, groups=groups)

    @router.get("/alerts")
    def alerts_page(request: Request, db: Db, who: Me) -> HTMLResponse:
        alerts = db.fetchall(
            "SELECT run_id, snapshot_date, created_at, halted_reason FROM runs "
            "WHERE status = 'halted' ORDER BY created_at DESC"
        )
        return page(request, "alerts.html", who, alerts=alerts)

    @router.get("/static/plotly.js")
    def plotly_js() -> Response:
        from plotly.offline import get_plotlyjs

        return Response(
            get_plotlyjs(),
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )

    return router
