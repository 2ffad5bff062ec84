"""Outcomes after an exported run on the synthetic bank: the warehouse's later delivery.

For the customers of a run, conversions in the label window after its snapshot date are drawn
from the bank's true weekly hazard at that date and each customer's true response to a mail
(mailed arms only, during the flow). The result is written as a conversions file next to the
bank — together with every conversion already known after that date, since a delivery
replaces the dates it covers — and ingested under the conversions contract like any delivery.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nextbest.config import ActionConfig, Config, SourceConfig
from nextbest.errors import NotFoundError
from nextbest.ingest import CONVERSIONS, EMAIL_EVENTS, load_file
from nextbest.pipeline._lifecycle import resolve_run
from nextbest.simulate import draw_conversion_weeks, truth_columns
from nextbest.store import Store


def _customers_of(
    store: Store,
    action: ActionConfig,
    run_id: str,
    day: dt.date,
    hazards: pa.Table,
    people: pa.Table,
    truth: Path,
) -> pa.Table:
    """The run's customers of ``action`` who have not reached its outcome since ``day``, with
    their true hazard, mail effect and expected amount (``value``, NULL where the truth has
    none), and whether this action mailed them."""
    hazard_col, value_col, uplift_col = truth_columns(action.outcome)
    if hazard_col not in hazards.column_names or uplift_col not in people.column_names:
        raise NotFoundError(
            f"{truth} has no truth for outcome '{action.outcome}' of action "
            f"'{action.name}': outcomes can only be simulated for the bank's outcomes"
        )
    keep = ["relation_id", hazard_col] + ([value_col] if value_col in hazards.column_names else [])
    store.register(
        "_hazard",
        hazards.select(keep).rename_columns(
            ["relation_id", "hazard", *(["value"] if len(keep) == 3 else [])]
        ),
    )
    store.register(
        "_uplift",
        people.select(["relation_id", uplift_col]).rename_columns(["relation_id", "uplift_factor"]),
    )
    value_sql = "h.value" if len(keep) == 3 else "NULL"
    try:
        t = store.arrow(
            f"""
            SELECT d.relation_id, h.hazard, u.uplift_factor, {value_sql} AS value,
                   d.arm IN ('treat', 'explore') AS mailed
            FROM decisions d
            JOIN _hazard h ON h.relation_id = d.relation_id
            JOIN _uplift u ON u.relation_id = d.relation_id
            WHERE d.run_id = ? AND d.action = ?
              AND d.relation_id NOT IN (
                  SELECT relation_id FROM conversions
                  WHERE conversion_date > ? AND outcome = ?)
            ORDER BY d.relation_id
            """,
            [run_id, action.name, day, action.outcome],
        )
    finally:
        store.unregister("_hazard")
        store.unregister("_uplift")
    return t


def simulate_outcomes(
    store: Store, config: Config, bank_dir: Path, run_id: str, *, seed: int = 0
) -> int:
    """Draw and ingest the run's outcomes, for every action of the run its own outcome from
    its own truth (a customer mailed for one action is mailed only for that action's outcome);
    returns the number of new conversions."""

    run_id, day, _ = resolve_run(store, run_id)
    truth = bank_dir / "truth" / f"hazard_{day.isoformat()}.parquet"
    if not truth.exists():
        raise NotFoundError(f"{truth} is missing: outcomes can only be simulated for the bank")
    hazards = pq.read_table(truth)
    people = pq.read_table(bank_dir / "truth" / "customers.parquet")
    rng = np.random.default_rng([seed, day.toordinal()])
    drawn: list[tuple[ActionConfig, pa.Table, np.ndarray[Any, Any]]] = []
    new_tables = []
    for action in config.actions:
        t = _customers_of(store, action, run_id, day, hazards, people, truth)
        if t.num_rows == 0:
            continue
        weeks = draw_conversion_weeks(
            t["hazard"].to_numpy().astype(np.float64),
            t["uplift_factor"].to_numpy().astype(np.float64),
            t["mailed"].to_numpy(zero_copy_only=False),
            flow_weeks=action.flow_weeks,
            label_weeks=action.label_weeks,
            rng=rng,
        )
        hit = weeks >= 0
        k = int(hit.sum())
        days = np.array([day.toordinal()] * k) + 7 * weeks[hit] + rng.integers(1, 8, size=k)
        if action.outcome == "investing" or t["value"].null_count:
            amount = rng.lognormal(np.log(1500), 0.8, k)
        else:  # the truth's expected amount, with the bank's own noise around it
            expected = t["value"].to_numpy(zero_copy_only=False)[hit].astype(np.float64)
            amount = expected * rng.lognormal(-0.125, 0.5, k)
        new_tables.append(
            pa.table(
                {
                    "relation_id": t["relation_id"].filter(pa.array(hit)),
                    "conversion_date": pa.array(
                        [dt.date.fromordinal(int(d)) for d in days], pa.date32()
                    ),
                    "amount": pa.array(np.round(amount, 2)),
                    "outcome": pa.array([action.outcome] * k, pa.string()),
                }
            )
        )
        drawn.append((action, t, weeks))
    known = store.arrow(
        "SELECT relation_id, conversion_date, amount, outcome FROM conversions "
        "WHERE conversion_date > ?",
        [day],
    )
    # named to sort after the bank's own conversions file, so a full re-ingest keeps it last
    out = bank_dir / "conversions" / f"conversions_after_{run_id}.parquet"
    delivery = pa.concat_tables([known, *new_tables]).sort_by(
        [("conversion_date", "ascending"), ("relation_id", "ascending"), ("outcome", "ascending")]
    )
    pq.write_table(delivery, out)
    source = config.sources.conversions
    assert source is not None
    load_file(store, CONVERSIONS, out, source, setting="[sources.conversions]")
    for action, t, weeks in drawn:
        _email_events(store, config, action, bank_dir, run_id, day, t, weeks, rng)
    return sum(n.num_rows for n in new_tables)


def _email_events(
    store: Store,
    config: Config,
    action: ActionConfig,
    bank_dir: Path,
    run_id: str,
    day: dt.date,
    customers: pa.Table,
    weeks: np.ndarray[Any, Any],
    rng: np.random.Generator,
) -> None:
    """What the e-mail tool reports for the mailed: one message a week of the flow until the
    customer converts; about 40% opened, a quarter of those clicked, 1% unsubscribe."""

    mailed = customers["mailed"].to_numpy(zero_copy_only=False)
    ids = customers["relation_id"].to_numpy()
    rows: dict[str, list[object]] = {
        k: [] for k in ("relation_id", "event_date", "action", "message", "event")
    }
    for step, message in enumerate(action.flow[: action.flow_weeks]):
        receives = mailed & ((weeks < 0) | (weeks >= step))
        when = day + dt.timedelta(days=7 * step + 1)
        opened = receives & (rng.random(len(ids)) < 0.4)
        clicked = opened & (rng.random(len(ids)) < 0.25)
        unsub = receives & (rng.random(len(ids)) < 0.01)
        for event, mask in (
            ("sent", receives),
            ("opened", opened),
            ("clicked", clicked),
            ("unsubscribed", unsub),
        ):
            n = int(mask.sum())
            rows["relation_id"] += ids[mask].tolist()
            rows["event_date"] += [when] * n
            rows["action"] += [action.name] * n
            rows["message"] += [message] * n
            rows["event"] += [event] * n
    folder = bank_dir / "email_events"
    folder.mkdir(exist_ok=True)
    suffix = "" if action is config.actions[0] else f"_{action.name}"
    path = folder / f"events_after_{run_id}{suffix}.parquet"
    pq.write_table(
        pa.table({**rows, "event_date": pa.array(rows["event_date"], pa.date32())}), path
    )
    source = config.sources.email_events or SourceConfig(path=str(folder))
    load_file(store, EMAIL_EVENTS, path, source, setting="[sources.email_events]")
