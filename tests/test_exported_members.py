"""The public API of each package is exactly what its ``__all__`` says.

Derived, not hard-coded: each public package of nextbest exports exactly the public names it
defines or imports, nothing private, every exported name resolves, and ``__all__`` is in the
isort-style order ruff's RUF022 keeps (constants, then classes, then the rest).
"""

from __future__ import annotations
import __future__

import importlib
import pkgutil
import types
from typing import Any

import pytest

import nextbest

PACKAGES = sorted(
    f"nextbest.{info.name}"
    for info in pkgutil.iter_modules(nextbest.__path__)
    if info.ispkg and not info.name.startswith("_")
)


def public_names(module: types.ModuleType) -> set[str]:
    """Names a module binds that are public: not private, not a submodule, not a __future__ flag."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType | __future__._Feature)
    }


def isort_key(name: str) -> tuple[int, str]:
    """RUF022's isort-style order: SCREAMING_CASE, then CamelCase, then everything else."""
    if name.isupper() and len(name) > 1:
        return 0, name
    return (1, name) if name[:1].isupper() else (2, name)


def test_every_public_package_is_checked() -> None:
    assert "nextbest.models" in PACKAGES
    assert "nextbest.pipeline" in PACKAGES
    assert len(PACKAGES) >= 10


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_exactly_the_public_names(package: str) -> None:
    module = importlib.import_module(package)
    exported: list[str] = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice"
    assert set(exported) == public_names(module)
    assert [name for name in exported if name.startswith("_")] == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    namespace: dict[str, Any] = {}
    exec(f"from {package} import *", namespace)
    assert sorted(set(namespace) - {"__builtins__"}) == sorted(module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_sorted(package: str) -> None:
    exported = list(importlib.import_module(package).__all__)
    assert exported == sorted(exported, key=isort_key)


def test_the_derivation_catches_a_missing_and_a_private_export() -> None:
    module = types.ModuleType("fake")
    exec("from __future__ import annotations\nimport os\nA = 1\ndef f(): ...\n_g = 2", vars(module))
    assert public_names(module) == {"A", "f"}
    assert sorted(["f", "Klass", "CONST"], key=isort_key) == ["CONST", "Klass", "f"]
