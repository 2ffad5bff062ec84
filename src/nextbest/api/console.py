"""The operator console: server-rendered pages on the same functions as the CLI.

Login with an API token starts a server-side session (:mod:`nextbest.api._sessions`); the
guard in front of the app (:mod:`nextbest.api._guard`) checks it against the current token
table on every request. Every form that changes state carries the session's CSRF token, checked
on POST. Pages read the store read-only; only the forms that change something open it for
writing. No inline script and no CDN: the chart library is served from the installed Plotly
package, the page's own script from here, and its data sits in a JSON block.
"""

from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from nextbest.api._auth import Identity, hash_token
from nextbest.api._db import StoreGate
from nextbest.api._errors import clean, refuse_latest
from nextbest.api._guard import IDENTITY, SESSION, is_loopback_http
from nextbest.api._sessions import COOKIE, Session
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
    undelivered_alerts,
)
from nextbest.store import Store

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
_MAX_ID = 2**63 - 1
_DASHBOARD_JS = """\
const chart = JSON.parse(document.getElementById("volume-data").textContent);
const v = chart.volume, band = chart.band;
Plotly.newPlot("volume", [
  {x: v.map(r => r.run), y: v.map(r => r.selected), type: "bar", name: "selected"},
  {x: v.map(r => r.run), y: v.map(() => band[1]), mode: "lines", name: "weekly maximum"},
  {x: v.map(r => r.run), y: v.map(() => band[0]), mode: "lines", name: "weekly minimum"}
], {margin: {t: 10}});
"""


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


def _session(request: Request) -> Session | None:
    session: Session | None = request.scope.get(SESSION)
    return session


def console_router(config: Config, gate: StoreGate) -> APIRouter:
    router = APIRouter(prefix="/console", include_in_schema=False)

    def reader() -> Iterator[Store]:
        with gate.open(write=False) as s:
            yield s

    def page(request: Request, name: str, who: Identity | None, **ctx: Any) -> HTMLResponse:
        session = _session(request)
        html = _ENV.get_template(name).render(who=who, csrf=session.csrf if session else "", **ctx)
        return HTMLResponse(html)

    def me(request: Request) -> Identity:
        who: Identity | None = request.scope.get(IDENTITY)
        if who is None:  # the guard lets no such request through; never trust that alone
            raise HTTPException(303, headers={"Location": "/console/login"})
        return who

    def checked(request: Request, csrf: str, role: str) -> Identity:
        who = me(request)
        session = _session(request)
        if session is None or not request.app.state.sessions.csrf_ok(session, csrf):
            raise HTTPException(403, "the form is stale or forged (CSRF check failed)")
        if not who.can(role):
            raise HTTPException(403, f"this needs the {role} role; you are {who.role}")
        return who

    Db = Annotated[Store, Depends(reader)]
    Me = Annotated[Identity, Depends(me)]
    Csrf = Annotated[str, Form(max_length=200)]

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
        session = _session(request)
        if session is not None:
            request.app.state.sessions.end(session)
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    @router.get("")
    def dashboard(request: Request, db: Db, who: Me) -> HTMLResponse:
        runs = list_runs(db)
        latest = review(db, runs[0]["run_id"], sample=0) if runs else None
        # the band the latest run was decided with (its recorded settings, knobs included);
        # with no decided run yet, today's effective config
        settings = (latest or {}).get("settings") or {}
        if settings:
            first = next(iter(settings.values()))
            band = [first["min_weekly"], first["max_weekly"]]
        else:
            action = effective_config(db, config).actions[0]
            band = [action.min_weekly, action.max_weekly]
        volume = [{"run": r["run_id"], "selected": r["selected"]} for r in reversed(runs)]
        return page(
            request,
            "dashboard.html",
            who,
            runs=runs,
            latest=latest,
            chart={"volume": volume, "band": band},
        )

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
        where, args = "run_id = ?", [r["run_id"]]
        if arm in ("treat", "holdout", "explore", "none"):
            where += " AND arm = ?"
            args.append(arm)
        wanted = q.strip()
        if wanted.isascii() and wanted.isdigit():  # '²' is a digit to isdigit(), not to int()
            where += " AND relation_id = ?"
            args.append(min(int(wanted), _MAX_ID))
        total = int(db.scalar(f"SELECT count(*) FROM decisions WHERE {where}", args))
        rows = db.arrow(
            "SELECT relation_id, action, arm, score, rank, first_failed_rule, reasons "
            f"FROM decisions WHERE {where} ORDER BY rank NULLS LAST, relation_id "
            "LIMIT 50 OFFSET ?",
            [*args, (page_no - 1) * 50],
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
            page_no=page_no,
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
        csrf: Csrf,
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

    @router.get("/customers/{relation_id}")
    def customer(
        request: Request,
        relation_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
        db: Db,
        who: Me,
        run: Annotated[str, Query(max_length=100)] = "latest",
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
        request: Request,
        csrf: Csrf,
        action: Annotated[str, Form(max_length=200)],
        reason: Annotated[str, Form(max_length=2000)],
    ) -> Response:
        who = checked(request, csrf, "admin")
        try:
            with gate.open(write=True) as db:
                v = rollback(db, action, actor=who.name, reason=reason)
            message = f"{v.version} is champion again"
        except NextbestError as exc:
            message = str(exc)
        return RedirectResponse(f"/console/models?message={quote(message)}", status_code=303)

    @router.post("/models/promote")
    def models_promote(
        request: Request,
        csrf: Csrf,
        version: Annotated[str, Form(max_length=200)],
        to: Annotated[str, Form(max_length=20)],
        reason: Annotated[str, Form(max_length=2000)],
        override: Annotated[str, Form(max_length=2000)] = "",
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
        return RedirectResponse(f"/console/models?message={quote(message)}", status_code=303)

    @router.get("/knobs")
    def knobs_page(
        request: Request, db: Db, who: Me, message: Annotated[str, Query(max_length=2000)] = ""
    ) -> HTMLResponse:
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
        csrf: Csrf,
        action: Annotated[str, Form(max_length=200)],
        knob: Annotated[str, Form(max_length=200)],
        value: Annotated[str, Form(max_length=200)],
        reason: Annotated[str, Form(max_length=2000)],
    ) -> Response:
        who = checked(request, csrf, "admin")
        try:
            with gate.open(write=True) as db:
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
        undelivered = undelivered_alerts(db)
        return page(request, "alerts.html", who, alerts=alerts, undelivered=undelivered)

    @router.get("/static/dashboard.js")
    def dashboard_js() -> Response:
        return Response(
            _DASHBOARD_JS,
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )

    @router.get("/static/plotly.js")
    def plotly_js() -> Response:
        from plotly.offline import get_plotlyjs

        return Response(
            get_plotlyjs(),
            media_type="application/javascript",
            headers={"Cache-Control": "max-age=86400"},
        )

    return router
