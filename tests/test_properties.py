"""Properties that hold for every input, not just the hand-picked ones (Hypothesis).

Kept small and fast: few examples where an example is costly, no deadline (the machine is shared).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nextbest.config import SourceConfig
from nextbest.decisioning import select
from nextbest.errors import SourceFileError
from nextbest.evaluation._stats import newcombe, rate, wilson
from nextbest.ingest import SNAPSHOTS, load_file
from nextbest.pipeline import effective_config, set_knob
from nextbest.store import Store, open_store
from tests.ingest.helpers import row, write_csv
from tests.pipeline.conftest import fill, tiny_config

counts = st.integers(min_value=0, max_value=100_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)


@given(counts)
def test_wilson_interval_is_in_unit_range_and_holds_the_rate(kn: tuple[int, int]) -> None:
    k, n = kn
    low, high = wilson(k, n)
    if n == 0:
        assert np.isnan(low) and np.isnan(high)
        return
    assert 0.0 <= low <= high <= 1.0
    assert low <= k / n <= high
    assert (low == 0.0) == (k == 0) and (high == 1.0) == (k == n)
    estimate = rate(k, n)
    assert (estimate.low, estimate.high) == (low, high)


@given(counts, counts)
def test_newcombe_difference_interval_holds_the_difference(
    treated: tuple[int, int], control: tuple[int, int]
) -> None:
    (k1, n1), (k0, n0) = treated, control
    e = newcombe(k1, n1, k0, n0)
    if n1 == 0 or n0 == 0:
        assert np.isnan(e.value)
        return
    assert -1.0 <= e.low <= e.value <= e.high <= 1.0


@st.composite
def scored(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=0, max_value=40))
    ids = np.array(sorted(draw(st.sets(st.integers(1, 10_000), min_size=n, max_size=n))))
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    score = draw(
        st.lists(
            st.one_of(st.sampled_from([0.0, 0.5, 1.0, float("nan")]), st.floats(0.0, 1.0)),
            min_size=n,
            max_size=n,
        )
    )
    return ids.astype(np.int64), eligible, np.array(score, dtype=np.float64)


thresholds = st.floats(min_value=0.0, max_value=1.0)
maxima = st.integers(min_value=1, max_value=50)


@given(scored(), thresholds, thresholds, maxima)
def test_select_is_monotone_in_the_threshold(
    table: tuple[np.ndarray, np.ndarray, np.ndarray], t1: float, t2: float, max_weekly: int
) -> None:
    """A higher threshold selects a subset of what a lower one selects."""
    low, high = sorted((t1, t2))
    loose = select(*table, threshold=low, max_weekly=max_weekly)
    strict = select(*table, threshold=high, max_weekly=max_weekly)
    assert not np.any(strict.selected & ~loose.selected)
    assert strict.n_candidates <= loose.n_candidates
    assert np.array_equal(strict.rank, loose.rank)


@given(scored(), thresholds, maxima, maxima)
def test_select_is_monotone_in_the_weekly_maximum(
    table: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: float, m1: int, m2: int
) -> None:
    """A larger weekly maximum selects a superset, and never more than the maximum."""
    small, large = sorted((m1, m2))
    few = select(*table, threshold=threshold, max_weekly=small)
    many = select(*table, threshold=threshold, max_weekly=large)
    assert not np.any(few.selected & ~many.selected)
    assert int(few.selected.sum()) == min(small, few.n_candidates)
    assert int(many.selected.sum()) == min(large, many.n_candidates)


ROWS = st.sampled_from(
    [
        lambda rid: row(rid),
        lambda rid: row(rid, age=150),
        lambda rid: row(rid, segment="gold"),
        lambda rid: row(rid, balance="abc"),
        lambda rid: row(""),
        lambda rid: row(rid, age=-1, accounts=-5),
        lambda rid: row(rid, logins=3),
    ]
)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(ROWS, st.integers(100, 110)), min_size=1, max_size=12))
def test_ingest_loads_or_quarantines_every_row_read(rows: list[tuple[object, int]]) -> None:
    lines = [make(rid) for make, rid in rows]  # type: ignore[operator]
    with tempfile.TemporaryDirectory() as tmp, Store(":memory:") as store:
        path = write_csv(Path(tmp) / "snap.csv", lines)
        try:
            report = load_file(store, SNAPSHOTS, path, SourceConfig(path="unused"), setting="x")
        except SourceFileError as refused:
            # refused as a whole: only for one rule broken by more than half the rows, and
            # then nothing is written anywhere
            failing, read = map(int, re.findall(r"in ([\d,]+) of ([\d,]+) rows", str(refused))[0])
            assert read == len(lines) and failing > 0.5 * read
            for table in ("snapshots", "quarantine", "ingest_batches"):
                assert store.scalar(f"SELECT count(*) FROM {table}") == 0
            return
        assert report.rows_read == len(lines)
        assert report.rows_loaded + report.rows_quarantined == report.rows_read
        worst = store.scalar(
            "SELECT max(n) FROM (SELECT column_name, rule, count(*) AS n FROM quarantine "
            "GROUP BY ALL)"
        )
        assert worst is None or worst <= 0.5 * len(lines)


@settings(max_examples=8, deadline=None)
@given(
    st.floats(min_value=0.0, max_value=1.0, allow_subnormal=False),
    st.integers(min_value=2, max_value=10_000),
)
def test_a_knob_set_reads_back_equal(threshold: float, max_weekly: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.duckdb"
        cfg = tiny_config(path)
        with open_store(cfg) as store:
            fill(store)
            action = cfg.actions[0].name
            for knob, value in (("threshold", threshold), ("max_weekly", max_weekly)):
                _, new, _ = set_knob(store, cfg, action, knob, repr(value), actor="a", reason="r")
                assert new == value
            applied = effective_config(store, cfg).action(action)
        assert (applied.threshold, applied.max_weekly) == (threshold, max_weekly)
