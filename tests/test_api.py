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
    app = create_app(load_config(root / "nextbest.toml"), environ=ENV, cache_seconds=0.0)
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


def test_waits_for_a_weekly_run_in_another_process(client: TestClient, tmp_path: Path) -> None:
    """While another process (a weekly CLI job) holds the embedded store, a request waits for
    it instead of failing, then answers normally."""
    import subprocess
    import sys
    import time

    store_path = tmp_path / "demo" / "nextbest.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from nextbest.store import Store; "
            f"s = Store({str(store_path)!r}); print('held', flush=True); time.sleep(2); s.close()",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == b"held"
    t0 = time.perf_counter()
    response = client.get("/v1/runs", headers=_h("viewer"))
    waited = time.perf_counter() - t0
    holder.wait(timeout=30)
    holder.stdout.close()
    assert response.status_code == 200
    assert waited > 0.5


def test_admin_routes(client: TestClient) -> None:
    """Only admins change knobs and promote models; changes are logged and validated."""
    body = {"action": "invest-onboarding", "knob": "max_weekly", "value": "600", "reason": "budget"}
    _error(client.post("/v1/knobs", json=body, headers=_h("operator")), 403, "forbidden")
    changed = client.post("/v1/knobs", json=body, headers=_h("admin")).json()
    assert (changed["old"], changed["new"]) == (800, 600)
    knobs = client.get("/v1/knobs", headers=_h("viewer")).json()
    assert knobs["values"]["invest-onboarding"]["max_weekly"] == 600
    assert knobs["log"][0]["by"] == "admin-user"
    bad = dict(body, value="-5")
    _error(client.post("/v1/knobs", json=bad, headers=_h("admin")), 400, "config_error")
    version = client.get("/v1/models", headers=_h("viewer")).json()[0]["version"]
    promo = {"to": "shadow", "reason": "watch"}
    _error(
        client.post(f"/v1/models/{version}/promote", json=promo, headers=_h("operator")),
        403,
        "forbidden",
    )
    _error(
        client.post("/v1/actions/invest-onboarding/rollback", json={}, headers=_h("admin")),
        404,
        "not_found",
    )


def test_console_pages_and_csrf(client: TestClient) -> None:
    """The console: login redirects, pages render for a viewer, a state change needs the
    role and a valid CSRF token, and an admin's knob change lands in the log."""
    assert client.get("/console", follow_redirects=False).headers["location"] == "/console/login"
    bad = client.post("/console/login", data={"token": "nope"})
    assert "unknown token" in bad.text
    client.post("/console/login", data={"token": TOKENS["viewer"]})
    for path in (
        "/console",
        "/console/runs/latest",
        "/console/models",
        "/console/knobs",
        "/console/evaluation",
        "/console/alerts",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "cdn" not in page.text.lower()
    run = client.get("/console/runs/latest").text
    assert 'id="approve"' not in run  # a viewer sees no approve button
    forged = client.post("/console/runs/latest/approve", data={"csrf": "forged"})
    assert forged.status_code == 403
    client.post("/console/logout")
    client.post("/console/login", data={"token": TOKENS["admin"]})
    knobs = client.get("/console/knobs").text
    csrf = knobs.split('name="csrf" value="')[1].split('"')[0]
    done = client.post(
        "/console/knobs",
        data={
            "csrf": csrf,
            "action": "invest-onboarding",
            "knob": "cooldown_weeks",
            "value": "10",
            "reason": "fewer mails",
        },
    )
    assert "invest-onboarding.cooldown_weeks: 8 → 10" in done.text
    assert "fewer mails" in done.text
    models = client.get("/console/models").text
    csrf = models.split('name="csrf" value="')[1].split('"')[0]
    back = client.post(
        "/console/models/rollback",
        data={"csrf": csrf, "action": "invest-onboarding", "reason": "test"},
    )
    assert "no earlier champion to roll back to" in back.text
    csv = client.get("/console/runs/latest/decisions.csv")
    assert csv.text.startswith('"relation_id","action","arm"')


def test_shadow_is_logged_never_returned(client: TestClient) -> None:
    """With a shadow promoted, a decision returns the champion only and the shadow's score
    lands in the real-time log."""
    from nextbest.models import LogisticPropensity, PropensityModel, register_model
    from nextbest.store import Store

    version = client.get("/v1/models", headers=_h("viewer")).json()[0]["version"]
    store_path = client.app.state.store_path  # type: ignore[attr-defined]
    est = LogisticPropensity.from_dict(
        {
            "kind": "logistic",
            "params": {"C": 1.0, "max_iter": 100},
            "medians": [0.0] * 6,
            "mean": [0.0] * 6,
            "scale": [1.0] * 6,
            "coef": [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
            "intercept": -3.0,
        }
    )
    features = ["age", "balance", "balance_trend", "engagement", "tenure_years", "market_trend"]
    shadow = PropensityModel(
        "invest-onboarding", features, est, metadata={"train_dates": ["2024-06-02"], "metrics": {}}
    )
    with Store(store_path) as db:
        v = register_model(db, shadow)
    promoted = client.post(
        f"/v1/models/{v.version}/promote",
        json={"to": "shadow", "reason": "watch"},
        headers=_h("admin"),
    )
    assert promoted.json()["status"] == "shadow"
    rid = client.get("/v1/runs/latest/decisions?arm=treat&size=1", headers=_h("viewer")).json()[
        "items"
    ][0]["relation_id"]
    out = client.post("/v1/decide", json={"relation_id": rid}, headers=_h("viewer")).json()
    assert out["model"] == version
    assert "shadow" not in str(out)
    client.get("/v1/runs", headers=_h("viewer"))  # any later request
    client.post("/v1/decide", json={"relation_id": rid}, headers=_h("viewer"))  # reload flushes
    with Store(store_path) as db:
        logged = db.fetchall("SELECT relation_id, shadow_version FROM realtime_log")
    assert (rid, v.version) in logged
