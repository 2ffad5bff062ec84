"""``/v1/knobs``: the operator's knobs per action, their change log, and changing one."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from nextbest.api.deps import Caller, CallerFirstRoute, Gate, ProjectConfig, WriteDb, role
from nextbest.pipeline import knob_log, knob_table, knob_values, set_knob

router = APIRouter(prefix="/v1/knobs", tags=["knobs"], route_class=CallerFirstRoute)

KnobValue = bool | int | float


class KnobChange(BaseModel):
    at: str
    action: str
    knob: str
    old: str | None
    new: str
    by: str
    reason: str


class Knobs(BaseModel):
    values: dict[str, dict[str, KnobValue]] = Field(description="{action: {knob: value}}")
    log: list[KnobChange]


class KnobRequest(BaseModel):
    action: str = Field(max_length=200)
    knob: str = Field(max_length=200)
    value: str = Field(max_length=200, description="JSON value, e.g. 0.04, 800, false")
    reason: str = Field(min_length=1, max_length=2000)


class KnobSet(BaseModel):
    action: str
    knob: str
    old: KnobValue | None
    new: KnobValue
    warning: str | None


@router.get("", openapi_extra=role("viewer"))
def knobs(gate: Gate) -> Knobs:
    """Current knob values per action, and the change log."""
    with gate.project(write=False) as p:
        values = knob_values(knob_table(p.store, p.config))
        log = knob_log(p.store)
    return Knobs(values=values, log=[KnobChange(**{**e, "at": str(e["at"])}) for e in log])


@router.post("", openapi_extra=role("admin"))
def change_knob(body: KnobRequest, db: WriteDb, config: ProjectConfig, me: Caller) -> KnobSet:
    """Change one knob (admins only); logged with who, old → new and why."""
    old, new, warning = set_knob(
        db, config, body.action, body.knob, body.value, actor=me.name, reason=body.reason
    )
    return KnobSet(action=body.action, knob=body.knob, old=old, new=new, warning=warning)
