"""What every command shares: the global options, the one-line error handling, the open
project and the progress bar."""

from __future__ import annotations

import datetime as dt
import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nextbest.cli._render import console, err_console, styled
from nextbest.config import Config, find_config, load_config
from nextbest.errors import ConfigError, NextbestError, RunHaltedError
from nextbest.pipeline import (
    open_project,
)
from nextbest.store import Store

P = ParamSpec("P")


R = TypeVar("R")


class _State:
    config_path: Path | None = None
    verbose: bool = False


STATE = _State()


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Project config (default: $NEXTBEST_CONFIG or ./nextbest.toml)."
    ),
]


def handled(func: Callable[P, R]) -> Callable[P, R]:
    """Print nextbest errors as one line and exit 2 (traceback with --verbose)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except NextbestError as exc:
            if STATE.verbose:
                raise
            code = 3 if isinstance(exc, RunHaltedError) else 2
            # messages name settings like [sources.snapshots] and echo what the user typed
            err_console.print(styled("[bold red]error:[/] {}", exc), soft_wrap=True)
            if isinstance(exc, RunHaltedError) and exc.alert_failure:
                # the halt stands; the operator must hear of it some other way
                err_console.print(
                    styled(
                        "[bold yellow]warning:[/] the halt alert was not delivered: {}",
                        exc.alert_failure,
                    ),
                    soft_wrap=True,
                )
            raise typer.Exit(code) from None
        except OSError as exc:
            if STATE.verbose:
                raise
            # a folder that cannot be written, a disk that is full: the file and the reason
            where = f"{exc.filename}: " if exc.filename else ""
            err_console.print(
                styled("[bold red]error:[/] {}{}", where, exc.strerror or exc), soft_wrap=True
            )
            raise typer.Exit(2) from None

    return wrapper


def cli_config(path: Path | None = None, *, project: bool = True) -> Config:
    """The config of the command: ``--config``, ``$NEXTBEST_CONFIG`` or ``./nextbest.toml``.

    Without any of these, a command that touches a project stops (it would otherwise create a
    store in whatever folder it was started from); one that only reads a file it is given
    (``project=False``) uses the defaults.
    """
    chosen = find_config(path or STATE.config_path)
    if chosen is None:
        if not project:
            return Config()
        raise ConfigError(
            f"no nextbest.toml here (in {Path.cwd()}); run `nextbest init DIR` to create a "
            "project, or pass --config FILE"
        )
    return load_config(chosen)


@contextmanager
def open_cli_project() -> Iterator[tuple[Store, Config]]:
    """The store and the effective config (the TOML with the operator's knobs) — every command
    that reads the store opens the project this way, so none can act on the TOML alone."""
    with open_project(cli_config()) as project:
        yield project.store, project.config


@contextmanager
def progress_reporter() -> Iterator[Callable[[str, int, int], None]]:
    bars = Progress(
        TextColumn("{task.description:<34}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total)
        bars.update(tasks[step], completed=done, total=total)

    with bars:
        yield update


def parse_date(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be a date like 2025-06-29, got {value!r}") from None


def login_name() -> str:

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise typer.BadParameter("cannot tell who you are from the login; pass --by NAME") from None
