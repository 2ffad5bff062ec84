"""The data profile, its figures worked out by hand on a small project the test writes."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nextbest.config import Config, load_config
from nextbest.errors import NotFoundError
from nextbest.ingest import ingest_source
from nextbest.pipeline import DataProfile, profile_project, profile_store
from nextbest.store import open_store
from tests.ingest.helpers import row, write_csv
from tests.pipeline._profile_data import write_profile_project

D1, D2, D4 = dt.date(2025, 1, 5), dt.date(2025, 1, 12), dt.date(2025, 1, 26)
FLOOR = 1e-4  # the PSI floors an empty bin's share at this


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_profile_project(tmp_path / "project")


@pytest.fixture
def profile(project: Path) -> DataProfile:
    with open_store(load_config(project)) as store:
        return profile_store(store)


def test_tables_weeks_and_the_missing_week(profile: DataProfile) -> None:
    """Snapshots first, by snapshot date with 2025-01-19 missing; prices by ISO week."""
    assert [t.table for t in profile.tables] == ["snapshots", "market_prices"]
    snapshots = profile.table("snapshots")
    assert snapshots.weeks == (D1, D2, D4)
    assert snapshots.missing_weeks == (dt.date(2025, 1, 19),)
    assert (snapshots.rows, snapshots.first, snapshots.latest) == (12, D1, D4)
    assert snapshots.quarantined == 1
    market = profile.table("market_prices")
    assert market.period == "week"
    assert market.weeks == (dt.date(2025, 1, 6), dt.date(2025, 1, 20))  # Mondays
    assert market.missing_weeks == (dt.date(2025, 1, 13),)
    assert [w.rows for w in market.column("price").weeks] == [2, 1]


def test_missing_share_overall_and_per_week(profile: DataProfile) -> None:
    """Logins are empty for two of four customers in the second week only."""
    logins = profile.table("snapshots").column("ib_logins_4w")
    assert [w.missing for w in logins.weeks] == [0.0, 0.5, 0.0]
    assert logins.missing == pytest.approx(2 / 12)
    assert logins.worst_week is not None and logins.worst_week.week == D2
    assert profile.table("snapshots").column("age").missing == 0.0
    (t, c), *rest = profile.most_missing()
    assert (t.table, c.name, rest) == ("snapshots", "ib_logins_4w", [])


def test_numeric_figures_and_tukey_outliers(profile: DataProfile) -> None:
    """Balances 100…400 twice, then 1000…4000: quantiles, range, distinct and fences."""
    balance = profile.table("snapshots").column("total_balance")
    assert balance.kind == "numeric" and balance.sql_type == "DOUBLE"
    first = balance.weeks[0]
    # quantile_cont of 100, 200, 300, 400 at 0.1 / 0.5 / 0.9: positions 0.3, 1.5, 2.7
    assert (first.p10, first.p50, first.p90) == pytest.approx((130, 250, 370))
    assert (balance.minimum, balance.median, balance.maximum) == (100, 350, 4000)
    assert balance.distinct == 8
    # all 12 sorted: q1 at position 2.75 is 200, q3 at 8.25 is 1250; IQR 1050
    assert balance.outliers is not None
    assert (balance.outliers.low, balance.outliers.high) == pytest.approx((-1375, 2825))
    assert (balance.outliers.rows, balance.outliers.share) == (2, pytest.approx(2 / 12))
    assert profile.table("snapshots").column("relation_id").kind == "key"


def test_psi_of_a_drifting_number_by_hand(profile: DataProfile) -> None:
    """The deciles of all 12 balances are 110 200 230 300 350 400 820 1800 3900: the first
    weeks fill bins 0, 2, 4, 6 a quarter each, the last fills 7 and 9 a quarter, 8 a half."""
    weeks = profile.table("snapshots").column("total_balance").weeks
    assert weeks[0].psi_first == 0.0 and weeks[0].psi_previous is None
    assert weeks[1].psi_first == 0.0  # the same four balances
    quarter = (0.25 - FLOOR) * math.log(0.25 / FLOOR)
    expected = 6 * quarter + (0.5 - FLOOR) * math.log(0.5 / FLOOR)
    assert weeks[2].psi_first == pytest.approx(expected)
    assert weeks[2].psi_previous == pytest.approx(expected)


def test_psi_of_a_drifting_boolean_by_hand(profile: DataProfile) -> None:
    """The app goes from half the customers to all of them: true 0.5 → 1, false 0.5 → 0."""
    app = profile.table("snapshots").column("app_installed")
    assert [w.true_share for w in app.weeks] == [0.5, 0.5, 1.0]
    expected = 0.5 * math.log(2) + (0.5 - FLOOR) * math.log(0.5 / FLOOR)
    assert app.weeks[2].psi_first == pytest.approx(expected)
    # the price moves from bins 0 and 5 (a half each) to bin 9: 2 × 0.4999 ln 5000 +
    # 0.9999 ln 10000 ≈ 17.7 drifts more than the balance (≈ 16.0) and the app (≈ 4.6)
    top = [(t.table, c.name) for t, c, _ in profile.most_drift(3)]
    assert top == [
        ("market_prices", "price"),
        ("snapshots", "total_balance"),
        ("snapshots", "app_installed"),
    ]


def test_top_values_of_text(profile: DataProfile) -> None:
    """One affluent row of twelve."""
    segment = profile.table("snapshots").column("segment")
    assert [(v.value, v.rows, v.share) for v in segment.top] == [
        ("mass", 11, pytest.approx(11 / 12)),
        ("affluent", 1, pytest.approx(1 / 12)),
    ]
    # the last week's share of affluent is 1/4 against 0 in the first: bins mass, affluent,
    # other, missing
    expected = (0.75 - 1) * math.log(0.75) + (0.25 - FLOOR) * math.log(0.25 / FLOOR)
    assert segment.weeks[2].psi_first == pytest.approx(expected)


def test_quarantine_reasons(profile: DataProfile) -> None:
    """The 150-year-old is quarantined under the age range, with the value as the example."""
    (reason,) = profile.quarantine
    assert (reason.table, reason.column) == ("snapshots", "age")
    assert reason.rule == "range: outside 0..120"
    assert (reason.rows, reason.files, reason.example) == (1, 1, "150")
    assert reason.example_file.endswith("snapshot_2025-01-26.csv") and reason.example_row == 5


def test_only_the_tables_asked_for(project: Path) -> None:
    """By source or table name; a wrong or empty table, or the audit table, is refused."""
    with open_store(load_config(project)) as store:
        assert [t.table for t in profile_store(store, tables=["market"]).tables] == [
            "market_prices"
        ]
        with pytest.raises(NotFoundError, match="Did you mean 'snapshots'"):
            profile_store(store, tables=["snapshot"])
        with pytest.raises(NotFoundError, match="conversions holds no rows"):
            profile_store(store, tables=["conversions"])
        with pytest.raises(NotFoundError, match="the audit table is never profiled"):
            profile_store(store, tables=["audit"])


def test_an_empty_store_is_refused(tmp_path: Path) -> None:
    """Nothing loaded: say so and how to load."""
    (tmp_path / "nextbest.toml").write_text('[store]\npath = "nb.duckdb"\n', encoding="utf-8")
    with (
        open_store(load_config(tmp_path / "nextbest.toml")) as store,
        pytest.raises(NotFoundError, match="run 'nextbest ingest' first"),
    ):
        profile_store(store)


def test_page_has_the_sections_and_one_plot_per_numeric_column(project: Path) -> None:
    """The page: overview, a section per table, a panel per numeric column, missing weeks,
    quarantine; offline (Plotly inlined, nothing fetched)."""
    cfg = load_config(project)
    with open_store(cfg) as store:
        report = profile_project(store, cfg)
    assert report.report == project.parent / "nextbest-out" / "reports" / "profile.html"
    text = report.report.read_text(encoding="utf-8")
    for anchor in ("overview", "table-snapshots", "table-market_prices", "missing-weeks"):
        assert f'id="{anchor}"' in text or f"id={anchor}" in text
    assert "id=quarantine" in text and "range: outside 0..120" in text
    panels = re.findall(r'<div class=panel data-column="([^"]+)">', text)
    assert panels == ["age", "n_accounts", "total_balance", "ib_logins_4w", "price"]
    assert "Missing share per snapshot date" in text and "Missing share per week" in text
    assert "missing weeks: 2025-01-19" in text
    assert "Plotly.newPlot" in text
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)
    assert not re.search(r"url\(\s*['\"]?https?:", text)


def _statements(cfg: Config) -> int:
    """How many SQL statements profiling the store of ``cfg`` sends."""
    sent: list[str] = []

    def counting(method: Callable[..., Any]) -> Callable[..., Any]:
        def send(sql: str, *args: Any, **kwargs: Any) -> Any:
            sent.append(sql)
            return method(sql, *args, **kwargs)

        return send

    with open_store(cfg) as store:
        for name in ("execute", "fetchall", "fetchone", "arrow", "columns"):
            setattr(store, name, counting(getattr(store, name)))
        profile_store(store)
    return len(sent)


def test_statements_do_not_grow_with_weeks(project: Path) -> None:
    """The figures come from a fixed number of statements per table (one grouped query for
    all its columns and weeks), not from a loop over columns or weeks."""
    cfg = load_config(project)
    before = _statements(cfg)
    # per table: its row count, its columns, the grouped query, the missing weeks and the
    # quarantined rows; the two empty tables only their row count; the quarantine reasons
    # once; DuckDB's progress bar off and back
    assert before == 2 * 5 + 2 + 1 + 2
    folder = project.parent / "exports" / "snapshots"
    for day in ("2025-02-02", "2025-02-09"):
        write_csv(folder / f"snapshot_{day}.csv", [row(rid=101, day=day), row(rid=102, day=day)])
    with open_store(cfg) as store:
        ingest_source(store, cfg, "snapshots")
    assert _statements(cfg) == before


def test_values_from_the_data_are_escaped_on_the_page(project: Path) -> None:
    """A quarantined value that looks like HTML is shown as text, never as markup."""
    cfg = load_config(project)
    folder = project.parent / "exports" / "snapshots"
    rows = [row(rid=101, day="2025-02-02"), row(rid=102, day="2025-02-02", segment="<b>x</b>")]
    write_csv(folder / "snapshot_2025-02-02.csv", rows)
    with open_store(cfg) as store:
        ingest_source(store, cfg, "snapshots")
        text = profile_project(store, cfg).report.read_text(encoding="utf-8")
    assert "<code>&lt;b&gt;x&lt;/b&gt;</code>" in text and "<b>x</b>" not in text
