"""Ingesting the sources named in the config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from nextbest.config import Config, SourceConfig
from nextbest.errors import ConfigError, SourceFileError, did_you_mean
from nextbest.ingest._contracts import CONTRACTS, contract_for
from nextbest.ingest._delivery import hold_back, raise_on_refusal, refusal
from nextbest.ingest._files import resolve_files
from nextbest.ingest._load import LoadReport, load_file
from nextbest.ingest._refused import RowsRefusedError
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
    transaction, so a refused file never stops the good ones (see ``_delivery`` for the
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
    contract = contract_for(name, config.contracts)
    files = resolve_files(config.resolve(source.path), setting=setting)
    reports: list[LoadReport] = []
    for path in files:
        held = hold_back(name, reports)
        if held is not None:
            report = refusal(contract.table, path, held, reports, ())
        else:
            try:
                report = load_file(store, contract, path, source, setting=setting)
            except SourceFileError as exc:
                reason = str(exc).removeprefix(f"{path}: ")
                partitions = exc.partitions if isinstance(exc, RowsRefusedError) else ()
                report = refusal(contract.table, path, reason, reports, partitions)
        reports.append(report)
        if on_file is not None:
            on_file(report)
    if refused == "raise":
        raise_on_refusal(reports, setting)
    return reports


def configured_sources(config: Config) -> list[str]:
    """Names of the sources that have a section in the config, in load order."""
    return [n for n in SOURCE_NAMES if getattr(config.sources, n) is not None]
