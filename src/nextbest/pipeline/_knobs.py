"""The knob table: every operator knob of every action with its current value, one builder for
the CLI, the API and the console."""

from __future__ import annotations

from dataclasses import dataclass

from nextbest.config import Config
from nextbest.pipeline._operate import KNOBS, action_enabled
from nextbest.store import Store


@dataclass(frozen=True)
class KnobRow:
    """One knob of one action: its current value and what it does."""

    action: str
    knob: str
    value: bool | int | float
    description: str


def knob_table(store: Store, config: Config) -> list[KnobRow]:
    """The knobs of every action of ``config`` (pass the effective config: the TOML with the
    operator's knobs), in the order of :data:`KNOBS`; ``enabled`` is read from the store."""
    return [
        KnobRow(
            action=a.name,
            knob=knob,
            value=action_enabled(store, a.name) if knob == "enabled" else getattr(a, knob),
            description=description,
        )
        for a in config.actions
        for knob, description in KNOBS.items()
    ]


def knob_values(rows: list[KnobRow]) -> dict[str, dict[str, bool | int | float]]:
    """The table as ``{action: {knob: value}}``."""
    out: dict[str, dict[str, bool | int | float]] = {}
    for row in rows:
        out.setdefault(row.action, {})[row.knob] = row.value
    return out
