"""Halt alerts over real SMTP on loopback: retried with backoff, then failing loudly."""

from __future__ import annotations

import pytest

from nextbest.checks import send_alert
from nextbest.config import AlertsConfig
from nextbest.errors import AlertError
from tests._smtp import Mailbox, free_port, smtp_server


def _cfg(port: int, **kw: object) -> AlertsConfig:
    base: dict[str, object] = {
        "recipients": ["ops@bank.test"],
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "timeout_seconds": 2.0,
        "attempts": 3,
        "retry_seconds": 0.5,
    }
    base.update(kw)
    return AlertsConfig.model_validate(base)


def test_temporary_refusal_is_retried_until_delivered() -> None:
    """A server that answers 451 twice gets the alert on the third try, after waits of 0.5 s
    and 1 s (the delay doubles)."""
    box = Mailbox(refuse=2)
    waits: list[float] = []
    with smtp_server(box) as port:
        assert send_alert(_cfg(port), "subject", "body", environ={}, sleep=waits.append)
    assert box.attempts == 3
    assert len(box.messages) == 1
    assert waits == [0.5, 1.0]


def test_server_that_keeps_refusing_fails_after_every_attempt() -> None:
    """Three 451 replies in a row: three tries, two waits, then one error line naming the
    server, the attempts and the reply."""
    box = Mailbox(refuse=99)
    waits: list[float] = []
    with smtp_server(box) as port:
        expected = rf"127\.0\.0\.1:{port} after 3 attempts.*451"
        with pytest.raises(AlertError, match=expected):
            send_alert(_cfg(port), "subject", "body", environ={}, sleep=waits.append)
    assert box.attempts == 3
    assert box.messages == []
    assert waits == [0.5, 1.0]


def test_permanent_refusal_is_not_retried() -> None:
    """A 550 refusal will not change by waiting: one try, no wait."""
    box = Mailbox(refuse=99, reply="550 5.1.1 no such user")
    waits: list[float] = []
    with smtp_server(box) as port, pytest.raises(AlertError, match=r"after 1 attempt\b.*550"):
        send_alert(_cfg(port), "subject", "body", environ={}, sleep=waits.append)
    assert box.attempts == 1
    assert waits == []


def test_server_down_fails_after_every_attempt_without_the_password() -> None:
    """Nothing listening on the port: two tries, one wait, and the message is one line
    without the SMTP password."""
    port = free_port()
    waits: list[float] = []
    env = {"NEXTBEST_SMTP_USER": "ops", "NEXTBEST_SMTP_PASSWORD": "s3cret-pw"}
    with pytest.raises(AlertError, match=rf"127\.0\.0\.1:{port} after 2 attempts") as info:
        send_alert(_cfg(port, attempts=2), "subject", "body", environ=env, sleep=waits.append)
    assert waits == [0.5]
    assert "\n" not in str(info.value)
    assert "s3cret-pw" not in str(info.value)


def test_no_recipients_sends_nothing() -> None:
    """Without recipients there is nothing to send and nothing to retry."""
    assert send_alert(AlertsConfig(), "subject", "body", environ={}) is False
