"""Weekly-run benchmark: training on ~2M rows, and the decision step for 1M eligible customers.

Usage::

    .venv/bin/python benchmarks/bench_weekly.py [--out bench-out] [--train-rows 2000000]

Needs the 1M-customer store made by ``benchmarks/bench_foundation.py`` in the same ``--out``
folder (it is made first when missing). Works on a copy of that store. Uses only the synthetic
bank (no external data).

1. **Training**: a training table of about ``--train-rows`` rows (a seeded customer sample over
   20 dates), then ``train_action`` (logistic baseline + LightGBM, calibration, evaluation).
2. **Decision step** for the latest week with every customer made eligible (opted in, not
   investing, no age limit — the worst case) and 100,000 earlier contacts feeding the
   cooldown and flow rules: features → eligibility → score → arms → reasons → persist,
   timed per step, and the same step in plain pandas (features, eligibility and selection;
   scoring and reason codes use the same model) in the same process, as a ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_foundation import Phase, measure, pandas_features
from bench_foundation import main as foundation_main
from nextbest.config import ActionConfig, config_from_mapping
from nextbest.decisioning import Policy, decide
from nextbest.features import (
    build_training_table,
    loaded_snapshot_dates,
    resolve_features,
    training_dates,
)
from nextbest.models import reason_codes, register_model, train_action
from nextbest.pipeline import run_week
from nextbest.store import Store

ACTION = {
    "name": "invest-onboarding",
    "threshold": 0.02,
    "max_weekly": 20000,
    "min_weekly": 0,
    "holdout_fraction": 0.1,
    "exploration_size": 2000,
    "min_age": 0,
}


def pandas_decision_step(
    bank: Path,
    day: dt.date,
    contacts: pd.DataFrame,
    conversions: pd.DataFrame,
    model: object,
    action: ActionConfig,
    prices: pd.Series,
    out: Path,
    seed: int,
) -> int:
    """The same weekly step in plain pandas, ending in the same decision file layout."""
    feats = pandas_features(bank / "snapshots", prices, day)
    snap = pd.read_parquet(bank / "snapshots" / f"snapshot_{day.isoformat()}.parquet")
    # the benchmark makes everyone eligible on the built-in profile rules, as in the store
    snap["optin_investing"] = True
    snap["is_investor"] = False
    snap = snap.sort_values("relation_id", ignore_index=True)
    day_ts = pd.Timestamp(day)
    recent = contacts[contacts["contact_date"] > day_ts - pd.Timedelta(weeks=action.cooldown_weeks)]
    last = recent.groupby("relation_id")["contact_date"].max()
    flow = contacts[
        (contacts["contact_date"] > day_ts - pd.Timedelta(weeks=action.flow_weeks))
        & contacts["arm"].isin(["treat", "explore"])
    ]
    conv = flow.merge(conversions, on="relation_id", how="left")
    converted = conv[
        (conv["conversion_date"] > conv["contact_date"]) & (conv["conversion_date"] <= day_ts)
    ]["relation_id"].unique()
    in_flow = set(flow["relation_id"]) - set(converted)
    rule = np.full(len(snap), None, dtype=object)
    checks = [
        ("opted_in", ~snap["optin_investing"].fillna(False).astype(bool)),
        ("adult", ~(snap["age"] >= action.min_age).fillna(False).astype(bool)),
        ("not_investing", snap["is_investor"].fillna(False).astype(bool)),
        ("not_in_flow", snap["relation_id"].isin(in_flow)),
        ("not_in_cooldown", snap["relation_id"].isin(last.index)),
    ]
    for name, failed in reversed(checks):
        rule = np.where(failed.to_numpy(), name, rule)
    eligible = pd.isna(pd.Series(rule)).to_numpy()
    X = feats[model.features].to_numpy(dtype=float)  # type: ignore[attr-defined]
    ids = snap["relation_id"].to_numpy()
    decision = decide(
        day,
        pa.table({"relation_id": feats["relation_id"].to_numpy()}),
        pa.table({"relation_id": ids, "eligible": eligible}),
        lambda mask: model.score(X[mask]),  # type: ignore[attr-defined]
        Policy.of(action, seed=seed, day=day),
    )
    score, arms = decision.score, decision.arms
    readable = np.flatnonzero(arms.arm != "none")
    texts, _ = reason_codes(model, X[readable], top=3)  # type: ignore[arg-type]
    reasons = np.full(len(ids), None, dtype=object)
    reasons[readable] = texts
    frame = pd.DataFrame(
        {
            "action": action.name,
            "relation_id": ids,
            "snapshot_date": day,
            "eligible": eligible,
            "first_failed_rule": rule,
            "score": score,
            "rank": arms.rank,
            "selected": arms.selected,
            "arm": arms.arm,
            "assignment_probability": arms.probability,
            "reasons": reasons,
        }
    )
    frame.to_parquet(out)
    return int(eligible.sum())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--train-rows", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    out: Path = args.out
    source = out / "bench.duckdb"
    bank = out / "bank"
    if not source.exists():
        foundation_main(["--out", str(out)])
    db = out / "weekly.duckdb"
    shutil.copy(source, db)
    results: dict[str, Phase] = {}
    cfg = config_from_mapping({"store": {"path": str(db)}, "actions": [ACTION]})
    action = cfg.actions[0]
    fs = resolve_features(cfg.features)
    print("nextbest weekly benchmark on the 1M-customer store", flush=True)
    with Store(db) as store:
        dates = training_dates(store, cfg.training, label_weeks=action.label_weeks)
        n_all = store.scalar(
            "SELECT count(*) FROM snapshots WHERE snapshot_date IN (SELECT unnest(?::DATE[])) "
            "AND NOT is_investor",
            [dates],
        )
        fraction = min(1.0, args.train_rows / n_all)
        with measure("training table (sampled)", results):
            table = build_training_table(
                store, fs, dates, label_weeks=action.label_weeks, customer_fraction=fraction, seed=1
            )
        with measure(f"train: {table.num_rows:,} rows, both models", results):
            trained = train_action(table, fs.names, action)
        for kind, secs in trained.seconds.items():
            print(
                f"    {kind:<10} fit + calibrate {secs:7.2f} s on {trained.n_rows['train']:,} "
                f"training rows; evaluation PR-AUC {trained.metrics[kind]['pr_auc']:.4f}"
            )
        register_model(store, trained.model)
        del table
        day = loaded_snapshot_dates(store)[-1]
        store.execute(
            "UPDATE snapshots SET optin_investing = true, is_investor = false "
            "WHERE snapshot_date = ?",
            [day],
        )
        store.execute(
            """INSERT INTO contacts
               SELECT relation_id, 'invest-onboarding',
                      CAST(? AS DATE) - CAST(7 * (1 + row % 10) AS INTEGER),
                      'earlier', CASE WHEN row % 10 = 0 THEN 'holdout' ELSE 'treat' END
               FROM (SELECT relation_id, row_number() OVER (ORDER BY relation_id) AS row
                     FROM snapshots WHERE snapshot_date = ?
                     USING SAMPLE 100000 ROWS (reservoir, 3))""",
            [day, day],
        )
        contacts = store.df("SELECT relation_id, contact_date, arm FROM contacts")
        contacts["contact_date"] = pd.to_datetime(contacts["contact_date"])
        with measure("decision step: DuckDB pipeline", results):
            # the benchmark measures speed; a person has "approved" the unusual all-eligible week
            result = run_week(store, cfg, day=day, override="benchmark", actor="bench", alert=False)
        (outcome,) = result.outcomes
        print(
            f"    {outcome.counts['customers']:,} customers, {outcome.counts['eligible']:,} "
            f"eligible, {outcome.counts['selected']:,} selected; steps "
            + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
        )
        model = __import__("nextbest.models", fromlist=["load_model"]).load_model(
            store, outcome.model_version
        )
    market = pd.read_parquet(bank / "market" / "fund_prices.parquet")
    prices = market[market["fund"] == "balanced"].set_index("price_date")["price"].sort_index()
    conversions = pd.read_parquet(bank / "conversions" / "conversions.parquet")
    conversions["conversion_date"] = pd.to_datetime(conversions["conversion_date"])
    with measure("decision step: pandas", results):
        n_eligible = pandas_decision_step(
            bank,
            day,
            contacts,
            conversions,
            model,
            action,
            prices,
            out / "pandas-decisions.parquet",
            cfg.run.seed,
        )
    same = pq.read_table(result.decision_file).to_pandas()
    print(
        f"    pandas eligible {n_eligible:,} vs DuckDB {outcome.counts['eligible']:,}; "
        f"selected agree: {same['selected'].sum():,}"
    )
    d, p = results["decision step: DuckDB pipeline"], results["decision step: pandas"]
    print(
        f"\n  pandas / DuckDB decision step: time {p.seconds / d.seconds:.1f}x, "
        f"memory {max(p.peak_increase_mb, 1) / max(d.peak_increase_mb, 1):.1f}x (peak increase)"
    )


if __name__ == "__main__":
    main()
