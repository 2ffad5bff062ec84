"""Propensity models: estimators, time-split training, calibration, metrics, registry."""

from nextbest.models._estimators import LightGBMPropensity, LogisticPropensity
from nextbest.models._leakage import (
    Finding,
    LeakageSettings,
    find_time_keys,
    has_critical,
    hunt_table,
    random_vs_time_gap,
    too_good,
)
from nextbest.models._metrics import (
    CalibrationBand,
    brier,
    calibration_table,
    lift_at,
    lift_curve,
    pr_auc,
    roc_auc,
)
from nextbest.models._propensity import PropensityModel
from nextbest.models._reasons import reason_codes
from nextbest.models._registry import (
    STATUSES,
    ModelVersion,
    champion_version,
    get_version,
    list_versions,
    load_model,
    model_events,
    record_backtest,
    register_model,
    rollback,
    set_status,
    shadow_version,
)
from nextbest.models._train import (
    TimeSplit,
    TrainingResult,
    evaluate_scores,
    make_estimator,
    time_split,
    train_action,
)

__all__ = [
    "STATUSES",
    "CalibrationBand",
    "Finding",
    "LeakageSettings",
    "LightGBMPropensity",
    "LogisticPropensity",
    "ModelVersion",
    "PropensityModel",
    "TimeSplit",
    "TrainingResult",
    "brier",
    "calibration_table",
    "champion_version",
    "evaluate_scores",
    "find_time_keys",
    "get_version",
    "has_critical",
    "hunt_table",
    "lift_at",
    "lift_curve",
    "list_versions",
    "load_model",
    "make_estimator",
    "model_events",
    "pr_auc",
    "random_vs_time_gap",
    "reason_codes",
    "record_backtest",
    "register_model",
    "roc_auc",
    "rollback",
    "set_status",
    "shadow_version",
    "time_split",
    "too_good",
    "train_action",
]
