"""Shared fixtures: a small synthetic bank, generated once per test session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nextbest.config import Config, config_from_mapping
from nextbest.ingest import configured_sources, ingest_source
from nextbest.simulate import BankManifest, simulate_bank
from nextbest.store import Store, audit_path_for, open_store

if TYPE_CHECKING:
    from nextbest.pipeline import DemoResult

N_CUSTOMERS = 1_000
N_WEEKS = 36


@pytest.fixture(scope="session")
def bank_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic bank with faults, in Parquet (generated once)."""
    out = tmp_path_factory.mktemp("bank")
    simulate_bank(out, n_customers=N_CUSTOMERS, n_weeks=N_WEEKS, seed=7)
    return out


@pytest.fixture(scope="session")
def bank_manifest(bank_dir: Path) -> BankManifest:
    return BankManifest.read(bank_dir / "manifest.json")


def bank_config(bank_dir: Path, store_path: Path | str) -> Config:
    """A config pointing at a generated bank."""
    return config_from_mapping(
        {
            "store": {"path": str(store_path)},
            "sources": {
                "snapshots": {"path": str(bank_dir / "snapshots")},
                "market": {"path": str(bank_dir / "market")},
                "conversions": {"path": str(bank_dir / "conversions")},
                "audit": {"path": str(bank_dir / "audit")},
            },
        }
    )


@pytest.fixture(scope="session")
def loaded_db(bank_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with the small bank ingested (copy it before changing it)."""
    path = tmp_path_factory.mktemp("db") / "bank.duckdb"
    cfg = bank_config(bank_dir, path)
    with open_store(cfg) as store:
        for name in configured_sources(cfg):
            ingest_source(store, cfg, name)
    return path


@pytest.fixture
def loaded_store(loaded_db: Path, tmp_path: Path) -> Iterator[Store]:
    """A private, writable copy of the loaded store (and its audit database)."""
    copy = tmp_path / "bank.duckdb"
    shutil.copy(loaded_db, copy)
    if audit_path_for(loaded_db).exists():
        shutil.copy(audit_path_for(loaded_db), audit_path_for(copy))
    with Store(copy) as store:
        yield store


class DemoFactory:
    """Builds each distinct demo project once per session and hands out private copies.

    A demo takes tens of seconds to build; the tests that use one only need their own copy
    of the folder (the config inside uses relative paths, and the store's audit database sits
    next to it in the folder, so ``copytree`` carries both).
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._built: dict[tuple[int, int, int], tuple[Path, DemoResult]] = {}

    def result(self, *, n_customers: int, n_weeks: int = 78, seed: int) -> DemoResult:
        """What the shared build of this demo reported (read-only, like its folder)."""
        from nextbest.pipeline import run_demo

        key = (n_customers, n_weeks, seed)
        if key not in self._built:
            root = self._tmp.mktemp(f"demo-{n_customers}-{seed}") / "demo"
            self._built[key] = (
                root,
                run_demo(
                    root,
                    n_customers=n_customers,
                    n_weeks=n_weeks,
                    seed=seed,
                    single_action=True,
                ),
            )
        return self._built[key][1]

    def built(self, *, n_customers: int, n_weeks: int = 78, seed: int) -> Path:
        """The shared, read-only build of this demo (copy it before changing it)."""
        self.result(n_customers=n_customers, n_weeks=n_weeks, seed=seed)
        return self._built[(n_customers, n_weeks, seed)][0]

    def copy(self, dest: Path, *, n_customers: int, n_weeks: int = 78, seed: int) -> Path:
        """A private, writable copy of the demo project at ``dest``."""
        shutil.copytree(self.built(n_customers=n_customers, n_weeks=n_weeks, seed=seed), dest)
        return dest


@pytest.fixture(scope="session")
def demos(tmp_path_factory: pytest.TempPathFactory) -> DemoFactory:
    """The session's demo projects, each built once, copied per user."""
    return DemoFactory(tmp_path_factory)
