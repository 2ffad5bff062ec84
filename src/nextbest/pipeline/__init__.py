"""Wiring the steps into jobs: training, the weekly run, the demo."""

from nextbest.pipeline._alerting import notify_halt, undelivered_alerts
from nextbest.pipeline._backtest import (
    BacktestResult,
    BacktestWeek,
    market_series,
    run_backtest,
    write_backtest_report,
)
from nextbest.pipeline._demo import DemoResult, run_demo
from nextbest.pipeline._export import ExportResult, export_run
from nextbest.pipeline._files import TABLE_SUFFIXES, write_table
from nextbest.pipeline._history import BacktestReport, backtest_project
from nextbest.pipeline._measure import (
    Evaluation,
    Fairness,
    Figure,
    evaluate_project,
    experiment_effects,
    fairness_report,
)
from nextbest.pipeline._models import ReleaseLine, hunt_file, promote, release_table
from nextbest.pipeline._operate import (
    KNOBS,
    action_enabled,
    decide_review,
    due_week,
    effective_config,
    knob_log,
    parse_knob,
    record_skipped,
    replay,
    review,
    set_knob,
)
from nextbest.pipeline._outcomes import simulate_outcomes
from nextbest.pipeline._project import CONFIG_TEMPLATE, Project, open_project, write_config
from nextbest.pipeline._review import (
    RUN_SETTINGS,
    explain_customer,
    explain_customers,
    list_runs,
    run_config,
    run_summary,
)
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
    "RUN_SETTINGS",
    "TABLE_SUFFIXES",
    "ActionOutcome",
    "BacktestReport",
    "BacktestResult",
    "BacktestWeek",
    "DemoResult",
    "Evaluation",
    "ExportResult",
    "Fairness",
    "Figure",
    "Project",
    "ReleaseLine",
    "RunResult",
    "TrainedAction",
    "action_enabled",
    "backtest_project",
    "config_hash",
    "decide_review",
    "due_week",
    "effective_config",
    "evaluate_project",
    "experiment_effects",
    "explain_customer",
    "explain_customers",
    "export_run",
    "fairness_report",
    "hunt_file",
    "knob_log",
    "list_runs",
    "market_series",
    "notify_halt",
    "open_project",
    "oracle_probabilities",
    "parse_knob",
    "promote",
    "record_skipped",
    "release_table",
    "replay",
    "review",
    "run_backtest",
    "run_config",
    "run_demo",
    "run_summary",
    "run_week",
    "set_knob",
    "simulate_outcomes",
    "train_models",
    "undelivered_alerts",
    "write_backtest_report",
    "write_config",
    "write_decision_file",
    "write_table",
]
