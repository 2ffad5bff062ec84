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

from nextbest.config import Config, SourceConfig
from nextbest.errors import NotFoundError
from nextbest.ingest import CONVERSIONS, EMAIL_EVENTS, load_file
from nextbest.pipeline._lifecycle import resolve_run
from nextbest.simulate import draw_conversion_weeks
from nextbest.store import Store


def simulate_outcomes(
    store: Store, config: Config, bank_dir: Path, run_id: str, *, seed: int = 0
) -> int:
    """Draw and ingest the run's outcomes; returns the number of new conversions."""

    run_id, day, _ = resolve_run(store, run_id)
    truth = bank_dir / "truth" / f"hazard_{day.isoformat()}.parquet"
    if not truth.exists():
        raise NotFoundError(f"{truth} is missing: outcomes can only be simulated for the bank")
    action = config.actions[0]
    store.register("_hazard", pq.read_table(truth))
    store.register("_uplift", pq.read_table(bank_dir / "truth" / "customers.parquet"))
    try:
        t = store.arrow(
            """
            SELECT d.relation_id, h.hazard, u.uplift_factor,
                   d.arm IN ('treat', 'explore') AS mailed
            FROM decisions d
            JOIN _hazard h ON h.relation_id = d.relation_id
            JOIN _uplift u ON u.relation_id = d.relation_id
            WHERE d.run_id = ? AND d.action = ?
              AND d.relation_id NOT IN (
                  SELECT relation_id FROM conversions WHERE conversion_date > ?)
            ORDER BY d.relation_id
            """,
            [run_id, action.name, day],
        )
    finally:
        store.unregister("_hazard")
        store.unregister("_uplift")
    rng = np.random.default_rng([seed, day.toordinal()])
    weeks = draw_conversion_weeks(
        t["hazard"].to_numpy().astype(np.float64),
        t["uplift_factor"].to_numpy().astype(np.float64),
        t["mailed"].to_numpy(zero_copy_only=False),
        flow_weeks=action.flow_weeks,
        label_weeks=action.label_weeks,
        rng=rng,
    )
    hit = weeks >= 0
    days = (
        np.array([day.toordinal()] * int(hit.sum()))
        + 7 * weeks[hit]
        + rng.integers(1, 8, size=int(hit.sum()))
    )
    new = pa.table(
        {
            "relation_id": t["relation_id"].filter(pa.array(hit)),
            "conversion_date": pa.array([dt.date.fromordinal(int(d)) for d in days], pa.date32()),
            "amount": pa.array(np.round(rng.lognormal(np.log(1500), 0.8, int(hit.sum())), 2)),
        }
    )
    known = store.arrow(
        "SELECT relation_id, conversion_date, amount FROM conversions WHERE conversion_date > ?",
        [day],
    )
    # named to sort after the bank's own conversions file, so a full re-ingest keeps it last
    out = bank_dir / "conversions" / f"conversions_after_{run_id}.parquet"
    delivery = pa.concat_tables([known, new]).sort_by(
        [("conversion_date", "ascending"), ("relation_id", "ascending")]
    )
    pq.write_table(delivery, out)
    source = config.sources.conversions
    assert source is not None
    load_file(store, CONVERSIONS, out, source, setting="[sources.conversions]")
    _email_events(store, config, bank_dir, run_id, day, t, weeks, rng)
    return int(hit.sum())


def _email_events(
    store: Store,
    config: Config,
    bank_dir: Path,
    run_id: str,
    day: dt.date,
    customers: pa.Table,
    weeks: np.ndarray[Any, Any],
    rng: np.random.Generator,
) -> None:
    """What the e-mail tool reports for the mailed: one message a week of the flow until the
    customer converts; about 40% opened, a quarter of those clicked, 1% unsubscribe."""

    action = config.actions[0]
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
    path = folder / f"events_after_{run_id}.parquet"
    pq.write_table(
        pa.table({**rows, "event_date": pa.array(rows["event_date"], pa.date32())}), path
    )
    source = config.sources.email_events or SourceConfig(path=str(folder))
    load_file(store, EMAIL_EVENTS, path, source, setting="[sources.email_events]")
