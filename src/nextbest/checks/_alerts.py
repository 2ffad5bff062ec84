"""E-mail alerts to the operator over SMTP (standard library). Credentials come from the
environment (``NEXTBEST_SMTP_USER``, ``NEXTBEST_SMTP_PASSWORD``), never from the config file."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

from nextbest.checks._checks import Check
from nextbest.config import AlertsConfig
from nextbest.errors import ConfigError


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
) -> bool:
    """Send to the configured recipients; False when no recipients are configured."""
    if not cfg.recipients:
        return False
    env = os.environ if environ is None else environ
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    user, password = env.get("NEXTBEST_SMTP_USER"), env.get("NEXTBEST_SMTP_PASSWORD")
    try:
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
    except (OSError, smtplib.SMTPException) as exc:
        raise ConfigError(
            f"could not send the alert through {cfg.smtp_host}:{cfg.smtp_port} ({exc}); check "
            "[alerts] smtp_host, smtp_port and security, and NEXTBEST_SMTP_USER / "
            "NEXTBEST_SMTP_PASSWORD"
        ) from None
    return True
