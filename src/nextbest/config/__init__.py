"""Typed project configuration: one TOML file, validated at load with actionable errors.

The configuration holds the business knobs and where the data lives. Secrets never live here;
they come from the environment. Relative paths are resolved against the folder of the TOML
file, so a project folder can be moved as a whole.

Example
-------
>>> cfg = Config.model_validate({"store": {"path": "bank.duckdb"}})
>>> cfg.store.path.name
'bank.duckdb'
"""

from nextbest.config._actions import (
    ActionConfig,
    ChannelConfig,
    ContactPolicyConfig,
    EligibilityRule,
    ModelSpec,
    ValueModelSpec,
)
from nextbest.config._base import DEFAULT_FEATURES, SENSITIVE_ATTRIBUTES
from nextbest.config._data import (
    NULL_LIMITS_BY_COLUMN,
    ContractsConfig,
    CustomFeature,
    Encoding,
    FeaturesConfig,
    SourceConfig,
    SourcesConfig,
    StoreConfig,
    TrainingConfig,
)
from nextbest.config._load import (
    Config,
    OutputKind,
    config_from_mapping,
    find_config,
    load_config,
    output_dir,
)
from nextbest.config._settings import (
    AlertsConfig,
    ApiConfig,
    BacktestConfig,
    ChecksConfig,
    LeakageConfig,
    ReleaseConfig,
    RunConfig,
    WhatIf,
)

__all__ = [
    "DEFAULT_FEATURES",
    "NULL_LIMITS_BY_COLUMN",
    "SENSITIVE_ATTRIBUTES",
    "ActionConfig",
    "AlertsConfig",
    "ApiConfig",
    "BacktestConfig",
    "ChannelConfig",
    "ChecksConfig",
    "Config",
    "ContactPolicyConfig",
    "ContractsConfig",
    "CustomFeature",
    "EligibilityRule",
    "Encoding",
    "FeaturesConfig",
    "LeakageConfig",
    "ModelSpec",
    "OutputKind",
    "ReleaseConfig",
    "RunConfig",
    "SourceConfig",
    "SourcesConfig",
    "StoreConfig",
    "TrainingConfig",
    "ValueModelSpec",
    "WhatIf",
    "config_from_mapping",
    "find_config",
    "load_config",
    "output_dir",
]
