"""Building features (and labels) for snapshot dates with one relational query.

The query is a pipeline of named steps (:func:`feature_steps`), each testable alone, all
restricted to data at or before each target date D:

* ``target``: the dates D (``$dates``);
* ``cur``: every chosen customer's snapshot at D (everyone, the ``$ids`` listed, or the
  non-investors of a training table, optionally a seeded hash sample);
* ``cand`` and ``hist``: the balance at the latest snapshot in [D − 42, D − 28] and in
  [D − 70, D − 56] days — an as-of lookup written as an equi-join on the candidate dates plus
  ``max_by`` (``max_by`` is Spark's ``max_by`` too), which runs unchanged in a warehouse or as
  Spark SQL (``ASOF JOIN`` would not) and lets DuckDB skip every week it does not need;
* ``mkt``: the market fund's (``$fund``) last price at or before D, D − 7 and D − 28 days;
* ``lab`` (training tables only): conversions strictly after D, within ``$label_days``;
* ``base`` and ``feat``: the joined columns and the feature expressions over them.

Labels (:func:`build_training_table`) come only from conversions strictly after D.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from nextbest.config import FeaturesConfig, TrainingConfig
from nextbest.errors import ConfigError, NotFoundError, did_you_mean
from nextbest.features._definitions import FEATURES, FeatureDefinition
from nextbest.store import Steps, Store, is_database_error

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


#: which customers a query reads: everyone, the ``$ids`` listed, or those not investing yet
Population = Literal["all", "listed", "non_investors"]

_POPULATION: dict[Population, str] = {
    "all": "TRUE",
    "listed": "s.relation_id IN (SELECT unnest($ids))",
    "non_investors": "NOT s.is_investor",
}

_TARGET = """
SELECT DISTINCT CAST(d AS DATE) AS snapshot_date FROM (SELECT unnest($dates) AS d)"""

_HIST = """
SELECT c.snapshot_date, h.relation_id,
    max_by(h.total_balance, h.snapshot_date) FILTER (WHERE c.point = 1) AS balance_4w,
    max_by(h.total_balance, h.snapshot_date) FILTER (WHERE c.point = 2) AS balance_8w
FROM cand c
JOIN snapshots h ON h.snapshot_date = c.hist_date
WHERE h.relation_id IN (SELECT relation_id FROM cur)
GROUP BY c.snapshot_date, h.relation_id"""

# prices from 38 days before D: the 4-week point plus the same tolerance as a weekly snapshot
_MKT = """
SELECT t.snapshot_date,
    max_by(m.price, m.price_date) AS price_0,
    max_by(m.price, m.price_date) FILTER (
        WHERE m.price_date <= t.snapshot_date - 7) AS price_1w,
    max_by(m.price, m.price_date) FILTER (
        WHERE m.price_date <= t.snapshot_date - 28) AS price_4w
FROM target t
JOIN market_prices m
  ON m.fund = $fund
 AND m.price_date BETWEEN t.snapshot_date - 38 AND t.snapshot_date
GROUP BY t.snapshot_date"""

_LAB = """
SELECT t.snapshot_date, c.relation_id, sum(c.amount) AS amount_invested
FROM target t
JOIN conversions c
  ON c.conversion_date > t.snapshot_date
 AND c.conversion_date <= t.snapshot_date + $label_days
 AND c.outcome = $outcome
GROUP BY t.snapshot_date, c.relation_id"""

# an outcome other than investing: who reached it on or before D is not in its audience (each
# customer reaches an outcome once; investing has the snapshot's is_investor instead)
_NOT_REACHED = """NOT EXISTS (
    SELECT 1 FROM conversions v
    WHERE v.relation_id = s.relation_id AND v.outcome = $outcome
      AND v.conversion_date <= s.snapshot_date)"""


@dataclass(frozen=True)
class Audience:
    """Whom an action's training table holds: the customers who could reach ``outcome`` on each
    date and pass ``condition`` (SQL over the snapshot ``s``, already checked, e.g. an action's
    rules); the labels count only conversions of ``outcome``."""

    outcome: str = "investing"
    condition: str | None = None

    def conditions(self) -> list[str]:
        first = _POPULATION["non_investors"] if self.outcome == "investing" else _NOT_REACHED
        return [first] + ([f"({self.condition})"] if self.condition else [])


_BASE = """
SELECT cur.*, hist.balance_4w, hist.balance_8w, mkt.price_0, mkt.price_1w, mkt.price_4w
FROM cur
LEFT JOIN hist ON hist.snapshot_date = cur.snapshot_date
              AND hist.relation_id = cur.relation_id
LEFT JOIN mkt ON mkt.snapshot_date = cur.snapshot_date"""

_FEATURES_ONLY = "SELECT b.* FROM feat b ORDER BY b.snapshot_date, b.relation_id"

_WITH_LABELS = """
SELECT b.*,
    CASE WHEN lab.relation_id IS NULL THEN 0 ELSE 1 END AS converted,
    coalesce(lab.amount_invested, 0.0) AS amount_invested
FROM feat b
LEFT JOIN lab ON lab.snapshot_date = b.snapshot_date AND lab.relation_id = b.relation_id
ORDER BY b.snapshot_date, b.relation_id"""


def _cur_sql(population: Population, *, sampled: bool, audience: Audience | None = None) -> str:
    """Every chosen customer's snapshot on the target dates (a seeded hash sample with
    ``sampled``: ``$seed`` and ``$sample_below`` out of a million); an ``audience`` replaces
    the population."""
    who = audience.conditions() if audience is not None else [_POPULATION[population]]
    conditions = ["s.snapshot_date IN (SELECT snapshot_date FROM target)", *who]
    if sampled:
        conditions.append("hash(s.relation_id, $seed) % 1000000 < $sample_below")
    return "SELECT s.* FROM snapshots s\nWHERE " + "\n  AND ".join(conditions)


def _cand_sql() -> str:
    """The candidate history dates of each target date: each measurement point's lag plus
    every day of the tolerance."""
    offsets = ", ".join(f"({k})" for k in range(_TOLERANCE_DAYS + 1))
    return (
        "SELECT t.snapshot_date, p.point, CAST(t.snapshot_date - (p.lag + k.k) AS DATE) "
        "AS hist_date\nFROM target t\n"
        "CROSS JOIN (VALUES (1, 28), (2, 56)) AS p(point, lag)\n"
        f"CROSS JOIN (VALUES {offsets}) AS k(k)"
    )


def _feat_sql(fs: FeatureSet) -> str:
    cols = ",\n    ".join(f"({d.sql}) AS {d.name}" for d in fs.definitions)
    return f"SELECT relation_id, snapshot_date,\n    {cols}\nFROM base"


def feature_steps(
    fs: FeatureSet,
    *,
    population: Population = "all",
    sampled: bool = False,
    labelled: bool = False,
    audience: Audience | None = None,
) -> Steps:
    """The named steps of the feature (and, ``labelled``, label) query over ``$dates`` and
    ``$fund`` (``$ids``, ``$seed`` and ``$sample_below``, ``$label_days`` and ``$outcome`` as
    chosen)."""
    steps = (
        Steps()
        .add("target", _TARGET)
        .add("cur", _cur_sql(population, sampled=sampled, audience=audience))
        .add("cand", _cand_sql())
        .add("hist", _HIST)
        .add("mkt", _MKT)
    )
    if labelled:
        steps.add("lab", _LAB)
    return steps.add("base", _BASE).add("feat", _feat_sql(fs))


def _query(
    fs: FeatureSet,
    *,
    population: Population = "all",
    sampled: bool = False,
    labelled: bool = False,
    audience: Audience | None = None,
) -> str:
    """The feature (and optionally label) query as one statement."""
    steps = feature_steps(
        fs, population=population, sampled=sampled, labelled=labelled, audience=audience
    )
    return steps.render(_WITH_LABELS if labelled else _FEATURES_ONLY)


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
    return _run(store, _query(fs, population="listed"), params, fs)


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
    weeks = training.label_weeks if label_weeks is None else label_weeks
    return spread_training_dates(loaded, training, horizon=until or loaded[-1], label_weeks=weeks)


def spread_training_dates(
    loaded: Sequence[dt.date], training: TrainingConfig, *, horizon: dt.date, label_weeks: int
) -> list[dt.date]:
    """The :func:`training_dates` of the snapshot dates ``loaded`` (sorted), without a store:
    ``[training] n_dates`` of the usable dates, evenly spread.

    >>> from nextbest.config import TrainingConfig
    >>> weeks = [dt.date(2025, 1, 5) + dt.timedelta(weeks=i) for i in range(20)]
    >>> cfg = TrainingConfig(history_weeks=8, n_dates=3)
    >>> [d.isoformat() for d in spread_training_dates(weeks, cfg, horizon=weeks[-1], label_weeks=8)]
    ['2025-03-02', '2025-03-16', '2025-03-23']
    """
    first_ok = loaded[0] + dt.timedelta(weeks=training.history_weeks)
    last_ok = horizon - dt.timedelta(weeks=label_weeks)
    usable = [d for d in loaded if first_ok <= d <= last_ok]
    if not usable:
        raise NotFoundError(
            f"no snapshot date has {training.history_weeks} weeks of history and a complete "
            f"{label_weeks}-week label window before {horizon} (the store has {len(loaded)} "
            f"snapshot dates, {loaded[0]} … {loaded[-1]}); load more weeks or lower "
            "[training] history_weeks / label_weeks"
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
    audience: Audience | None = None,
) -> pa.Table:
    """Features plus labels for the ``audience`` on ``dates`` (default: non-investors, labelled
    by investing).

    ``converted`` is 1 when the customer reached the audience's outcome (by default: opened an
    investment account) in the ``label_weeks`` weeks strictly after the snapshot date, and
    ``amount_invested`` sums the amounts of that outcome in that window. Customers are sampled
    per date by a seeded hash of the relation number.
    """
    dates = sorted(set(dates))
    _check_dates(store, dates)
    sampled = customer_fraction < 1.0
    audience = audience or Audience()
    sql = _query(fs, sampled=sampled, labelled=True, audience=audience)
    params: dict[str, Any] = {
        "dates": dates,
        "fund": fs.market_fund,
        "label_days": 7 * label_weeks,
        "outcome": audience.outcome,
    }
    if sampled:
        params["seed"] = seed
        params["sample_below"] = int(customer_fraction * 1_000_000)
    return _run(store, sql, params, fs)


def training_table(
    store: Store,
    fs: FeatureSet,
    training: TrainingConfig,
    *,
    until: dt.date | None = None,
    label_weeks: int | None = None,
    audience: Audience | None = None,
) -> tuple[list[dt.date], pa.Table]:
    """The ``[training]`` dates (:func:`training_dates`) and their table
    (:func:`build_training_table`), sampled as ``[training]`` says; ``label_weeks`` defaults to
    ``[training] label_weeks`` (an action passes its own, and its ``audience``)."""
    weeks = training.label_weeks if label_weeks is None else label_weeks
    dates = training_dates(store, training, until=until, label_weeks=weeks)
    table = build_training_table(
        store,
        fs,
        dates,
        label_weeks=weeks,
        customer_fraction=training.customer_fraction,
        seed=training.seed,
        audience=audience,
    )
    return dates, table
