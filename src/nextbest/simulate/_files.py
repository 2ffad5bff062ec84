"""How the synthetic bank is written: one file per table, the way a warehouse delivers it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from nextbest.simulate._dialect import SOURCES_FILE, Delivery
from nextbest.simulate._market import FUNDS, MarketSeries

if TYPE_CHECKING:
    from nextbest.simulate._bank import _Customers

FloatArray = npt.NDArray[np.float64]
SEGMENTS = ("mass", "affluent", "private")


#: the bank's folders and the names of the files it writes in them
BANK_FILES = {
    "snapshots": "snapshot_*",
    "late": "snapshot_*",
    "market": "fund_prices.*",
    "conversions": "conversions.*",
    "email_events": "",
    "audit": "sensitive_attributes.*",
    "truth": "*.parquet",
}


def prepare_folders(out: Path) -> None:
    """Make the bank's folders and remove the files an earlier bank wrote there (another
    format or dialect would otherwise sit beside the new files and be read with them); files
    of other names are left alone."""
    for sub, pattern in BANK_FILES.items():
        folder = out / sub
        folder.mkdir(parents=True, exist_ok=True)
        if pattern:
            for old in folder.glob(pattern):
                if old.is_file():
                    old.unlink()
    (out / SOURCES_FILE).unlink(missing_ok=True)


def _date_column(day: dt.date, n: int) -> pa.Array:
    return pa.array(np.full(n, np.datetime64(day, "D")), pa.date32())


def truth_columns(outcome: str) -> tuple[str, str, str]:
    """The truth's columns of ``outcome``: its weekly hazard and the expected amount (in
    ``truth/hazard_<date>.parquet``) and the mail's effect (in ``truth/customers.parquet``);
    investing keeps the original names."""
    if outcome == "investing":
        return "hazard", "value_investing", "uplift_factor"
    return f"hazard_{outcome}", f"value_{outcome}", f"uplift_{outcome}"


def truth_table(
    cust: _Customers,
    day: dt.date,
    hazard: FloatArray,
    others: dict[str, FloatArray] | None = None,
    values: dict[str, FloatArray] | None = None,
) -> pa.Table:
    """The week's true hazard of every customer (the ground truth the tests compare with):
    ``hazard`` (investing), ``hazard_<outcome>`` of the other outcomes and ``value_<outcome>``,
    the expected amount on conversion."""
    columns: dict[str, object] = {
        "relation_id": cust.relation_id,
        "snapshot_date": _date_column(day, len(cust.relation_id)),
        "hazard": hazard.astype(np.float32),
    }
    for outcome, h in (others or {}).items():
        columns[f"hazard_{outcome}"] = h.astype(np.float32)
    for outcome, v in (values or {}).items():
        columns[f"value_{outcome}"] = np.round(v, 2)
    return pa.table(columns)


def snapshot_table(
    cust: _Customers, day: dt.date, age: FloatArray, logins: npt.NDArray[np.int64]
) -> pa.Table:
    n = len(cust.relation_id)
    since = pa.array(
        cust.since_delivered.astype("datetime64[D]"), pa.date32(), mask=cust.since_missing
    )
    return pa.table(
        {
            "relation_id": cust.relation_id,
            "snapshot_date": _date_column(day, n),
            "age": np.floor(age).astype(np.int32),
            "segment": pa.DictionaryArray.from_arrays(
                cust.segment.astype(np.int32), pa.array(SEGMENTS)
            ).cast(pa.string()),
            "has_savings": cust.has_savings,
            "has_payment": cust.has_payment,
            "n_accounts": cust.n_accounts.astype(np.int32),
            "total_balance": np.round(cust.balance, 2),
            "app_installed": cust.app,
            "ib_logins_4w": logins.astype(np.int32),
            "optin_general": cust.optin_general,
            "optin_investing": cust.optin_investing,
            "customer_since": since,
            "is_investor": cust.investor.copy(),
        }
    )


def write_market(market: MarketSeries, path: Path, delivery: Delivery) -> None:
    n = len(market.dates)
    funds = [f for f, _ in FUNDS]
    table = pa.table(
        {
            "fund": pa.array(np.repeat(funds, n)),
            "price_date": pa.array(
                np.tile(market.dates, len(funds)).astype("datetime64[D]"), pa.date32()
            ),
            "price": np.concatenate([market.prices[f] for f in funds]),
        }
    )
    delivery.write(table, path)


def write_audit(cust: _Customers, path: Path, delivery: Delivery) -> None:
    table = pa.table(
        {
            "relation_id": cust.relation_id,
            "gender": cust.gender,
            "postcode_area": cust.postcode_area,
        }
    )
    delivery.write(table, path)


def write_conversions(
    out: Path,
    ids: list[npt.NDArray[np.int64]],
    days: list[npt.NDArray[np.int64]],
    amounts: list[FloatArray],
    outcomes: list[npt.NDArray[np.str_]],
    delivery: Delivery,
) -> int:
    rid = np.concatenate(ids) if ids else np.empty(0, np.int64)
    day = np.concatenate(days) if days else np.empty(0, np.int64)
    amt = np.concatenate(amounts) if amounts else np.empty(0, np.float64)
    kind = np.concatenate(outcomes) if outcomes else np.empty(0, np.str_)
    order = np.lexsort((kind, rid, day))
    table = pa.table(
        {
            "relation_id": rid[order],
            "conversion_date": pa.array(day[order].astype("datetime64[D]"), pa.date32()),
            "amount": amt[order],
            "outcome": pa.array(kind[order].astype(str).tolist(), pa.string()),
        }
    )
    delivery.write(table, out / "conversions" / f"conversions.{delivery.file_format}")
    return len(rid)


def write_truth_customers(cust: _Customers, path: Path) -> None:
    table = pa.table(
        {
            "relation_id": cust.relation_id,
            "engagement_latent": cust.engagement,
            "uplift_factor": cust.uplift_factor,
            **(
                {
                    "uplift_savings": cust.uplift_savings,
                    "uplift_private_banking": cust.uplift_private_banking,
                }
                if len(cust.uplift_savings)
                else {}
            ),
        }
    )
    Delivery("parquet").write(table, path)
