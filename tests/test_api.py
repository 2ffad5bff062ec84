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
from tests.conftest import DemoFactory

TOKENS = {"viewer": "v-" + "a" * 30, "operator": "o-" + "b" * 30, "admin": "x-" + "c" * 30}
ENV = {"NEXTBEST_API_TOKENS": ",".join(f"{r}-user:{r}:{hash_token(t)}" for r, t in TOKENS.items())}


@pytest.fixture(scope="module")
def built(demos: DemoFactory) -> Path:
    return demos.built(n_customers=1500, n_weeks=78, seed=3)


@pytest.fixture
def client(built: Path, tmp_path: Path) -> Iterator[TestClient]:
    root = tmp_path / "demo"
    shutil.copytree(built, root)
    app = create_app(load_config(root / "nextbest.toml"), environ=ENV, cache_seconds=0.0)
    with TestClient(app, base_url="https://testserver") as c:
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
    _error(client.post("/v1/decide", json={}, headers=_h("viewer")), 422, "invalid_request")
    _error(
        client.post("/v1/decide", json={"relation_id": 1}, headers=_h("viewer")), 404, "not_found"
    )
    _error(
        client.post("/v1/decide", json={"features": {"age": 3}}, headers=_h("viewer")),
        422,
        "invalid_request",
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
    serving = client.app.state.serving  # type: ignore[attr-defined]
    client.post("/v1/decide", json={"relation_id": rid}, headers=_h("viewer"))  # starts a reload
    serving.wait_idle()
    out = client.post("/v1/decide", json={"relation_id": rid}, headers=_h("viewer")).json()
    assert out["model"] == version
    assert "shadow" not in str(out)
    serving.wait_idle()
    serving.refresh_in_background()  # a reload writes the buffered shadow scores
    serving.wait_idle()
    with Store(store_path) as db:
        logged = db.fetchall("SELECT relation_id, shadow_version FROM realtime_log")
    assert (rid, v.version) in logged


# -- the promises under misuse (issue 11) ------------------------------------------------------

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import Any  # noqa: E402

import anyio  # noqa: E402

from nextbest.api._auth import load_tokens  # noqa: E402
from nextbest.store import Store  # noqa: E402

GOOD_SECRET = "kX9f2Qp7LmZ4vR1tB8nW3yH6jD0sC5aE-_uGoPiqTr"
_ERROR_KEYS = {"code", "message", "status"}


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="')[1].split('"')[0]


def _login(client: TestClient, role: str) -> str:
    """Log in on the console; the session cookie's value."""
    response = client.post("/console/login", data={"token": TOKENS[role]}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(client.cookies["nb_session"])


def _raw_cookie(client: TestClient, path: str, cookie: str, **kwargs: Any) -> Any:
    """A request that sends exactly this session cookie (the client's jar emptied first)."""
    client.cookies.clear()
    headers = {"cookie": f"nb_session={cookie}".encode(), **kwargs.pop("headers", {})}
    return client.request(
        kwargs.pop("method", "GET"), path, headers=headers, follow_redirects=False, **kwargs
    )


def _no_leaks(message: str) -> None:
    assert "/" not in message.replace("/v1", "").replace("GET /", ""), message
    assert "pid" not in message.lower(), message
    assert "Traceback" not in message, message


@contextmanager
def _held_store(path: Path, *, read_only: bool = False) -> Iterator[None]:
    """Another process opens the store file (read-write unless ``read_only``) and keeps it."""
    code = (
        "import sys, time; from nextbest.store import Store; "
        f"s = Store({str(path)!r}, read_only={read_only}); print('held', flush=True); "
        "sys.stdin.read(); s.close()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == b"held"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


def _store_file(client: TestClient) -> Path:
    return Path(client.app.state.store_path)  # type: ignore[attr-defined]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_state_changes_name_the_run(client: TestClient) -> None:
    """Approve, reject and export refuse 'latest' with a 422 asking for the run id, in the API
    and in the console, and the run stays pending."""
    for step in ("approve", "reject", "export"):
        msg = _error(
            client.post(f"/v1/runs/latest/{step}", json={}, headers=_h("operator")),
            422,
            "run_not_named",
        )
        assert "run id" in msg
    _login(client, "operator")
    csrf = _csrf(client.get("/console/runs/latest").text)
    for step in ("approve", "reject", "export"):
        page = client.post(f"/console/runs/latest/{step}", data={"csrf": csrf})
        assert page.status_code == 422
        assert "run id" in page.text
        assert 'href="/console/models"' in page.text  # the console's navigation
    assert client.get("/v1/runs", headers=_h("viewer")).json()[0]["status"] == "pending_review"


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    """After logout the old cookie opens nothing and approves nothing."""
    cookie = _login(client, "operator")
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    csrf = _csrf(client.get(f"/console/runs/{rid}").text)
    client.post("/console/logout", data={"csrf": csrf})
    again = _raw_cookie(client, "/console", cookie)
    assert (again.status_code, again.headers["location"]) == (303, "/console/login")
    approve = _raw_cookie(
        client, f"/console/runs/{rid}/approve", cookie, method="POST", data={"csrf": csrf}
    )
    assert approve.status_code == 303
    assert client.get(f"/v1/runs/{rid}", headers=_h("viewer")).json()["status"] == (
        "pending_review"
    )


def test_revoked_token_ends_its_sessions_at_once(client: TestClient) -> None:
    """Removing a token from the token table ends its console sessions and its API access on
    the next request."""
    cookie = _login(client, "operator")
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    csrf = _csrf(client.get(f"/console/runs/{rid}").text)
    kept = {r: t for r, t in TOKENS.items() if r != "operator"}
    client.app.state.tokens = load_tokens(  # type: ignore[attr-defined]
        {"NEXTBEST_API_TOKENS": ",".join(f"{r}-user:{r}:{hash_token(t)}" for r, t in kept.items())}
    )
    page = _raw_cookie(client, f"/console/runs/{rid}", cookie)
    assert (page.status_code, page.headers["location"]) == (303, "/console/login")
    approve = _raw_cookie(
        client, f"/console/runs/{rid}/approve", cookie, method="POST", data={"csrf": csrf}
    )
    assert approve.status_code == 303
    _error(client.get("/v1/runs", headers=_h("operator")), 401, "unauthorized")
    assert client.get(f"/v1/runs/{rid}", headers=_h("viewer")).json()["status"] == (
        "pending_review"
    )


def test_role_change_takes_effect_at_once(client: TestClient) -> None:
    """An operator downgraded to viewer in the token table loses the approve button and the
    right to approve with the session they already have."""
    cookie = _login(client, "operator")
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    csrf = _csrf(client.get(f"/console/runs/{rid}").text)
    roles = {"viewer": "viewer", "operator": "viewer", "admin": "admin"}
    client.app.state.tokens = load_tokens(  # type: ignore[attr-defined]
        {
            "NEXTBEST_API_TOKENS": ",".join(
                f"{r}-user:{roles[r]}:{hash_token(t)}" for r, t in TOKENS.items()
            )
        }
    )
    page = _raw_cookie(client, f"/console/runs/{rid}", cookie)
    assert page.status_code == 200
    assert "(viewer)" in page.text
    assert 'id="approve"' not in page.text
    approve = _raw_cookie(
        client, f"/console/runs/{rid}/approve", cookie, method="POST", data={"csrf": csrf}
    )
    assert approve.status_code == 403
    _error(
        client.post(f"/v1/runs/{rid}/approve", json={}, headers=_h("operator")), 403, "forbidden"
    )


@pytest.mark.parametrize(
    "secret",
    [
        "changeme",
        "short-but-random-Qx7",
        "a" * 64,
        "changeme" * 6,
        "abcdefghijklmnop" * 3,
        "0123456789" * 4,
        "Qx7!ABCDEFGHIJKLmZ9#pR2@vT5&wY8*",
    ],
)
def test_weak_secret_is_refused(built: Path, secret: str) -> None:
    """NEXTBEST_SECRET must be at least 32 random-looking bytes: placeholders, short or
    repetitive values are refused with the setting's name and how to make one."""
    cfg = load_config(built / "nextbest.toml")
    with pytest.raises(ConfigError, match=r"NEXTBEST_SECRET.*secrets\.token_urlsafe\(32\)"):
        create_app(cfg, environ={**ENV, "NEXTBEST_SECRET": secret})


def test_strong_secrets_are_accepted(built: Path) -> None:
    """A token_urlsafe(32) or token_hex(32) secret starts the app."""
    import secrets

    cfg = load_config(built / "nextbest.toml")
    for secret in (GOOD_SECRET, secrets.token_urlsafe(32), secrets.token_hex(32)):
        create_app(cfg, environ={**ENV, "NEXTBEST_SECRET": secret})


def test_forged_cookies_open_nothing(built: Path, tmp_path: Path) -> None:
    """A cookie forged with a guessed secret, in the old name|role|expiry|mac form or signed
    with itsdangerous, or with a non-ASCII MAC, never opens a page: it goes to the login."""
    import hmac

    from itsdangerous import URLSafeTimedSerializer

    root = tmp_path / "demo"
    shutil.copytree(built, root)
    env = {**ENV, "NEXTBEST_SECRET": GOOD_SECRET}
    app = create_app(load_config(root / "nextbest.toml"), environ=env)
    payload = f"ghost|admin|{int(time.time()) + 3600}"
    old_style = f"{payload}|{hmac.new(b'changeme', payload.encode(), 'sha256').hexdigest()}"
    forged = [
        old_style,
        URLSafeTimedSerializer("changeme").dumps({"name": "ghost", "role": "admin"}),
        URLSafeTimedSerializer(GOOD_SECRET, salt="nextbest.console.session").dumps("0" * 43),
        "ghost|admin|9999999999|é" + "ü" * 63,
        "x.y.zé",
        "",
    ]
    with TestClient(app, base_url="https://testserver") as c:
        for cookie in forged:
            for path in ("/console", "/console/knobs", "/console/models"):
                page = _raw_cookie(c, path, cookie)
                assert page.status_code == 303, (cookie, path, page.text)
                assert page.headers["location"] == "/console/login"


def test_token_names_are_restricted(built: Path) -> None:
    """Token names outside [A-Za-z0-9._-]{1,64} are refused when loading NEXTBEST_API_TOKENS and
    by 'nextbest api-token'."""
    from typer.testing import CliRunner

    from nextbest.cli import app as cli

    cfg = load_config(built / "nextbest.toml")
    for name in ("a|b", "ana maria", "ü", "x" * 65, "<b>"):
        entry = f"{name}:admin:{hash_token('x' * 40)}"
        with pytest.raises(ConfigError, match=r"name .* A-Za-z0-9"):
            create_app(cfg, environ={"NEXTBEST_API_TOKENS": entry})
        result = CliRunner().invoke(cli, ["api-token", name, "operator"])
        assert result.exit_code != 0, name
        assert "A-Za-z0-9" in result.output
    ok = CliRunner().invoke(cli, ["api-token", "ana.de-vries_2", "operator"])
    assert ok.exit_code == 0
    assert "ana.de-vries_2:operator:" in ok.output


def test_unauthenticated_body_is_never_read(client: TestClient) -> None:
    """An unauthenticated POST with a 200 MB body announced gets its 401 (API) or its
    redirect to the login (console) without one byte of the body being read."""
    app = client.app
    for path, status in (("/v1/runs/x/approve", 401), ("/console/runs/x/approve", 303)):
        reads: list[int] = []
        sent: list[dict[str, Any]] = []

        async def receive(reads: list[int] = reads) -> dict[str, Any]:
            reads.append(1)
            return {"type": "http.request", "body": b"{" * 100_000, "more_body": len(reads) < 20}

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "https",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"application/json"),
                (b"content-length", b"200000000"),
            ],
            "server": ("testserver", 443),
            "client": ("192.0.2.1", 5000),
        }
        anyio.run(app, scope, receive, send)
        assert sent[0]["status"] == status, path
        assert reads == [], path


def test_a_viewer_is_refused_before_the_body_is_parsed(client: TestClient) -> None:
    """The role is checked before the body: a viewer's approve with invalid JSON is a 403."""
    _error(
        client.post(
            "/v1/runs/x/approve",
            content=b"{not json",
            headers={**_h("viewer"), "content-type": "application/json"},
        ),
        403,
        "forbidden",
    )


def test_unauthenticated_requests_during_a_held_lock(client: TestClient) -> None:
    """While another process holds the store read-write, unauthenticated API and console
    requests are answered at once (401, or the login page) and the store file is untouched."""
    path = _store_file(client)
    before = _digest(path)
    took: list[float] = []
    with _held_store(path):
        for _ in range(10):
            t0 = time.perf_counter()
            _error(client.get("/v1/runs"), 401, "unauthorized")
            _error(client.post("/v1/decide", json={"relation_id": 1}), 401, "unauthorized")
            assert client.get("/console", follow_redirects=False).status_code == 303
            assert client.get("/console/login").status_code == 200
            took.append(time.perf_counter() - t0)
    assert max(took) < 2.0  # the store's lock wait is 10 s: nothing waited on it
    assert _digest(path) == before


def test_get_routes_open_the_store_read_only(client: TestClient) -> None:
    """While another process reads the store (a shared, read-only lock), every GET route and
    console page answers at once: none of them needs write access."""
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    _login(client, "viewer")
    path = _store_file(client)
    with _held_store(path, read_only=True):
        t0 = time.perf_counter()
        for route in (
            "/v1/runs",
            f"/v1/runs/{rid}",
            f"/v1/runs/{rid}/decisions?size=3",
            "/v1/models",
            "/v1/knobs",
            "/console",
            f"/console/runs/{rid}",
            "/console/models",
            "/console/knobs",
            "/console/evaluation",
            "/console/alerts",
        ):
            response = client.get(route, headers=_h("viewer"))
            assert response.status_code == 200, (route, response.text)
        took = time.perf_counter() - t0
    assert took < 20.0  # a read-write open would wait 10 s per route, then fail


def test_bodies_over_the_limit_are_refused(built: Path, tmp_path: Path) -> None:
    """A body over the limit gets 413 in the error shape before it is parsed, whether it
    announces its length or comes in chunks; the default limit is 1 MiB."""
    root = tmp_path / "demo"
    shutil.copytree(built, root)
    cfg = load_config(root / "nextbest.toml")
    with TestClient(create_app(cfg, environ=ENV), base_url="https://testserver") as c:
        big = b'{"comment": "' + b"x" * (1024 * 1024) + b'"}'
        response = c.post(
            "/v1/runs/x/approve",
            content=big,
            headers={**_h("operator"), "content-type": "application/json"},
        )
        _error(response, 413, "too_large")
    small = create_app(cfg, environ=ENV, max_body_bytes=1000)
    with TestClient(small, base_url="https://testserver") as c:

        def chunks() -> Iterator[bytes]:
            yield b'{"comment": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        response = c.post(
            "/v1/runs/x/approve",
            content=chunks(),
            headers={**_h("operator"), "content-type": "application/json"},
        )
        assert "content-length" not in {k.lower() for k in response.request.headers}
        _error(response, 413, "too_large")
        _login(c, "viewer")
        page = c.post("/console/knobs", data={"csrf": "x", "value": "z" * 2000})
        assert page.status_code == 413
        assert 'href="/console/models"' in page.text


def test_every_error_has_the_one_shape(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette's own 404 and 405, unparsable JSON and unexpected exceptions answer in the
    documented shape, without paths, process ids or tracebacks."""
    _error(client.get("/nope", headers=_h("viewer")), 404, "not_found")
    _error(client.get("/v1/nope", headers=_h("viewer")), 404, "not_found")
    _error(client.delete("/v1/runs", headers=_h("viewer")), 405, "not_allowed")
    _error(
        client.post(
            "/v1/decide",
            content=b"{not json",
            headers={**_h("viewer"), "content-type": "application/json"},
        ),
        422,
        "invalid_request",
    )
    from nextbest.api.routes import runs

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("/srv/secret/nextbest.duckdb held by PID 4242")

    monkeypatch.setattr(runs, "list_runs", boom)
    msg = _error(client.get("/v1/runs", headers=_h("viewer")), 500, "internal_error")
    _no_leaks(msg)
    assert "4242" not in msg


def test_store_busy_message_is_generic(built: Path, tmp_path: Path) -> None:
    """A store held by another process gives a 503 that says to try again, not the store's
    path or the holder's process id."""
    root = tmp_path / "demo"
    shutil.copytree(built, root)
    app = create_app(load_config(root / "nextbest.toml"), environ=ENV, store_wait_seconds=0.2)
    with TestClient(app, base_url="https://testserver") as c, _held_store(_store_file(c)):
        msg = _error(c.get("/v1/runs", headers=_h("viewer")), 503, "store_busy")
    assert "try again" in msg
    _no_leaks(msg)
    assert str(root) not in msg


def test_console_errors_are_html_pages(client: TestClient) -> None:
    """Console errors are HTML pages with the console's navigation, not raw JSON."""
    _login(client, "viewer")
    for path, status in (
        ("/console/runs/nope", 404),
        ("/console/nope", 404),
        ("/console/runs/latest?page_no=x", 422),
    ):
        page = client.get(path)
        assert page.status_code == status, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert 'href="/console/models"' in page.text, path
        assert '{"error"' not in page.text, path


def test_security_headers_and_cookie_flags(client: TestClient, built: Path) -> None:
    """Every response carries CSP without inline script, frame, sniffing, referrer and
    no-store headers; the session cookie is HttpOnly, SameSite=Strict and Secure over https."""
    login = client.post("/console/login", data={"token": TOKENS["viewer"]}, follow_redirects=False)
    cookie = login.headers["set-cookie"].lower()
    assert {"httponly", "samesite=strict", "secure"} <= {
        p.strip().split("=")[0] if p.strip() != "samesite=strict" else p.strip()
        for p in cookie.split(";")
    }
    responses = [
        login,
        client.get("/v1/runs", headers=_h("viewer")),
        client.get("/v1/runs"),
        client.get("/nope"),
        client.get("/console"),
        client.get("/console/login"),
        client.get("/console/nope"),
        client.get("/openapi.json"),
    ]
    for r in responses:
        csp = r.headers["content-security-policy"]
        script = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
    templates = Path(__file__).parents[1] / "src/nextbest/api/templates"
    for t in templates.glob("*.html"):
        for tag in t.read_text().split("<script")[1:]:
            head = tag.split(">")[0]
            assert "src=" in head or 'type="application/json"' in head, t.name
    local = create_app(load_config(built / "nextbest.toml"), environ=ENV)
    with TestClient(local, base_url="http://127.0.0.1:8000") as c:
        plain = c.post("/console/login", data={"token": TOKENS["viewer"]}, follow_redirects=False)
        flags = plain.headers["set-cookie"].lower()
        assert "secure" not in flags and "httponly" in flags and "samesite=strict" in flags


def test_docs_load_nothing_from_a_cdn(client: TestClient) -> None:
    """/docs and /redoc are off (they would load Swagger from a CDN); /openapi.json stays."""
    _error(client.get("/docs"), 404, "not_found")
    _error(client.get("/redoc"), 404, "not_found")
    assert client.get("/openapi.json").json()["info"]["title"] == "nextbest"


def test_decide_answers_from_memory_while_the_store_is_held(client: TestClient) -> None:
    """Once a week is loaded, decide answers 200 fast while another process holds the store
    and the stale cache cannot be refreshed; the old week keeps being served."""
    rid = client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"]
    item = client.get(f"/v1/runs/{rid}/decisions?arm=treat&size=1", headers=_h("viewer")).json()
    relation = item["items"][0]["relation_id"]
    first = client.post("/v1/decide", json={"relation_id": relation}, headers=_h("viewer"))
    assert first.status_code == 200
    client.app.state.serving.wait_idle(30)  # type: ignore[attr-defined]
    with _held_store(_store_file(client)):
        for _ in range(5):
            t0 = time.perf_counter()
            again = client.post("/v1/decide", json={"relation_id": relation}, headers=_h("viewer"))
            assert time.perf_counter() - t0 < 2.0  # the store's lock wait is 10 s
            assert again.status_code == 200
            assert again.json()["score"] == pytest.approx(first.json()["score"])
        client.app.state.serving.wait_idle(30)  # type: ignore[attr-defined]
        assert "Another nextbest process" in client.app.state.serving.last_error  # type: ignore[attr-defined]


FEATURES_OK = {
    "age": 35,
    "balance": 5000,
    "balance_trend": 0.02,
    "engagement": 2.5,
    "tenure_years": 4,
    "market_trend": 0,
}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"age": NaN', "features.age"),
        ('"age": Infinity', "features.age"),
        ('"balance": -Infinity', "features.balance"),
        ('"balance": 1e400', "features.balance"),
        ('"age": -3', "features.age"),
        ('"age": 200', "features.age"),
        ('"engagement": 7', "features.engagement"),
        ('"gender": 1', "features.gender"),
    ],
)
def test_inline_features_are_checked(client: TestClient, raw: str, field: str) -> None:
    """Inline features are held to the snapshot contract's ranges: NaN, ±Infinity, 1e400, an
    age of −3 or 200 and unknown names are a 422 naming the field."""
    name = raw.split('"')[1]
    rest = ", ".join(f'"{k}": {v}' for k, v in FEATURES_OK.items() if k != name)
    body = "{" + f'"features": {{{rest}, {raw}}}' + "}"
    msg = _error(
        client.post(
            "/v1/decide",
            content=body.encode(),
            headers={**_h("viewer"), "content-type": "application/json"},
        ),
        422,
        "invalid_request",
    )
    assert msg.startswith(field), msg


def test_recommended_is_null_when_eligibility_is_unknown(client: TestClient) -> None:
    """Inline features say nothing about eligibility: eligible and recommended are null."""
    out = client.post("/v1/decide", json={"features": FEATURES_OK}, headers=_h("viewer")).json()
    assert out["eligible"] is None
    assert out["recommended"] is None
    assert 0 < out["score"] < 1


def test_edges_never_give_a_500(client: TestClient) -> None:
    """Odd input answers 4xx in the one shape (or the console's error page), never 500: a
    superscript digit, a huge page number, a lone surrogate, a non-ASCII cookie, deep JSON."""
    _login(client, "admin")
    for path in (
        "/console/runs/latest?q=²",
        "/console/runs/latest?q=99999999999999999999999",
        "/console/runs/latest?page_no=1e20",
        "/console/runs/latest?page_no=100000000000000000000",
        "/console/customers/99999999999999999999999",
    ):
        page = client.get(path)
        assert page.status_code in (200, 404, 422), (path, page.status_code)
    lone = b'{"relation_id": 1, "action": "\\ud800"}'
    _error(
        client.post(
            "/v1/decide",
            content=lone,
            headers={**_h("viewer"), "content-type": "application/json"},
        ),
        422,
        "invalid_request",
    )
    _error(
        client.get("/v1/runs/x/decisions?relation_id=99999999999999999999", headers=_h("viewer")),
        422,
        "invalid_request",
    )
    page = _raw_cookie(client, "/console", "a|b|1|" + "é" * 64)
    assert page.status_code == 303
    deep = "[" * 100_000 + "]" * 100_000
    body = {"action": "invest-onboarding", "knob": "threshold", "value": deep, "reason": "x"}
    _error(client.post("/v1/knobs", json=body, headers=_h("admin")), 422, "invalid_request")
    deep_body = b'{"comment": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status = client.post(
        "/v1/runs/x/approve",
        content=deep_body,
        headers={**_h("operator"), "content-type": "application/json"},
    ).status_code
    assert status in (400, 422)
    _login(client, "admin")
    csrf = _csrf(client.get("/console/knobs").text)
    form = {"csrf": csrf, "action": "invest-onboarding", "knob": "threshold", "reason": "x"}
    page = client.post("/console/knobs", data={**form, "value": "[" * 5000 + "]" * 5000})
    assert page.status_code in (200, 422)


def test_reads_and_writes_at_once_in_one_server(client: TestClient) -> None:
    """Page views (read-only) and knob changes (read-write) at the same time in one server
    all succeed: the server never opens the store both ways at once."""
    from concurrent.futures import ThreadPoolExecutor

    body = {"action": "invest-onboarding", "knob": "max_weekly", "value": "700", "reason": "x"}

    def read(_: int) -> int:
        return client.get("/v1/runs", headers=_h("viewer")).status_code

    def write(i: int) -> int:
        change = dict(body, value=str(700 + i))
        return client.post("/v1/knobs", json=change, headers=_h("admin")).status_code

    with ThreadPoolExecutor(6) as pool:
        reads = pool.map(read, range(24))
        writes = pool.map(write, range(6))
        statuses = [*reads, *writes]
    assert statuses == [200] * 30


def test_the_store_gate_never_opens_both_ways_at_once(client: TestClient, tmp_path: Path) -> None:
    """Readers and writers overlapping in one process all get the store: DuckDB refuses a
    read-only and a read-write connection to one file at once, so the gate takes turns."""
    from concurrent.futures import ThreadPoolExecutor

    from nextbest.api._db import StoreGate

    gate = StoreGate(load_config(tmp_path / "demo" / "nextbest.toml"), wait_seconds=30.0)

    def use(i: int) -> int:
        with gate.open(write=i % 3 == 0) as db:
            time.sleep(0.02)
            return int(db.scalar("SELECT count(*) FROM runs"))

    with ThreadPoolExecutor(6) as pool:
        counts = list(pool.map(use, range(36)))
    assert counts == [1] * 36


def _run_id(client: TestClient) -> str:
    return str(client.get("/v1/runs", headers=_h("viewer")).json()[0]["run_id"])


def test_dashboard_band_is_what_the_latest_run_used(client: TestClient) -> None:
    """The dashboard's band is the band the latest run was decided with (its recorded
    config: here a knob of 700 at the time), not today's TOML (800) nor today's knob (123)."""
    rid = _run_id(client)
    with Store(_store_file(client)) as store:
        recorded = json.loads(store.scalar("SELECT config_json FROM runs WHERE run_id = ?", [rid]))
        recorded["actions"][0]["max_weekly"] = 700
        store.execute(
            "UPDATE runs SET config_json = ? WHERE run_id = ?", [json.dumps(recorded), rid]
        )
    body = {"action": "invest-onboarding", "knob": "max_weekly", "value": "123", "reason": "cut"}
    assert client.post("/v1/knobs", json=body, headers=_h("admin")).status_code == 200
    _login(client, "viewer")
    html = client.get("/console").text
    data = json.loads(html.split('id="volume-data">')[1].split("</script>")[0])
    assert data["band"] == [recorded["actions"][0]["min_weekly"], 700]


def test_alerts_page_lists_undelivered_alerts(client: TestClient) -> None:
    """A halt alert that could not be sent is listed on the console's alerts page with why."""
    rid = _run_id(client)
    with Store(_store_file(client)) as store:
        store.execute(
            "INSERT INTO run_events VALUES (?, 'alert_failed', 'system', "
            "'smtp.bank.example:25 refused after 3 attempts', now()::TIMESTAMP)",
            [rid],
        )
    _login(client, "viewer")
    page = client.get("/console/alerts").text
    table = page.split('id="undelivered"')[1].split("</table>")[0]
    assert rid in table and "refused after 3 attempts" in table


def test_console_run_page_keeps_four_eyes_and_supersede(client: TestClient) -> None:
    """The starter of a run sees no approve button (and a forced approval is refused with a
    409 page); a superseded run offers neither approve nor export."""
    rid = _run_id(client)
    with Store(_store_file(client)) as store:
        store.execute("UPDATE runs SET started_by = 'operator-user' WHERE run_id = ?", [rid])
    _login(client, "operator")
    page = client.get(f"/console/runs/{rid}").text
    assert 'id="four-eyes"' in page and 'id="approve"' not in page
    forced = client.post(f"/console/runs/{rid}/approve", data={"csrf": _csrf(page)})
    assert forced.status_code == 409 and "four eyes" in forced.text
    assert 'href="/console/models"' in forced.text  # an HTML page with the navigation
    with Store(_store_file(client)) as store:
        store.execute("UPDATE runs SET superseded_by = 'later-run' WHERE run_id = ?", [rid])
    page = client.get(f"/console/runs/{rid}").text
    assert 'id="superseded"' in page
    assert 'id="approve"' not in page and 'id="export"' not in page


def test_the_server_creates_private_files(built: Path) -> None:
    """Making the app sets the process umask so that whatever it writes is owner-only."""
    before = os.umask(0o022)
    try:
        create_app(load_config(built / "nextbest.toml"), environ=ENV)
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(before)
