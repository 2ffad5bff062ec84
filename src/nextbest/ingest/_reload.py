"""Reading named files again on purpose (``nextbest ingest --reload FILE…``)."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from nextbest.config import Config
from nextbest.errors import ConfigError, SourceFileError
from nextbest.ingest._contracts import contract_for
from nextbest.ingest._files import resolve_files
from nextbest.ingest._load import LoadReport, load_file
from nextbest.ingest._sources import SOURCE_NAMES, configured_sources
from nextbest.store import Store


def reload_files(store: Store, config: Config, files: Sequence[str]) -> list[LoadReport]:
    """Read ``files`` (paths or globs) again even when unchanged, each as a new batch with
    reason ``reload`` that replaces its partitions, in the order ``ingest`` loads sources.

    Every file must be one that a configured source reads; otherwise nothing is loaded and
    the error names the sources."""
    if not files:
        raise ConfigError(
            "--reload needs the files to read again, e.g. "
            "'nextbest ingest --reload exports/snapshot_2025-06-29.csv'"
        )
    owners = _owners(config)
    chosen: dict[Path, tuple[str, Path]] = {}
    for pattern in files:
        for path in _expand(config, pattern):
            owner = owners.get(path.resolve())
            if owner is None:
                raise _not_a_source_file(config, path)
            chosen[path.resolve()] = owner  # named twice, read once
    reports = []
    for name, path in sorted(chosen.values(), key=lambda o: (SOURCE_NAMES.index(o[0]), o[1])):
        source = getattr(config.sources, name)
        setting = f"[sources.{name}]"
        reports.append(
            load_file(
                store,
                contract_for(name, config.contracts),
                path,
                source,
                setting=setting,
                reload=True,
            )
        )
    return reports


def _owners(config: Config) -> dict[Path, tuple[str, Path]]:
    """Every file the configured sources read today: the source that reads it, and the path
    as the source names it (so a batch records it as ``ingest`` would)."""
    owners: dict[Path, tuple[str, Path]] = {}
    for name in configured_sources(config):
        source = getattr(config.sources, name)
        try:
            found = resolve_files(config.resolve(source.path), setting=f"[sources.{name}]")
        except SourceFileError:
            continue  # a source with nothing delivered owns no file
        for path in found:
            owners.setdefault(path.resolve(), (name, path))
    return owners


def _expand(config: Config, pattern: str) -> list[Path]:
    """The files a path or glob names, relative to the working folder or else to the config."""
    for base in (Path(pattern), config.resolve(pattern)):
        if any(ch in str(base) for ch in "*?["):
            found = sorted(Path(f) for f in glob.glob(str(base)) if Path(f).is_file())
        else:
            found = [base] if base.is_file() else []
        if found:
            return found
    raise SourceFileError(f"{pattern}: no such file; --reload reads files the config names")


def _not_a_source_file(config: Config, path: Path) -> ConfigError:
    sources = [
        f"{name} ({getattr(config.sources, name).path})" for name in configured_sources(config)
    ]
    return ConfigError(
        f"{path}: not a file of any configured source; --reload reads files of "
        f"{', '.join(sources) or 'no source: the config has no [sources.*] section'}"
    )
