"""Propensity estimators following the scikit-learn contract, stored in native formats.

Two kinds, both producing log-odds (``decision_function``) and per-feature contributions to it:

* :class:`LogisticPropensity` — median imputation, standardisation, strongly regularised
  logistic regression. Contribution of a feature = coefficient × standardised value.
* :class:`LightGBMPropensity` — gradient-boosted trees (missing values handled natively).
  Contributions from LightGBM's ``pred_contrib`` (exact tree SHAP values in log-odds).

Neither is ever pickled: :meth:`to_dict` gives JSON-safe parameters (the LightGBM model as its
own text format) and :meth:`from_dict` rebuilds the estimator without executing anything.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

Matrix = npt.NDArray[np.float64]


def _sigmoid(x: Matrix) -> Matrix:
    out: Matrix = 1.0 / (1.0 + np.exp(-x))
    return out


def _check_xy(X: Any, y: Any) -> tuple[Matrix, npt.NDArray[np.int8]]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int8)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be 2-d with one row per label; got X {X.shape}, y {y.shape}")
    if not set(np.unique(y)) <= {0, 1} or y.sum() == 0 or y.sum() == len(y):
        raise ValueError("y must contain both 0 and 1 (converted and not converted)")
    return X, y


class LogisticPropensity(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Strongly regularised logistic regression with its own imputation and scaling.

    Parameters
    ----------
    C : float
        Inverse regularisation strength (small = strong).

    Example
    -------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> LogisticPropensity(C=1.0).fit(X, y).predict_proba(X).shape
    (4, 2)
    """

    def __init__(self, C: float = 0.1, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> LogisticPropensity:
        X, y = _check_xy(X, y)
        medians = np.nanmedian(np.where(np.isnan(X), np.nan, X), axis=0)
        self.medians_ = np.where(np.isnan(medians), 0.0, medians)
        Z = self._impute(X)
        self.mean_ = Z.mean(axis=0)
        scale = Z.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter)
        lr.fit((Z - self.mean_) / self.scale_, y)
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def _impute(self, X: Matrix) -> Matrix:
        return np.where(np.isnan(X), self.medians_, X)

    def contributions(self, X: Any) -> Matrix:
        """Per-feature terms of the log-odds; a last column holds the intercept."""
        check_is_fitted(self, "coef_")
        Z = (self._impute(np.asarray(X, dtype=np.float64)) - self.mean_) / self.scale_
        terms = Z * self.coef_
        return np.column_stack([terms, np.full(len(terms), self.intercept_)])

    def decision_function(self, X: Any) -> Matrix:
        total: Matrix = self.contributions(X).sum(axis=1)
        return total

    def predict_proba(self, X: Any) -> Matrix:
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> npt.NDArray[np.int8]:
        return (self.decision_function(X) > 0).astype(np.int8)

    def to_dict(self) -> dict[str, Any]:
        check_is_fitted(self, "coef_")
        return {
            "kind": "logistic",
            "params": {"C": self.C, "max_iter": self.max_iter},
            "medians": self.medians_.tolist(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogisticPropensity:
        est = cls(**data["params"])
        est.medians_ = np.asarray(data["medians"], dtype=np.float64)
        est.mean_ = np.asarray(data["mean"], dtype=np.float64)
        est.scale_ = np.asarray(data["scale"], dtype=np.float64)
        est.coef_ = np.asarray(data["coef"], dtype=np.float64)
        est.intercept_ = float(data["intercept"])
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = len(est.coef_)
        return est


def _threads(n_rows: int) -> int:
    """One thread for a handful of rows (real-time requests run side by side; a thread team
    per row would only fight over the cores); LightGBM's default (0) for batches."""
    return 1 if n_rows < 10_000 else 0


class LightGBMPropensity(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """LightGBM gradient boosting, shallow and heavily regularised by default."""

    def __init__(
        self,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 200,
        reg_lambda: float = 10.0,
        random_state: int = 0,
        monotone_constraints: list[int] | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.random_state = random_state
        self.monotone_constraints = monotone_constraints

    def fit(self, X: Any, y: Any) -> LightGBMPropensity:
        X, y = _check_xy(X, y)
        params = {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 0,
            "verbose": -1,
        }
        if self.monotone_constraints:
            if len(self.monotone_constraints) != X.shape[1]:
                raise ValueError(
                    f"monotone_constraints has {len(self.monotone_constraints)} entries for "
                    f"{X.shape[1]} features"
                )
            params["monotone_constraints"] = list(self.monotone_constraints)
        data = lgb.Dataset(X, label=y, free_raw_data=True)
        self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> Matrix:
        check_is_fitted(self, "booster_")
        X = np.asarray(X, dtype=np.float64)
        raw = self.booster_.predict(X, raw_score=True, num_threads=_threads(len(X)))
        return np.asarray(raw, dtype=np.float64)

    def contributions(self, X: Any) -> Matrix:
        """Per-feature SHAP values in log-odds; a last column holds the expected value."""
        check_is_fitted(self, "booster_")
        X = np.asarray(X, dtype=np.float64)
        out = self.booster_.predict(X, pred_contrib=True, num_threads=_threads(len(X)))
        return np.asarray(out, dtype=np.float64)

    def predict_proba(self, X: Any) -> Matrix:
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> npt.NDArray[np.int8]:
        return (self.decision_function(X) > 0).astype(np.int8)

    def feature_importance(self) -> Matrix:
        """Total gain per feature."""
        check_is_fitted(self, "booster_")
        return np.asarray(self.booster_.feature_importance(importance_type="gain"), np.float64)

    def to_dict(self) -> dict[str, Any]:
        check_is_fitted(self, "booster_")
        return {
            "kind": "lightgbm",
            "params": self.get_params(),
            "model_text": self.booster_.model_to_string(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LightGBMPropensity:
        est = cls(**data["params"])
        est.booster_ = lgb.Booster(model_str=data["model_text"])
        est.classes_ = np.array([0, 1])
        est.n_features_in_ = est.booster_.num_feature()
        return est


Estimator = LogisticPropensity | LightGBMPropensity


def estimator_from_dict(data: dict[str, Any]) -> Estimator:
    if data.get("kind") == "logistic":
        return LogisticPropensity.from_dict(data)
    if data.get("kind") == "lightgbm":
        return LightGBMPropensity.from_dict(data)
    raise ValueError(f"unknown estimator kind {data.get('kind')!r}")
