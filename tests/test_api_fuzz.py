"""A schema-driven fuzz pass over the OpenAPI spec: no input makes the API answer 500.

Schemathesis generates the requests from the spec; Hypothesis drives them (schemathesis' own
pytest plug-in is not used: it does not run under this pytest version).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from nextbest.api import create_app, hash_token
from nextbest.config import load_config
from nextbest.pipeline import run_demo

TOKEN = "fuzz-" + "z" * 30
ENV = {"NEXTBEST_API_TOKENS": f"fuzzer:operator:{hash_token(TOKEN)}"}


def test_no_server_errors(tmp_path: Path) -> None:
    """Any request the spec allows, authorised as an operator, is answered without a 500, on
    every operation of the API."""
    root = tmp_path / "demo"
    run_demo(root, n_customers=800, n_weeks=78, seed=4)
    app = create_app(load_config(root / "nextbest.toml"), environ=ENV)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    seen: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code < 500, (case.method, case.path, response.text)

        check()
        seen.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /v1/decide" in seen
