"""Code shape: no function in ``src/`` over 80 lines, no module over 500 lines.

Today's offenders are listed with their current size; a listed offender that grows fails too, and
one that shrinks under the limit must leave the list (so the list only ever gets shorter).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500

#: "path::function" (or "path" for a whole module) -> its size in lines today
ALLOWED: dict[str, int] = {}


def measure(src: Path) -> dict[str, int]:
    """Size in lines of every module over the module limit and every function over its limit."""
    sizes: dict[str, int] = {}
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            sizes[rel] = lines
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    sizes[f"{rel}::{node.name}"] = length
    return sizes


def test_measure_finds_a_long_function_and_a_long_module(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"def f():\n{body}\n" + "\n" * 420, encoding="utf-8")
    (tmp_path / "short.py").write_text("def g():\n    return 1\n", encoding="utf-8")
    assert measure(tmp_path) == {"long.py": 501, "long.py::f": 81}


def test_no_new_long_function_or_module() -> None:
    new = {k: v for k, v in measure(SRC).items() if k not in ALLOWED}
    assert new == {}, f"limits: {MAX_FUNCTION_LINES} lines a function, {MAX_MODULE_LINES} a module"


def test_allowed_offenders_do_not_grow() -> None:
    sizes = measure(SRC)
    grown = {k: (ALLOWED[k], v) for k, v in sizes.items() if k in ALLOWED and v > ALLOWED[k]}
    assert grown == {}, "(allowed, now): split the function or module instead of growing it"


def test_fixed_offenders_leave_the_allow_list() -> None:
    fixed = sorted(set(ALLOWED) - set(measure(SRC)))
    assert fixed == [], "these are within the limits now: remove them from ALLOWED"
