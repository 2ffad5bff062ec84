"""Real SMTP servers on loopback for the alert tests: one that keeps what it receives, one that
refuses with a given reply, and a port where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """Keeps every message; refuses the first ``refuse`` deliveries with ``reply``."""

    refuse: int = 0
    reply: str = "451 4.3.0 try again later"
    messages: list[str] = field(default_factory=list)
    attempts: int = 0

    async def handle_RCPT(  # noqa: N802
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        self.attempts += 1
        if self.attempts <= self.refuse:
            return self.reply
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(envelope.content.decode())  # type: ignore[attr-defined]
        return "250 OK"


@contextmanager
def smtp_server(box: Mailbox) -> Iterator[int]:
    """Serve ``box`` on a loopback port; yields the port."""
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
