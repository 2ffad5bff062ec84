"""Foundation benchmark: generate, ingest, build features — DuckDB vs plain pandas.

Usage::

    .venv/bin/python benchmarks/bench_foundation.py [--customers 1000000] [--weeks 78]
        [--out bench-out] [--reuse]

Prints, for the synthetic bank of the given size: generation time, ingest time, the feature
build for one scoring week and for a training table (20 dates), each with its peak memory, and
the same feature builds done with plain pandas in the same process, as ratios. The pandas result
is checked against the DuckDB result, so both compute the same thing. Uses only the synthetic
bank (no external data). DuckDB is timed up to its result as an Arrow table (what the models
consume); pandas up to its DataFrame. Writes the figures to ``<out>/foundation.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

from nextbest.config import FeaturesConfig, config_from_mapping
from nextbest.features import (
    build_features,
    build_training_table,
    loaded_snapshot_dates,
    resolve_features,
    training_dates,
)
from nextbest.ingest import configured_sources, ingest_source
from nextbest.simulate import BankManifest, simulate_bank
from nextbest.store import open_store


@dataclass
class Phase:
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    peak_increase_mb: float = 0.0


@contextmanager
def measure(name: str, results: dict[str, Phase]) -> Iterator[Phase]:
    """Wall time and peak resident memory (sampled every 10 ms) of a block."""
    proc = psutil.Process()
    start_rss = proc.memory_info().rss
    peak = [start_rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    phase = Phase()
    t0 = time.perf_counter()
    try:
        yield phase
    finally:
        phase.seconds = time.perf_counter() - t0
        stop.set()
        thread.join()
        peak[0] = max(peak[0], proc.memory_info().rss)
        phase.peak_rss_mb = peak[0] / 2**20
        phase.peak_increase_mb = (peak[0] - start_rss) / 2**20
        results[name] = phase
        print(
            f"  {name:<34} {phase.seconds:8.2f} s   peak RSS {phase.peak_rss_mb:8.0f} MB "
            f"(+{phase.peak_increase_mb:.0f} MB)",
            flush=True,
        )


# -- the same features in plain pandas -------------------------------------------------------------
def _read_weeks(snap_dir: Path, days: list[dt.date], columns: list[str]) -> pd.DataFrame:
    frames = []
    for day in days:
        path = snap_dir / f"snapshot_{day.isoformat()}.parquet"
        if path.exists():
            frames.append(pd.read_parquet(path, columns=columns))
    return pd.concat(frames, ignore_index=True)


def _asof_balance(snap_dir: Path, day: dt.date, lag: int, tolerance: int = 14) -> pd.Series:
    window = [day - dt.timedelta(days=lag + k) for k in range(tolerance + 1)]
    hist = _read_weeks(snap_dir, window, ["relation_id", "snapshot_date", "total_balance"])
    hist = hist.dropna(subset=["relation_id"])
    hist = hist.sort_values("snapshot_date").drop_duplicates("relation_id", keep="last")
    return hist.set_index("relation_id")["total_balance"]


def _price_asof(prices: pd.Series, day: dt.date, lag: int, tolerance: int = 38) -> float:
    lo, hi = day - dt.timedelta(days=tolerance), day - dt.timedelta(days=lag)
    sel = prices[(prices.index >= lo) & (prices.index <= hi)]
    return float(sel.iloc[-1]) if len(sel) else float("nan")


def pandas_features(
    snap_dir: Path, prices: pd.Series, day: dt.date, *, non_investors: bool = False
) -> pd.DataFrame:
    """The built-in features for one date, in plain pandas."""
    cur = pd.read_parquet(snap_dir / f"snapshot_{day.isoformat()}.parquet")
    if non_investors:
        cur = cur[~cur["is_investor"]]
    b4 = _asof_balance(snap_dir, day, 28)
    b8 = _asof_balance(snap_dir, day, 56)
    out = pd.DataFrame({"relation_id": cur["relation_id"].to_numpy()})
    out["snapshot_date"] = day
    bal = cur["total_balance"].to_numpy(dtype=float)
    out["age"] = cur["age"].to_numpy(dtype=float)
    out["balance"] = bal
    h4 = b4.reindex(out["relation_id"]).to_numpy(dtype=float)
    h8 = b8.reindex(out["relation_id"]).to_numpy(dtype=float)
    mid = np.where(np.isnan(h4), (bal + h8) / 2, h4)
    three = (bal - h8) / 2 / np.maximum((bal + mid + h8) / 3, 100.0)
    two = (bal - h4) / np.maximum((bal + h4) / 2, 100.0)
    out["balance_trend"] = np.where(~np.isnan(h8), three, np.where(~np.isnan(h4), two, np.nan))
    app = cur["app_installed"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    logins = cur["ib_logins_4w"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    accounts = cur["n_accounts"].to_numpy(dtype=float)
    out["engagement"] = app + np.clip(accounts, 0, 4) / 4 + np.clip(logins, 0, 20) / 20
    since = pd.to_datetime(cur["customer_since"])
    ts = pd.Timestamp(day)
    ok = (since >= pd.Timestamp("1950-01-01")) & (since <= ts)
    out["tenure_years"] = np.where(ok, (ts - since).dt.days / 365.25, np.nan)
    p0 = _price_asof(prices, day, 0)
    out["fund_return_1w"] = p0 / _price_asof(prices, day, 7) - 1
    out["fund_return_4w"] = p0 / _price_asof(prices, day, 28) - 1
    r4 = out["fund_return_4w"].iloc[0] if len(out) else float("nan")
    out["market_trend"] = (
        float("nan") if np.isnan(r4) else 1.0 if r4 > 0.03 else -1.0 if r4 < -0.03 else 0.0
    )
    return out.sort_values("relation_id", ignore_index=True)


def pandas_training_table(
    snap_dir: Path, prices: pd.Series, conversions: pd.DataFrame, days: list[dt.date], weeks: int
) -> pd.DataFrame:
    frames = []
    for day in days:
        feats = pandas_features(snap_dir, prices, day, non_investors=True)
        lo, hi = pd.Timestamp(day), pd.Timestamp(day + dt.timedelta(weeks=weeks))
        window = conversions[
            (conversions["conversion_date"] > lo) & (conversions["conversion_date"] <= hi)
        ]
        amounts = window.groupby("relation_id")["amount"].sum()
        feats["converted"] = feats["relation_id"].isin(amounts.index).astype(int)
        feats["amount_invested"] = amounts.reindex(feats["relation_id"]).fillna(0.0).to_numpy()
        frames.append(feats)
    return pd.concat(frames, ignore_index=True)


def _same(duck: pd.DataFrame, pand: pd.DataFrame, columns: list[str]) -> float:
    """Largest absolute difference between the two results (NaN positions must agree)."""
    duck = duck.sort_values(["snapshot_date", "relation_id"], ignore_index=True)
    pand = pand.sort_values(["snapshot_date", "relation_id"], ignore_index=True)
    assert len(duck) == len(pand), (len(duck), len(pand))
    assert (duck["relation_id"].to_numpy() == pand["relation_id"].to_numpy()).all()
    worst = 0.0
    for col in columns:
        a = duck[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        b = pand[col].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        assert (np.isnan(a) == np.isnan(b)).all(), col
        mask = ~np.isnan(a)
        if mask.any():
            worst = max(worst, float(np.max(np.abs(a[mask] - b[mask]))))
    return worst


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=78)
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--reuse", action="store_true", help="reuse a generated bank and store")
    args = parser.parse_args(argv)
    out: Path = args.out
    bank = out / "bank"
    db = out / "bench.duckdb"
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Phase] = {}
    print(
        f"nextbest foundation benchmark: {args.customers:,} customers × {args.weeks} weeks, "
        f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}",
        flush=True,
    )
    manifest_path = bank / "manifest.json"
    reuse = args.reuse and manifest_path.exists() and db.exists()
    if not reuse:
        for f in (db, db.with_suffix(".duckdb.wal")):
            f.unlink(missing_ok=True)
        with measure("generate (no truth files)", results):
            manifest = simulate_bank(
                bank, n_customers=args.customers, n_weeks=args.weeks, seed=1, truth=False
            )
    manifest = BankManifest.read(manifest_path)
    cfg = config_from_mapping(
        {
            "store": {"path": str(db)},
            "sources": {
                name: {"path": str(bank / sub)}
                for name, sub in (
                    ("snapshots", "snapshots"),
                    ("market", "market"),
                    ("conversions", "conversions"),
                )
            },
        }
    )
    rows = manifest.n_customers * len(manifest.delivered_dates)
    with open_store(cfg) as store:
        if not reuse:
            with measure("ingest (contracts, quarantine)", results):
                for name in configured_sources(cfg):
                    ingest_source(store, cfg, name)
        fs = resolve_features(FeaturesConfig())
        latest = loaded_snapshot_dates(store)[-1]
        with measure("features, one week: DuckDB", results):
            week_arrow = build_features(store, fs, [latest])
        week = week_arrow.to_pandas()
        dates = training_dates(store, cfg.training)
        # dates whose file lost rows to quarantine are left out, so that DuckDB (which reads
        # the cleaned store) and pandas (which reads the raw files) see identical input
        dirty = {
            r[0]
            for r in store.fetchall(
                "SELECT DISTINCT unnest(partitions)::DATE FROM ingest_batches "
                "WHERE table_name = 'snapshots' AND rows_quarantined > 0"
            )
        }
        dates = [d for d in dates if d not in dirty]
        with measure("training table: DuckDB", results):
            train_arrow = build_training_table(
                store, fs, dates, label_weeks=cfg.training.label_weeks
            )
        train = train_arrow.to_pandas()
        del train_arrow, week_arrow
    market = pd.read_parquet(bank / "market" / "fund_prices.parquet")
    prices = market[market["fund"] == "balanced"].set_index("price_date")["price"].sort_index()
    conversions = pd.read_parquet(bank / "conversions" / "conversions.parquet")
    conversions["conversion_date"] = pd.to_datetime(conversions["conversion_date"])
    snap_dir = bank / "snapshots"
    with measure("features, one week: pandas", results):
        week_pd = pandas_features(snap_dir, prices, latest)
    diff_week = _same(week, week_pd, fs.names)
    del week_pd
    with measure("training table: pandas", results):
        train_pd = pandas_training_table(
            snap_dir, prices, conversions, dates, cfg.training.label_weeks
        )
    diff_train = _same(train, train_pd, [*fs.names, "converted", "amount_invested"])
    del train_pd

    def ratio(a: str, b: str, attr: Callable[[Phase], float]) -> float:
        return attr(results[a]) / max(attr(results[b]), 1e-9)

    speed_week = ratio(
        "features, one week: pandas", "features, one week: DuckDB", lambda p: p.seconds
    )
    speed_train = ratio("training table: pandas", "training table: DuckDB", lambda p: p.seconds)
    mem_week = ratio(
        "features, one week: pandas",
        "features, one week: DuckDB",
        lambda p: max(p.peak_increase_mb, 1.0),
    )
    mem_train = ratio(
        "training table: pandas", "training table: DuckDB", lambda p: max(p.peak_increase_mb, 1.0)
    )
    print(
        f"\n  rows in the store: {rows:,} snapshot rows; one week {len(week):,} customers; "
        f"training table {len(train):,} rows on {len(dates)} dates"
    )
    print(
        f"  pandas / DuckDB time:   one week {speed_week:.1f}x, training table {speed_train:.1f}x"
    )
    print(
        f"  pandas / DuckDB memory: one week {mem_week:.1f}x, training table {mem_train:.1f}x "
        "(peak increase)"
    )
    print(f"  results agree: max abs difference {max(diff_week, diff_train):.2e}")
    payload: dict[str, Any] = {
        "customers": manifest.n_customers,
        "weeks": manifest.n_weeks,
        "snapshot_rows": rows,
        "training_rows": len(train),
        "training_dates": len(dates),
        "phases": {k: vars(v) for k, v in results.items()},
        "ratios": {
            "time_one_week": speed_week,
            "time_training_table": speed_train,
            "memory_one_week": mem_week,
            "memory_training_table": mem_train,
        },
        "max_abs_difference": max(diff_week, diff_train),
    }
    (out / "foundation.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
