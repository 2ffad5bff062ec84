"""docs/architecture.md names modules and folders; each must exist, so the page cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"


def named_paths(text: str) -> list[str]:
    """Every back-quoted path the page names under ``src/``, ``tests/`` or ``benchmarks/``."""
    return sorted(set(re.findall(r"`((?:src|tests|benchmarks)/[\w./-]+)`", text)))


def test_the_finder_finds_paths() -> None:
    text = "see `src/nextbest/cli/` and `tests/x.py`, not src/bare.py"
    assert named_paths(text) == ["src/nextbest/cli/", "tests/x.py"]


def test_every_path_on_the_architecture_page_exists() -> None:
    paths = named_paths(PAGE.read_text(encoding="utf-8"))
    assert len(paths) > 20
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_short_module_names_on_the_page_exist() -> None:
    """Inside the table and the picture, ``pipeline/_runs.py``-style names are relative to
    ``src/nextbest``."""
    text = PAGE.read_text(encoding="utf-8")
    short = set(
        re.findall(
            r"\b((?:api|cli|pipeline|decisioning|models|checks|features|store|"
            r"ingest|simulate|evaluation)/[\w/]*\.py)\b",
            text,
        )
    )
    missing = sorted(p for p in short if not (ROOT / "src" / "nextbest" / p).exists())
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"
