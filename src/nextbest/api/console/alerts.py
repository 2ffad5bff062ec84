"""``/console/alerts``: halted runs, and alerts that could not be delivered."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from nextbest.api.console._pages import Me, page
from nextbest.api.deps import Db
from nextbest.pipeline import halted_runs, undelivered_alerts

router = APIRouter()


@router.get("/alerts")
def alerts_page(request: Request, db: Db, who: Me) -> HTMLResponse:
    alerts = halted_runs(db)
    undelivered = undelivered_alerts(db)
    return page(request, "alerts.html", who, alerts=alerts, undelivered=undelivered)
