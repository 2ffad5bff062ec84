"""Building features (and labels) for snapshot dates with one relational query.

The query has three parts, all restricted to data at or before each target date D:

* ``cur``: every customer's snapshot at D;
* ``hist``: the balance at the latest snapshot in [D − 42, D − 28] and in [D − 70, D − 56]
  days — an as-of lookup written as an equi-join on the candidate dates plus ``max_by``
  (``max_by`` is Spark's ``max_by`` too), which runs unchanged in a warehouse or as Spark SQL
  (``ASOF JOIN`` would not) and lets DuckDB skip every week it does not need;
* ``mkt``: the market fund's last price at or before D, D − 7 and D − 28 days.

Labels (:func:`build_training_table`) come only from conversions strictly after D.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from nextbest.config import FeaturesConfig, TrainingConfig
from nextbest.errors import ConfigError, NotFoundError, did_you_mean
from nextbest.features._definitions import FEATURES, FeatureDefinition
from nextbest.store import Store, is_database_error

#: how stale a history point may be: the lookup window per measurement point, in days
_TOLERANCE_DAYS = 14


@dataclass(frozen=True)
class FeatureSet:
    """The resolved, ordered features a model sees, plus the market fund they read."""

    definitions: tuple[FeatureDefinition, ...]
    market_fund: str

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.definitions]

    def describe(self) -> list[dict[str, str]]:
        """Name, unit and plain-language description of each feature."""
        return [
            {"name": d.name, "unit": d.unit, "description": d.description} for d in self.definitions
        ]


def resolve_features(config: FeaturesConfig) -> FeatureSet:
    """Turn the ``[features]`` config into definitions, refusing unknown names."""
    defs: list[FeatureDefinition] = []
    for name in config.enabled:
        if name not in FEATURES:
            raise ConfigError(
                f"[features].enabled names unknown feature '{name}';"
                f"{did_you_mean(name, FEATURES)} Known features: {', '.join(FEATURES)}; "
                "define others under [[features.custom]]"
            )
        defs.append(FEATURES[name])
    for custom in config.custom:
        if custom.name in FEATURES:
            raise ConfigError(
                f"[[features.custom]] '{custom.name}' has the name of a built-in feature; "
                "enable the built-in one under [features].enabled or pick another name"
            )
        # the SQL regenerated from its parsed tree, never the config's text: what runs is what
        # the grammar checked (one scalar expression over the feature base's columns)
        sql = custom.checked_sql(table="base")
        defs.append(FeatureDefinition(custom.name, sql, custom.description, "custom"))
    if not defs:
        raise ConfigError("[features].enabled is empty; enable at least one feature")
    return FeatureSet(definitions=tuple(defs), market_fund=config.market_fund)


def feature_set_for(config: FeaturesConfig, names: Sequence[str]) -> FeatureSet:
    """The feature set that computes exactly ``names`` (e.g. a model's features), taking
    custom definitions from the config."""
    customs = [c for c in config.custom if c.name in names]
    built_in = [n for n in names if n not in {c.name for c in customs}]
    return resolve_features(
        FeaturesConfig(enabled=built_in, custom=customs, market_fund=config.market_fund)
    )


def _query(
    fs: FeatureSet,
    *,
    population: str = "TRUE",
    sample_fraction: float = 1.0,
    label_weeks: int | None = None,
) -> str:
    """The feature (and optionally label) query over ``$dates``, ``$fund`` and ``$seed``."""
    feature_cols = ",\n    ".join(f"({d.sql}) AS {d.name}" for d in fs.definitions)
    sample = (
        "TRUE"
        if sample_fraction >= 1.0
        else f"hash(s.relation_id, $seed) % 1000000 < {int(sample_fraction * 1_000_000)}"
    )
    offsets = ", ".join(f"({k})" for k in range(_TOLERANCE_DAYS + 1))
    labels_cte = ""
    labels_join = ""
    labels_cols = ""
    if label_weeks is not None:
        labels_cte = f""",
lab AS (
    SELECT t.snapshot_date, c.relation_id, sum(c.amount) AS amount_invested
    FROM target t
    JOIN conversions c
      ON c.conversion_date > t.snapshot_date
     AND c.conversion_date <= t.snapshot_date + {7 * label_weeks}
    GROUP BY t.snapshot_date, c.relation_id
)"""
        labels_join = (
            "LEFT JOIN lab ON lab.snapshot_date = b.snapshot_date "
            "AND lab.relation_id = b.relation_id"
        )
        labels_cols = (
            ",\n    CASE WHEN lab.relation_id IS NULL THEN 0 ELSE 1 END AS converted"
            ",\n    coalesce(lab.amount_invested, 0.0) AS amount_invested"
        )
    return f"""
WITH target AS (
    SELECT DISTINCT CAST(d AS DATE) AS snapshot_date FROM (SELECT unnest($dates) AS d)
),
cur AS (
    SELECT s.* FROM snapshots s
    WHERE s.snapshot_date IN (SELECT snapshot_date FROM target) AND ({population}) AND {sample}
),
cand AS (
    SELECT t.snapshot_date, p.point, CAST(t.snapshot_date - (p.lag + k.k) AS DATE) AS hist_date
    FROM target t
    CROSS JOIN (VALUES (1, 28), (2, 56)) AS p(point, lag)
    CROSS JOIN (VALUES {offsets}) AS k(k)
),
hist AS (
    SELECT c.snapshot_date, h.relation_id,
        max_by(h.total_balance, h.snapshot_date) FILTER (WHERE c.point = 1) AS balance_4w,
        max_by(h.total_balance, h.snapshot_date) FILTER (WHERE c.point = 2) AS balance_8w
    FROM cand c
    JOIN snapshots h ON h.snapshot_date = c.hist_date
    WHERE h.relation_id IN (SELECT relation_id FROM cur)
    GROUP BY c.snapshot_date, h.relation_id
),
mkt AS (
    SELECT t.snapshot_date,
        max_by(m.price, m.price_date) AS price_0,
        max_by(m.price, m.price_date) FILTER (
            WHERE m.price_date <= t.snapshot_date - 7) AS price_1w,
        max_by(m.price, m.price_date) FILTER (
            WHERE m.price_date <= t.snapshot_date - 28) AS price_4w
    FROM target t
    JOIN market_prices m
      ON m.fund = $fund
     AND m.price_date BETWEEN t.snapshot_date - {28 + 10} AND t.snapshot_date
    GROUP BY t.snapshot_date
){labels_cte},
base AS (
    SELECT cur.*, hist.balance_4w, hist.balance_8w, mkt.price_0, mkt.price_1w, mkt.price_4w
    FROM cur
    LEFT JOIN hist ON hist.snapshot_date = cur.snapshot_date
                  AND hist.relation_id = cur.relation_id
    LEFT JOIN mkt ON mkt.snapshot_date = cur.snapshot_date
),
feat AS (
    SELECT relation_id, snapshot_date,
    {feature_cols}
    FROM base
)
SELECT b.*{labels_cols}
FROM feat b
{labels_join}
ORDER BY b.snapshot_date, b.relation_id
"""


def loaded_snapshot_dates(store: Store) -> list[dt.date]:
    """Snapshot dates present in the store, oldest first."""
    return [r[0] for r in store.fetchall("SELECT DISTINCT snapshot_date FROM snapshots ORDER BY 1")]


def _check_dates(store: Store, dates: Sequence[dt.date]) -> None:
    loaded = set(loaded_snapshot_dates(store))
    if not loaded:
        raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
    missing = sorted(set(dates) - loaded)
    if missing:
        latest = max(loaded)
        raise NotFoundError(
            f"no snapshot loaded for {missing[0].isoformat()}"
            + (f" (and {len(missing) - 1} more dates)" if len(missing) > 1 else "")
            + f"; loaded dates run from {min(loaded)} to {latest}. Ingest that week first, "
            "or pick a loaded date"
        )


def _run(store: Store, sql: str, params: dict[str, Any], fs: FeatureSet) -> pa.Table:
    try:
        return store.arrow(sql, params)
    except Exception as exc:
        if not is_database_error(exc):
            raise
        customs = [d.name for d in fs.definitions if d.unit == "custom"]
        first = str(exc).strip().splitlines()[0]
        if customs:
            raise ConfigError(
                f"the feature query failed ({first}); check the SQL of the custom "
                f"features {customs} in [[features.custom]]"
            ) from None
        raise


def build_features(
    store: Store,
    fs: FeatureSet,
    dates: Sequence[dt.date],
    *,
    relation_ids: Sequence[int] | None = None,
) -> pa.Table:
    """Features for every customer on each of ``dates``, sorted by date and relation id.

    Example
    -------
    >>> table = build_features(store, fs, [dt.date(2025, 6, 29)])  # doctest: +SKIP
    >>> table.column_names[:3]
    ['relation_id', 'snapshot_date', 'age']
    """
    dates = sorted(set(dates))
    _check_dates(store, dates)
    params: dict[str, Any] = {"dates": dates, "fund": fs.market_fund}
    if relation_ids is None:
        return _run(store, _query(fs), params, fs)
    # a few customers (a look-up): the same query, restricted early
    params["ids"] = [int(i) for i in relation_ids]
    return _run(store, _query(fs, population="s.relation_id IN (SELECT unnest($ids))"), params, fs)


def training_dates(
    store: Store,
    training: TrainingConfig,
    *,
    until: dt.date | None = None,
    label_weeks: int | None = None,
) -> list[dt.date]:
    """Snapshot dates to learn from, evenly spread over the usable history.

    A date is usable when it has ``history_weeks`` of snapshots before it and its label window
    (``label_weeks``) ends on or before the latest loaded snapshot (or ``until``), so every
    label is complete: a conversion after that point is not known yet.
    """
    loaded = loaded_snapshot_dates(store)
    if not loaded:
        raise NotFoundError("no snapshots are loaded; run 'nextbest ingest' first")
    horizon = until or loaded[-1]
    weeks = training.label_weeks if label_weeks is None else label_weeks
    first_ok = loaded[0] + dt.timedelta(weeks=training.history_weeks)
    last_ok = horizon - dt.timedelta(weeks=weeks)
    usable = [d for d in loaded if first_ok <= d <= last_ok]
    if not usable:
        raise NotFoundError(
            f"no snapshot date has {training.history_weeks} weeks of history and a complete "
            f"{weeks}-week label window before {horizon}; load more weeks or "
            "lower [training] history_weeks / label_weeks"
        )
    n = min(training.n_dates, len(usable))
    if n == 1:
        return [usable[-1]]
    step = (len(usable) - 1) / (n - 1)
    return sorted({usable[round(i * step)] for i in range(n)})


def build_training_table(
    store: Store,
    fs: FeatureSet,
    dates: Sequence[dt.date],
    *,
    label_weeks: int,
    customer_fraction: float = 1.0,
    seed: int = 0,
) -> pa.Table:
    """Features plus labels for non-investors on ``dates``.

    ``converted`` is 1 when the customer opened an investment account in the ``label_weeks``
    weeks strictly after the snapshot date, and ``amount_invested`` sums what they invested in
    that window. Customers are sampled per date by a seeded hash of the relation number.
    """
    dates = sorted(set(dates))
    _check_dates(store, dates)
    sql = _query(
        fs,
        population="NOT s.is_investor",
        sample_fraction=customer_fraction,
        label_weeks=label_weeks,
    )
    params: dict[str, Any] = {"dates": dates, "fund": fs.market_fund}
    if customer_fraction < 1.0:
        params["seed"] = seed
    return _run(store, sql, params, fs)
