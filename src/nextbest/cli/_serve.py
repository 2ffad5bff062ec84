"""``serve`` and ``api-token``: the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from nextbest.api import ROLES, check_token_name, create_app, hash_token, new_token
from nextbest.cli._context import cli_config, handled
from nextbest.cli._render import console
from nextbest.errors import ConfigError


@handled
def api_token(
    name: Annotated[str, typer.Argument(help="Who the token is for.")],
    role: Annotated[str, typer.Argument(help="viewer, operator or admin")],
) -> None:
    """Make an API token: prints the token (give it to its owner) and the entry to add to
    NEXTBEST_API_TOKENS (only its sha256 is kept)."""
    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    try:
        check_token_name(name)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    token = new_token()
    console.print(f"token for {name}: {token}")
    console.print(f"add to NEXTBEST_API_TOKENS: {name}:{role}:{hash_token(token)}")


@handled
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Serve the JSON API and the console on the embedded store (needs NEXTBEST_API_TOKENS).
    Beyond 127.0.0.1, serve it behind https: the console's session cookie is Secure there."""
    cfg = cli_config()
    app = create_app(
        cfg,
        max_body_bytes=cfg.api.max_body_bytes,
        store_wait_seconds=cfg.api.store_wait_seconds,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
