"""Real-time decisions from memory: the latest week's features, eligibility trail and models.

A decision must not scan a week of snapshots per request, so the API keeps, per action, the
latest snapshot week's feature matrix and eligibility rules of every customer, the champion and
the shadow in memory, reloaded from the store when they are older than ``max_age`` seconds
(a new week, a promoted model). Shadow scores are buffered and written to ``realtime_log`` on
the next reload, never returned.
"""

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from nextbest.config import ActionConfig, Config
from nextbest.decisioning import eligibility_sql, rule_descriptions
from nextbest.errors import NotFoundError
from nextbest.features import build_features, feature_set_for, loaded_snapshot_dates, phrase
from nextbest.models import PropensityModel, champion_version, load_model, reason_codes
from nextbest.models import shadow_version as _shadow_version
from nextbest.pipeline import effective_config
from nextbest.store import open_store


@dataclass
class _ActionCache:
    action: ActionConfig
    version: str
    model: PropensityModel
    shadow_version: str | None
    shadow: PropensityModel | None
    ids: npt.NDArray[np.int64]
    X: npt.NDArray[np.float64]
    rules: dict[str, npt.NDArray[np.bool_]]


@dataclass
class ServingCache:
    config: Config
    max_age: float = 60.0
    loaded_at: float = 0.0
    day: Any = None
    actions: dict[str, _ActionCache] = field(default_factory=dict)
    reasons_top: int = 3
    pending_log: list[tuple[Any, ...]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, *, force: bool = False) -> None:
        with self.lock:
            if not force and time.monotonic() - self.loaded_at < self.max_age:
                return
            with open_store(self.config, wait_seconds=10.0) as db:
                if self.pending_log:
                    for row in self.pending_log:
                        db.execute(
                            "INSERT INTO realtime_log VALUES (?, ?, ?, ?, ?, ?, ?)", list(row)
                        )
                    self.pending_log.clear()
                cfg = effective_config(db, self.config)
                self.reasons_top = cfg.run.reasons_top
                dates = loaded_snapshot_dates(db)
                if not dates:
                    raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
                self.day = dates[-1]
                actions = {}
                for action in cfg.actions:
                    version = champion_version(db, action.name)
                    model = load_model(db, version.version)
                    shadow_v = _shadow_version(db, action.name)
                    fs = feature_set_for(cfg.features, model.features)
                    feats = build_features(db, fs, [self.day])
                    trail: pa.Table = db.arrow(
                        eligibility_sql(action, trail=True),
                        {"day": self.day, "action": action.name},
                    )
                    X = model.matrix(feats)
                    rules = {
                        name: trail[f"pass_{name}"].to_numpy(zero_copy_only=False).astype(bool)
                        for name in rule_descriptions(action)
                    }
                    actions[action.name] = _ActionCache(
                        action=action,
                        version=version.version,
                        model=model,
                        shadow_version=shadow_v.version if shadow_v else None,
                        shadow=load_model(db, shadow_v.version) if shadow_v else None,
                        ids=feats["relation_id"].to_numpy(),
                        X=X,
                        rules=rules,
                    )
                self.actions = actions
                self.loaded_at = time.monotonic()

    def decide(
        self,
        *,
        action: str | None,
        relation_id: int | None,
        features: dict[str, float | None] | None,
    ) -> dict[str, Any]:
        self.refresh()
        name = action or next(iter(self.actions))
        if name not in self.actions:
            raise NotFoundError(f"unknown action '{name}'; actions: {', '.join(self.actions)}")
        cache = self.actions[name]
        model = cache.model
        trail: list[dict[str, Any]] = []
        if relation_id is not None:
            i = int(np.searchsorted(cache.ids, relation_id))
            if i >= len(cache.ids) or cache.ids[i] != relation_id:
                raise NotFoundError(f"relation {relation_id} has no snapshot on {self.day}")
            x = cache.X[i : i + 1]
            descriptions = rule_descriptions(cache.action)
            trail = [
                {"rule": r, "passed": bool(cache.rules[r][i]), "description": descriptions[r]}
                for r in descriptions
            ]
        else:
            assert features is not None
            missing = [f for f in model.features if f not in features]
            if missing:
                raise ValueError(f"features missing: {', '.join(missing)}")
            x = np.array(
                [
                    [
                        np.nan if features[f] is None else float(features[f])  # type: ignore[arg-type]
                        for f in model.features
                    ]
                ]
            )
        score = float(model.score(x)[0])
        texts, _ = reason_codes(model, x, top=self.reasons_top)
        if cache.shadow is not None:
            self.pending_log.append(
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
        eligible = all(t["passed"] for t in trail) if trail else None
        return {
            "action": name,
            "model": cache.version,
            "score": score,
            "threshold": cache.action.threshold,
            "recommended": bool(score >= cache.action.threshold and eligible is not False),
            "eligible": eligible,
            "eligibility": trail,
            "reasons": texts[0],
            "features": {
                f: phrase(f, None if np.isnan(v) else float(v))
                for f, v in zip(model.features, x[0], strict=True)
            },
            "snapshot_date": str(self.day) if relation_id is not None else None,
        }
