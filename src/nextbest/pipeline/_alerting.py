"""Halt alerts as part of the run's record: a halt is never hidden by an alert that fails.

The alert is sent after the halted run is committed. Delivery is retried (see
:func:`nextbest.checks.send_alert`); the outcome is recorded on the run as an event —
``alert_sent``, or ``alert_failed`` with the one-line reason — so that the command line, the
API and the console can show a halt whose operator was never told.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nextbest.checks import Check, halt_message, send_alert
from nextbest.config import Config
from nextbest.errors import AlertError
from nextbest.pipeline._runs import record_event
from nextbest.store import Store


def notify_halt(
    store: Store, config: Config, *, run_id: str, day: dt.date, checks: list[Check]
) -> str | None:
    """E-mail the halt of ``run_id`` and record the outcome on the run; returns the reason the
    alert could not be delivered, or None. Never raises for a failed delivery."""
    subject, body = halt_message(
        run_id=run_id,
        day=day.isoformat(),
        action=", ".join(a.name for a in config.actions),
        checks=checks,
    )
    try:
        sent = send_alert(config.alerts, subject, body)
    except AlertError as exc:
        reason = str(exc)
        record_event(store, run_id, "alert_failed", "system", reason)
        return reason
    if sent:
        sent_to = f"to {len(config.alerts.recipients)} recipient(s)"
        record_event(store, run_id, "alert_sent", "system", sent_to)
    return None


def undelivered_alerts(store: Store) -> list[dict[str, Any]]:
    """Runs whose latest alert failed, newest first: ``run_id``, ``snapshot_date``,
    ``status``, ``failures`` (failed alerts of the run), ``failed_at`` (the latest) and
    ``error`` (its one-line reason)."""
    rows = store.fetchall(
        """
        WITH failed AS (
            SELECT run_id, count(*) AS failures, max(event_at) AS failed_at,
                   arg_max(comment, event_at) AS error
            FROM run_events WHERE event = 'alert_failed' GROUP BY run_id
        ), sent AS (
            SELECT run_id, max(event_at) AS sent_at
            FROM run_events WHERE event = 'alert_sent' GROUP BY run_id
        )
        SELECT f.run_id, r.snapshot_date, r.status, f.failures, f.failed_at, f.error
        FROM failed f
        JOIN runs r USING (run_id)
        LEFT JOIN sent s USING (run_id)
        WHERE s.sent_at IS NULL OR s.sent_at < f.failed_at
        ORDER BY f.failed_at DESC, f.run_id DESC
        """
    )
    keys = ("run_id", "snapshot_date", "status", "failures", "failed_at", "error")
    return [dict(zip(keys, row, strict=True)) for row in rows]
