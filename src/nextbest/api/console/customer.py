"""``/console/customers/{relation_id}``: why a customer got their arm, and their contacts."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from nextbest.api.console._pages import Me, page
from nextbest.api.deps import MAX_ID, Db, ProjectConfig
from nextbest.pipeline import effective_config, explain_customer

router = APIRouter()


@router.get("/customers/{relation_id}")
def customer(
    request: Request,
    relation_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    db: Db,
    config: ProjectConfig,
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
