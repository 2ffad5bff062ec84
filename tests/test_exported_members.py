"""The public API of each package is exactly what its ``__all__`` says."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "nextbest.store": {"DATA_TABLES", "SCHEMA_VERSION", "Store", "is_database_error", "open_store"},
    "nextbest.features": {
        "FEATURES",
        "FeatureDefinition",
        "FeatureSet",
        "build_features",
        "build_training_table",
        "loaded_snapshot_dates",
        "phrase",
        "resolve_features",
        "training_dates",
    },
    "nextbest.simulate": {
        "DEFAULT_START",
        "FUNDS",
        "TRUE_COEFFICIENTS",
        "BankManifest",
        "MarketSeries",
        "simulate_bank",
        "simulate_market",
        "weekly_hazard",
    },
    "nextbest.ingest": {
        "AUDIT",
        "CONTRACTS",
        "CONVERSIONS",
        "MARKET",
        "SNAPSHOTS",
        "SOURCE_NAMES",
        "ColumnContract",
        "Contract",
        "ContractIssue",
        "LoadReport",
        "configured_sources",
        "contract_issues",
        "ingest_source",
        "ingest_summary",
        "load_file",
        "quarantine_rows",
        "quarantine_summary",
        "resolve_files",
    },
    "nextbest.pipeline": {
        "CONFIG_TEMPLATE",
        "ActionOutcome",
        "DemoResult",
        "ReleaseLine",
        "hunt_file",
        "promote",
        "release_table",
        "RunResult",
        "TrainedAction",
        "config_hash",
        "explain_customer",
        "list_runs",
        "oracle_probabilities",
        "run_demo",
        "run_summary",
        "run_week",
        "train_models",
        "write_config",
        "write_decision_file",
    },
    "nextbest.decisioning": {
        "BUILTIN_RULES",
        "ArmAssignment",
        "assign_arms",
        "eligibility",
        "eligibility_sql",
        "eligibility_trail",
        "rule_descriptions",
    },
    "nextbest.models": {
        "STATUSES",
        "Finding",
        "LeakageSettings",
        "find_time_keys",
        "get_version",
        "has_critical",
        "hunt_table",
        "model_events",
        "random_vs_time_gap",
        "record_backtest",
        "rollback",
        "set_status",
        "shadow_version",
        "too_good",
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
        "make_estimator",
        "load_model",
        "pr_auc",
        "reason_codes",
        "register_model",
        "roc_auc",
        "time_split",
        "train_action",
    },
}


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_all_is_locked(package: str) -> None:
    """``__all__`` lists exactly the expected names, and each of them exists."""
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPECTED[package]
    for name in module.__all__:
        assert hasattr(module, name), name
