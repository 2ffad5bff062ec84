"""API tokens: hashed in the environment, never a default secret.

``NEXTBEST_API_TOKENS`` holds comma-separated ``name:role:sha256-of-token`` entries (make one
with ``nextbest api-token NAME ROLE``). A request sends ``Authorization: Bearer <token>``; the
token is hashed and compared in constant time. Roles: viewer < operator < admin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from nextbest.errors import ConfigError

ROLES = ("viewer", "operator", "admin")
_PLACEHOLDERS = ("changeme", "change-me", "secret", "password", "token", "admin", "test", "")


@dataclass(frozen=True)
class Identity:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def load_tokens(environ: Mapping[str, str]) -> dict[str, Identity]:
    """sha256 → identity, from the environment; refuses to start without real tokens."""
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
        if digest.lower() in placeholder_hashes:
            raise ConfigError(
                f"the token of {name!r} is a placeholder ('changeme', 'secret', …); make a real "
                "one with 'nextbest api-token'"
            )
        tokens[digest.lower()] = Identity(name, role)
    return tokens


def identify(tokens: dict[str, Identity], token: str) -> Identity | None:
    digest = hash_token(token)
    for known, who in tokens.items():
        if hmac.compare_digest(known, digest):
            return who
    return None
