"""A calibrated propensity model: estimator + Platt calibration + its feature list.

The estimator's log-odds ``z`` are mapped to a probability by ``sigmoid(a * z + b)``, with
``a`` and ``b`` fitted on a *later* slice of weeks than the estimator (never the same rows), so
that a score of 0.3 means that about 30% of such customers convert within the label window.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sklearn.linear_model import LogisticRegression

from nextbest.errors import NotFoundError
from nextbest.models._estimators import Estimator, _sigmoid, estimator_from_dict

Matrix = npt.NDArray[np.float64]


def feature_matrix(table: pa.Table, names: list[str]) -> Matrix:
    """The columns ``names`` of an Arrow table as a float matrix (missing values as NaN)."""
    cols = [table[f].to_numpy(zero_copy_only=False).astype(np.float64, copy=False) for f in names]
    return np.column_stack(cols) if cols else np.empty((table.num_rows, 0))


@dataclass
class PropensityModel:
    """What the weekly run scores with; serialisable to JSON (no pickle)."""

    action: str
    features: list[str]
    estimator: Estimator
    calibration: tuple[float, float] = (1.0, 0.0)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "logistic" if self.estimator.to_dict()["kind"] == "logistic" else "lightgbm"

    def calibrate(self, X: Any, y: Any) -> PropensityModel:
        """Fit the Platt mapping on a calibration slice (later weeks than training)."""
        y_arr = np.asarray(y, dtype=np.int8)
        if len(y_arr) == 0 or y_arr.min() == y_arr.max():
            # nothing to calibrate against: keep the estimator's own probabilities, and say so
            self.calibration = (1.0, 0.0)
            self.metadata["calibration"] = "skipped: the calibration slice has one class only"
            return self
        z = self.estimator.decision_function(X).reshape(-1, 1)
        lr = LogisticRegression(C=1e6, max_iter=1000).fit(z, y_arr)
        self.calibration = (float(lr.coef_[0][0]), float(lr.intercept_[0]))
        return self

    def matrix(self, table: pa.Table) -> Matrix:
        """This model's features from a feature table, in the model's order."""
        missing = [f for f in self.features if f not in table.column_names]
        if missing:
            raise NotFoundError(
                f"model for {self.action} needs features {missing} that [features] does not "
                "enable; enable them or retrain"
            )
        return feature_matrix(table, self.features)

    def score(self, X: Any) -> Matrix:
        """Calibrated probability of the target outcome within the label window."""
        a, b = self.calibration
        return _sigmoid(a * self.estimator.decision_function(X) + b)

    def contributions(self, X: Any) -> Matrix:
        """Per-feature contributions to the calibrated log-odds (one column per feature)."""
        a, _ = self.calibration
        return a * self.estimator.contributions(X)[:, : len(self.features)]

    def to_json(self) -> str:
        payload = {
            "format": "nextbest-propensity-1",
            "action": self.action,
            "features": self.features,
            "calibration": list(self.calibration),
            "estimator": self.estimator.to_dict(),
            "metadata": self.metadata,
        }
        return json.dumps(payload, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PropensityModel:
        data = json.loads(text)
        if data.get("format") != "nextbest-propensity-1":
            raise ValueError("not a nextbest propensity model file")
        a, b = data["calibration"]
        return cls(
            action=data["action"],
            features=list(data["features"]),
            estimator=estimator_from_dict(data["estimator"]),
            calibration=(float(a), float(b)),
            metadata=dict(data["metadata"]),
        )

    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()
