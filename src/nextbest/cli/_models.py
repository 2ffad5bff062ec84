"""``train`` and the ``models`` group: list, show, compare, promote, roll back."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nextbest.cli._context import handled, open_cli_project, progress_reporter
from nextbest.cli._render import console, print_release, print_training
from nextbest.models import (
    get_version,
    list_versions,
    model_events,
    rollback,
)
from nextbest.pipeline import (
    promote,
    release_table,
    train_models,
)


@handled
def train() -> None:
    """Train every action's model on a time split and register it."""
    with open_cli_project() as (store, cfg), progress_reporter() as progress:
        trained = train_models(store, cfg, progress=progress)
    print_training(trained)


models_app = typer.Typer(
    help="Model versions: list, card, compare, promote, rollback.", no_args_is_help=True
)


@models_app.command("list")
@handled
def models_list(action: Annotated[str | None, typer.Option()] = None) -> None:
    """Versions with status, training window and headline figures."""
    with open_cli_project() as (store, _):
        versions = list_versions(store, action)
    table = Table(title="Model versions", title_justify="left")
    for col in (
        "version",
        "status",
        "kind",
        "trained on",
        "PR-AUC",
        "ROC-AUC",
        "lift",
        "gate",
        "critical",
    ):
        table.add_column(col, no_wrap=True)
    for v in versions:
        gate = v.metrics.get("gate")
        table.add_row(
            v.version,
            v.status,
            v.kind,
            f"{v.train_first} … {v.train_last}",
            f"{v.metrics.get('pr_auc', float('nan')):.4f}",
            f"{v.metrics.get('roc_auc', float('nan')):.3f}",
            f"{v.metrics.get('lift_at_bucket', float('nan')):.2f}",
            "—" if not gate else "passed" if gate["passed"] else "failed",
            str(len(v.critical)),
        )
    console.print(table)


@models_app.command("show")
@handled
def models_show(version: Annotated[str, typer.Argument()]) -> None:
    """The model card, findings, backtest summary and history of a version."""
    with open_cli_project() as (store, _):
        v = get_version(store, version)
        events = [e for e in model_events(store, v.action) if e["version"] == version]
    console.print(v.card or "(no model card)", highlight=False, markup=False)
    if v.backtest:
        console.print(f"backtest: {v.backtest}", highlight=False)
    for e in events:
        console.print(
            f"{str(e['at'])[:19]} {e['event']}: {e['from']} → {e['to']} by "
            f"{e['actor']}: {e['reason']}",
            highlight=False,
        )


@models_app.command("compare")
@handled
def models_compare(
    candidate: Annotated[str, typer.Argument()], champion: Annotated[str, typer.Argument()]
) -> None:
    """The release table: both models on the same recent weeks, each line pass or fail."""
    with open_cli_project() as (store, cfg):
        lines = release_table(store, cfg, candidate, champion)
    print_release(lines, candidate, champion)


@models_app.command("promote")
@handled
def models_promote(
    version: Annotated[str, typer.Argument()],
    to: Annotated[str, typer.Option(help="shadow or champion")],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    override: Annotated[
        str | None, typer.Option(help="Written reason to override a failed gate (recorded).")
    ] = None,
) -> None:
    """Promote a version to shadow or champion, through the release gate."""
    if to not in ("shadow", "champion"):
        raise typer.BadParameter(f"--to must be shadow or champion, got {to!r}")
    with open_cli_project() as (store, cfg):
        v, lines = promote(store, cfg, version, to=to, actor=by, reason=reason, override=override)
    if lines:
        print_release(lines, version, "previous champion")
    console.print(f"{v.version} is now {v.status}.")


@models_app.command("rollback")
@handled
def models_rollback(
    action: Annotated[str, typer.Argument()],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Retire the champion of an action and bring back the one before it."""
    with open_cli_project() as (store, _):
        v = rollback(store, action, actor=by, reason=reason)
    console.print(f"{v.version} is champion again.")
