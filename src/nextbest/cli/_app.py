"""The root command: the ``nextbest`` Typer app, its global options and the entry point.

Each command group lives in its own module and only defines commands; this module registers
them (in the order ``nextbest --help`` lists them) so that no group module imports the app.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nextbest.cli import _data, _demo, _inspect, _knobs, _measure, _models, _profile, _runs, _serve
from nextbest.cli._context import STATE, ConfigOption
from nextbest.store import private_files

app = typer.Typer(
    name="nextbest",
    help="Next-Best-Action engine: weekly, measured, explained, approved.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks.")] = False,
) -> None:
    STATE.config_path = config
    STATE.verbose = verbose


app.command()(_demo.demo)
app.command()(_demo.init)
app.command()(_data.simulate)
app.command()(_data.ingest)
app.command()(_inspect.inspect)
app.command()(_data.status)
app.command()(_profile.profile)
app.command()(_data.quarantine)
app.command()(_models.train)
app.command("run")(_runs.run_cmd)
app.command()(_runs.runs)
app.command()(_runs.show)
app.command()(_data.leakage)
app.command()(_runs.backtest)
app.command("review")(_runs.review_cmd)
app.command()(_runs.approve)
app.command()(_runs.reject)
app.command("export")(_runs.export_cmd)
app.command("replay")(_runs.replay_cmd)
app.add_typer(_knobs.knobs_app, name="knobs")
app.command("simulate-outcomes")(_measure.simulate_outcomes_cmd)
app.command()(_measure.evaluate)
app.command()(_measure.experiment)
app.command()(_measure.fairness)
app.command("api-token")(_serve.api_token)
app.command()(_serve.serve)
app.add_typer(_models.models_app, name="models")
app.command()(_data.features)
app.command("training-table")(_data.training_table)


def main() -> None:
    """Entry point of the ``nextbest`` command."""
    # everything this process writes (store, audit database, decision files, exports,
    # reports) is readable by its owner only
    private_files()
    app()
