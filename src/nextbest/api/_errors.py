"""One error shape for every answer that is not a success.

``{"error": {"code", "message", "status"}}`` for the JSON API, an HTML page with the console's
navigation for ``/console``. Messages never carry absolute paths, process ids or tracebacks:
those go to the server log only.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any

from fastapi.responses import JSONResponse

from nextbest.errors import (
    ConfigError,
    NextbestError,
    NotFoundError,
    ReleaseBlockedError,
    RunHaltedError,
    RunStateError,
    StoreError,
)

log = logging.getLogger("nextbest.api")

_STATUS: dict[type[NextbestError], int] = {
    NotFoundError: 404,
    RunStateError: 409,
    ReleaseBlockedError: 409,
    RunHaltedError: 409,
    ConfigError: 400,
    StoreError: 503,
}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    413: "too_large",
    422: "invalid_request",
}
STORE_BUSY = "the store is busy with another nextbest process; try again shortly"
INTERNAL = "an unexpected error occurred; the server log has the details"

#: a file system path (two or more segments), but not a route of this API or the console
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?!/v1/|/console\b)(?:/[\w.@+-]+){2,}/?")
_PID = re.compile(r"\(?\bpid\b\s*[:=]?\s*\d+\)?", re.IGNORECASE)


class ApiError(Exception):
    """An answer in the error shape with its own code (raised by the routes)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def refuse_latest(run_id: str, step: str) -> None:
    """State changes name their run (API and console): 'latest' is refused with a 422."""
    if run_id.strip().lower() == "latest":
        raise ApiError(
            422,
            "run_not_named",
            f"name the run to {step}: 'latest' is not accepted for a change, so that what you "
            "checked is what you change; use the run id (GET /v1/runs lists them)",
        )


class SafeJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped, so any string (even a lone surrogate someone sent) can be
    written back."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        except ValueError:  # NaN or infinity somewhere: JSON has no such numbers, null it is
            text = json.dumps(_finite(content), ensure_ascii=True, separators=(",", ":"))
        return text.encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def clean(message: str) -> str:
    """A message fit to show a caller: no absolute paths, no process ids, printable."""
    message = _ABSOLUTE_PATH.sub(
        lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], message
    )
    message = _PID.sub("", message)
    return message.encode("utf-8", "backslashreplace").decode("utf-8")[:2000]


def for_nextbest_error(exc: NextbestError) -> tuple[int, str, str]:
    """(status, code, message) for an error of nextbest's own tree."""
    status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
    if isinstance(exc, StoreError):
        log.warning("store: %s", exc)
        busy = "another nextbest process" in str(exc).lower()
        if busy:
            return 503, "store_busy", STORE_BUSY
        return 503, "store_error", "the store cannot be opened; the server log has the details"
    return status, exc.code, clean(str(exc))


def error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": clean(message), "status": status}}


def error_json(status: int, code: str, message: str, **kwargs: Any) -> SafeJSONResponse:
    return SafeJSONResponse(error_body(status, code, message), status_code=status, **kwargs)
