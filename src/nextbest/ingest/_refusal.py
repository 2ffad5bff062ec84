"""Whole-file refusal: a file in which most rows fail the same rule is a reading problem.

When more than ``refuse_share`` of a file's rows break the same rule of the same column, the
cause is almost never the data: it is a dialect setting (decimal commas read as '.', dates in
another format, a yes/no vocabulary) or a wrong column mapping. Loading the few rows that pass
and quarantining the rest would look like success, so the file is refused as a whole, naming the
column, how many rows, an example value as written, and the setting that likely fixes it.
"""

from __future__ import annotations

import re
from pathlib import Path

from nextbest.config import SourceConfig
from nextbest.errors import SourceFileError
from nextbest.store import Store

_DMY = re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$")
_DMY_SLASH = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DECIMAL_COMMA = re.compile(r"^-?[\d.]*\d,\d+$")


def likely_cause(rule: str, example: str | None, source: SourceConfig, setting: str) -> str:
    """The setting that most likely makes ``example`` read under ``rule``, as advice."""
    value = (example or "").strip()
    if rule.startswith("type: not a valid DATE"):
        if _DMY.match(value):
            return f'set date_format = "%d-%m-%Y" in {setting}'
        if _DMY_SLASH.match(value):
            return f'set date_format = "%d/%m/%Y" (or "%m/%d/%Y") in {setting}'
        if _ISO.match(value) and source.date_format:
            return (
                f"it looks ISO (YYYY-MM-DD), which does not match date_format "
                f"{source.date_format!r}: remove date_format from {setting}"
            )
        return f"set date_format in {setting} to the format of the file's dates"
    if rule.startswith("type: not a valid") and value:
        if _DECIMAL_COMMA.match(value):
            thousands = ', thousands = "."' if "." in value else ""
            return f'set decimal = ","{thousands} in {setting}'
        if rule.endswith("BOOLEAN"):
            return f"add {value!r} to true_values or false_values in {setting}"
        return f"check the column mapping in {setting}.columns and the file's dialect"
    if rule.startswith("future:"):
        return (
            "the dates lie ahead of today: check the export's clock, or allow them with "
            "[contracts] future_days"
        )
    if rule.startswith("missing column") or rule == "not null":
        return f"check the column mapping in {setting}.columns"
    return "check the export: most of the file breaks this rule"


def refuse_when_one_rule_fails_most(
    store: Store, path: Path, source: SourceConfig, rows_read: int, *, setting: str
) -> None:
    """Raise :class:`SourceFileError` when one rule of one column fails in more than
    ``source.refuse_share`` of the staged rows (nothing has been written yet)."""
    worst = store.fetchone(
        "SELECT v.c, v.r, count(*) AS n, arg_max(v.v, length(v.v)) FROM "
        "(SELECT unnest(_violations) AS v FROM _stage) GROUP BY ALL "
        "ORDER BY n DESC, v.c, v.r LIMIT 1"
    )
    if worst is None:
        return
    column, rule, failing, example = str(worst[0]), str(worst[1]), int(worst[2]), worst[3]
    if failing < rows_read and failing <= source.refuse_share * rows_read:
        return
    shown = "" if example is None else f" holds {str(example)[:40]!r} and"
    raise SourceFileError(
        f"{path}: refused as a whole, nothing loaded: {column}{shown} fails '{rule}' in "
        f"{failing:,} of {rows_read:,} rows; {likely_cause(rule, example, source, setting)} "
        f"(files with more than {source.refuse_share:.0%} failing one rule are refused: "
        f"refuse_share in {setting}, default [contracts] refuse_share); 'nextbest inspect "
        f"{path.name}' proposes the settings that read it"
    )
