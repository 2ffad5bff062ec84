"""Point-in-time feature definitions as relational queries (no Python row loops)."""

from nextbest.features._build import (
    Audience,
    FeatureSet,
    build_features,
    build_training_table,
    feature_set_for,
    loaded_snapshot_dates,
    resolve_features,
    spread_training_dates,
    training_dates,
    training_table,
)
from nextbest.features._definitions import FEATURES, FeatureDefinition
from nextbest.features._phrases import phrase

__all__ = [
    "FEATURES",
    "Audience",
    "FeatureDefinition",
    "FeatureSet",
    "build_features",
    "build_training_table",
    "feature_set_for",
    "loaded_snapshot_dates",
    "phrase",
    "resolve_features",
    "spread_training_dates",
    "training_dates",
    "training_table",
]
