"""The guarantees sections of the docs name tests that exist: a promise whose test was
renamed or removed is caught here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## What nextbest guarantees, and how it is tested"


def _section(doc: str) -> str:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    assert HEADING in text, f"docs/{doc} has no '{HEADING}' section"
    rest = text.split(HEADING, 1)[1]
    return re.split(r"^## ", rest, maxsplit=1, flags=re.M)[0]


def _defined() -> dict[str, set[str]]:
    """Test functions per test file (relative path) under tests/."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        names = set(re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
        out[path.relative_to(ROOT).as_posix()] = names
    return out


@pytest.mark.parametrize("doc", ["operations.md", "api.md", "trust.md"])
def test_every_named_test_exists(doc: str) -> None:
    """Each `file::test` named in the section is defined in that file, and each bare test name
    is defined in some test file."""
    section = _section(doc)
    defined = _defined()
    everywhere = set().union(*defined.values())
    qualified = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)", section)
    bare = set(re.findall(r"`(test_\w+)", section))
    assert qualified or bare, f"docs/{doc}: the section names no test"
    missing = [f"{f}::{t}" for f, t in qualified if t not in defined.get(f, set())]
    missing += sorted(t for t in bare if t not in everywhere)
    assert missing == [], f"docs/{doc} names tests that do not exist: {missing}"
