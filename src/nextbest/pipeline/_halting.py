"""A weekly run that halts: the week's one halted record, its checks, an event, the alert.

A week that halted keeps one record: a retry that halts again updates it (every attempt is a
``run_events`` row), and a retry that gets through becomes that record.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import NoReturn

from nextbest.checks import Check
from nextbest.config import Config
from nextbest.errors import RunHaltedError
from nextbest.pipeline._alerting import notify_halt
from nextbest.pipeline._persist import config_hash, input_fingerprints
from nextbest.pipeline._runs import (
    RunRecord,
    insert_checks,
    insert_run,
    next_run_id,
    record_event,
    replace_halted_run,
    run_exists,
)
from nextbest.store import Store


def halt(
    store: Store,
    config: Config,
    *,
    day: dt.date,
    seed: int,
    checks: list[Check],
    models: dict[str, str],
    alert: bool,
    actor: str,
    when: str | None,
) -> NoReturn:
    """Record the halted run, send the alert (when ``alert``), and stop with a one-line reason.

    ``when`` says at which step the run halted (``"before deciding"``); ``None`` for a late
    week, whose reason is the freshness check's own message.
    """
    run_id = _record_halt(
        store, config, day=day, seed=seed, checks=checks, models=models, actor=actor
    )
    alert_failure = (
        notify_halt(store, config, run_id=run_id, day=day, checks=checks) if alert else None
    )
    failed = [c for c in checks if c.verdict == "halt"]
    if when is None:
        message = f"run {run_id} halted ({failed[0].name}): {failed[0].message}"
    else:
        names = ", ".join(c.name for c in failed)
        message = f"run {run_id} halted {when} ({names}); see 'nextbest review {run_id}'"
    raise RunHaltedError(message, run_id=run_id, alert_failure=alert_failure)


def _record_halt(
    store: Store,
    config: Config,
    *,
    day: dt.date,
    seed: int,
    checks: list[Check],
    models: dict[str, str],
    actor: str,
) -> str:
    """The halt in the week's halted record (updated by a retry, created on the first halt)
    with this attempt's checks and an event; returns the run id."""
    reason = "; ".join(f"{c.name}: {c.message}" for c in checks if c.verdict == "halt")
    with store.transaction():
        run_id = next_run_id(store, day)
        record = RunRecord(
            run_id=run_id,
            snapshot_date=day,
            status="halted",
            seed=seed,
            config_hash=config_hash(config),
            inputs=json.dumps(input_fingerprints(store, day), sort_keys=True),
            models=json.dumps(models, sort_keys=True),
            config_json=config.model_dump_json(exclude={"source_path"}),
            halted_reason=reason,
            started_by=actor,
        )
        if run_exists(store, run_id):
            replace_halted_run(store, record)
        else:
            insert_run(store, record)
        insert_checks(store, run_id, checks)
        record_event(store, run_id, "halted", actor, reason)
    return run_id
