"""A query as named steps: each step a name and a SELECT over the tables and earlier steps.

The steps render to one ``WITH step AS (...), ... SELECT ...`` statement, and any step renders
alone (:meth:`Steps.step_sql`), so a test can run it on small hand-made tables registered
under the names of the steps it reads. Values never enter the text: they are the query's
parameters (``$name``), collected next to the steps in a :class:`Query`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Query", "Step", "Steps"]


@dataclass(frozen=True)
class Step:
    """One named step: ``sql`` is a SELECT that may read earlier steps by their names."""

    name: str
    sql: str


@dataclass(frozen=True)
class Query:
    """SQL text and the values of its ``$`` parameters."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)


class Steps:
    """An ordered pipeline of named steps (after splink's ``CTEPipeline``).

    Example
    -------
    >>> steps = Steps().add("a", "SELECT 1 AS x").add("b", "SELECT x + 1 AS y FROM a")
    >>> print(steps.render("SELECT y FROM b"))
    WITH a AS (
    SELECT 1 AS x
    ),
    b AS (
    SELECT x + 1 AS y FROM a
    )
    SELECT y FROM b
    """

    def __init__(self) -> None:
        self._steps: list[Step] = []

    def add(self, name: str, sql: str) -> Steps:
        """Append the step ``name``; refuses a name already taken."""
        if name in self.names:
            raise ValueError(f"the query already has a step named '{name}'; pick another name")
        self._steps.append(Step(name, sql.strip()))
        return self

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._steps]

    def step_sql(self, name: str) -> str:
        """The SELECT of the one step ``name``, reading earlier steps as tables of their names."""
        for step in self._steps:
            if step.name == name:
                return step.sql
        raise KeyError(f"no step named '{name}'; the steps are {', '.join(self.names)}")

    def render(self, select: str) -> str:
        """Every step as a common table expression, then the final ``select``."""
        if not self._steps:
            return select.strip()
        ctes = ",\n".join(f"{s.name} AS (\n{s.sql}\n)" for s in self._steps)
        return f"WITH {ctes}\n{select.strip()}"
