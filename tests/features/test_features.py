"""Features computed by hand on a tiny bank, point-in-time correctness, labels, dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from nextbest.config import FeaturesConfig, TrainingConfig
from nextbest.errors import ConfigError, NotFoundError
from nextbest.features import (
    FEATURES,
    Audience,
    build_features,
    build_training_table,
    loaded_snapshot_dates,
    resolve_features,
    training_dates,
    training_table,
)
from nextbest.store import Store

D = dt.date(2025, 3, 2)  # a Sunday
FS = resolve_features(
    FeaturesConfig(
        enabled=[
            "age",
            "balance",
            "balance_trend",
            "engagement",
            "tenure_years",
            "market_trend",
            "fund_return_1w",
            "fund_return_4w",
        ]
    )
)


def _snap(
    store: Store,
    rid: int,
    day: dt.date,
    balance: float,
    *,
    app: bool | None = True,
    accounts: int = 2,
    logins: int | None = 30,
    since: str | None = "2020-03-02",
    investor: bool = False,
    age: int = 40,
) -> None:
    store.execute(
        "INSERT INTO snapshots VALUES "
        "(?, ?, ?, 'mass', true, true, ?, ?, ?, ?, true, true, ?, ?, 0)",
        [rid, day, age, accounts, balance, app, logins, since, investor],
    )


@pytest.fixture
def tiny() -> Iterator[Store]:
    """Three customers and two funds, with data after D that must never be read."""
    with Store(":memory:") as store:
        _snap(store, 1, D - dt.timedelta(days=56), 1000.0)
        _snap(store, 1, D - dt.timedelta(days=28), 1200.0)
        _snap(store, 1, D, 1600.0)
        _snap(store, 1, D + dt.timedelta(days=7), 99999.0)  # the future
        _snap(store, 2, D - dt.timedelta(days=35), 500.0)  # the D-28 week came late
        _snap(store, 2, D, 700.0, app=None, since="1900-01-01")
        _snap(store, 3, D, 50.0, app=False, accounts=9, logins=4, since="2099-12-31")
        for fund, day, price in [
            ("balanced", "2025-01-31", 100.0),
            ("balanced", "2025-02-21", 104.0),
            ("balanced", "2025-02-28", 110.0),
            ("balanced", "2025-03-03", 999.0),  # the future
            ("offensive", "2025-02-28", 50.0),
        ]:
            store.execute("INSERT INTO market_prices VALUES (?, ?, ?, 0)", [fund, day, price])
        yield store


def test_features_by_hand(tiny: Store) -> None:
    """Each feature equals the value computed by hand from its definition."""
    rows = {r["relation_id"]: r for r in build_features(tiny, FS, [D]).to_pylist()}
    assert sorted(rows) == [1, 2, 3]
    one, two, three = rows[1], rows[2], rows[3]
    assert one["age"] == 40.0 and one["balance"] == 1600.0
    # three points: (1600 - 1000) / 2 per month, over the mean balance (1600+1200+1000)/3
    assert one["balance_trend"] == pytest.approx(300 / (3800 / 3))
    # two points (D-35 stands in for the late D-28 week): (700 - 500) / mean(700, 500)
    assert two["balance_trend"] == pytest.approx(200 / 600)
    assert three["balance_trend"] is None
    # app 1 + accounts 2/4 + logins min(30, 20)/20
    assert one["engagement"] == pytest.approx(2.5)
    assert two["engagement"] is None  # app unknown: not guessed
    assert three["engagement"] == pytest.approx(0 + 1 + 4 / 20)
    assert one["tenure_years"] == pytest.approx((D - dt.date(2020, 3, 2)).days / 365.25)
    assert two["tenure_years"] is None and three["tenure_years"] is None
    for row in rows.values():
        assert row["fund_return_1w"] == pytest.approx(110 / 104 - 1)
        assert row["fund_return_4w"] == pytest.approx(110 / 100 - 1)
        assert row["market_trend"] == 1.0  # +10% over four weeks is above +3%


def test_market_fund_is_configurable(tiny: Store) -> None:
    """Another fund feeds the market features when configured (here: no history, so empty)."""
    fs = resolve_features(
        FeaturesConfig(market_fund="offensive", enabled=["fund_return_1w", "market_trend"])
    )
    row = build_features(tiny, fs, [D]).to_pylist()[0]
    assert row["fund_return_1w"] is None
    assert row["market_trend"] is None


def _alter_future(store: Store, day: dt.date) -> None:
    store.execute(
        "UPDATE snapshots SET total_balance = total_balance * 3, "
        "app_installed = NOT app_installed, ib_logins_4w = 0 WHERE snapshot_date > ?",
        [day],
    )
    store.execute("DELETE FROM snapshots WHERE snapshot_date = ?", [day + dt.timedelta(days=14)])
    store.execute(
        "INSERT INTO snapshots SELECT relation_id, CAST(snapshot_date + 700 AS DATE), age, "
        "segment, has_savings, has_payment, n_accounts, total_balance, app_installed, "
        "ib_logins_4w, optin_general, optin_investing, customer_since, is_investor, batch_id "
        "FROM snapshots WHERE snapshot_date = ?",
        [day],
    )
    store.execute("UPDATE market_prices SET price = price * 0.5 WHERE price_date > ?", [day])
    store.execute(
        "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
        "SELECT relation_id, CAST(? AS DATE) + 1, 10.0, 0 "
        "FROM snapshots WHERE snapshot_date = ?",
        [day, day],
    )


def test_point_in_time_on_the_bank(loaded_store: Store) -> None:
    """Features for D do not move when any data after D is altered, removed or added."""
    dates = loaded_snapshot_dates(loaded_store)
    day = dates[len(dates) // 2]
    before = build_features(loaded_store, FS, [day])
    _alter_future(loaded_store, day)
    after = build_features(loaded_store, FS, [day])
    assert after.equals(before)
    # and the comparison can fail: altering D itself moves them
    loaded_store.execute(
        "UPDATE snapshots SET total_balance = total_balance + 1 WHERE snapshot_date = ?", [day]
    )
    assert not build_features(loaded_store, FS, [day]).equals(before)


def test_training_features_match_scoring_features(loaded_store: Store) -> None:
    """A date's features in a training table equal that date's scoring features."""
    day = loaded_snapshot_dates(loaded_store)[20]
    scoring = build_features(loaded_store, FS, [day]).to_pandas().set_index("relation_id")
    train = build_training_table(loaded_store, FS, [day], label_weeks=8).to_pandas()
    train = train.set_index("relation_id")
    assert len(train) > 0
    assert set(train.index) <= set(scoring.index)
    cols = FS.names
    left = scoring.loc[train.index, cols].sort_index()
    right = train[cols].sort_index()
    assert left.equals(right)


def test_labels_use_only_the_window_after_d() -> None:
    """A conversion on D does not count, D+1 and D+56 do, D+57 does not; investors are out."""
    with Store(":memory:") as store:
        for rid, offset in [(1, 0), (2, 1), (3, 56), (4, 57)]:
            _snap(store, rid, D, 100.0)
            store.execute(
                "INSERT INTO conversions (relation_id, conversion_date, amount, batch_id) "
                "VALUES (?, ?, ?, 0)",
                [rid, D + dt.timedelta(days=offset), 10.0 * rid],
            )
        _snap(store, 5, D, 100.0, investor=True)
        table = build_training_table(store, FS, [D], label_weeks=8)
        got = {r["relation_id"]: (r["converted"], r["amount_invested"]) for r in table.to_pylist()}
    assert got == {1: (0, 0.0), 2: (1, 20.0), 3: (1, 30.0), 4: (0, 0.0)}


def test_an_audience_learns_its_own_outcome_among_its_own_customers() -> None:
    """An action aiming at 'savings' for balances of at least 500: customer 1 (balance 100)
    is outside its rules, 2 reached savings before D (out), 3 reaches it in the window, 4
    invests in the window (another outcome: not a conversion), 5 is an investor (in: only the
    investing audience leaves investors out)."""
    rows = [
        (1, 100.0, "savings", 10),
        (2, 900.0, "savings", -7),
        (3, 900.0, "savings", 10),
        (4, 900.0, "investing", 10),
    ]
    with Store(":memory:") as store:
        for rid, balance, outcome, offset in rows:
            _snap(store, rid, D, balance)
            store.execute(
                "INSERT INTO conversions (relation_id, conversion_date, amount, outcome, "
                "batch_id) VALUES (?, ?, ?, ?, 0)",
                [rid, D + dt.timedelta(days=offset), 10.0 * rid, outcome],
            )
        _snap(store, 5, D, 900.0, investor=True)
        audience = Audience(outcome="savings", condition="s.total_balance >= 500")
        table = build_training_table(store, FS, [D], label_weeks=8, audience=audience)
        got = {r["relation_id"]: (r["converted"], r["amount_invested"]) for r in table.to_pylist()}
    assert got == {3: (1, 30.0), 4: (0, 0.0), 5: (0, 0.0)}


def test_customer_sample_is_seeded(loaded_store: Store) -> None:
    """The same seed draws the same customers; another seed other ones; about the fraction."""
    day = loaded_snapshot_dates(loaded_store)[20]
    full = build_training_table(loaded_store, FS, [day], label_weeks=8).num_rows

    def ids(seed: int) -> list[int]:
        table = build_training_table(
            loaded_store, FS, [day], label_weeks=8, customer_fraction=0.3, seed=seed
        )
        return table["relation_id"].to_pylist()

    a, b, c = ids(1), ids(1), ids(2)
    assert a == b and a != c
    assert 0.2 * full < len(a) < 0.4 * full


def test_training_dates_spread_over_usable_history(loaded_store: Store) -> None:
    """Dates have 8 weeks of history and a complete 8-week label window, evenly spread."""
    loaded = loaded_snapshot_dates(loaded_store)
    cfg = TrainingConfig(n_dates=4, label_weeks=8, history_weeks=8)
    dates = training_dates(loaded_store, cfg)
    usable = [
        d
        for d in loaded
        if loaded[0] + dt.timedelta(weeks=8) <= d <= loaded[-1] - dt.timedelta(weeks=8)
    ]
    assert dates[0] == usable[0] and dates[-1] == usable[-1]
    assert len(dates) == 4
    assert all(d in usable for d in dates)


def test_training_table_samples_on_the_training_dates(loaded_store: Store) -> None:
    """training_table is the [training] dates and their table, sampled as [training] says;
    an action's own label window moves both the dates and the labels."""
    cfg = TrainingConfig(n_dates=3, label_weeks=8, history_weeks=8, customer_fraction=0.5, seed=4)
    dates, table = training_table(loaded_store, FS, cfg)
    assert dates == training_dates(loaded_store, cfg)
    expected = build_training_table(
        loaded_store, FS, dates, label_weeks=8, customer_fraction=0.5, seed=4
    )
    assert table.equals(expected)
    short, _ = training_table(loaded_store, FS, cfg, label_weeks=2)
    assert short == training_dates(loaded_store, cfg, label_weeks=2)
    assert short[-1] > dates[-1]


def test_training_dates_refuse_short_history() -> None:
    """Without enough history the error says what to change."""
    with Store(":memory:") as store:
        _snap(store, 1, D, 1.0)
        with pytest.raises(NotFoundError, match="history_weeks / label_weeks"):
            training_dates(store, TrainingConfig())


def test_unknown_date_is_explained(tiny: Store) -> None:
    """Asking for a date with no snapshot names the loaded range."""
    with pytest.raises(NotFoundError, match=r"no snapshot loaded for 2025-03-16.*2025-01-05"):
        build_features(tiny, FS, [dt.date(2025, 3, 16)])


def test_unknown_feature_is_a_config_error() -> None:
    """A misspelt feature gets a did-you-mean."""
    with pytest.raises(ConfigError, match="unknown feature 'balanse'; Did you mean 'balance'"):
        resolve_features(FeaturesConfig(enabled=["balanse"]))


def test_custom_feature(tiny: Store) -> None:
    """A custom SQL feature is computed next to the built-in ones."""
    fs = resolve_features(
        FeaturesConfig.model_validate(
            {
                "enabled": ["balance"],
                "custom": [
                    {
                        "name": "many_accounts",
                        "sql": "CASE WHEN n_accounts >= 3 THEN 1 ELSE 0 END",
                        "description": "three or more accounts",
                    }
                ],
            }
        )
    )
    rows = build_features(tiny, fs, [D]).to_pylist()
    assert [(r["relation_id"], r["many_accounts"]) for r in rows] == [(1, 0), (2, 0), (3, 1)]


def test_broken_custom_feature_names_it(tiny: Store) -> None:
    """SQL that passes the grammar but does not run (a text column into ln) points at the
    custom feature."""
    fs = resolve_features(
        FeaturesConfig.model_validate(
            {
                "custom": [{"name": "oops", "sql": "ln(segment)", "description": "x"}],
            }
        )
    )
    with pytest.raises(ConfigError, match=r"custom features \['oops'\]"):
        build_features(tiny, fs, [D])


def test_every_feature_is_documented() -> None:
    """docs/features.md has a row for every built-in feature."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "features.md").read_text()
    for name in FEATURES:
        assert f"| `{name}` |" in text, name
