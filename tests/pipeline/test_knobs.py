"""Knob changes are validated strictly and logged as they are applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from nextbest.errors import ConfigError
from nextbest.pipeline import effective_config, knob_log, set_knob
from nextbest.store import Store
from tests.pipeline.conftest import tiny_config

ACTION = "invest-onboarding"


def _set(store: Store, path: Path, knob: str, value: str | float) -> tuple[object, object]:
    cfg = tiny_config(path)
    old, new, _ = set_knob(store, cfg, ACTION, knob, value, actor="ana", reason="r")
    return old, new


@pytest.mark.parametrize(
    ("knob", "value", "message"),
    [
        ("threshold", "true", "threshold must be a number, got true"),
        ("threshold", '"0.3"', "threshold must be a number, not a string"),
        ("threshold", "0.3x", "threshold must be a number, got '0.3x'"),
        ("holdout_fraction", "NaN", "holdout_fraction must be a finite number, got 'NaN'"),
        ("threshold", "Infinity", "threshold must be a finite number, got 'Infinity'"),
        ("max_weekly", "800.5", "max_weekly must be a whole number, got 800.5"),
        ("max_weekly", "false", "max_weekly must be a whole number, got false"),
        ("cooldown_weeks", '"8"', "cooldown_weeks must be a whole number, not a string"),
        ("enabled", "1", "enabled must be true or false, got 1"),
        ("enabled", '"false"', "enabled must be true or false, not a string"),
        ("threshold", "[" * 100_000 + "]" * 100_000, "threshold must be a number, got '\\[\\[\\["),
        ("max_weekly", "9" * 5000, "max_weekly must be a whole number, got '9999"),
        ("threshold", True, "threshold must be a number, got true"),
        ("max_weekly", 3.5, "max_weekly must be a whole number, got 3.5"),
    ],
)
def test_bad_knob_values_are_refused(
    tiny_store: tuple[Store, Path], knob: str, value: str | float, message: str
) -> None:
    """Booleans, strings, non-finite and fractional counts are refused with the knob named;
    nothing is logged."""
    store, path = tiny_store
    with pytest.raises(ConfigError, match=message):
        _set(store, path, knob, value)
    assert knob_log(store) == []


def test_the_log_holds_the_value_as_applied(tiny_store: tuple[Store, Path]) -> None:
    """`1` for the threshold is logged and applied as 1.0, `3.0` and `1e1` for counts as 3 and
    10, `0.50` as 0.5; what the log says is what the next run uses."""
    store, path = tiny_store
    assert _set(store, path, "threshold", "1") == (0.2, 1.0)
    assert _set(store, path, "max_weekly", "3.0") == (2, 3)
    assert _set(store, path, "exploration_size", "1e1") == (0, 10)
    assert _set(store, path, "holdout_fraction", "0.50") == (0.0, 0.5)
    assert _set(store, path, "enabled", "false") == (True, False)
    assert _set(store, path, "min_weekly", 1) == (2, 1)
    log = [(e["knob"], e["old"], e["new"]) for e in knob_log(store)]
    assert log == [
        ("threshold", "0.2", "1.0"),
        ("max_weekly", "2", "3"),
        ("exploration_size", "0", "10"),
        ("holdout_fraction", "0.0", "0.5"),
        ("enabled", "true", "false"),
        ("min_weekly", "2", "1"),
    ]
    a = effective_config(store, tiny_config(path)).actions[0]
    assert (a.threshold, a.max_weekly, a.exploration_size, a.holdout_fraction) == (1.0, 3, 10, 0.5)
    assert type(a.max_weekly) is int
    assert a.min_weekly == 1


def test_out_of_range_is_refused_by_the_config_model(tiny_store: tuple[Store, Path]) -> None:
    """A well-typed value outside its range is refused by the config's own rule."""
    store, path = tiny_store
    with pytest.raises(ConfigError, match="holdout_fraction"):
        _set(store, path, "holdout_fraction", "1.5")
    assert knob_log(store) == []
