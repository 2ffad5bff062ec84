"""Ingesting the sources named in the config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from nextbest.config import Config, SourceConfig
from nextbest.errors import ConfigError, SourceFileError, did_you_mean
from nextbest.ingest._contracts import CONTRACTS
from nextbest.ingest._files import resolve_files
from nextbest.ingest._load import LoadReport, load_file
from nextbest.store import Store

#: the order in which ``ingest all`` loads sources
SOURCE_NAMES: tuple[str, ...] = ("market", "snapshots", "conversions", "email_events", "audit")


def ingest_source(
    store: Store,
    config: Config,
    name: str,
    *,
    on_file: Callable[[LoadReport], None] | None = None,
    refused: Literal["raise", "report"] = "raise",
) -> list[LoadReport]:
    """Load every file of source ``name`` (``snapshots``, ``market``, ``conversions``,
    ``email_events``, ``audit``) under its contract; files already loaded unchanged are
    skipped.

    Every file of the delivery is tried, in name order, each as its own batch in its own
    transaction, so a refused file never stops the good ones (see :func:`_hold_back` for the
    exception: snapshot weeks after a refused one). With ``refused="report"`` a refused file
    is a report with ``status="refused"`` and its reason; with ``"raise"`` (the default) the
    files are all tried, then :class:`SourceFileError` names the refused ones. An error that
    is not a refusal (a crash) stops the delivery: the files before it stay loaded, the one
    being loaded is rolled back.
    """
    if name not in CONTRACTS:
        raise ConfigError(
            f"unknown source '{name}';{did_you_mean(name, CONTRACTS)} "
            f"Sources are: {', '.join(SOURCE_NAMES)}"
        )
    source: SourceConfig | None = getattr(config.sources, name)
    setting = f"[sources.{name}]"
    if source is None:
        raise ConfigError(
            f"no {setting} section in the config; add one with path = '<file, folder or glob>'"
        )
    contract = CONTRACTS[name]
    files = resolve_files(config.resolve(source.path), setting=setting)
    reports: list[LoadReport] = []
    for path in files:
        held = _hold_back(name, reports)
        if held is not None:
            report = _refusal(contract.table, path, held)
        else:
            try:
                report = load_file(store, contract, path, source, setting=setting)
            except SourceFileError as exc:
                report = _refusal(contract.table, path, str(exc).removeprefix(f"{path}: "))
        reports.append(report)
        if on_file is not None:
            on_file(report)
    if refused == "raise":
        _raise_on_refusal(reports, setting)
    return reports


def _hold_back(name: str, reports: list[LoadReport]) -> str | None:
    """Why the next file of the delivery must not be loaded, or None.

    Snapshot weeks load in order: after a refused snapshots file, the later files are held
    back, so the store never holds a later week on top of a hole. The weekly run for the
    newest week then halts on its freshness check (that week is not loaded) instead of
    deciding on features that silently fall back over the missing week. Other sources are
    per-date facts (prices, conversions, e-mail events): their good files load.
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


def _refusal(table: str, path: Path, reason: str) -> LoadReport:
    return LoadReport(
        table=table, source_file=str(path), status="refused", batch_id=None, reason=reason
    )


def _raise_on_refusal(reports: list[LoadReport], setting: str) -> None:
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


def configured_sources(config: Config) -> list[str]:
    """Names of the sources that have a section in the config, in load order."""
    return [n for n in SOURCE_NAMES if getattr(config.sources, n) is not None]
