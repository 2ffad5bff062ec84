"""Fuzzing the API and the console: no input, from anyone, makes the server answer 500.

The JSON API's requests come from its OpenAPI spec (Schemathesis strategies, driven by
Hypothesis directly: schemathesis' own pytest plug-in does not run under this pytest version),
sent unauthenticated and as a viewer, an operator and an admin. The console's routes are not in
the spec, so their paths, query parameters and forms come from Hypothesis strategies written
here, sent with each role's session (and with its real CSRF token or a wrong one).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextbest.api import create_app, hash_token
from nextbest.config import load_config
from tests.conftest import DemoFactory

ROLES = ("viewer", "operator", "admin")
TOKENS = {role: f"fuzz-{role}-" + "z" * 30 for role in ROLES}
ENV = {"NEXTBEST_API_TOKENS": ",".join(f"fuzz-{r}:{r}:{hash_token(t)}" for r, t in TOKENS.items())}
API_EXAMPLES = 25
CONSOLE_EXAMPLES = 60
_SETTINGS = settings(
    max_examples=API_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
#: text a browser could send (no lone surrogates: they cannot be UTF-8-encoded into a URL)
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, demos: DemoFactory) -> FastAPI:
    # the shapes of answers are asserted, not their values: the API tests' demo serves
    root = demos.copy(tmp_path_factory.mktemp("fuzz") / "demo", n_customers=1500, seed=3)
    return create_app(load_config(root / "nextbest.toml"), environ=ENV, cache_seconds=0.0)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver") as c:
        yield c
        app.state.serving.wait_idle(30)


def _shape(response: Any) -> None:
    """An API error is in the one documented shape."""
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, response.text
        assert set(body["error"]) == {"code", "message", "status"}, response.text
        assert body["error"]["status"] == response.status_code


@pytest.mark.parametrize("role", [None, *ROLES])
def test_api_has_no_server_errors(app: FastAPI, client: TestClient, role: str | None) -> None:
    """Any request the spec allows, unauthenticated or with each role, is answered without a
    500 on every operation of the API, and every error is in the one shape (unauthenticated:
    always 401)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
    seen: list[str] = []
    calls: list[int] = []
    t0 = time.perf_counter()
    for operation in operations:

        @given(case=operation.as_strategy())
        @_SETTINGS
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            calls.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, response.text)
            _shape(response)
            if role is None:
                assert response.status_code == 401, (case.method, case.path, response.text)

        check()
        seen.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /v1/decide" in seen
    assert len(calls) >= 5 * len(operations)
    print(f"{len(calls)} API requests as {role} in {time.perf_counter() - t0:.1f} s")


def _session(client: TestClient, role: str) -> tuple[str, str]:
    """A console session for ``role``: (cookie, CSRF token)."""
    client.cookies.clear()
    login = client.post("/console/login", data={"token": TOKENS[role]}, follow_redirects=False)
    cookie = login.cookies["nb_session"]
    client.cookies.clear()
    page = client.get("/console/knobs", headers={"cookie": f"nb_session={cookie}"})
    return cookie, page.text.split('name="csrf" value="')[1].split('"')[0]


_ODD = st.sampled_from(
    ["latest", "", "²", "1e20", "-1", "0", "99999999999999999999999", "NaN", "../..", "%00"]
)
_WORD = st.one_of(_ODD, _TEXT)
_NUMBER = st.one_of(_ODD, st.integers(min_value=-(2**70), max_value=2**70).map(str))


def _segment(value: str) -> str:
    return quote(value, safe="") or "x"


def _gets(run: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, dict[str, str]]]:
    """Console pages with odd path and query values (``run``: run ids, real and odd)."""
    return st.one_of(
        st.tuples(st.just("/console"), st.just({})),
        st.tuples(
            run.map(lambda r: f"/console/runs/{_segment(r)}"),
            st.fixed_dictionaries({}, optional={"q": _WORD, "arm": _WORD, "page_no": _NUMBER}),
        ),
        st.tuples(run.map(lambda r: f"/console/runs/{_segment(r)}/decisions.csv"), st.just({})),
        st.tuples(
            _NUMBER.map(lambda n: f"/console/customers/{_segment(n)}"),
            st.fixed_dictionaries({}, optional={"run": run}),
        ),
        st.tuples(
            st.just("/console/models"),
            st.fixed_dictionaries(
                {}, optional={"message": _WORD, "candidate": _WORD, "champion": _WORD}
            ),
        ),
        st.tuples(
            st.just("/console/knobs"), st.fixed_dictionaries({}, optional={"message": _WORD})
        ),
        st.tuples(st.sampled_from(["/console/evaluation", "/console/alerts"]), st.just({})),
        st.tuples(_WORD.map(lambda p: f"/console/{_segment(p)}"), st.just({})),
    )


def _posts(run: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, dict[str, str]]]:
    """Console forms with odd values (the CSRF token is added by the test)."""
    return st.one_of(
        st.tuples(
            st.tuples(run, st.one_of(st.sampled_from(["approve", "reject", "export"]), _WORD)).map(
                lambda t: f"/console/runs/{_segment(t[0])}/{_segment(t[1])}"
            ),
            st.fixed_dictionaries({}, optional={"comment": _WORD}),
        ),
        st.tuples(
            st.just("/console/models/rollback"),
            st.fixed_dictionaries({}, optional={"action": _WORD, "reason": _WORD}),
        ),
        st.tuples(
            st.just("/console/models/promote"),
            st.fixed_dictionaries(
                {}, optional={"version": _WORD, "to": _WORD, "reason": _WORD, "override": _WORD}
            ),
        ),
        st.tuples(
            st.just("/console/knobs"),
            st.fixed_dictionaries(
                {},
                optional={
                    "action": st.one_of(st.just("invest-onboarding"), _WORD),
                    "knob": st.one_of(
                        st.sampled_from(["threshold", "max_weekly", "enabled"]), _WORD
                    ),
                    "value": st.one_of(_NUMBER, _WORD, st.just("[" * 150 + "]" * 150)),
                    "reason": _WORD,
                },
            ),
        ),
        st.tuples(st.just("/console/login"), st.fixed_dictionaries({}, optional={"token": _WORD})),
    )


@pytest.mark.parametrize("role", [None, *ROLES])
def test_console_has_no_server_errors(client: TestClient, role: str | None) -> None:
    """Every console page and form, with odd paths, query parameters and form values, with
    each role's session (a real or a wrong CSRF token) or none, answers without a 500: a page,
    a redirect, or an HTML error page."""
    cookie, csrf = _session(client, role) if role else ("", "")
    headers = {"cookie": f"nb_session={cookie}"} if role else {}
    viewer = {"Authorization": f"Bearer {TOKENS['viewer']}"}
    run = st.one_of(st.just(client.get("/v1/runs", headers=viewer).json()[0]["run_id"]), _WORD)

    calls: list[int] = []
    t0 = time.perf_counter()

    @given(get=_gets(run), post=_posts(run), real_csrf=st.booleans())
    @settings(
        max_examples=CONSOLE_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(
        get: tuple[str, dict[str, str]], post: tuple[str, dict[str, str]], real_csrf: bool
    ) -> None:
        client.cookies.clear()
        calls.append(2)
        path, params = get
        page = client.get(path, params=params, headers=headers, follow_redirects=False)
        assert page.status_code < 500, (path, params, page.text)
        if page.status_code >= 400:
            assert page.headers["content-type"].startswith("text/html"), (path, page.text)
        if role is None and not path.startswith("/console/login"):
            assert page.status_code in (303, 404), (path, page.status_code)
        path, form = post
        form = {**form, "csrf": csrf if real_csrf else "forged"}
        client.cookies.clear()
        done = client.post(path, data=form, headers=headers, follow_redirects=False)
        assert done.status_code < 500, (path, form, done.text)
        if done.status_code >= 400:
            assert done.headers["content-type"].startswith("text/html"), (path, done.text)

    check()
    assert sum(calls) >= CONSOLE_EXAMPLES
    print(f"{sum(calls)} console requests as {role} in {time.perf_counter() - t0:.1f} s")
