"""Ingesting the sources named in the config."""

from __future__ import annotations

from collections.abc import Callable

from nextbest.config import Config, SourceConfig
from nextbest.errors import ConfigError, did_you_mean
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
) -> list[LoadReport]:
    """Load every file of source ``name`` (``snapshots``, ``market``, ``conversions``,
    ``email_events``, ``audit``) under its contract; files already loaded unchanged are
    skipped."""
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
    files = resolve_files(config.resolve(source.path), setting=setting)
    reports = []
    for path in files:
        report = load_file(store, CONTRACTS[name], path, source, setting=setting)
        reports.append(report)
        if on_file is not None:
            on_file(report)
    return reports


def configured_sources(config: Config) -> list[str]:
    """Names of the sources that have a section in the config, in load order."""
    return [n for n in SOURCE_NAMES if getattr(config.sources, n) is not None]
