"""Model operations across layers: promotion through the release gate, and the release table.
(The leakage hunt on a user's file is in ``_hunt_file``.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from nextbest.config import ActionConfig, Config, FeaturesConfig, ReleaseConfig
from nextbest.decisioning import eligibility, select
from nextbest.errors import NotFoundError, ReleaseBlockedError
from nextbest.features import (
    FeatureSet,
    build_features,
    build_training_table,
    loaded_snapshot_dates,
    resolve_features,
    training_dates,
)
from nextbest.models import (
    GATE_CHECKS,
    GateSettings,
    ModelVersion,
    PropensityModel,
    auc_interval,
    blocked_by,
    calibration_table,
    gate_passed,
    get_version,
    load_model,
    pr_auc,
    roc_auc,
    set_status,
)
from nextbest.pipeline._train import action_audience
from nextbest.store import Store


@dataclass(frozen=True)
class ReleaseLine:
    check: str
    candidate: float
    champion: float
    figure: float
    threshold: str
    passed: bool


def _ece(y: np.ndarray[Any, Any], s: np.ndarray[Any, Any]) -> float:
    bands = calibration_table(y, s)
    return float(sum(b.n * abs(b.mean_score - b.rate) for b in bands) / len(y))


def _importance(model: PropensityModel, X: np.ndarray[Any, Any]) -> dict[str, float]:
    contrib = np.abs(model.contributions(X))
    return dict(zip(model.features, contrib.mean(axis=0).tolist(), strict=True))


def _spearman(a: list[float], b: list[float]) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    if ra.std() == 0 or rb.std() == 0:
        return 1.0
    return float(np.corrcoef(ra, rb)[0, 1])


def release_table(store: Store, config: Config, candidate: str, champion: str) -> list[ReleaseLine]:
    """Both models on the same recent weeks with complete outcomes, and on the latest week."""
    cand_v, champ_v = get_version(store, candidate), get_version(store, champion)
    if cand_v.action != champ_v.action:
        raise NotFoundError(
            f"{candidate} and {champion} belong to different actions "
            f"({cand_v.action}, {champ_v.action})"
        )
    action = config.action(cand_v.action)
    cand, champ = load_model(store, candidate), load_model(store, champion)
    fs = _features_of_both(config, cand, champ)
    gate = GateSettings.from_config(config.release)
    weeks = _compare_on_weeks(store, config, action, fs, cand, champ, gate)
    latest = _compare_on_latest(store, action, fs, cand, champ)
    return _release_lines(weeks, latest, _baseline_margin(cand_v), config.release, gate)


def _features_of_both(config: Config, cand: PropensityModel, champ: PropensityModel) -> FeatureSet:
    """The configured features, plus any either model uses that the config no longer enables."""
    fs = resolve_features(config.features)
    names = sorted(set(cand.features) | set(champ.features))
    missing = [n for n in names if n not in fs.names]
    if not missing:
        return fs
    return resolve_features(
        FeaturesConfig(
            enabled=sorted(set(fs.names) | set(missing)), market_fund=config.features.market_fund
        )
    )


@dataclass(frozen=True)
class _SameWeeks:
    """Both models on the same recent weeks with complete outcomes."""

    roc_auc: float  # the candidate's
    roc_lower: tuple[float, float]  # (candidate, champion): lower ends of their intervals
    pr_auc: tuple[float, float]
    calibration_error: tuple[float, float]
    rank_correlation: float  # Spearman of the two models' feature importances


def _compare_on_weeks(
    store: Store,
    config: Config,
    action: ActionConfig,
    fs: FeatureSet,
    cand: PropensityModel,
    champ: PropensityModel,
    gate: GateSettings,
) -> _SameWeeks:
    dates = training_dates(store, config.training, label_weeks=action.label_weeks)
    recent = [d for d in loaded_snapshot_dates(store) if dates[0] <= d <= dates[-1]][
        -config.release.compare_weeks :
    ]
    table = build_training_table(
        store, fs, recent, label_weeks=action.label_weeks, audience=action_audience(action)
    )
    y = table["converted"].to_numpy().astype(np.int8)
    x_cand, x_champ = cand.matrix(table), champ.matrix(table)
    s_cand, s_champ = cand.score(x_cand), champ.score(x_champ)
    groups = table["relation_id"].to_numpy(zero_copy_only=False)
    lo_cand, lo_champ = (
        auc_interval(y, s, groups, confidence=gate.confidence, n_resamples=gate.n_resamples)[0]
        for s in (s_cand, s_champ)
    )
    rng = np.random.default_rng(0)
    sample = rng.choice(table.num_rows, size=min(5000, table.num_rows), replace=False)
    imp_c = _importance(cand, x_cand[sample])
    imp_h = _importance(champ, x_champ[sample])
    common = [f for f in cand.features if f in champ.features]
    rho = (
        _spearman([imp_c[f] for f in common], [imp_h[f] for f in common])
        if len(common) > 1
        else float("nan")
    )
    return _SameWeeks(
        roc_auc=roc_auc(y, s_cand),
        roc_lower=(lo_cand, lo_champ),
        pr_auc=(pr_auc(y, s_cand), pr_auc(y, s_champ)),
        calibration_error=(_ece(y, s_cand), _ece(y, s_champ)),
        rank_correlation=rho,
    )


@dataclass(frozen=True)
class _LatestWeek:
    """Both models deciding the latest loaded week."""

    date: dt.date
    selected_share: tuple[float, float]  # (candidate, champion): share of the eligible
    changed: float  # share of the selected (by either) whose action changes


def _compare_on_latest(
    store: Store,
    action: ActionConfig,
    fs: FeatureSet,
    cand: PropensityModel,
    champ: PropensityModel,
) -> _LatestWeek:
    latest = loaded_snapshot_dates(store)[-1]
    feats = build_features(store, fs, [latest])
    elig = eligibility(store, action, latest)
    ids = elig["relation_id"].to_numpy()
    ok = elig["eligible"].to_numpy(zero_copy_only=False)
    chosen = []
    for model in (cand, champ):
        score = np.full(len(ids), np.nan)
        score[ok] = model.score(model.matrix(feats)[ok])
        chosen.append(
            select(
                ids, ok, score, threshold=action.threshold, max_weekly=action.max_weekly
            ).selected
        )
    either = chosen[0] | chosen[1]
    share = [float(c.sum() / ok.sum()) if ok.any() else float("nan") for c in chosen]
    return _LatestWeek(
        date=latest,
        selected_share=(share[0], share[1]),
        changed=float((chosen[0] != chosen[1]).sum() / max(either.sum(), 1)),
    )


def _release_lines(
    weeks: _SameWeeks, latest: _LatestWeek, base: float, rel: ReleaseConfig, gate: GateSettings
) -> list[ReleaseLine]:
    lo_cand, lo_champ = weeks.roc_lower
    pa_cand, pa_champ = weeks.pr_auc
    e_cand, e_champ = weeks.calibration_error
    rho, changed, share = weeks.rank_correlation, latest.changed, latest.selected_share
    drop = (pa_champ - pa_cand) / pa_champ if pa_champ > 0 else 0.0
    level = f"{gate.confidence:.0%}"
    return [
        ReleaseLine(
            f"ROC-AUC on the same weeks ({weeks.roc_auc:.3f}): lower end of its {level} interval",
            lo_cand,
            lo_champ,
            lo_cand,
            "> 0.5",
            bool(lo_cand > 0.5),
        ),
        ReleaseLine(
            "ROC-AUC minus the logistic baseline's (evaluation weeks, at training)",
            base,
            float("nan"),
            base,
            f"≥ −{gate.baseline_tolerance}",
            bool(base >= -gate.baseline_tolerance),
        ),
        ReleaseLine(
            f"share of the eligible selected ({latest.date})",
            share[0],
            share[1],
            share[0],
            f"≤ {gate.max_selected_share:.0%}",
            bool(share[0] <= gate.max_selected_share),
        ),
        ReleaseLine(
            "PR-AUC on the same weeks",
            pa_cand,
            pa_champ,
            drop,
            f"drop ≤ {rel.pr_auc_max_drop:.0%}",
            drop <= rel.pr_auc_max_drop,
        ),
        ReleaseLine(
            "calibration error (mean |score − rate| per decile)",
            e_cand,
            e_champ,
            e_cand - e_champ,
            f"increase ≤ {rel.calibration_max_increase}",
            e_cand - e_champ <= rel.calibration_max_increase,
        ),
        ReleaseLine(
            "feature-rank correlation (Spearman)",
            rho,
            rho,
            rho,
            f"≥ {rel.rank_correlation_min}",
            bool(np.isnan(rho) or rho >= rel.rank_correlation_min),
        ),
        ReleaseLine(
            f"share of the selected whose action changes ({latest.date})",
            changed,
            changed,
            changed,
            f"≤ {rel.action_change_max:.0%}",
            changed <= rel.action_change_max,
        ),
    ]


def _baseline_margin(v: ModelVersion) -> float:
    """The candidate's evaluation ROC-AUC minus the logistic baseline's on the same rows, as
    training recorded it: 0 for a logistic model (it is the baseline), NaN when unrecorded."""
    if v.kind == "logistic":
        return 0.0
    for r in (v.metrics.get("gate") or {}).get("rules", []):
        if r["rule"] == "beats_baseline":
            return float(r["figure"])
    return float("nan")


def promote(
    store: Store,
    config: Config,
    version: str,
    *,
    to: str,
    actor: str,
    reason: str,
    override: str | None = None,
) -> tuple[ModelVersion, list[ReleaseLine]]:
    """Promote through the gate: to champion only without critical findings (leakage hunt,
    release gate at training) and with every release-table line passing against the current
    champion — or with an override, recorded with the name of who gave it."""
    v = get_version(store, version)
    lines: list[ReleaseLine] = []
    overriding = bool(override and override.strip())
    leaks = [f for f in v.critical if f.check not in GATE_CHECKS]
    if to == "champion" and leaks and not overriding:
        # the registry refuses it with the findings named; no need to compute the table
        return set_status(store, version, to, actor=actor, reason=reason), lines
    if to == "champion":
        current = store.scalar(
            "SELECT version FROM model_versions WHERE action = ? AND status = 'champion'",
            [v.action],
        )
        if current and current != version:
            lines = release_table(store, config, version, str(current))
            failed = [line.check for line in lines if not line.passed]
            if failed and not overriding:
                held = (
                    f"is held back by {blocked_by(v)}, and it "
                    if v.critical or not gate_passed(v)
                    else ""
                )
                raise ReleaseBlockedError(
                    f"{version} {held}fails the release table against {current}: "
                    f"{'; '.join(failed)}. Fix it, or override with a written reason "
                    "(--override '…')"
                )
    # the registry refuses critical findings and a failed gate unless overridden, named
    return set_status(store, version, to, actor=actor, reason=reason, override=override), lines
