"""``demo`` and ``init``: start a project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nextbest.cli._context import handled, progress_reporter
from nextbest.cli._render import console, print_demo
from nextbest.config import load_config
from nextbest.pipeline import (
    minimum_history,
    run_demo,
    write_config,
)


# -- demo ----------------------------------------------------------------------------------------
@handled
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Demo project folder.")] = Path(
        "nextbest-demo"
    ),
    customers: Annotated[int, typer.Option(min=100, help="Customers in the bank.")] = 20_000,
    weeks: Annotated[int, typer.Option(min=12, help="Weekly snapshots of history.")] = 78,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic bank.")] = 42,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the demo folder first.")] = False,
    single_action: Annotated[
        bool,
        typer.Option(
            "--single-action", help="Only invest-onboarding, instead of the three actions."
        ),
    ] = False,
) -> None:
    """Run the whole weekly loop on a synthetic bank.

    Generates the bank, ingests it under data contracts, builds features, trains and gates each
    action's model, runs the latest week and writes the HTML report. Three actions compete for
    the e-mail capacity unless --single-action."""
    with progress_reporter() as progress:
        result = run_demo(
            directory,
            n_customers=customers,
            n_weeks=weeks,
            seed=seed,
            fresh=fresh,
            single_action=single_action,
            progress=progress,
        )
    print_demo(result)


# -- project set-up and data ---------------------------------------------------------------------
@handled
def init(
    path: Annotated[
        Path, typer.Argument(help="Config file to write, or a project folder to create.")
    ] = Path("nextbest.toml"),
    data: Annotated[str, typer.Option(help="Folder with the warehouse exports.")] = "bank",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter config."""
    written = write_config(path, data_dir=data, force=force)
    cfg = load_config(written)
    weeks = max(minimum_history(cfg.training, a.label_weeks).weeks or 0 for a in cfg.actions)
    console.print(
        f"wrote {written}; edit the [sources] paths and column mappings, then run 'nextbest "
        f"ingest'. Training needs at least {weeks} weekly snapshots with these settings.",
        highlight=False,
    )
