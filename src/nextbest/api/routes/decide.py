"""``/v1/decide``: the next best action for one customer now, from the week held in memory."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from nextbest.api._errors import ApiError
from nextbest.api._serving import Decision, InvalidInputError, ServingCache
from nextbest.api.deps import MAX_ID, CallerFirstRoute, role

router = APIRouter(prefix="/v1/decide", tags=["decide"], route_class=CallerFirstRoute)


def serving(request: Request) -> ServingCache:
    """The app's real-time cache."""
    found: ServingCache = request.app.state.serving
    return found


Serving = Annotated[ServingCache, Depends(serving)]


class DecideRequest(BaseModel):
    relation_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Decide from the latest snapshot."
    )
    features: dict[str, float | None] | None = Field(
        default=None,
        max_length=100,
        description="Or decide from these feature values (checked against the snapshot "
        "contract's ranges; no NaN or infinities).",
    )
    action: str | None = Field(default=None, max_length=200, description="Default: the first.")


@router.post("", openapi_extra=role("viewer"))
def decide(body: DecideRequest, cache: Serving) -> Decision:
    """The next best action for one customer now: score, reasons, eligibility trail, from
    the latest week held in memory (reloaded in the background when it is older than a
    minute; the store is never waited on once a week is loaded). ``recommended`` and
    ``eligible`` are null for inline features: eligibility was not checked. The shadow
    model is scored too and logged, never returned."""
    if (body.relation_id is None) == (body.features is None):
        raise ApiError(422, "invalid_request", "send either relation_id or features")
    try:
        return cache.decide(
            action=body.action, relation_id=body.relation_id, features=body.features
        )
    except InvalidInputError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
