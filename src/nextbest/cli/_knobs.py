"""The ``knobs`` group: the operator's knobs, each change logged."""

from __future__ import annotations

from typing import Annotated

import typer

from nextbest.cli._context import handled, open_cli_project
from nextbest.cli._render import console, styled
from nextbest.pipeline import knob_log, knob_table, set_knob

knobs_app = typer.Typer(help="The operator's knobs, each change logged.", no_args_is_help=True)


@knobs_app.command("show")
@handled
def knobs_show() -> None:
    """Current knob values per action and the change log."""
    with open_cli_project() as (store, eff):
        log = knob_log(store)
        rows = knob_table(store, eff)

    shown: str | None = None
    for row in rows:
        if row.action != shown:
            console.print(styled("[bold]{}[/]", row.action))
            shown = row.action
        console.print(f"  {row.knob} = {row.value}   ({row.description})", highlight=False)
    for e in log:
        console.print(
            f"{str(e['at'])[:19]} {e['action']}.{e['knob']}: {e['old']} → {e['new']} "
            f"by {e['by']}: {e['reason']}",
            highlight=False,
        )


@knobs_app.command("set")
@handled
def knobs_set(
    setting: Annotated[
        str, typer.Argument(help="ACTION.KNOB=VALUE, e.g. invest-onboarding.threshold=0.04")
    ],
    by: Annotated[str, typer.Option(help="Your name (recorded).")],
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
) -> None:
    """Change one knob (validated; logged with who, when, old → new, why)."""
    if "=" not in setting or "." not in setting.split("=", 1)[0]:
        raise typer.BadParameter(f"expected ACTION.KNOB=VALUE, got {setting!r}")
    key, value = setting.split("=", 1)
    action, knob = key.rsplit(".", 1)
    with open_cli_project() as (store, cfg):
        old, new, warning = set_knob(store, cfg, action, knob, value, actor=by, reason=reason)
    console.print(f"{action}.{knob}: {old} → {new}")
    if warning:
        console.print(styled("[yellow]warning:[/] {}", warning))
