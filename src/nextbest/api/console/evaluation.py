"""``/console/evaluation``: the measured effect of the runs, and who was selected."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from nextbest.api.console._pages import Me, page
from nextbest.api.deps import Db, ProjectConfig
from nextbest.evaluation import evaluate_runs, selection_by_group
from nextbest.pipeline import decided_run_ids, effective_config

router = APIRouter()


@router.get("/evaluation")
def evaluation_page(request: Request, db: Db, config: ProjectConfig, who: Me) -> HTMLResponse:
    results = evaluate_runs(db, effective_config(db, config))
    run_ids = decided_run_ids(db, 12)
    groups = selection_by_group(db, run_ids) if run_ids else []
    return page(request, "evaluation.html", who, results=results, groups=groups)
