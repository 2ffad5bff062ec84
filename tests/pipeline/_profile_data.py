"""A small project whose profile can be worked out by hand: three snapshot weeks of four
customers with a week missing between them, one column empty in one week, one column that
drifts, one quarantined row, and two weeks of fund prices with a week missing."""

from __future__ import annotations

from pathlib import Path

from nextbest.config import load_config
from nextbest.ingest import ingest_source
from nextbest.store import open_store
from tests.ingest.helpers import row, write_csv

#: the snapshot dates delivered (2025-01-19 is not)
WEEKS = ("2025-01-05", "2025-01-12", "2025-01-26")

TOML = """\
[store]
path = "store/nextbest.duckdb"

[sources.snapshots]
path = "exports/snapshots"

[sources.market]
path = "exports/market"
"""


def _week(day: str) -> list[str]:
    """Balances 100…400 and the app on half the customers in the first two weeks; balances
    ten times higher and the app on everyone in the last; no logins known for 101 and 102 in
    the second week; 104 turns affluent in the last week, when 105 is 150 years old."""
    last = day == WEEKS[-1]
    rows = []
    for i, rid in enumerate((101, 102, 103, 104)):
        rows.append(
            row(
                rid=rid,
                day=day,
                balance=(i + 1) * (1000 if last else 100),
                app="true" if last or i < 2 else "false",
                logins="" if day == WEEKS[1] and i < 2 else 10,
                segment="affluent" if last and rid == 104 else "mass",
            )
        )
    if last:
        rows.append(row(rid=105, day=day, age=150))
    return rows


def write_profile_project(root: Path) -> Path:
    """Write the exports and the config under ``root``, ingest them, return the config path."""
    snapshots = root / "exports" / "snapshots"
    market = root / "exports" / "market"
    snapshots.mkdir(parents=True)
    market.mkdir(parents=True)
    for day in WEEKS:
        write_csv(snapshots / f"snapshot_{day}.csv", _week(day))
    (market / "prices.csv").write_text(
        "fund,price_date,price\n"
        "balanced,2025-01-06,100.0\n"
        "balanced,2025-01-08,102.0\n"
        "balanced,2025-01-20,104.0\n",
        encoding="utf-8",
    )
    path = root / "nextbest.toml"
    path.write_text(TOML, encoding="utf-8")
    cfg = load_config(path)
    with open_store(cfg) as store:
        for name in ("snapshots", "market"):
            ingest_source(store, cfg, name)
    return path
