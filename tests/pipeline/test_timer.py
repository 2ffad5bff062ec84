"""The weekly run's step timer."""

from __future__ import annotations

import time

import pytest

from nextbest.pipeline._timer import Timer


def test_steps_add_up_and_count_on_error() -> None:
    """A step timed twice adds up, a step that raised is still recorded, and the total
    covers every step."""
    timer = Timer()
    with timer.step("persist"):
        time.sleep(0.01)
    with timer.step("persist"):
        time.sleep(0.01)
    with pytest.raises(ValueError, match="boom"), timer.step("features"):
        raise ValueError("boom")
    timer.total()
    assert sorted(timer.timings) == ["features", "persist", "total"]
    assert timer.timings["persist"] >= 0.02
    assert timer.timings["total"] >= timer.timings["persist"] + timer.timings["features"]
