"""Wiring the steps into jobs: training, the weekly run, the demo."""

from nextbest.pipeline._backtest import (
    BacktestResult,
    BacktestWeek,
    market_series,
    run_backtest,
    write_backtest_report,
)
from nextbest.pipeline._demo import DemoResult, run_demo
from nextbest.pipeline._models import ReleaseLine, hunt_file, promote, release_table
from nextbest.pipeline._project import CONFIG_TEMPLATE, write_config
from nextbest.pipeline._review import explain_customer, list_runs, run_summary
from nextbest.pipeline._train import TrainedAction, oracle_probabilities, train_models
from nextbest.pipeline._weekly import (
    ActionOutcome,
    RunResult,
    config_hash,
    run_week,
    write_decision_file,
)

__all__ = [
    "CONFIG_TEMPLATE",
    "ActionOutcome",
    "BacktestResult",
    "BacktestWeek",
    "DemoResult",
    "ReleaseLine",
    "RunResult",
    "TrainedAction",
    "config_hash",
    "explain_customer",
    "hunt_file",
    "list_runs",
    "market_series",
    "oracle_probabilities",
    "promote",
    "release_table",
    "run_backtest",
    "run_demo",
    "run_summary",
    "run_week",
    "train_models",
    "write_backtest_report",
    "write_config",
    "write_decision_file",
]
