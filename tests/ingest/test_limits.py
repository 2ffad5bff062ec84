"""The limits of the data contracts are settings under [contracts], and every message names the
setting that holds its limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nextbest.config import Config, config_from_mapping
from nextbest.errors import ConfigError, SourceFileError
from nextbest.ingest import CONTRACTS, LoadReport, contract_for, load_file
from nextbest.store import Store
from tests.ingest.helpers import row, write_csv


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(":memory:") as s:
        yield s


def _config(contracts: dict[str, Any] | None = None) -> Config:
    data: dict[str, Any] = {"sources": {"snapshots": {"path": "unused"}}}
    if contracts is not None:
        data["contracts"] = contracts
    return config_from_mapping(data)


def _load(store: Store, path: Path, cfg: Config) -> LoadReport:
    source = cfg.sources.snapshots
    assert source is not None
    contract = contract_for("snapshots", cfg.contracts)
    return load_file(store, contract, path, source, setting="[sources.snapshots]")


def _one_null_age(tmp_path: Path) -> Path:
    """Ten rows of week 2025-06-29, the third without an age: 10% null."""
    rows = [row(101 + i, day="2025-06-29", age="" if i == 2 else 40) for i in range(10)]
    return write_csv(tmp_path / "snap.csv", rows)


def test_the_default_contracts_are_the_default_settings() -> None:
    """contract_for with the default [contracts] gives the contracts ingest always used."""
    defaults = Config().contracts
    for name, contract in CONTRACTS.items():
        assert contract_for(name, defaults) == contract


def test_a_null_share_above_the_limit_names_the_setting(store: Store, tmp_path: Path) -> None:
    """1 of 10 ages null is 10.0% against the default 1%: an error naming `[contracts]
    max_null_share`, the week and the way out."""
    report = _load(store, _one_null_age(tmp_path), _config())
    (issue,) = report.issues
    assert (issue.column, issue.rule, issue.severity) == ("age", "null_limit", "error")
    assert (issue.figure, issue.limit) == (pytest.approx(0.1), 0.01)
    assert issue.message == (
        "snapshots.age is null in 10.0% of 10 rows of week 2025-06-29 (limit 1%, "
        "`[contracts] max_null_share`); ask the warehouse to re-deliver, or raise the limit "
        "knowingly"
    )


def test_a_column_limit_names_its_own_setting(store: Store, tmp_path: Path) -> None:
    """[contracts.max_null_share_by_column] age = 0.05 is the limit of age and is named; the
    defaults of the other columns stay (app_installed 5%, customer_since 50%)."""
    cfg = _config({"max_null_share_by_column": {"age": 0.05}})
    assert cfg.contracts.max_null_share_by_column == {
        "app_installed": 0.05,
        "ib_logins_4w": 0.05,
        "customer_since": 0.5,
        "age": 0.05,
    }
    (issue,) = _load(store, _one_null_age(tmp_path), cfg).issues
    assert "(limit 5%, `[contracts.max_null_share_by_column] age`)" in issue.message


@pytest.mark.parametrize(
    "contracts",
    [{"max_null_share": 0.1}, {"max_null_share_by_column": {"age": 0.1}}],
)
def test_raising_the_null_limit_loads_clean(
    store: Store, tmp_path: Path, contracts: dict[str, Any]
) -> None:
    """With the limit raised to 10% in the config, 10% null ages are no issue."""
    report = _load(store, _one_null_age(tmp_path), _config(contracts))
    assert (report.rows_loaded, report.rows_quarantined, report.issues) == (10, 0, ())
    assert store.scalar("SELECT count(*) FROM contract_issues") == 0


def test_the_quarantine_share_limit_is_a_setting(store: Store, tmp_path: Path) -> None:
    """1 of 10 rows out of range (age 150) is 10%: an error above the default 5%, a warning
    within `quarantine_error_share = 0.2`; both messages name the setting."""
    rows = [row(101 + i, age=150 if i == 0 else 40) for i in range(10)]
    path = write_csv(tmp_path / "snap.csv", rows)
    (issue,) = _load(store, path, _config()).issues
    assert (issue.rule, issue.severity, issue.limit) == ("rows_quarantined", "error", 0.05)
    assert issue.message == (
        "1 of 10 rows (10.00%) failed the snapshots contract and were quarantined; see "
        "'nextbest quarantine' (above the error limit 5%, `[contracts] quarantine_error_share`)"
    )
    other = write_csv(tmp_path / "again.csv", [*rows, row(999)])
    (issue,) = _load(store, other, _config({"quarantine_error_share": 0.2})).issues
    assert (issue.severity, issue.limit) == ("warn", 0.2)
    assert issue.message.endswith(
        "(within the error limit 20%, `[contracts] quarantine_error_share`)"
    )


def test_future_days_is_the_horizon_of_snapshot_dates(store: Store, tmp_path: Path) -> None:
    """A snapshot 3 days ahead is quarantined by default ('future: after today'), loads with
    future_days = 7; one 10 days ahead is still quarantined, with the horizon in the rule."""
    soon = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    later = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    rows = [row(101), row(102, day=soon), row(103, day=later), row(104), row(105)]
    report = _load(store, write_csv(tmp_path / "snap.csv", rows), _config())
    assert (report.rows_loaded, report.rows_quarantined) == (3, 2)
    assert store.fetchall("SELECT DISTINCT rule FROM quarantine") == [("future: after today",)]
    again = write_csv(tmp_path / "again.csv", [*rows, row(106)])
    report = _load(store, again, _config({"future_days": 7}))
    assert (report.rows_loaded, report.rows_quarantined) == (5, 1)
    assert report.quarantine_by_rule == {"future: more than 7 days after today": 1}
    assert soon in report.partitions


def test_a_file_dated_ahead_is_refused_naming_future_days(store: Store, tmp_path: Path) -> None:
    """Every row dated next week: the file is refused, pointing at the export's clock and at
    [contracts] future_days."""
    ahead = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    path = write_csv(tmp_path / "snap.csv", [row(101, day=ahead), row(102, day=ahead)])
    with pytest.raises(
        SourceFileError,
        match=r"fails 'future: after today' in 2 of 2 rows; the dates lie ahead of today: check "
        r"the export's clock, or allow them with \[contracts\] future_days",
    ):
        _load(store, path, _config())


def test_refuse_share_defaults_to_the_contracts_setting() -> None:
    """A source without refuse_share takes [contracts] refuse_share; one with its own keeps it."""
    cfg = config_from_mapping(
        {
            "contracts": {"refuse_share": 1.0},
            "sources": {
                "snapshots": {"path": "s"},
                "market": {"path": "m", "refuse_share": 0.3},
            },
        }
    )
    assert cfg.sources.snapshots is not None and cfg.sources.market is not None
    assert (cfg.sources.snapshots.refuse_share, cfg.sources.market.refuse_share) == (1.0, 0.3)
    assert _config().sources.snapshots.refuse_share == 0.5  # type: ignore[union-attr]


def test_a_limit_on_an_unknown_or_never_null_column_is_refused() -> None:
    """A misspelt column is a config error with a did-you-mean; a column that may never be null
    has no null limit to set."""
    with pytest.raises(ConfigError, match=r"names 'agee', which is not a snapshot column; Did "):
        _config({"max_null_share_by_column": {"agee": 0.05}})
    # refused when the config loads (the contract would refuse it at ingest too)
    with pytest.raises(ConfigError, match=r"relation_id: this column may never be null"):
        _config({"max_null_share_by_column": {"relation_id": 0.05}})


def test_ingest_applies_the_configured_limits(store: Store, tmp_path: Path) -> None:
    """Through ``ingest_source`` (what ``nextbest ingest`` calls) the [contracts] settings
    decide: 10% null ages are an error under the default 1% and no issue at 20%."""
    from nextbest.ingest import ingest_source

    path = _one_null_age(tmp_path)
    strict = config_from_mapping({"sources": {"snapshots": {"path": str(path)}}})
    (report,) = ingest_source(store, strict, "snapshots")
    assert [i.rule for i in report.issues] == ["null_limit"]
    assert "`[contracts] max_null_share`" in report.issues[0].message
    with Store(":memory:") as fresh:
        lenient = config_from_mapping(
            {"sources": {"snapshots": {"path": str(path)}}, "contracts": {"max_null_share": 0.2}}
        )
        (report,) = ingest_source(fresh, lenient, "snapshots")
    assert report.issues == ()


def test_a_raised_limit_reads_the_loaded_files_again(store: Store, tmp_path: Path) -> None:
    """The limits decide what is quarantined and which weeks have issues: after raising one,
    the next ingest reads the file again (not 'unchanged') and the issue is gone."""
    from nextbest.ingest import contract_issues, ingest_source

    path = _one_null_age(tmp_path)
    strict = config_from_mapping({"sources": {"snapshots": {"path": str(path)}}})
    (first,) = ingest_source(store, strict, "snapshots")
    assert [i.rule for i in first.issues] == ["null_limit"]
    (same,) = ingest_source(store, strict, "snapshots")
    assert same.status == "unchanged"
    lenient = config_from_mapping(
        {"sources": {"snapshots": {"path": str(path)}}, "contracts": {"max_null_share": 0.2}}
    )
    (again,) = ingest_source(store, lenient, "snapshots")
    assert again.status == "loaded"
    assert any("[contracts]" in i.message for i in again.issues if i.rule == "reloaded")
    assert contract_issues(store) == []


def test_a_never_null_column_or_a_yes_for_a_share_is_refused_when_the_config_loads() -> None:
    from nextbest.config._data import NEVER_NULL

    # the config's list is the snapshot contract's never-null columns
    assert set(NEVER_NULL) == {c.name for c in CONTRACTS["snapshots"].columns if not c.nullable}
    with pytest.raises(ConfigError, match="relation_id: this column may never be null"):
        _config({"max_null_share_by_column": {"relation_id": 0.1}})
    with pytest.raises(ConfigError, match="max_null_share': Input should be a valid number"):
        _config({"max_null_share": True})
    assert _config({"max_null_share": 0}).contracts.max_null_share == 0
