"""Estimators, calibration, storage without pickle, the registry, reasons and the split."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from nextbest.errors import NotFoundError, StoreError
from nextbest.models import (
    LightGBMPropensity,
    LogisticPropensity,
    PropensityModel,
    champion_version,
    list_versions,
    load_model,
    reason_codes,
    register_model,
    time_split,
)
from nextbest.store import Store


def _data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[rng.random(n) < 0.05, 2] = np.nan
    logit = -2.0 + 1.5 * X[:, 0] - 0.8 * X[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.mark.parametrize("kind", ["logistic", "lightgbm"])
def test_round_trip_without_pickle(kind: str) -> None:
    """A model saved as JSON scores exactly like the original after loading."""
    X, y = _data()
    est = (
        LogisticPropensity(C=1.0)
        if kind == "logistic"
        else LightGBMPropensity(n_estimators=30, min_child_samples=20)
    )
    model = PropensityModel(
        "a", ["x0", "x1", "x2"], est.fit(X, y), metadata={"train_dates": ["2025-01-05"]}
    )
    model.calibrate(X[:1000], y[:1000])
    text = model.to_json()
    assert "pickle" not in text
    again = PropensityModel.from_json(text)
    assert np.array_equal(again.score(X), model.score(X))
    assert np.allclose(again.contributions(X), model.contributions(X))
    assert again.kind == kind


def test_logistic_contributions_add_up() -> None:
    """Logistic contributions plus the intercept equal the log-odds, per row."""
    X, y = _data()
    est = LogisticPropensity(C=1.0).fit(X, y)
    contrib = est.contributions(X)
    assert np.allclose(contrib.sum(axis=1), est.decision_function(X))
    assert est.coef_[0] > 0 > est.coef_[1]  # recovers the signs of the true model


def test_lightgbm_contributions_add_up() -> None:
    """LightGBM's per-row SHAP values plus the expected value equal the raw score."""
    X, y = _data()
    est = LightGBMPropensity(n_estimators=30, min_child_samples=20).fit(X, y)
    assert np.allclose(est.contributions(X).sum(axis=1), est.decision_function(X))


def test_calibration_makes_scores_probabilities() -> None:
    """After Platt calibration on held-out rows, the mean score matches the base rate."""
    X, y = _data(20000)
    est = LightGBMPropensity(n_estimators=50, min_child_samples=50).fit(X[:10000], y[:10000])
    model = PropensityModel("a", ["x0", "x1", "x2"], est).calibrate(X[10000:15000], y[10000:15000])
    score = model.score(X[15000:])
    assert score.mean() == pytest.approx(y[15000:].mean(), abs=0.015)


def test_fit_needs_both_classes() -> None:
    """Training on labels without a single converter is refused."""
    with pytest.raises(ValueError, match="both 0 and 1"):
        LogisticPropensity().fit(np.zeros((5, 1)), np.zeros(5))


def test_reason_codes_by_hand() -> None:
    """Contributions coef × value: ordered by size, signed, in words; market features out."""
    est = LogisticPropensity.from_dict(
        {
            "kind": "logistic",
            "params": {"C": 1.0, "max_iter": 100},
            "medians": [0, 0, 0],
            "mean": [0, 0, 0],
            "scale": [1, 1, 1],
            "coef": [0.5, -0.01, 10.0],
            "intercept": 0.0,
        }
    )
    model = PropensityModel("a", ["engagement", "age", "fund_return_4w"], est)
    X = np.array([[2.0, 71.0, 0.05], [1.0, 20.0, 0.05]])
    texts, leading = reason_codes(model, X, top=2, exclude=frozenset({"fund_return_4w"}))
    # row 1: engagement +1.0, age −0.71; row 2: engagement +0.5, age −0.2
    assert texts == ["+ engagement 2.0 of 3; − age 71", "+ engagement 1.0 of 3; − age 20"]
    assert leading == ["engagement", "engagement"]


def _model(action: str = "invest-onboarding", seed: int = 0) -> PropensityModel:
    X, y = _data(seed=seed)
    return PropensityModel(
        action,
        ["x0", "x1", "x2"],
        LogisticPropensity().fit(X, y),
        metadata={"train_dates": ["2024-06-02", "2024-12-01"], "metrics": {"pr_auc": 0.5}},
    )


def test_registry_first_is_champion_then_candidates() -> None:
    """The first version of an action becomes champion; a different one is a candidate; the
    same one again is the same version."""
    with Store(":memory:") as store:
        first = register_model(store, _model())
        second = register_model(store, _model(seed=1))
        again = register_model(store, _model())
        assert (first.status, second.status) == ("champion", "candidate")
        assert again.version == first.version
        assert first.version.startswith("invest-onboarding@")
        assert champion_version(store, "invest-onboarding").version == first.version
        assert len(list_versions(store)) == 2
        assert first.train_first == dt.date(2024, 6, 2)


def test_tampered_artifact_is_refused() -> None:
    """An artifact changed after registration fails its checksum on load."""
    with Store(":memory:") as store:
        v = register_model(store, _model())
        assert load_model(store, v.version).features == ["x0", "x1", "x2"]
        store.execute("UPDATE model_versions SET artifact = replace(artifact, '\"x0\"', '\"x9\"')")
        with pytest.raises(StoreError, match="does not match its checksum"):
            load_model(store, v.version)
        with pytest.raises(NotFoundError, match="no model version"):
            load_model(store, "nope@123")


def test_time_split_by_hand() -> None:
    """20 fortnightly dates, 8-week gaps: eval = last 5; calibration = 4 dates ending ≥ 8
    weeks before eval; train = dates ≥ 8 weeks before calibration."""
    ds = [dt.date(2024, 1, 7) + dt.timedelta(weeks=2 * i) for i in range(20)]
    s = time_split(ds, gap_weeks=8)
    assert s.evaluation == ds[15:]
    assert s.calibration == ds[8:12]  # ds[11] + 8 weeks == ds[15]
    assert s.train == ds[:5]  # ds[4] + 8 weeks == ds[8]


def test_time_split_too_short() -> None:
    """Too few dates for three slices and two gaps says what to change."""
    ds = [dt.date(2024, 1, 7) + dt.timedelta(weeks=i) for i in range(10)]
    with pytest.raises(NotFoundError, match=r"10 training dates are too few .* load more weeks"):
        time_split(ds, gap_weeks=8)
