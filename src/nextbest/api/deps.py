"""The dependencies of the routes, as ``Annotated`` aliases: the project's config, the store
(read-only or read-write, per request), the caller, and the role a route needs.

The app keeps its config and its :class:`StoreGate` in ``app.state`` (set by
:func:`nextbest.api.main.create_app`); these read them from the request.
"""

from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from nextbest.api._auth import Identity
from nextbest.api._db import StoreGate
from nextbest.api._guard import IDENTITY
from nextbest.config import Config
from nextbest.store import Store

#: the largest relation number (and any other BIGINT id) a route accepts
MAX_ID = 2**63 - 1


def role(name: str) -> dict[str, Any]:
    """The route's ``openapi_extra``: the role it needs, checked before the body is read."""
    return {"x-role": name}


class CallerFirstRoute(APIRoute):
    """A route that checks the caller's role before FastAPI reads and parses the body (a
    dependency would run only after the body is parsed)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        needed = (self.openapi_extra or {}).get("x-role")
        if needed is None:
            return handler

        async def checked(request: Request) -> Response:
            who = caller(request)
            if not who.can(needed):
                raise HTTPException(403, f"this needs the {needed} role; you are {who.role}")
            return await handler(request)

        return checked


def caller(request: Request) -> Identity:
    """Who is calling (the guard identified them before the app saw the request)."""
    who: Identity | None = request.scope.get(IDENTITY)
    if who is None:
        raise HTTPException(401, "send 'Authorization: Bearer <token>'")
    return who


def gate(request: Request) -> StoreGate:
    """The app's store gate."""
    found: StoreGate = request.app.state.gate
    return found


def config(request: Request) -> Config:
    """The project's config as loaded from its TOML (without the operator's knobs)."""
    found: Config = request.app.state.config
    return found


def reader(request: Request) -> Iterator[Store]:
    """The store, read-only, for one request."""
    with gate(request).open(write=False) as store:
        yield store


def writer(request: Request) -> Iterator[Store]:
    """The store, read-write, for one request."""
    with gate(request).open(write=True) as store:
        yield store


Gate = Annotated[StoreGate, Depends(gate)]
ProjectConfig = Annotated[Config, Depends(config)]
Db = Annotated[Store, Depends(reader)]
WriteDb = Annotated[Store, Depends(writer)]
Caller = Annotated[Identity, Depends(caller)]
RunId = Annotated[str, Path(max_length=200)]

__all__ = [
    "MAX_ID",
    "Caller",
    "CallerFirstRoute",
    "Db",
    "Gate",
    "ProjectConfig",
    "RunId",
    "WriteDb",
    "role",
]
