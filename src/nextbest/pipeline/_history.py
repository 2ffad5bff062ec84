"""The backtest job: replay history, record the figures on the model, write the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from nextbest.config import Config, output_dir
from nextbest.features import resolve_features
from nextbest.models import list_versions, record_backtest
from nextbest.pipeline._backtest import (
    BacktestResult,
    Progress,
    market_series,
    run_backtest,
)
from nextbest.pipeline._backtest_report import write_backtest_report
from nextbest.store import Store


@dataclass(frozen=True)
class BacktestReport:
    """A history replay and the report written of it."""

    result: BacktestResult
    report: Path

    @property
    def failed(self) -> bool:
        """Whether a configured expectation failed."""
        return not all(e["passed"] for e in self.result.expectations)


def backtest_project(
    store: Store,
    config: Config,
    *,
    action_name: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> BacktestReport:
    """Replay history for one action (default: the first), record the summary on its newest
    model version, and write ``reports/backtests/<action>-<first>-<last>.html`` in the
    outputs folder (``[store] outputs``)."""
    result = run_backtest(
        store, config, action_name=action_name, start=start, end=end, progress=progress
    )
    fund = resolve_features(config.features).market_fund
    market = market_series(store, fund, result.weeks[0].week, result.weeks[-1].week)
    versions = list_versions(store, result.action)
    if versions:
        record_backtest(store, versions[0].version, result.summary)
    name = f"{result.action}-{result.summary['first_week']}-{result.summary['last_week']}.html"
    out = output_dir(config, "reports") / "backtests" / name
    return BacktestReport(result, write_backtest_report(result, out, market=market))
