"""Training every configured action and registering the models."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from nextbest.config import ActionConfig, Config
from nextbest.decisioning import eligibility, select
from nextbest.features import (
    Audience,
    FeatureSet,
    build_features,
    loaded_snapshot_dates,
    resolve_features,
    training_table,
)
from nextbest.models import (
    Finding,
    GateSettings,
    LeakageSettings,
    ModelVersion,
    PropensityModel,
    TrainingResult,
    hunt_table,
    make_estimator,
    register_model,
    release_gate,
    too_good,
    train_action,
)
from nextbest.pipeline._min_history import check_history
from nextbest.pipeline._trust import check_point_in_time, market_band, model_card, pit_check_date
from nextbest.simulate import truth_columns
from nextbest.store import Store, quote_identifier, quote_literal

Progress = Callable[[str, int, int], None]


@dataclass
class TrainedAction:
    action: str
    result: TrainingResult
    version: ModelVersion
    training_rows: int
    seconds_table: float
    findings: list[Finding]


def action_audience(action: ActionConfig) -> Audience:
    """Whom ``action`` learns from: the customers who can still reach its outcome on each date
    and pass its rules marked ``audience`` (the other rules, and the built-in contact rules,
    are about whom to mail this week, not about whom the model describes)."""
    rules = " AND ".join(f"({r.checked_sql(table='s')})" for r in action.rules if r.audience)
    return Audience(outcome=action.outcome, condition=rules or None)


def audience_mask(store: Store, action: ActionConfig, day: dt.date, ids: pa.Array) -> pa.Array:
    """Which of ``ids`` are in ``action``'s audience on ``day`` (:func:`action_audience`): what
    its model was trained on, and so what its drift is measured on."""
    audience = action_audience(action)
    where = " AND ".join(audience.conditions())
    inside = store.arrow(
        f"SELECT s.relation_id FROM snapshots s WHERE s.snapshot_date = $day AND {where}",
        {"day": day, **({"outcome": audience.outcome} if "$outcome" in where else {})},
    )["relation_id"]
    return pc.is_in(ids, value_set=inside)


def oracle_probabilities(
    store: Store, truth_dir: Path, keys: pa.Table, *, label_weeks: int, column: str = "hazard"
) -> npt.NDArray[np.float64]:
    """The synthetic bank's true probability of converting within ``label_weeks`` after each
    (relation_id, snapshot_date) in ``keys``, in the order of ``keys``:
    1 − Π (1 − weekly hazard) over the weeks D, D + 7, …, D + 7 (label_weeks − 1)."""
    # the file argument of a table function cannot be a parameter: a quoted literal
    pattern = quote_literal(str(truth_dir / "hazard_*.parquet"))
    # whole weeks written as integers: a VALUES list keeps the sum's order, and so the figures,
    # the same from run to run (with an unnested list parameter they varied in the last digits)
    offsets = ", ".join(f"({7 * k})" for k in range(label_weeks))
    hazard = quote_identifier(column)
    ordered = keys.select(["relation_id", "snapshot_date"]).append_column(
        "_i", pa.array(np.arange(keys.num_rows), pa.int64())
    )
    store.register("_oracle_keys", ordered)
    try:
        table = store.arrow(
            f"""
            WITH want AS (
                SELECT k._i, k.relation_id, CAST(k.snapshot_date + o.d AS DATE) AS week
                FROM _oracle_keys k CROSS JOIN (VALUES {offsets}) AS o(d)
            )
            SELECT w._i, 1 - exp(sum(ln(1 - least(greatest(t.{hazard}, 0), 0.999999)))) AS p
            FROM want w
            JOIN read_parquet({pattern}) t
              ON t.relation_id = w.relation_id AND t.snapshot_date = w.week
            GROUP BY w._i ORDER BY w._i
            """
        )
    finally:
        store.unregister("_oracle_keys")
    p = np.full(keys.num_rows, np.nan)
    p[table["_i"].to_numpy()] = table["p"].to_numpy()
    return p


def policy_on(
    store: Store,
    action: ActionConfig,
    model: PropensityModel,
    fs: FeatureSet,
    dates: list[dt.date],
) -> dict[str, Any]:
    """What the action's policy (eligibility, threshold, weekly maximum; no random arms) would
    select with ``model`` on each of ``dates``, and the date with the highest share of the
    eligible selected: ``{"dates": [...], "max_share", "date", "selected", "eligible"}``
    (``max_share`` is ``None`` when nobody was eligible on any date)."""
    feats = build_features(store, fs, dates)
    day_col = feats["snapshot_date"].to_numpy(zero_copy_only=False)
    ids_all = feats["relation_id"].to_numpy(zero_copy_only=False)
    X_all = model.matrix(feats)
    weeks: list[dict[str, Any]] = []
    for day in sorted(set(dates)):
        elig = eligibility(store, action, day)
        ids = elig["relation_id"].to_numpy(zero_copy_only=False)
        ok = elig["eligible"].to_numpy(zero_copy_only=False).astype(bool)
        on_day = np.flatnonzero(day_col == np.datetime64(day))
        # both are sorted by relation id; align them anyway rather than trust it
        f_ids = ids_all[on_day]
        pos = np.searchsorted(f_ids, ids)
        found = pos < len(f_ids)
        found[found] = f_ids[pos[found]] == ids[found]
        ok &= found
        score = np.full(len(ids), np.nan)
        if ok.any():
            score[ok] = model.score(X_all[on_day[pos[ok]]])
        chosen = select(ids, ok, score, threshold=action.threshold, max_weekly=action.max_weekly)
        n_ok, n_sel = int(ok.sum()), int(chosen.selected.sum())
        weeks.append(
            {
                "date": day.isoformat(),
                "eligible": n_ok,
                "above_threshold": chosen.n_candidates,
                "selected": n_sel,
                "share": n_sel / n_ok if n_ok else None,
            }
        )
    measured = [w for w in weeks if w["share"] is not None]
    top = max(measured, key=lambda w: w["share"]) if measured else None
    return {
        "threshold": action.threshold,
        "max_weekly": action.max_weekly,
        "dates": weeks,
        "max_share": None if top is None else top["share"],
        "date": None if top is None else top["date"],
        "selected": None if top is None else top["selected"],
        "eligible": None if top is None else top["eligible"],
    }


def leakage_findings(
    store: Store,
    config: Config,
    fs: FeatureSet,
    table: pa.Table,
    result: TrainingResult,
    action: ActionConfig | None = None,
) -> list[Finding]:
    """The leakage hunt at training: time keys, random-vs-time gap, too-good features and
    model, a model that beats the ground truth (synthetic bank), point-in-time violations.

    The random-vs-time gap is measured on the evaluation rows, with the deployed model's
    scores there as its "later weeks" side (its ROC-AUC is the metrics' figure) and the
    action's own estimator, learning from the training weeks and the evaluation weeks of other
    customers, as the random side: the hunt and the metrics quote the same number."""
    settings = LeakageSettings.from_config(config.leakage)
    kind = result.model.kind
    chosen = result.metrics[kind]

    def rows_of(dates: list[dt.date]) -> npt.NDArray[np.bool_]:
        mask = pc.is_in(table["snapshot_date"], value_set=pa.array(dates, pa.date32()))
        return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)

    later = rows_of(result.split.evaluation)
    # the deployed model's scores of the evaluation rows: its ROC-AUC is the metrics' figure
    time_scores = result.model.score(result.model.matrix(table.filter(pa.array(later))))
    spec = action or config.action(result.model.action)
    findings = hunt_table(
        store,
        table,
        time_column="snapshot_date",
        target="converted",
        features=fs.names,
        settings=settings,
        id_column="relation_id",
        make_model=lambda: make_estimator(spec, kind, list(fs.names)),
        later=later,
        earlier=rows_of(result.split.train),
        time_scores=time_scores,
    )
    findings += too_good(
        np.empty((0, 0)),
        np.empty(0, np.int8),
        [],
        settings=settings,
        model_auc=chosen["roc_auc"],
    )
    oracle = result.metrics.get("oracle")
    if oracle and chosen["pr_auc"] > oracle["pr_auc"]:
        findings.append(
            Finding(
                "too_good",
                "critical",
                (),
                f"The model's PR-AUC {chosen['pr_auc']:.4f} beats the ground truth's "
                f"{oracle['pr_auc']:.4f} on the same weeks: it has seen something it should "
                "not have.",
                "Look for time keys and features computed from data after the snapshot date.",
                chosen["pr_auc"] - oracle["pr_auc"],
            )
        )
    day = pit_check_date(store)
    if day is not None:
        findings += check_point_in_time(store, fs, day)
    order = {"critical": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.check))


def gate_findings(
    store: Store,
    action: ActionConfig,
    fs: FeatureSet,
    result: TrainingResult,
    settings: GateSettings,
) -> list[Finding]:
    """The release gate on the deployed model's evaluation weeks (see ``nextbest.models``'s
    ``release_gate``); its record goes into the model's metrics, its failures are findings."""
    kind = result.model.kind
    chosen = result.metrics[kind]
    selection = policy_on(store, action, result.model, fs, result.split.evaluation)
    record, failed = release_gate(
        chosen,
        baseline=None if kind == "logistic" else result.metrics.get("logistic"),
        selection=selection,
        settings=settings,
        calibration_slope=chosen.get("calibration_slope"),
    )
    chosen["selection"] = selection
    chosen["gate"] = record
    return failed


def train_models(
    store: Store,
    config: Config,
    *,
    truth_dir: Path | None = None,
    until: dt.date | None = None,
    progress: Progress | None = None,
) -> list[TrainedAction]:
    """Train each action on a time split and register the configured model."""
    fs = resolve_features(config.features)
    loaded = loaded_snapshot_dates(store)
    for action in config.actions:
        # before any work: too little history is said in weeks needed and weeks held
        check_history(loaded, config.training, action, until=until)
    trained = []
    for i, action in enumerate(config.actions):
        t0 = time.perf_counter()
        dates, table = training_table(
            store,
            fs,
            config.training,
            until=until,
            label_weeks=action.label_weeks,
            audience=action_audience(action),
        )
        seconds_table = time.perf_counter() - t0
        if progress:
            progress("Training", 2 * i + 1, 2 * len(config.actions))
        oracle = None
        if truth_dir is not None and (truth_dir / "customers.parquet").exists():
            from nextbest.models import time_split

            split = time_split(dates, gap_weeks=action.label_weeks)
            mask = pc.is_in(
                table["snapshot_date"], value_set=pa.array(split.evaluation, pa.date32())
            )
            oracle = oracle_probabilities(
                store,
                truth_dir,
                table.filter(mask),
                label_weeks=action.label_weeks,
                column=truth_columns(action.outcome)[0],
            )
        gate = GateSettings.from_config(config.release)
        result = train_action(table, fs.names, action, oracle=oracle, gate=gate)
        # the market the model learned from: training and calibration weeks
        band = market_band(store, fs.market_fund, [*result.split.train, *result.split.calibration])
        result.model.metadata["market_band"] = band
        findings = leakage_findings(store, config, fs, table, result, action)
        findings += gate_findings(store, action, fs, result, gate)
        order = {"critical": 0, "warning": 1, "info": 2}
        findings.sort(key=lambda f: (order[f.severity], f.check))
        card = model_card(
            action,
            config,
            fs,
            result,
            findings,
            band,
            table.num_rows,
        )
        version = register_model(store, result.model, findings=findings, card=card)
        trained.append(
            TrainedAction(
                action=action.name,
                result=result,
                version=version,
                training_rows=table.num_rows,
                seconds_table=seconds_table,
                findings=findings,
            )
        )
        if progress:
            progress("Training", 2 * i + 2, 2 * len(config.actions))
    return trained
