"""A delivery of several files: what a refused file means for the others.

Every file of a delivery is its own batch in its own transaction, so the good files of a
source can load around a refused one. Two things are not safe, and are said or prevented:

* **snapshot weeks after a refused one** — held back (:func:`hold_back`): a later week on top
  of a hole would pass every check of the weekly run, which looks at the week it decides;
* **the same partitions** — a refused file that was read holds partitions (its weeks); when
  a file loaded before it in the delivery holds some of them, those keep that file's rows,
  and the refusal says so (:func:`refusal`).
"""

from __future__ import annotations

from pathlib import Path

from nextbest.errors import SourceFileError
from nextbest.ingest._load import LoadReport


def hold_back(name: str, reports: list[LoadReport]) -> str | None:
    """Why the next file of source ``name`` must not be loaded, or None.

    Snapshot weeks load in order: after a refused snapshots file the later files are held
    back, so the store never holds a later week on top of a hole. The weekly run for the
    newest week then halts on its freshness check (that week is not loaded) instead of
    deciding on features that silently fall back over the missing week. Other sources are
    facts per date (prices, conversions, e-mail events): their good files load.
    """
    if name != "snapshots":
        return None
    first = next((r for r in reports if r.status == "refused"), None)
    if first is None:
        return None
    return (
        f"held back, not read: {Path(first.source_file).name} before it was refused and "
        "snapshot weeks load in order; fix that file and ingest again"
    )


def refusal(
    table: str, path: Path, reason: str, earlier: list[LoadReport], partitions: tuple[str, ...]
) -> LoadReport:
    """The report of a refused file; names the files loaded before it that hold its
    ``partitions`` (they keep those rows)."""
    kept = []
    for r in earlier:
        shared = sorted(set(r.partitions) & set(partitions)) if r.status == "loaded" else []
        if shared:
            verb = "holds" if len(shared) == 1 else "hold"
            kept.append(f"{_few(shared)} {verb} the rows of {Path(r.source_file).name}")
    if kept:
        reason += f" (its partitions: {'; '.join(kept)}, loaded before it)"
    return LoadReport(
        table=table,
        source_file=str(path),
        status="refused",
        batch_id=None,
        partitions=partitions,
        reason=reason,
    )


def _few(values: list[str]) -> str:
    return ", ".join(values[:3]) + (f" and {len(values) - 3} more" if len(values) > 3 else "")


def raise_on_refusal(reports: list[LoadReport], setting: str) -> None:
    """:class:`SourceFileError` naming the refused files of a delivery, if any."""
    bad = [r for r in reports if r.status == "refused"]
    if not bad:
        return
    first = f"{bad[0].source_file}: {bad[0].reason}"
    if len(bad) == 1:
        raise SourceFileError(first)
    loaded = sum(r.status == "loaded" for r in reports)
    raise SourceFileError(
        f"{len(bad)} files of {setting} were refused ({loaded} loaded); the first: {first}"
    )
