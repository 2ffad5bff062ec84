"""The FastAPI application: the JSON API (:mod:`nextbest.api.routes`) and the operator console
(:mod:`nextbest.api.console`), made by :func:`create_app`."""

from nextbest.api._auth import ROLES, Identity, check_token_name, hash_token, new_token
from nextbest.api.main import create_app

__all__ = ["ROLES", "Identity", "check_token_name", "create_app", "hash_token", "new_token"]
