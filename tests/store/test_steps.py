"""Named query steps: rendering, single steps, and refused names."""

from __future__ import annotations

import pytest

from nextbest.store import Steps, Store


def test_render_runs_every_step_in_order() -> None:
    """Each step reads the one before it and the final SELECT reads the last: 1 → 2 → 6."""
    steps = Steps().add("a", "SELECT 1 AS x").add("b", "SELECT x + 1 AS y FROM a")
    steps.add("c", "SELECT y * 3 AS z FROM b")
    with Store(":memory:") as store:
        assert store.fetchall(steps.render("SELECT z FROM c")) == [(6,)]
    assert steps.names == ["a", "b", "c"]


def test_a_step_alone_reads_a_registered_table() -> None:
    """A step run alone reads an earlier step's name as a table: here a registered one."""
    import pyarrow as pa

    steps = Steps().add("a", "SELECT 1 AS x").add("b", "SELECT sum(x) AS y FROM a")
    with Store(":memory:") as store:
        store.register("a", pa.table({"x": [4, 5]}))
        assert store.fetchall(steps.step_sql("b")) == [(9,)]


def test_duplicate_and_unknown_names_are_refused() -> None:
    """A name is taken once; asking for a missing step names the steps there are."""
    steps = Steps().add("a", "SELECT 1")
    with pytest.raises(ValueError, match="already has a step named 'a'"):
        steps.add("a", "SELECT 2")
    with pytest.raises(KeyError, match="no step named 'b'; the steps are a"):
        steps.step_sql("b")


def test_no_steps_is_the_select_alone() -> None:
    """Without steps the query is the final SELECT, with no WITH."""
    assert Steps().render(" SELECT 1 ") == "SELECT 1"
