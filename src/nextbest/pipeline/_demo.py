"""The demo: from nothing to a reviewed-ready weekly decision list on the synthetic bank."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from nextbest.config import Config, load_config
from nextbest.errors import RunHaltedError
from nextbest.features import (
    FeatureSet,
    build_features,
    loaded_snapshot_dates,
    resolve_features,
    training_table,
)
from nextbest.ingest import LoadReport, configured_sources, ingest_source
from nextbest.models import ModelVersion
from nextbest.pipeline._lifecycle import live_runs
from nextbest.pipeline._project import write_config
from nextbest.pipeline._report import write_report
from nextbest.pipeline._train import TrainedAction, train_models
from nextbest.pipeline._weekly import RunResult, run_week
from nextbest.simulate import BankManifest, simulate_bank
from nextbest.store import Store, open_store

#: progress(step, done, total)
Progress = Callable[[str, int, int], None]


@dataclass
class DemoResult:
    """Everything the demo did, for the summary."""

    project_dir: Path
    config_path: Path
    manifest: BankManifest
    reports: list[LoadReport]
    latest_date: dt.date
    n_scored: int
    feature_summary: list[dict[str, object]]
    training_rows: int
    training_dates: list[dt.date]
    training_base_rate: float
    trained: list[TrainedAction]
    run: RunResult | None  # None when an action has no champion (blocked by its findings)
    report_path: Path | None
    blocked: list[ModelVersion] = field(default_factory=list)
    halted: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _summarise(table: pa.Table, names: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in names:
        col = table[name]
        rows.append(
            {
                "feature": name,
                "missing": col.null_count / max(len(col), 1),
                "min": pc.min(col).as_py(),
                "median": pc.approximate_median(col).as_py(),
                "max": pc.max(col).as_py(),
            }
        )
    return rows


@contextmanager
def _timed(timings: dict[str, float], step: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    timings[step] = time.perf_counter() - t


def _bank(
    root: Path, *, n_customers: int, n_weeks: int, seed: int, progress: Progress | None
) -> BankManifest:
    """The generated bank under ``root/bank``, generated anew unless size and seed match."""
    bank_dir = root / "bank"
    manifest_path = bank_dir / "manifest.json"
    manifest = BankManifest.read(manifest_path) if manifest_path.exists() else None
    if manifest is not None and (manifest.n_customers, manifest.n_weeks, manifest.seed) == (
        n_customers,
        n_weeks,
        seed,
    ):
        if progress:
            progress("Generating the synthetic bank", n_weeks, n_weeks)
        return manifest
    if bank_dir.exists():
        shutil.rmtree(bank_dir)
    manifest = simulate_bank(
        bank_dir,
        n_customers=n_customers,
        n_weeks=n_weeks,
        seed=seed,
        progress=(lambda d, n: progress("Generating the synthetic bank", d, n))
        if progress
        else None,
    )
    # the store described the previous bank; start it anew
    (root / "nextbest.duckdb").unlink(missing_ok=True)
    return manifest


def _ingest(store: Store, config: Config, progress: Progress | None) -> list[LoadReport]:
    reports: list[LoadReport] = []
    sources = configured_sources(config)
    for i, name in enumerate(sources):
        reports.extend(ingest_source(store, config, name))
        if progress:
            progress("Ingesting under data contracts", i + 1, len(sources))
    return reports


def _training_table(
    store: Store, config: Config, fs: FeatureSet, progress: Progress | None
) -> tuple[list[dt.date], pa.Table]:
    dates, training = training_table(store, fs, config.training)
    if progress:
        progress("Building features", 2, 2)
    return dates, training


def _weekly_run(
    store: Store, config: Config, latest: dt.date, progress: Progress | None
) -> tuple[RunResult | None, str | None]:
    """The latest week's run, or none when an action has no champion; the halt, if any."""
    has_champions = all(
        store.scalar(
            "SELECT count(*) FROM model_versions WHERE action = ? AND status = 'champion'",
            [a.name],
        )
        for a in config.actions
    )
    if not has_champions:
        return None, None
    try:
        # the demo run again decides its week again: it supersedes its earlier list
        again = "the demo was run again" if live_runs(store, latest) else None
        run = run_week(store, config, day=latest, progress=progress, supersede=again, actor="demo")
    except RunHaltedError as exc:
        return None, str(exc)
    return run, None


def run_demo(
    project_dir: str | Path = "nextbest-demo",
    *,
    n_customers: int = 20_000,
    n_weeks: int = 78,
    seed: int = 42,
    fresh: bool = False,
    single_action: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    """Generate the synthetic bank, ingest it under contracts, build features, train each
    action's model, run the latest week and write the HTML report.

    The demo project is a plain nextbest project: ``<dir>/nextbest.toml`` points at the
    generated files and the store, so every other command works on it with
    ``--config <dir>/nextbest.toml``. The config has the demo's three actions
    (:data:`DEMO_ACTIONS`), or only invest-onboarding with ``single_action``. Re-running
    reuses the generated bank when its size and seed match, and ingesting again is
    idempotent.
    """
    timings: dict[str, float] = {}
    root = Path(project_dir)
    if fresh and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    with _timed(timings, "simulate"):
        manifest = _bank(
            root, n_customers=n_customers, n_weeks=n_weeks, seed=seed, progress=progress
        )
    config_path = root / "nextbest.toml"
    if not config_path.exists():
        write_config(config_path, demo=not single_action)
    config = load_config(config_path)
    with open_store(config) as store:
        with _timed(timings, "ingest"):
            reports = _ingest(store, config, progress)
        with _timed(timings, "features_latest_week"):
            fs = resolve_features(config.features)
            latest = loaded_snapshot_dates(store)[-1]
            features = build_features(store, fs, [latest])
        if progress:
            progress("Building features", 1, 2)
        with _timed(timings, "training_table"):
            dates, training = _training_table(store, config, fs, progress)
        with _timed(timings, "train"):
            truth = root / "bank" / "truth"
            trained = train_models(store, config, truth_dir=truth, progress=progress)
        blocked = [t.version for t in trained if t.version.status != "champion"]
        with _timed(timings, "run"):
            run, halted = _weekly_run(store, config, latest, progress)
    report = write_report(root / "report.html", run, config.actions, trained) if run else None
    return DemoResult(
        project_dir=root,
        config_path=config_path,
        manifest=manifest,
        reports=reports,
        latest_date=latest,
        n_scored=features.num_rows,
        feature_summary=_summarise(features, fs.names),
        training_rows=training.num_rows,
        training_dates=dates,
        training_base_rate=float(pc.mean(training["converted"]).as_py() or 0.0),
        trained=trained,
        run=run,
        report_path=report,
        blocked=blocked,
        halted=halted,
        timings=timings,
    )
