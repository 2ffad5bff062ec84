"""The command line: Typer commands that parse arguments and delegate.

Errors nextbest raises on purpose are printed as one line (``error: …``) with exit code 2;
``--verbose`` shows the traceback as well.

``_app`` holds the root app and registers the command groups (``_demo``, ``_data``, ``_runs``,
``_models``, ``_knobs``, ``_measure``, ``_serve``); they share ``_context`` (global options,
error handling, the open project) and ``_render`` (the inert console and Rich tables).
"""

from nextbest.cli._app import app, main
from nextbest.cli._render import inert, styled

__all__ = ["app", "inert", "main", "styled"]
