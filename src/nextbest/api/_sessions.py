"""Console sessions, kept on the server.

The cookie holds only a random session id, signed with itsdangerous (the library Starlette's
own ``SessionMiddleware`` signs with) under the console secret and timestamped, so a forged or
expired cookie is refused before any look-up. Everything else lives in this process: which
token the session was made from (its sha256, not the token), when it ends and its CSRF token.
A session is therefore bound to its token: every request looks the token up in the current
token table, so revoking it or changing its role takes effect on the next request, and logout
deletes the record, so the old cookie opens nothing afterwards.

Why not ``SessionMiddleware``: it keeps the session's data in the cookie, so a logout or a
revocation could not end a session the browser still holds without a server-side list anyway;
a signed id plus a server-side record is the smaller, complete tool.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from itsdangerous import BadData, URLSafeTimedSerializer

from nextbest.api._auth import Identity, TokenTable

COOKIE = "nb_session"
HOURS = 8
_MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    """One logged-in browser."""

    id: str
    token_digest: str
    csrf: str
    expires: float


class Sessions:
    """The console's live sessions (in memory: they end when the server restarts)."""

    def __init__(self, secret: bytes, *, hours: float = HOURS) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="nextbest.console.session")
        self._seconds = hours * 3600
        self._live: dict[str, Session] = {}
        self._lock = threading.Lock()

    @property
    def max_age(self) -> int:
        return int(self._seconds)

    def start(self, token_digest: str) -> str:
        """A new session for the holder of this token; the cookie value to set."""
        now = time.time()
        session = Session(
            secrets.token_urlsafe(32), token_digest, secrets.token_urlsafe(32), now + self._seconds
        )
        with self._lock:
            for sid in [s for s, v in self._live.items() if v.expires < now]:
                del self._live[sid]
            while len(self._live) >= _MAX_SESSIONS:  # oldest first
                del self._live[next(iter(self._live))]
            self._live[session.id] = session
        return self._signer.dumps(session.id)

    def find(self, cookie: str | None) -> Session | None:
        """The live session a cookie names, or None (forged, expired, ended, or malformed)."""
        if not cookie or len(cookie) > 512:
            return None
        try:
            sid = self._signer.loads(cookie, max_age=int(self._seconds))
        except (BadData, UnicodeError, ValueError):
            return None
        if not isinstance(sid, str):
            return None
        with self._lock:
            session = self._live.get(sid)
            if session is not None and session.expires < time.time():
                del self._live[sid]
                return None
        return session

    def who(self, session: Session, tokens: TokenTable) -> Identity | None:
        """The session's identity in the current token table; a revoked token ends it."""
        identity = tokens.lookup(session.token_digest)
        if identity is None:
            self.end(session)
        return identity

    def end(self, session: Session) -> None:
        with self._lock:
            self._live.pop(session.id, None)

    @staticmethod
    def csrf_ok(session: Session, sent: str) -> bool:
        return hmac.compare_digest(session.csrf.encode(), sent.encode("utf-8", "replace"))
