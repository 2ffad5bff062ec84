"""The console in a real browser: Playwright driving Debian's Chromium against `nextbest serve`.

Chromium comes from the system (`apt-get install chromium`, done by `.ci/run`); without it
these tests are skipped with the reason, never faked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from nextbest.api import hash_token
from tests._serve import serve_in_background
from tests.conftest import DemoFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPERATOR = "op-" + "k" * 30
VIEWER = "vw-" + "m" * 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demos: DemoFactory) -> Iterator[str]:
    root = demos.copy(tmp_path_factory.mktemp("console") / "demo", n_customers=1500, seed=3)
    tokens = f"olga:operator:{hash_token(OPERATOR)},victor:viewer:{hash_token(VIEWER)}"
    with serve_in_background(root / "nextbest.toml", api_tokens=tokens) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def _login(browser: object, url: str, token: str) -> object:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{url}/console")
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_selector("#runs")
    return page


def test_operator_reviews_approves_and_exports(server: str, browser: object) -> None:
    """Log in, open the latest run, search a customer, approve, export, see it recorded."""
    page = _login(browser, server, OPERATOR)
    assert page.inner_text("#checks").count("pass") >= 5  # type: ignore[attr-defined]
    page.click("#runs a")  # type: ignore[attr-defined]
    page.wait_for_selector("#decisions")  # type: ignore[attr-defined]
    assert page.inner_text("#status") == "pending_review"  # type: ignore[attr-defined]
    first = page.inner_text("#decisions tr:nth-child(2) td:first-child")  # type: ignore[attr-defined]
    page.fill("#q", first)  # type: ignore[attr-defined]
    page.click("#find")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    rows = page.locator("#decisions tr")  # type: ignore[attr-defined]
    assert rows.count() == 2  # header + the customer
    page.click(f"#decisions a:text('{first}')")  # type: ignore[attr-defined]
    page.wait_for_selector("#why")  # type: ignore[attr-defined]
    assert "eligibility" in page.inner_text("#why")  # type: ignore[attr-defined]
    page.go_back()  # type: ignore[attr-defined]
    page.fill("#comment", "sample of ten checked")  # type: ignore[attr-defined]
    page.click("#approve")  # type: ignore[attr-defined]
    page.wait_for_selector("#export")  # type: ignore[attr-defined]
    assert page.inner_text("#status") == "approved"  # type: ignore[attr-defined]
    page.click("#export")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.inner_text("#status") == "exported"  # type: ignore[attr-defined]
    events = page.inner_text("ul")  # type: ignore[attr-defined]
    assert "approved by olga: sample of ten checked" in events
    assert "exported by olga" in events


def test_viewer_cannot_approve(server: str, browser: object) -> None:
    """A viewer sees no approve button, and a forged approval is refused."""
    page = _login(browser, server, VIEWER)
    page.click("#runs a")  # type: ignore[attr-defined]
    page.wait_for_selector("#decisions")  # type: ignore[attr-defined]
    assert page.locator("#approve").count() == 0  # type: ignore[attr-defined]
    run_url = page.url  # type: ignore[attr-defined]
    response = page.request.post(
        f"{run_url}/approve",  # type: ignore[attr-defined]
        form={"csrf": "forged", "comment": "x"},
    )
    assert response.status == 403


def test_chart_draws_under_the_content_security_policy(server: str, browser: object) -> None:
    """The dashboard's chart draws with the strict CSP (no inline script), and the browser
    reports no CSP violation on the console's pages."""
    page = browser.new_page()  # type: ignore[attr-defined]
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    page.goto(f"{server}/console")
    page.fill("#token", VIEWER)
    page.click("#login")
    page.wait_for_selector("#volume .main-svg")
    for path in ("/console/models", "/console/knobs", "/console/alerts"):
        page.goto(f"{server}{path}")
    assert not [m for m in messages if "Content Security Policy" in m], messages


def test_logout_ends_the_session_on_the_server(server: str, browser: object) -> None:
    """After logging out, the old session cookie put back into a fresh browser opens nothing:
    the console sends it to the login page."""
    page = _login(browser, server, VIEWER)
    cookies = page.context.cookies()  # type: ignore[attr-defined]
    (session,) = [c for c in cookies if c["name"] == "nb_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Strict"
    page.click("#logout")  # type: ignore[attr-defined]
    page.wait_for_selector("#token")  # type: ignore[attr-defined]
    other = browser.new_context()  # type: ignore[attr-defined]
    other.add_cookies([session])
    again = other.new_page()
    again.goto(f"{server}/console/knobs")
    assert again.url.endswith("/console/login")
    assert again.locator("#knobs").count() == 0
