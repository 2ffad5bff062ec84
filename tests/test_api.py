"""The JSON API: every route, its permissions and one error shape."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nextbest.api import create_app, hash_token
from nextbest.config import load_config
from nextbest.errors import ConfigError
from nextbest.pipeline import run_demo

TOKENS = {"viewer": "v-" + "a" * 30, "operator": "o-" + "b" * 30, "admin": "x-" + "c" * 30}
ENV = {"NEXTBEST_API_TOKENS": ",".join(f"{r}-user:{r}:{hash_token(t)}" for r, t in TOKENS.items())}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("api") / "demo"
    run_demo(root, n_customers=1500, n_weeks=78, seed=3)
    return root


@pytest.fixture
def client(built: Path, tmp_path: Path) -> Iterator[TestClient]:
    root = tmp_path / "demo"
    shutil.copytree(built, root)
    app = create_app(load_config(root / "nextbest.toml"), environ=ENV)
    with TestClient(app) as c:
        yield c


def _h(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def _error(resp: object, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text  # type: ignore[attr-defined]
    body = resp.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    return str(body["error"]["message"])


def test_refuses_to_start_without_real_tokens(built: Path) -> None:
    """No tokens, a malformed entry, or a placeholder token: the app does not start."""
    cfg = load_config(built / "nextbest.toml")
    with pytest.raises(ConfigError, match="NEXTBEST_API_TOKENS is not set"):
        create_app(cfg, environ={})
    with pytest.raises(ConfigError, match="must be name:role:sha256"):
        create_app(cfg, environ={"NEXTBEST_API_TOKENS": "ana:boss:abc"})
    with pytest.raises(ConfigError, match="placeholder"):
        create_app(cfg, environ={"NEXTBEST_API_TOKENS": f"ana:admin:{hash_token('changeme')}"})


def test_runs_and_decisions(client: TestClient) -> None:
    """A viewer lists runs, opens one, pages and searches its decisions."""
    runs = client.get("/v1/runs", headers=_h("viewer")).json()
    (run,) = runs
    assert run["status"] == "pending_review"
    detail = client.get(f"/v1/runs/{run['run_id']}", headers=_h("viewer")).json()
    assert {c["name"] for c in detail["checks"]} >= {"freshness", "volume", "market_regime"}
    page = client.get(
        f"/v1/runs/{run['run_id']}/decisions?arm=treat&size=5", headers=_h("viewer")
    ).json()
    assert page["size"] == 5
    assert page["total"] == detail["counts"]["invest-onboarding"]["treat"]
    assert all(item["arm"] == "treat" for item in page["items"])
    rid = page["items"][0]["relation_id"]
    one = client.get(
        f"/v1/runs/{run['run_id']}/decisions?relation_id={rid}", headers=_h("viewer")
    ).json()
    assert one["total"] == 1
    assert one["items"][0]["reasons"]


def test_permissions(client: TestClient) -> None:
    """No token: 401; a viewer cannot approve: 403; an operator approves and exports, and
    exporting twice sends nothing twice; every error has the same shape."""
    _error(client.get("/v1/runs"), 401, "unauthorized")
    _error(client.get("/v1/runs", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    msg = _error(
        client.post(f"/v1/runs/{rid}/approve", json={}, headers=_h("viewer")), 403, "forbidden"
    )
    assert "operator role" in msg
    _error(client.post(f"/v1/runs/{rid}/export", headers=_h("operator")), 409, "run_state")
    ok = client.post(
        f"/v1/runs/{rid}/approve", json={"comment": "sample ok"}, headers=_h("operator")
    )
    assert ok.json() == {"run_id": rid, "status": "approved"}
    first = client.post(f"/v1/runs/{rid}/export", headers=_h("operator")).json()
    second = client.post(f"/v1/runs/{rid}/export", headers=_h("admin")).json()
    assert (first["already"], second["already"]) == (False, True)
    assert first["rows"] == second["rows"]
    _error(client.post(f"/v1/runs/{rid}/reject", json={}, headers=_h("operator")), 409, "run_state")
    _error(client.get("/v1/runs/nope", headers=_h("viewer")), 404, "not_found")
    _error(
        client.get(f"/v1/runs/{rid}/decisions?arm=bogus", headers=_h("viewer")),
        422,
        "invalid_request",
    )


def test_decide_for_a_customer(client: TestClient) -> None:
    """Real time: the latest features of a customer, score, reasons, eligibility trail; the
    same score as the weekly run for that week; inline features work too."""
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    item = client.get(f"/v1/runs/{rid}/decisions?arm=treat&size=1", headers=_h("viewer")).json()[
        "items"
    ][0]
    out = client.post(
        "/v1/decide", json={"relation_id": item["relation_id"]}, headers=_h("viewer")
    ).json()
    assert out["score"] == pytest.approx(item["score"])
    assert out["eligible"] is True
    assert out["recommended"] is True
    assert [t["rule"] for t in out["eligibility"]][:2] == ["opted_in", "adult"]
    assert out["reasons"]
    inline = client.post(
        "/v1/decide",
        json={
            "features": {
                "age": 35,
                "balance": 5000,
                "balance_trend": 0.02,
                "engagement": 2.5,
                "tenure_years": 4,
                "market_trend": 0,
            }
        },
        headers=_h("viewer"),
    ).json()
    assert 0 < inline["score"] < 1
    assert inline["eligible"] is None
    _error(client.post("/v1/decide", json={}, headers=_h("viewer")), 422, "http_error")
    _error(
        client.post("/v1/decide", json={"relation_id": 1}, headers=_h("viewer")), 404, "not_found"
    )
    _error(
        client.post("/v1/decide", json={"features": {"age": 3}}, headers=_h("viewer")),
        422,
        "http_error",
    )


def test_models_route(client: TestClient) -> None:
    """The model list shows the champion."""
    models = client.get("/v1/models", headers=_h("viewer")).json()
    assert [m["status"] for m in models] == ["champion"]
