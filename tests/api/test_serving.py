"""Real-time serving decides by the kernel's rule, on a week aligned as the weekly run's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from nextbest.api import _serving
from nextbest.api._serving import ServingCache
from nextbest.config import load_config
from nextbest.decisioning import eligibility
from nextbest.errors import NotFoundError
from tests.conftest import DemoFactory


@pytest.fixture
def cache(demos: DemoFactory, tmp_path: Path) -> ServingCache:
    root = demos.copy(tmp_path / "demo", n_customers=1500, n_weeks=78, seed=3)
    return ServingCache(load_config(root / "nextbest.toml"))


def test_recommended_is_the_kernel_rule(cache: ServingCache) -> None:
    """For every customer of the week in memory: eligible is the weekly run's eligibility,
    the trail passes exactly when eligible, and recommended is the policy's rule (eligible
    and at or above the threshold); both answers occur."""
    cache.refresh(force=True)
    (name, week), *_ = cache.actions.items()
    with cache.gate.open(write=False, wait_seconds=1.0) as db:
        weekly = eligibility(db, week.action, cache._week.day)  # type: ignore[union-attr]
    assert weekly["relation_id"].to_numpy().tolist() == week.ids.tolist()
    expected_eligible = weekly["eligible"].to_numpy(zero_copy_only=False)
    answers = [cache.decide(action=name, relation_id=int(r), features=None) for r in week.ids]
    eligible = np.array([a.eligible for a in answers])
    score = np.array([a.score for a in answers])
    assert eligible.tolist() == expected_eligible.tolist()
    assert [all(t.passed for t in a.eligibility) for a in answers] == eligible.tolist()
    recommended = [a.recommended for a in answers]
    assert recommended == week.policy.recommends(eligible, score).tolist()
    assert recommended == [
        bool(e and s >= week.action.threshold) for e, s in zip(eligible, score, strict=True)
    ]
    assert {True, False} <= set(recommended)


def test_a_misaligned_week_is_refused(cache: ServingCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eligibility listing the customers in another order than the features is refused at
    load by the kernel's alignment check, not served row-shifted."""
    real = _serving.eligibility

    def reversed_eligibility(*args: object, **kwargs: object) -> pa.Table:
        table: pa.Table = real(*args, **kwargs)  # type: ignore[arg-type]
        return table.take(pa.array(range(table.num_rows - 1, -1, -1)))

    monkeypatch.setattr(_serving, "eligibility", reversed_eligibility)
    with pytest.raises(NotFoundError, match="features and eligibility disagree on the customers"):
        cache.refresh(force=True)
    assert cache.actions == {}
