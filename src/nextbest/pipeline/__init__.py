"""Wiring the steps into jobs: training, the weekly run, the demo."""

from nextbest.pipeline._backtest import (
    BacktestResult,
    BacktestWeek,
    market_series,
    run_backtest,
    write_backtest_report,
)
from nextbest.pipeline._demo import DemoResult, run_demo
from nextbest.pipeline._export import ExportResult, export_run
from nextbest.pipeline._models import ReleaseLine, hunt_file, promote, release_table
from nextbest.pipeline._operate import (
    KNOBS,
    action_enabled,
    decide_review,
    due_week,
    effective_config,
    knob_log,
    record_skipped,
    replay,
    review,
    set_knob,
)
from nextbest.pipeline._outcomes import simulate_outcomes
from nextbest.pipeline._project import CONFIG_TEMPLATE, write_config
from nextbest.pipeline._review import explain_customer, explain_customers, list_runs, run_summary
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
    "KNOBS",
    "ActionOutcome",
    "BacktestResult",
    "BacktestWeek",
    "DemoResult",
    "ExportResult",
    "ReleaseLine",
    "RunResult",
    "TrainedAction",
    "action_enabled",
    "config_hash",
    "decide_review",
    "due_week",
    "effective_config",
    "explain_customer",
    "explain_customers",
    "export_run",
    "hunt_file",
    "knob_log",
    "list_runs",
    "market_series",
    "oracle_probabilities",
    "promote",
    "record_skipped",
    "release_table",
    "replay",
    "review",
    "run_backtest",
    "run_demo",
    "run_summary",
    "run_week",
    "set_knob",
    "simulate_outcomes",
    "train_models",
    "write_backtest_report",
    "write_config",
    "write_decision_file",
]
