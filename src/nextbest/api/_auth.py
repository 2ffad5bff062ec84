"""API tokens and the console secret: hashed in the environment, never a default secret.

``NEXTBEST_API_TOKENS`` holds comma-separated ``name:role:sha256-of-token`` entries (make one
with ``nextbest api-token NAME ROLE``). A request sends ``Authorization: Bearer <token>``; the
token is hashed and compared in constant time. Roles: viewer < operator < admin.

The table is read once, when the app is made (``create_app``), and kept in ``app.state.tokens``;
every request (and every console session) is checked against whatever table is there at that
moment, so replacing it revokes or changes a token at once. In production the table comes from
the environment of the server process: revoking a token means restarting the server with the
new ``NEXTBEST_API_TOKENS`` (which also ends every console session).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import re
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from nextbest.errors import ConfigError

ROLES = ("viewer", "operator", "admin")
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_PLACEHOLDERS = ("changeme", "change-me", "secret", "password", "token", "admin", "test", "")
_MAKE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_token_name(name: str) -> str:
    """The name itself, or a ConfigError: names are shown in pages, logs and the audit trail,
    so they keep to a safe alphabet."""
    if not NAME_PATTERN.fullmatch(name):
        raise ConfigError(
            f"the token name {name[:70]!r} is not allowed: a name is 1 to 64 characters of "
            "A-Za-z0-9 . _ - (no spaces, ':', ',' or '|')"
        )
    return name


class TokenTable:
    """sha256 of a token → who it belongs to."""

    def __init__(self, identities: Mapping[str, Identity]) -> None:
        self._by_digest = dict(identities)

    def __len__(self) -> int:
        return len(self._by_digest)

    def identify(self, token: str) -> Identity | None:
        """Who holds ``token``, or None."""
        return self.lookup(hash_token(token))

    def lookup(self, digest: str) -> Identity | None:
        """Who holds the token with this sha256, or None (compared in constant time)."""
        found = None
        for known, who in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                found = who
        return found


def load_tokens(environ: Mapping[str, str]) -> TokenTable:
    """The token table from ``NEXTBEST_API_TOKENS``; refuses to start without real tokens."""
    raw = environ.get("NEXTBEST_API_TOKENS", "").strip()
    if not raw:
        raise ConfigError(
            "NEXTBEST_API_TOKENS is not set: the API will not start without credentials. "
            "Create one with 'nextbest api-token NAME ROLE' and export the printed line"
        )
    placeholder_hashes = {hash_token(p) for p in _PLACEHOLDERS}
    tokens: dict[str, Identity] = {}
    for entry in raw.split(","):
        parts = entry.strip().split(":")
        if len(parts) != 3 or parts[1] not in ROLES or len(parts[2]) != 64:
            raise ConfigError(
                f"NEXTBEST_API_TOKENS entry {entry.strip()[:40]!r} must be name:role:sha256 with "
                f"role one of {', '.join(ROLES)}"
            )
        name, role, digest = parts
        check_token_name(name)
        if digest.lower() in placeholder_hashes:
            raise ConfigError(
                f"the token of {name!r} is a placeholder ('changeme', 'secret', …); make a real "
                "one with 'nextbest api-token'"
            )
        tokens[digest.lower()] = Identity(name, role)
    return TokenTable(tokens)


def console_secret(environ: Mapping[str, str]) -> bytes:
    """The key that signs console cookies: ``NEXTBEST_SECRET`` if set (at least 32 random-
    looking bytes), else a fresh random key for this process."""
    raw = environ.get("NEXTBEST_SECRET")
    if raw is None or raw == "":
        return secrets.token_bytes(32)
    problem = _weak_secret(raw)
    if problem:
        raise ConfigError(
            f"NEXTBEST_SECRET is {problem}; it must be at least 32 random characters. Make one "
            f"with {_MAKE_SECRET} (or unset it: a fresh secret is made at every start, and "
            "console sessions end on restart)"
        )
    return raw.encode()


def _weak_secret(value: str) -> str | None:
    """Why ``value`` is not a usable secret, or None."""
    if len(value.encode()) < 32:
        return f"too short ({len(value.encode())} bytes)"
    lowered = value.lower()
    if any(p and p in lowered for p in _PLACEHOLDERS):
        return "a placeholder ('changeme', 'secret', …)"
    counts = Counter(value)
    bits_per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    if bits_per_char < 3.0:
        return f"too regular ({bits_per_char:.1f} bits per character)"
    grams = [value[i : i + 8] for i in range(len(value) - 7)]
    if len(set(grams)) < len(grams):
        return "repetitive (a part of it repeats)"
    if _longest_run(value) >= 8:
        return "a sequence ('0123…', 'abcd…')"
    return None


def _longest_run(value: str) -> int:
    """The longest stretch of characters that count up or down by one (``abcd``, ``4321``)."""
    best = run = 1
    step = 0
    for a, b in itertools.pairwise(value):
        d = ord(b) - ord(a)
        if d in (1, -1) and (run == 1 or d == step):
            run, step = run + 1, d
        else:
            run, step = (2, d) if d in (1, -1) else (1, 0)
        best = max(best, run)
    return best
