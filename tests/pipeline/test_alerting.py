"""A halt is never hidden by an alert that cannot be sent: the run stays halted, the failure
is recorded on it, and the command line still exits 3 with a warning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from nextbest.errors import RunHaltedError
from nextbest.pipeline import run_week, undelivered_alerts
from nextbest.store import open_store
from tests._smtp import Mailbox, free_port, smtp_server
from tests.pipeline._tiny import alerts_toml, write_tiny_project
from tests.pipeline.conftest import D

LATE = D + dt.timedelta(weeks=1)  # no snapshot delivered: the run halts on freshness


def test_smtp_down_after_a_halt_still_halts_and_records_the_failure(tmp_path: Path) -> None:
    """With nothing listening on the SMTP port the caller still gets the halt, which names the
    failed alert; the run carries an alert_failed event and is listed as undelivered."""
    port = free_port()
    cfg = write_tiny_project(tmp_path, extra=alerts_toml(port, attempts=2))
    with open_store(cfg) as store:
        with pytest.raises(RunHaltedError, match="halted \\(freshness\\)") as info:
            run_week(store, cfg, day=LATE)
        rid = f"{LATE.isoformat()}-r1"
        assert info.value.run_id == rid
        assert info.value.alert_failure is not None
        assert f"127.0.0.1:{port} after 2 attempts" in info.value.alert_failure
        status = store.scalar("SELECT status FROM runs WHERE run_id = ?", [rid])
        events = store.fetchall(
            "SELECT event, comment FROM run_events WHERE run_id = ? ORDER BY event_at", [rid]
        )
        (undelivered,) = undelivered_alerts(store)
    assert status == "halted"
    assert [e for e, _ in events] == ["halted", "alert_failed"]
    assert events[1][1] == info.value.alert_failure
    assert undelivered["run_id"] == rid
    assert undelivered["snapshot_date"] == LATE
    assert undelivered["failures"] == 1
    assert undelivered["error"] == info.value.alert_failure


def test_refusing_server_is_retried_then_recorded(tmp_path: Path) -> None:
    """A server answering 451 to every try gets exactly the configured three tries; the event
    holds the server's reply."""
    box = Mailbox(refuse=99)
    with smtp_server(box) as port:
        cfg = write_tiny_project(tmp_path, extra=alerts_toml(port, attempts=3))
        with open_store(cfg) as store:
            with pytest.raises(RunHaltedError, match="freshness"):
                run_week(store, cfg, day=LATE)
            (undelivered,) = undelivered_alerts(store)
    assert box.attempts == 3
    assert box.messages == []
    assert "after 3 attempts (451 4.3.0 try again later)" in undelivered["error"]


def test_delivered_alert_is_recorded_and_not_listed(tmp_path: Path) -> None:
    """A server that refuses once and then accepts gets the alert; the run records it as sent
    and nothing is undelivered."""
    box = Mailbox(refuse=1)
    with smtp_server(box) as port:
        cfg = write_tiny_project(tmp_path, extra=alerts_toml(port, attempts=3))
        with open_store(cfg) as store:
            with pytest.raises(RunHaltedError) as info:
                run_week(store, cfg, day=LATE)
            events = store.fetchall(
                "SELECT event, comment FROM run_events WHERE run_id = ? ORDER BY event_at",
                [info.value.run_id],
            )
            assert undelivered_alerts(store) == []
    assert info.value.alert_failure is None
    assert len(box.messages) == 1
    assert events == [
        ("halted", events[0][1]),
        ("alert_sent", "to 1 recipient(s)"),
    ]


def test_cli_exits_3_with_a_warning_when_the_alert_fails(tmp_path: Path) -> None:
    """`nextbest run` for the late week with SMTP down: exit 3 (the halt), the halt message
    first and then one warning line about the undelivered alert — not a config error."""
    port = free_port()
    cfg = write_tiny_project(tmp_path, extra=alerts_toml(port, attempts=2))
    result = CliRunner().invoke(
        app, ["-c", str(cfg.source_path), "run", "--date", LATE.isoformat()]
    )
    assert result.exit_code == 3, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith(f"error: run {LATE.isoformat()}-r1 halted (freshness)")
    assert lines[1].startswith(
        f"warning: the halt alert was not delivered: could not send the alert through "
        f"127.0.0.1:{port} after 2 attempts"
    )
    listed = CliRunner().invoke(app, ["-c", str(cfg.source_path), "runs"])
    assert listed.exit_code == 0, listed.output
    assert (
        f"warning: the halt alert of run {LATE.isoformat()}-r1 (halted) was not delivered "
        "(1 failed alert(s); the latest, "
    ) in listed.output
