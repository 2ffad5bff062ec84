"""E-mail alerts to the operator over SMTP (standard library). Credentials come from the
environment (``NEXTBEST_SMTP_USER``, ``NEXTBEST_SMTP_PASSWORD``), never from the config file."""

from __future__ import annotations

import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from email.message import EmailMessage

from nextbest.checks._checks import Check
from nextbest.config import AlertsConfig
from nextbest.errors import AlertError


def halt_message(*, run_id: str, day: str, action: str, checks: list[Check]) -> tuple[str, str]:
    """Subject and body of a halt alert: what failed, the figure, and what to do."""
    failed = [c for c in checks if c.verdict == "halt"]
    subject = f"[nextbest] run halted for {day}: {', '.join(c.name for c in failed)}"
    lines = [
        f"The weekly run {run_id} for {day} ({action}) was halted before any list was made.",
        "Nothing was sent.",
        "",
        "Failed checks:",
    ]
    for c in failed:
        figure = "" if c.figure is None else f" (figure {c.figure:.4g}; limit {c.limit})"
        lines.append(f"- {c.name}{figure}: {c.message}")
    warns = [c for c in checks if c.verdict == "warn"]
    if warns:
        lines += ["", "Warnings:"] + [f"- {c.name}: {c.message}" for c in warns]
    lines += [
        "",
        "What to do: fix the input and run again (nextbest run --week auto), or, when a person",
        "has judged the week safe, run it with an override and a written reason:",
        f"  nextbest run --date {day} --override 'reason' --by NAME",
    ]
    return subject, "\n".join(lines) + "\n"


def send_alert(
    cfg: AlertsConfig,
    subject: str,
    body: str,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Send to the configured recipients; False when no recipients are configured.

    Connection errors and temporary (``4xx``) refusals are retried up to ``cfg.attempts``
    times, waiting ``cfg.retry_seconds`` before the second try and twice as long before each
    further one; a permanent (``5xx``) refusal is not retried. When every try fails,
    :class:`AlertError` says why in one line, without the credentials.
    """
    if not cfg.recipients:
        return False
    env = os.environ if environ is None else environ
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    user, password = env.get("NEXTBEST_SMTP_USER"), env.get("NEXTBEST_SMTP_PASSWORD")
    tries = 0
    while True:
        tries += 1
        try:
            _deliver(cfg, msg, user, password)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            if tries >= cfg.attempts or not _transient(exc):
                reason = _first_line(exc, secrets=[s for s in (user, password) if s])
                raise AlertError(
                    f"could not send the alert through {cfg.smtp_host}:{cfg.smtp_port} after "
                    f"{tries} attempt{'s' if tries > 1 else ''} ({reason}); check [alerts] "
                    "smtp_host, smtp_port and security, and NEXTBEST_SMTP_USER / "
                    "NEXTBEST_SMTP_PASSWORD"
                ) from None
        sleep(cfg.retry_seconds * 2 ** (tries - 1))


def _deliver(cfg: AlertsConfig, msg: EmailMessage, user: str | None, password: str | None) -> None:
    if cfg.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            cfg.smtp_host,
            cfg.smtp_port,
            timeout=cfg.timeout_seconds,
            context=ssl.create_default_context(),
        )
    else:
        server = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds)
    with server:
        if cfg.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if user and password:
            server.login(user, password)
        server.send_message(msg)


def _transient(exc: BaseException) -> bool:
    """Worth another try: the connection failed, or the server said "later" (4xx)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, (OSError, smtplib.SMTPServerDisconnected))


def _first_line(exc: BaseException, *, secrets: list[str]) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, refused = next(iter(exc.recipients.values()))
        text = f"{code} {refused.decode(errors='replace')}"
    elif isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error
        said = said.decode(errors="replace") if isinstance(said, bytes) else str(said)
        text = f"{exc.smtp_code} {said}"
    else:
        text = str(exc) or type(exc).__name__
    line = (text.strip().splitlines() or [type(exc).__name__])[0]
    for secret in secrets:
        line = line.replace(secret, "***")
    return line
