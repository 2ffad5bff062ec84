"""Eligibility: named rules evaluated in order; the first that fails is logged per customer.

Built-in rules, in order (a customer who fails several is reported with the first):

1. ``opted_in`` — e-mail opt-in for the action's content type (unknown counts as no), and no
   unsubscribe reported by the e-mail tool before D;
2. ``adult`` — age at least the action's ``min_age`` (unknown counts as no);
3. ``not_investing`` — does not already invest;
4. ``not_in_flow`` — not inside a running flow of this action (mailed in the last
   ``flow_weeks`` and not converted since);
5. ``not_in_cooldown`` — not assigned to any arm of any action within ``cooldown_weeks`` of D,
   before or after it, the same date included, nor held out by any action within the action's
   ``label_weeks`` (held-out customers count too, so the holdout stays clean for its
   measurement window; a week decided again sees the first run's contacts; a back-dated run
   sees the contacts of the later weeks);
6. the action's config-defined rules, in config order: each one scalar condition over the
   snapshot columns (see docs/configuration.md), embedded as regenerated from its parsed tree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from nextbest.config import ActionConfig
from nextbest.errors import ConfigError
from nextbest.store import Query, Steps, Store, is_database_error, quote_identifier

#: the rules the law requires (the fairness report judges them apart from the model)
LEGAL_RULES: tuple[str, ...] = ("opted_in", "adult")

BUILTIN_RULES: dict[str, str] = {
    "opted_in": "opted in to e-mail about this content",
    "adult": "old enough to be contacted",
    "not_investing": "does not invest yet",
    "not_converted": "has not reached the action's outcome yet",
    "not_in_flow": "not inside a running flow of this action",
    "not_in_cooldown": "not contacted within the cooldown",
}


def rule_descriptions(action: ActionConfig) -> dict[str, str]:
    """Every rule of the action, in evaluation order, with its plain description."""
    rules = {
        k: v
        for k, v in BUILTIN_RULES.items()
        if k != ("not_converted" if action.outcome == "investing" else "not_investing")
    }
    for rule in action.rules:
        rules[rule.name] = rule.description or rule.sql
    return rules


def _rule_conditions(action: ActionConfig) -> list[tuple[str, str]]:
    """(rule, SQL that is TRUE when the customer passes it), in evaluation order."""
    optin = quote_identifier(f"optin_{action.content_type}")
    rules = [
        ("opted_in", f"coalesce(cur.{optin}, false) AND u.relation_id IS NULL"),
        ("adult", "coalesce(cur.age >= s.min_age, false)"),
        # investing: the snapshot says who invests; another outcome: its conversions so far
        ("not_investing", "NOT coalesce(cur.is_investor, false)")
        if action.outcome == "investing"
        else (
            "not_converted",
            "NOT EXISTS (SELECT 1 FROM conversions v WHERE v.relation_id = cur.relation_id "
            "AND v.outcome = $outcome AND v.conversion_date <= $day)",
        ),
        ("not_in_flow", "f.relation_id IS NULL"),
        ("not_in_cooldown", "a.relation_id IS NULL"),
    ]
    # the condition regenerated from its parsed tree, never the config's text, with every column
    # qualified by the snapshot row ``cur`` (not the contact or flow tables joined next to it)
    rules += [
        (rule.name, f"coalesce(({rule.checked_sql(table='cur')}), false)") for rule in action.rules
    ]
    return rules


# the contact history the run ``$run_id`` saw when it was made: its own contacts and those of
# runs exported after it was created left out
_HISTORY_OF_RUN = """
SELECT * FROM contacts
WHERE run_id <> $run_id AND run_id NOT IN (
    SELECT run_id FROM exports
    WHERE exported_at >= (SELECT created_at FROM runs WHERE run_id = $run_id))"""

_ASSIGNED = """
SELECT DISTINCT relation_id FROM history CROSS JOIN settings s
WHERE (contact_date > $day - s.cooldown_days AND contact_date < $day + s.cooldown_days)
   -- a holdout's measurement window, both ways: the customer held out elsewhere is not
   -- mailed, and one who may be held out here was not mailed later (a back-dated run)
   OR (contact_date > $day - s.window_days AND contact_date < $day + s.window_days
       AND (arm = 'holdout' OR contact_date >= $day))"""

_IN_FLOW = """
SELECT DISTINCT c.relation_id
FROM history c CROSS JOIN settings s
WHERE c.action = $action AND c.arm IN ('treat', 'explore')
  AND c.contact_date < $day AND c.contact_date > $day - s.flow_days
  AND NOT EXISTS (
      SELECT 1 FROM conversions v
      WHERE v.relation_id = c.relation_id
        AND v.conversion_date > c.contact_date AND v.conversion_date <= $day
        AND v.outcome = $outcome)"""

# an unsubscribe reported by the e-mail tool counts at once, before the warehouse's opt-in flag
# catches up
_UNSUBSCRIBED = """
SELECT DISTINCT relation_id FROM email_events
WHERE event = 'unsubscribed' AND event_date < $day"""


#: the action's settings, in days, as the steps read them (from the ``settings`` step)
_SETTINGS = ("min_age", "cooldown_days", "window_days", "flow_days")


def _settings_values(action: ActionConfig) -> dict[str, int]:
    return {
        "min_age": action.min_age,
        "cooldown_days": 7 * action.cooldown_weeks,
        "window_days": 7 * action.label_weeks,
        "flow_days": 7 * action.flow_weeks,
    }


def _settings_sql() -> str:
    """The one row of the action's settings, from the parameters of :func:`eligibility_params`."""
    return "SELECT " + ", ".join(f"${k} AS {k}" for k in _SETTINGS)


def eligibility_steps(*, own_run: bool = False) -> Steps:
    """The named steps the rules read: ``settings`` (the action's settings in days), ``cur``
    (the snapshot of ``$day``), ``history`` (the contacts; with ``own_run``, as run ``$run_id``
    saw them), ``assigned``, ``in_flow`` and ``unsubscribed``."""
    return (
        Steps()
        .add("settings", _settings_sql())
        .add("cur", "SELECT * FROM snapshots WHERE snapshot_date = $day")
        .add("history", _HISTORY_OF_RUN if own_run else "SELECT * FROM contacts")
        .add("assigned", _ASSIGNED)
        .add("in_flow", _IN_FLOW)
        .add("unsubscribed", _UNSUBSCRIBED)
    )


def eligibility_params(
    action: ActionConfig, day: dt.date, *, run_id: str | None = None
) -> dict[str, Any]:
    """The parameters of :func:`eligibility_query` for ``action`` on ``day`` (``run_id``: the
    run whose own contacts do not count)."""
    params: dict[str, Any] = {
        "day": day,
        "action": action.name,
        "outcome": action.outcome,
        **_settings_values(action),
    }
    if run_id is not None:
        params["run_id"] = run_id
    return params


def _select(action: ActionConfig, *, trail: bool) -> str:
    """The final SELECT: ``relation_id``, ``first_failed_rule`` and, with ``trail``, one
    boolean column per rule (``pass_<rule>``)."""
    conditions = _rule_conditions(action)
    first = "\n".join(f"        WHEN NOT ({cond}) THEN '{name}'" for name, cond in conditions)
    trail_cols = "".join(f",\n    ({cond}) AS pass_{name}" for name, cond in conditions)
    return f"""
SELECT cur.relation_id,
    CASE
{first}
    END AS first_failed_rule{trail_cols if trail else ""}
FROM cur
CROSS JOIN settings s
LEFT JOIN assigned a ON a.relation_id = cur.relation_id
LEFT JOIN in_flow f ON f.relation_id = cur.relation_id
LEFT JOIN unsubscribed u ON u.relation_id = cur.relation_id
ORDER BY cur.relation_id"""


def eligibility_query(
    action: ActionConfig, day: dt.date, *, trail: bool = False, run_id: str | None = None
) -> Query:
    """The eligibility query of ``action`` on ``day`` with its parameters: ``relation_id`` and
    ``first_failed_rule`` (and the ``pass_<rule>`` columns with ``trail``). With ``run_id``,
    the contact history is the one that run saw when it was made: its own contacts and those
    of runs exported after it was created are left out."""
    steps = eligibility_steps(own_run=run_id is not None)
    return Query(
        steps.render(_select(action, trail=trail)),
        eligibility_params(action, day, run_id=run_id),
    )


def eligibility_trail(
    store: Store, action: ActionConfig, day: dt.date, relation_id: int, *, run_id: str = ""
) -> list[tuple[str, bool, str]]:
    """Every rule for one customer: (rule, passed, description), in evaluation order; the
    contacts of ``run_id`` (the run being explained) do not count."""
    query = eligibility_query(action, day, trail=True, run_id=run_id)
    sql = f"SELECT * FROM ({query.sql}) WHERE relation_id = $rid"
    rows = store.arrow(sql, {**query.params, "rid": relation_id}).to_pylist()
    if not rows:
        return []
    row = rows[0]
    descriptions = rule_descriptions(action)
    return [(name, bool(row[f"pass_{name}"]), descriptions[name]) for name in descriptions]


def eligibility(
    store: Store, action: ActionConfig, day: dt.date, *, trail: bool = False
) -> pa.Table:
    """Per customer with a snapshot on ``day``: ``relation_id``, ``eligible``,
    ``first_failed_rule`` (NULL when eligible) and, with ``trail``, one ``pass_<rule>`` column
    per rule; sorted by relation id."""
    try:
        query = eligibility_query(action, day, trail=trail)
        table = store.arrow(query.sql, dict(query.params))
    except Exception as exc:
        if not is_database_error(exc):
            raise
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"the eligibility rules of action '{action.name}' do not run ({first}); check "
            f"optin_{action.content_type} exists and the SQL of [[actions.rules]]"
        ) from None
    eligible = pa.compute.is_null(table["first_failed_rule"])
    return table.append_column("eligible", eligible)
