"""What ``nextbest ingest`` prints: one line per file of the delivery, then the counts."""

from __future__ import annotations

from pathlib import Path

from nextbest.cli._render import console, styled
from nextbest.ingest import LoadReport


def delivery_line(r: LoadReport) -> str:
    """One line for one file: loaded (rows, quarantined), unchanged, or refused with why."""
    name = _file(r)
    if r.status == "refused":
        reason = r.reason or ""
        return f"{name}: {reason if reason.startswith('refused') else 'refused: ' + reason}"
    if r.status == "unchanged":
        return f"{name}: unchanged, skipped"
    replaced = (
        f", replaced {r.partitions_replaced} earlier partition(s)" if r.partitions_replaced else ""
    )
    rows = "row" if r.rows_loaded == 1 else "rows"
    return f"{name}: loaded {r.rows_loaded:,} {rows}, {r.rows_quarantined:,} quarantined{replaced}"


def _file(r: LoadReport) -> str:
    return f"{r.table}: {Path(r.source_file).name}"


def delivery_summary(reports: list[LoadReport]) -> str:
    """``3 loaded, 1 unchanged, 1 refused``."""
    counts = {s: sum(r.status == s for r in reports) for s in ("loaded", "unchanged", "refused")}
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def print_delivery(reports: list[LoadReport]) -> None:
    """Every file's line (with the contract issues of loaded ones), then the summary."""
    for r in reports:
        if r.status == "refused":
            console.print(
                styled("{}: [bold red]refused[/]: {}", _file(r), r.reason), soft_wrap=True
            )
        else:
            console.print(delivery_line(r), highlight=False, soft_wrap=True)
        for issue in r.issues:
            console.print(f"  {issue.severity}: {issue.message}", highlight=False)
    console.print(delivery_summary(reports), highlight=False)
