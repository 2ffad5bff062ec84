"""Propensity models: estimators, time-split training, calibration, metrics, registry."""

from nextbest.models._estimators import LightGBMPropensity, LogisticPropensity
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
    ModelVersion,
    champion_version,
    list_versions,
    load_model,
    register_model,
)
from nextbest.models._train import (
    TimeSplit,
    TrainingResult,
    evaluate_scores,
    time_split,
    train_action,
)

__all__ = [
    "CalibrationBand",
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
    "lift_at",
    "lift_curve",
    "list_versions",
    "load_model",
    "pr_auc",
    "reason_codes",
    "register_model",
    "roc_auc",
    "time_split",
    "train_action",
]
