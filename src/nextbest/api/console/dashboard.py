"""``/console``: the runs, the latest run's checks, and the weekly volume against its band."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from nextbest.api.console._pages import Me, page
from nextbest.api.deps import Db, ProjectConfig
from nextbest.pipeline import effective_config, list_runs, review

router = APIRouter()


@router.get("")
def dashboard(request: Request, db: Db, config: ProjectConfig, who: Me) -> HTMLResponse:
    runs = list_runs(db)
    latest = review(db, runs[0]["run_id"], sample=0) if runs else None
    # the band the latest run was decided with (its recorded settings, knobs included);
    # with no decided run yet, today's effective config
    settings = latest.settings if latest else {}
    if settings:
        first = next(iter(settings.values()))
        band = [first.min_weekly, first.max_weekly]
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
