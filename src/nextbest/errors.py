"""One error tree for nextbest.

Every error a user can cause derives from :class:`NextbestError`. Messages say what is wrong,
the offending value, and how to fix it. The CLI prints the message on one line (the traceback
only with ``--verbose``). The API answers the same tree in one JSON error shape,
``{"error": {"code", "message", "status"}}``, with the error's ``code`` and an HTTP status by
kind (not found 404; run state, blocked release and halted run 409; config 400; store 503), the
message cleaned of paths and process ids (``nextbest.api._errors``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AlertError",
    "ConfigError",
    "DataContractError",
    "NextbestError",
    "NotFoundError",
    "ReleaseBlockedError",
    "RunHaltedError",
    "RunStateError",
    "SourceFileError",
    "StoreError",
    "did_you_mean",
]


class NextbestError(Exception):
    """Base of every error nextbest raises on purpose."""

    #: short machine-readable code, used by the API error shape and tests
    code = "nextbest_error"


class ConfigError(NextbestError):
    """The project configuration is invalid; the message names the setting and the fix."""

    code = "config_error"


class SourceFileError(NextbestError):
    """An input file cannot be read as a whole (missing, wrong format, missing column)."""

    code = "source_file_error"


class DataContractError(NextbestError):
    """Data violates its contract in a way that cannot be handled row by row."""

    code = "data_contract_error"


class StoreError(NextbestError):
    """The embedded store cannot be opened or is in an unexpected state."""

    code = "store_error"


class ReleaseBlockedError(NextbestError):
    """The release gate refuses a promotion; the message says what to fix or override."""

    code = "release_blocked"


class RunHaltedError(NextbestError):
    """A weekly run stopped on a failed check; the run is recorded as halted, nothing is sent.

    ``run_id`` names the halted run; ``alert_failure`` is the one-line reason the halt alert
    could not be sent (also recorded on the run as an ``alert_failed`` event), or None."""

    code = "run_halted"

    def __init__(
        self, message: str, *, run_id: str | None = None, alert_failure: str | None = None
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.alert_failure = alert_failure


class AlertError(NextbestError):
    """An alert could not be delivered after every attempt; the message names the server."""

    code = "alert_failed"


class RunStateError(NextbestError):
    """The run is not in a state that allows the step (e.g. export before approval)."""

    code = "run_state"


class NotFoundError(NextbestError):
    """Something the user asked for (a date, a table, a run) does not exist."""

    code = "not_found"


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or an empty string.

    >>> did_you_mean("balanse", ["balance", "age"])
    " Did you mean 'balance'?"
    """
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""
