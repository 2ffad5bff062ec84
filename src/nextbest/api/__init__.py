"""The FastAPI application: JSON API (and, next, the operator console)."""

from nextbest.api._auth import ROLES, Identity, hash_token, new_token
from nextbest.api.main import create_app

__all__ = ["ROLES", "Identity", "create_app", "hash_token", "new_token"]
