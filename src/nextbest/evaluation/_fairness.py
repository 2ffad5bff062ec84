"""Who is never selected, selection rates per group, and proxies of sensitive attributes.

Sensitive attributes (gender, postcode area) are read here, and only here, from the audit-only
table ``audit.sensitive_attributes`` — never from the feature tables, which cannot hold them.
That table lives in its own database file, attached (:meth:`nextbest.store.Store.audit`) only
around the queries below and detached after; feature and rule SQL never run while it is.
Selection rates are split in two so that the law and the model are judged apart:

* **legal** — the share of a group passing the legally required rules (adult, e-mail opt-in);
* **model** — among those who pass them, the share selected (the model, the threshold and the
  contact rules together).

Each rate comes with its ratio to the highest group (the "four-fifths" view: below 0.8 deserves
a look). The proxy check reports features whose values differ strongly between the groups of a
sensitive attribute (correlation ratio η² of the feature by group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from nextbest.checks import age_band_sql
from nextbest.config import FeaturesConfig
from nextbest.decisioning import LEGAL_RULES
from nextbest.features import build_features, resolve_features
from nextbest.store import Store

_GROUPS = {
    "age band": age_band_sql("s.age"),
    "segment": "coalesce(s.segment, 'unknown')",
    "gender": "coalesce(a.gender, 'unknown')",
    "postcode area": "coalesce(a.postcode_area, 'unknown')",
}


def selection_by_group(store: Store, run_ids: list[str]) -> list[dict[str, Any]]:
    """Per group: customers, legal pass rate, selection rate among the legally eligible, and
    both rates' ratio to the highest group of the same grouping."""
    out: list[dict[str, Any]] = []
    with store.audit():  # attached for these reads only
        grouped = {
            grouping: store.fetchall(
                f"""
                SELECT {expr} AS grp, count(*) AS n,
                    avg(CASE WHEN list_contains($legal, d.first_failed_rule) THEN 0 ELSE 1 END)
                        AS legal,
                    avg(d.selected::INT) FILTER (
                        WHERE d.first_failed_rule IS NULL
                           OR NOT list_contains($legal, d.first_failed_rule)) AS model
                FROM decisions d
                JOIN snapshots s ON s.relation_id = d.relation_id
                                AND s.snapshot_date = d.snapshot_date
                LEFT JOIN audit.sensitive_attributes a ON a.relation_id = d.relation_id
                WHERE d.run_id IN (SELECT unnest($run_ids::VARCHAR[]))
                GROUP BY grp ORDER BY grp
                """,
                {"run_ids": run_ids, "legal": list(LEGAL_RULES)},
            )
            for grouping, expr in _GROUPS.items()
        }
    for grouping, rows in grouped.items():
        legal_top = max((r[2] for r in rows if r[2] is not None), default=0) or 1.0
        model_top = max((r[3] for r in rows if r[3] is not None), default=0) or 1.0
        for grp, n, legal, model in rows:
            out.append(
                {
                    "grouping": grouping,
                    "group": grp,
                    "customers": int(n),
                    "legal_pass_rate": float(legal),
                    "legal_ratio_to_highest": float(legal) / legal_top,
                    "selection_rate_among_legal": None if model is None else float(model),
                    "model_ratio_to_highest": None if model is None else float(model) / model_top,
                }
            )
    return out


@dataclass(frozen=True)
class NeverSelectedReason:
    """A reason customers were never selected (the first rule that kept them out most often,
    or, for the eligible, the score band they stayed in) and how many it kept out."""

    reason: str
    customers: int


@dataclass(frozen=True)
class NeverSelectedProfile:
    """The profile of one side (on the customer's last week of the period); None when the
    side has no value for a figure."""

    who: Literal["never selected", "selected at least once"]
    mean_age: float | None
    median_balance: float | None
    app_share: float | None
    opted_in_share: float | None


@dataclass(frozen=True)
class NeverSelected:
    """Customers present in every run of the period and never selected.

    ``why`` is most frequent first; ``profile`` holds the side selected at least once, then
    the never selected (a side with no customer is left out)."""

    runs: int
    customers_in_every_run: int
    never_selected: int
    share: float  # of the customers in every run; NaN when there are none
    why: tuple[NeverSelectedReason, ...]
    profile: tuple[NeverSelectedProfile, ...]


def never_selected(store: Store, run_ids: list[str]) -> NeverSelected:
    """Customers present in every run of the period and never selected: how many, their
    profile against the base, the first rule that kept them out most often, and for the
    eligible ones the score band they stayed in."""
    n_runs = len(run_ids)
    # one pass over the period's decisions: a row per customer, read by the three figures below
    store.execute(
        """
        CREATE OR REPLACE TEMP TABLE _per_customer AS
        SELECT relation_id, count(*) AS runs, bool_or(selected) AS ever,
               mode(first_failed_rule) AS usual_rule, max(score) AS best_score,
               max(snapshot_date) AS day
        FROM decisions WHERE run_id IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY relation_id
        """,
        [run_ids],
    )
    try:
        row = store.fetchone(
            "SELECT count(*) FILTER (WHERE runs = ? AND NOT ever), "
            "count(*) FILTER (WHERE runs = ?) FROM _per_customer",
            [n_runs, n_runs],
        )
        rules = store.fetchall(
            """
            SELECT coalesce(usual_rule, CASE
                       WHEN best_score < 0.01 THEN 'eligible, score below 0.01'
                       WHEN best_score < 0.02 THEN 'eligible, score 0.01-0.02'
                       ELSE 'eligible, score 0.02 or more' END) AS reason, count(*)
            FROM _per_customer WHERE runs = ? AND NOT ever GROUP BY reason ORDER BY 2 DESC
            """,
            [n_runs],
        )
        profile = store.fetchall(
            """
            SELECT NOT p.ever AS never, avg(s.age), median(s.total_balance),
                   avg(s.app_installed::INT), avg(s.optin_investing::INT)
            FROM _per_customer p
            JOIN snapshots s ON s.relation_id = p.relation_id AND s.snapshot_date = p.day
            WHERE p.runs = ? GROUP BY ALL ORDER BY 1
            """,
            [n_runs],
        )
    finally:
        store.execute("DROP TABLE IF EXISTS _per_customer")
    assert row is not None
    never, base = int(row[0]), int(row[1])
    return NeverSelected(
        runs=n_runs,
        customers_in_every_run=base,
        never_selected=never,
        share=never / base if base else float("nan"),
        why=tuple(NeverSelectedReason(reason=r, customers=int(c)) for r, c in rules),
        profile=tuple(_profile(p) for p in profile),
    )


def _profile(row: tuple[Any, ...]) -> NeverSelectedProfile:
    never, *figures = row
    age, balance, app, opted_in = (float(x) if x is not None else None for x in figures)
    return NeverSelectedProfile(
        who="never selected" if never else "selected at least once",
        mean_age=age,
        median_balance=balance,
        app_share=app,
        opted_in_share=opted_in,
    )


def proxy_check(
    store: Store, run_id: str, features: FeaturesConfig, *, threshold: float = 0.1
) -> list[dict[str, Any]]:
    """η² of each feature of ``features`` (custom ones included) by each sensitive attribute
    on the run's week; above ``threshold`` the feature is reported as a strong proxy."""
    day = store.scalar("SELECT snapshot_date FROM runs WHERE run_id = ?", [run_id])
    fs = resolve_features(features)
    feats = build_features(store, fs, [day])
    # the features are built first, with the audit database detached; it is attached for
    # this one read
    with store.audit():
        audit = store.arrow(
            "SELECT relation_id, gender, postcode_area FROM audit.sensitive_attributes "
            "ORDER BY relation_id"
        )
    ids = feats["relation_id"].to_numpy()
    aids = audit["relation_id"].to_numpy()
    pos = np.searchsorted(aids, ids)
    pos = np.clip(pos, 0, max(len(aids) - 1, 0))
    found = (len(aids) > 0) & (aids[pos] == ids) if len(aids) else np.zeros(len(ids), bool)
    out = []
    for attr in ("gender", "postcode_area"):
        labels = audit[attr].to_numpy(zero_copy_only=False)[pos] if len(aids) else None
        if labels is None:
            continue
        for f in fs.names:
            x = feats[f].to_numpy(zero_copy_only=False).astype(np.float64)
            ok = found & ~np.isnan(x)
            if ok.sum() < 10 or np.var(x[ok]) == 0:
                continue
            xs, ls = x[ok], labels[ok]
            grand = xs.mean()
            between = sum(
                (ls == g).sum() * (xs[ls == g].mean() - grand) ** 2 for g in np.unique(ls)
            )
            eta2 = float(between / ((xs - grand) ** 2).sum())
            out.append(
                {
                    "attribute": attr,
                    "feature": f,
                    "eta_squared": eta2,
                    "strong_proxy": eta2 > threshold,
                }
            )
    return sorted(out, key=lambda r: -r["eta_squared"])
