"""Real-time decisions from memory: the latest week's features, eligibility trail and models.

A decision must not scan a week of snapshots per request, and must not wait on the store, so
the API keeps, per action, the latest snapshot week's feature matrix and eligibility rules of
every customer, the champion and the shadow in memory. Only the very first decision after a
start loads them on the request path. After that, a decision always answers from the week in
memory; when that week is older than ``max_age`` seconds, the decision starts a reload in a
background thread (one at a time) and the next decisions see the new week once it is in. A
reload that fails (another process holds the store, say) keeps the old week and is tried again
on a later decision. Shadow scores are buffered and written to ``realtime_log`` by the reloads,
never returned.
"""

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from nextbest.api._db import StoreGate
from nextbest.config import ActionConfig, Config, FeaturesConfig
from nextbest.decisioning import Policy, check_aligned, eligibility, rule_descriptions
from nextbest.errors import NotFoundError, StoreError
from nextbest.features import build_features, feature_set_for, loaded_snapshot_dates, phrase
from nextbest.ingest import SNAPSHOTS
from nextbest.models import PropensityModel, champion_version, load_model, reason_codes
from nextbest.models import shadow_version as _shadow_version
from nextbest.pipeline import effective_config
from nextbest.store import Store

log = logging.getLogger("nextbest.api")

_MAX_PENDING_LOG = 100_000
_LOG_INSERT = (
    "INSERT INTO realtime_log (decided_at, relation_id, action, champion_version,"
    " champion_score, shadow_version, shadow_score) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _contract_range(column: str) -> tuple[float | None, float | None, str]:
    rule = next(c for c in SNAPSHOTS.columns if c.name == column)
    return rule.min, rule.max, f"the snapshot contract's range of {column}"


#: the values a feature can take, from the snapshot contract where the feature is a contract
#: column and from the definition where it is derived (engagement is 0-3 by construction, a
#: market band is -1/0/+1, a fund return cannot fall below -100%)
FEATURE_RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "age": _contract_range("age"),
    "balance": _contract_range("total_balance"),
    "engagement": (0.0, 3.0, "the definition of engagement"),
    "tenure_years": (0.0, 120.0, "the definition of tenure_years"),
    "market_trend": (-1.0, 1.0, "the definition of market_trend"),
    "fund_return_1w": (-1.0, None, "the definition of fund_return_1w"),
    "fund_return_4w": (-1.0, None, "the definition of fund_return_4w"),
}


@dataclass(frozen=True)
class RuleResult:
    """One eligibility rule for the customer in the week held in memory."""

    rule: str
    passed: bool
    description: str


@dataclass(frozen=True)
class Decision:
    """A real-time decision. ``recommended`` and ``eligible`` are None for inline features:
    eligibility was not checked."""

    action: str
    model: str
    score: float
    threshold: float
    recommended: bool | None
    eligible: bool | None
    eligibility: list[RuleResult]
    reasons: str
    features: dict[str, str]
    snapshot_date: str | None


class InvalidInputError(ValueError):
    """A request value that cannot be decided on; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_features(
    features: Mapping[str, float | None], model_features: list[str]
) -> npt.NDArray[np.float64]:
    """The model's feature row from inline values, held to the same ranges as ingest."""
    for name in features:
        if name not in model_features:
            raise InvalidInputError(
                f"features.{name}",
                f"unknown feature; the model uses {', '.join(model_features)}",
            )
    missing = [f for f in model_features if f not in features]
    if missing:
        raise InvalidInputError("features", f"features missing: {', '.join(missing)}")
    row = []
    for name in model_features:
        value = features[name]
        if value is None:
            row.append(math.nan)  # unknown: the model's own missing-value handling applies
            continue
        if not math.isfinite(value):
            raise InvalidInputError(f"features.{name}", f"must be a finite number, got {value}")
        low, high, source = FEATURE_RANGES.get(name, (None, None, ""))
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"from {low:g}" if low is not None else ""
            bounds += f" up to {high:g}" if high is not None else ""
            raise InvalidInputError(
                f"features.{name}", f"must be {bounds.strip()} ({source}), got {value:g}"
            )
        row.append(float(value))
    return np.array([row], dtype=np.float64)


@dataclass(frozen=True)
class _ActionCache:
    action: ActionConfig
    version: str
    model: PropensityModel
    shadow_version: str | None
    shadow: PropensityModel | None
    policy: Policy
    ids: npt.NDArray[np.int64]
    X: npt.NDArray[np.float64]
    eligible: npt.NDArray[np.bool_]
    rules: dict[str, npt.NDArray[np.bool_]]


@dataclass(frozen=True)
class _Week:
    """Everything a decision reads, replaced as a whole by a reload."""

    day: Any
    actions: dict[str, _ActionCache]
    reasons_top: int
    loaded_at: float


def _load_action(
    db: Store, action: ActionConfig, day: dt.date, *, features: FeaturesConfig, seed: int
) -> _ActionCache:
    """One action's week in memory: its models, the feature matrix and the eligibility trail
    of every customer, aligned by relation id as the weekly run's are (the kernel's check)."""
    version = champion_version(db, action.name)
    model = load_model(db, version.version)
    shadow_v = _shadow_version(db, action.name)
    feats = build_features(db, feature_set_for(features, model.features), [day])
    elig = eligibility(db, action, day, trail=True)
    ids = check_aligned(day, elig, feats)
    return _ActionCache(
        action=action,
        policy=Policy.of(action, seed=seed, day=day),
        version=version.version,
        model=model,
        shadow_version=shadow_v.version if shadow_v else None,
        shadow=load_model(db, shadow_v.version) if shadow_v else None,
        ids=ids,
        X=model.matrix(feats),
        eligible=elig["eligible"].to_numpy(zero_copy_only=False),
        rules={
            name: elig[f"pass_{name}"].to_numpy(zero_copy_only=False).astype(bool)
            for name in rule_descriptions(action)
        },
    )


class ServingCache:
    """The latest week in memory, reloaded in the background."""

    def __init__(
        self,
        config: Config,
        gate: StoreGate | None = None,
        *,
        max_age: float = 60.0,
        wait_seconds: float = 1.0,
    ) -> None:
        self.config = config
        self.gate = gate or StoreGate(config)
        self.max_age = max_age
        self.wait_seconds = wait_seconds
        self._week: _Week | None = None
        self._pending_log: list[tuple[Any, ...]] = []
        self._log_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    # -- loading -----------------------------------------------------------------------------
    def _week_now(self) -> _Week:
        week = self._week
        if week is None:
            with self._load_lock:  # the first decision after a start loads on its own path
                if self._week is None:
                    self._reload(wait_seconds=self.gate.wait_seconds)
            week = self._week
            assert week is not None
        elif time.monotonic() - week.loaded_at >= self.max_age:
            self.refresh_in_background()
        return week

    @property
    def actions(self) -> dict[str, _ActionCache]:
        """The week in memory, per action (empty before the first load)."""
        return self._week.actions if self._week else {}

    def refresh(self, *, force: bool = False) -> None:
        """Reload now, on this thread, if the week is stale (or ``force``)."""
        week = self._week
        if force or week is None or time.monotonic() - week.loaded_at >= self.max_age:
            with self._load_lock:
                self._reload(wait_seconds=self.gate.wait_seconds)

    def refresh_in_background(self) -> None:
        """Start a reload unless one is running."""
        with self._load_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._reload_quietly, name="nextbest-serving-reload", daemon=True
            )
            self._thread.start()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for a background reload to finish (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _reload_quietly(self) -> None:
        try:
            self._reload(wait_seconds=self.wait_seconds)
            self.last_error = None
        except Exception as exc:  # keep serving the old week; try again on a later decision
            self.last_error = str(exc)
            log.warning("real-time cache not reloaded, serving the week in memory: %s", exc)

    def _reload(self, *, wait_seconds: float) -> None:
        self._flush_log(wait_seconds)
        with self.gate.open(write=False, wait_seconds=wait_seconds) as db:
            cfg = effective_config(db, self.config)
            dates = loaded_snapshot_dates(db)
            if not dates:
                raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
            day = dates[-1]
            actions = {
                action.name: _load_action(db, action, day, features=cfg.features, seed=cfg.run.seed)
                for action in cfg.actions
            }
        self._week = _Week(day, actions, cfg.run.reasons_top, time.monotonic())

    def _flush_log(self, wait_seconds: float) -> None:
        with self._log_lock:
            rows, self._pending_log = self._pending_log, []
        if not rows:
            return
        try:
            with self.gate.open(write=True, wait_seconds=wait_seconds) as db, db.transaction():
                for row in rows:
                    db.execute(_LOG_INSERT, list(row))
        except StoreError:
            with self._log_lock:  # keep them for the next reload
                self._pending_log = (rows + self._pending_log)[-_MAX_PENDING_LOG:]
            raise

    # -- deciding ----------------------------------------------------------------------------
    def decide(
        self,
        *,
        action: str | None,
        relation_id: int | None,
        features: Mapping[str, float | None] | None,
    ) -> Decision:
        """The next best action for one customer now (see ``POST /v1/decide``)."""
        week = self._week_now()
        name = action or next(iter(week.actions))
        if name not in week.actions:
            raise NotFoundError(f"unknown action '{name}'; actions: {', '.join(week.actions)}")
        cache = week.actions[name]
        model = cache.model
        trail: list[RuleResult] = []
        eligible: npt.NDArray[np.bool_] | None = None  # unknown for inline features
        if relation_id is not None:
            i = int(np.searchsorted(cache.ids, relation_id))
            if i >= len(cache.ids) or cache.ids[i] != relation_id:
                raise NotFoundError(f"relation {relation_id} has no snapshot on {week.day}")
            x = cache.X[i : i + 1]
            eligible = cache.eligible[i : i + 1]
            descriptions = rule_descriptions(cache.action)
            trail = [
                RuleResult(rule=r, passed=bool(cache.rules[r][i]), description=descriptions[r])
                for r in descriptions
            ]
        else:
            assert features is not None
            x = check_features(features, model.features)
        scores = model.score(x)
        score = float(scores[0])
        texts, _ = reason_codes(model, x, top=week.reasons_top)
        if cache.shadow is not None:
            with self._log_lock:
                if len(self._pending_log) < _MAX_PENDING_LOG:
                    self._pending_log.append(
                        (
                            time.strftime("%Y-%m-%d %H:%M:%S"),
                            relation_id,
                            name,
                            cache.version,
                            score,
                            cache.shadow_version,
                            float(cache.shadow.score(x)[0]),
                        )
                    )
        return Decision(
            action=name,
            model=cache.version,
            score=score,
            threshold=cache.policy.threshold,
            # without an eligibility check there is no recommendation either way
            recommended=None
            if eligible is None
            else bool(cache.policy.recommends(eligible, scores)[0]),
            eligible=None if eligible is None else bool(eligible[0]),
            eligibility=trail,
            reasons=texts[0],
            features={
                f: phrase(f, None if np.isnan(v) else float(v))
                for f, v in zip(model.features, x[0], strict=True)
            },
            snapshot_date=str(week.day) if relation_id is not None else None,
        )
