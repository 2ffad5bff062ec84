"""Measuring: the exported runs (figures, power plan, model health, the files), an experiment
file's arm effects, and the fairness of the recent runs."""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from nextbest.config import Config, output_dir
from nextbest.errors import NotFoundError
from nextbest.evaluation import (
    ArmEffect,
    Estimate,
    NeverSelected,
    PowerPlan,
    RunEvaluation,
    arm_effects,
    email_funnel,
    evaluate_runs,
    model_health,
    never_selected,
    power_plan,
    proxy_check,
    selection_by_group,
)
from nextbest.pipeline._evaluation_report import write_evaluation_report
from nextbest.store import Store


@dataclass(frozen=True)
class Figure:
    """One measured figure, a row of ``evaluation/figures.csv``."""

    run: str
    action: str
    figure: str
    value: float
    low: float | None
    high: float | None
    method: str


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate`` measured and where it wrote it (no files when nothing was exported)."""

    runs: list[RunEvaluation]
    funnels: dict[str, list[dict[str, Any]]]
    plans: list[PowerPlan]
    health: list[dict[str, Any]]
    figures: list[Figure]
    figures_csv: Path | None
    report: Path | None


def _estimate(run: RunEvaluation, name: str, e: Estimate) -> Figure:
    return Figure(run.run_id, run.action, name, e.value, e.low, e.high, e.method)


def _run_figures(r: RunEvaluation) -> list[Figure]:
    out = [_estimate(r, a.arm + " conversion", a.conversion) for a in r.arms.values()]
    out.append(_estimate(r, "incremental conversion", r.incremental_conversion))
    out.append(_estimate(r, "incremental amount", r.incremental_amount))
    out.append(_estimate(r, "mailed population conversion", r.mailed_population_rate))
    if r.model_lift is not None:
        out.append(Figure(r.run_id, r.action, "model lift", r.model_lift, None, None, "ratio"))
    for t in r.thresholds:
        name = f"conversion at threshold {t['threshold']:.4f}"
        out.append(_estimate(r, name, t["conversion_if_mailed"]))
    return out


def _figures(runs: list[RunEvaluation], health: list[dict[str, Any]]) -> list[Figure]:
    out = [f for r in runs for f in _run_figures(r)]
    for h in health:
        out.append(
            Figure(
                h["run"], h["action"], "health PR-AUC", h["pr_auc"], None, None, "unmailed eligible"
            )
        )
    return out


def _write_figures(path: Path, figures: list[Figure]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([f.name for f in fields(Figure)])
        for f in figures:
            writer.writerow(
                [
                    f.run,
                    f.action,
                    f.figure,
                    f.value,
                    *("" if v is None else v for v in (f.low, f.high)),
                    f.method,
                ]
            )


def evaluate_project(store: Store, config: Config, *, uplift: float) -> Evaluation:
    """Measure every exported run (and all of them pooled), plan the power for ``uplift``,
    check model health, and write ``figures.csv`` and ``report.html`` to
    ``reports/evaluation/`` in the outputs folder (``[store] outputs``)."""
    runs = evaluate_runs(store, config)
    plans = power_plan(store, config, uplift=uplift)
    if not runs:
        return Evaluation([], {}, plans, [], [], None, None)
    recent = [r.run_id for r in runs if r.run_id != "pooled"]
    funnels = {rid: email_funnel(store, rid) for rid in dict.fromkeys(recent)}
    health = model_health(store, config)
    figures = _figures(runs, health)
    out = output_dir(config, "reports") / "evaluation" / "figures.csv"
    _write_figures(out, figures)
    groups = selection_by_group(store, recent)
    report = write_evaluation_report(out.with_name("report.html"), runs, health, groups)
    return Evaluation(runs, funnels, plans, health, figures, out, report)


def experiment_effects(
    file: Path, *, arm_column: str, control: str, outcomes: list[str], amounts: list[str]
) -> list[ArmEffect]:
    """Each arm of a randomised experiment ``file`` (CSV or Parquet, one row per customer)
    against ``control``, for every 0/1 column of ``outcomes`` and every column of ``amounts``."""
    lit = "'" + str(file).replace("'", "''") + "'"
    reader = f"read_parquet({lit})" if file.suffix == ".parquet" else f"read_csv({lit})"
    cols = [*outcomes, *amounts]
    with Store(":memory:") as store:
        try:
            table = store.arrow(
                f'SELECT "{arm_column}" AS arm, '
                + ", ".join(f'CAST("{c}" AS DOUBLE) AS "{c}"' for c in cols)
                + f" FROM {reader}"
            )
        except Exception as exc:
            raise NotFoundError(f"{file}: {str(exc).splitlines()[0]}") from None
    arms = table["arm"].to_numpy(zero_copy_only=False).astype(str)
    # plain str: numpy's repr of its own strings (np.str_('a')) would reach the message
    names = sorted(set(arms.tolist()))
    if control not in names:
        raise NotFoundError(f"{file}: no rows with {arm_column} = {control!r}; arms are {names}")
    return arm_effects(
        arms, {c: table[c].to_numpy() for c in cols}, control=control, binary=set(outcomes)
    )


@dataclass(frozen=True)
class Fairness:
    """Who was never selected over the period, selection per group, and proxy features."""

    run_ids: list[str]
    never: NeverSelected
    groups: list[dict[str, Any]]
    proxies: list[dict[str, Any]]


def fairness_report(store: Store, config: Config, *, n_runs: int) -> Fairness:
    """Fairness over the last ``n_runs`` runs that decided (halted and skipped runs left out);
    the proxy check on the newest of them."""
    run_ids = [
        r[0]
        for r in store.fetchall(
            "SELECT run_id FROM runs WHERE status NOT IN ('halted', 'skipped') "
            "ORDER BY snapshot_date DESC, run_id DESC LIMIT ?",
            [n_runs],
        )
    ]
    if not run_ids:
        raise NotFoundError("no runs yet; run 'nextbest run' first")
    groups = selection_by_group(store, run_ids)
    never = never_selected(store, run_ids)
    proxies = proxy_check(store, run_ids[0], config.features)
    return Fairness(run_ids=run_ids, never=never, groups=groups, proxies=proxies)
