"""The data profile page of the demo in a real browser (Playwright driving Debian's Chromium),
opened from the file as a user opens it: every plot drawn, nothing fetched, no console error.

Without Chromium these tests are skipped with the reason, never faked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nextbest.cli import app
from tests.conftest import DemoFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
NUMERIC = ["age", "n_accounts", "total_balance", "ib_logins_4w", "price", "amount"]


def test_profile_page_draws_every_plot_offline(tmp_path: Path, demos: DemoFactory) -> None:
    """One drawn panel per numeric column, a heatmap per table, only file:// requests."""
    from playwright.sync_api import sync_playwright

    root = demos.copy(tmp_path / "demo", n_customers=1500, seed=3)
    page_file = tmp_path / "profile.html"
    result = CliRunner().invoke(
        app, ["-c", str(root / "nextbest.toml"), "profile", "--out", str(page_file)]
    )
    assert result.exit_code == 0, result.output
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_selector(".panel .main-svg")
            panels = page.locator(".panel")
            names = [panels.nth(i).get_attribute("data-column") for i in range(panels.count())]
            assert names == NUMERIC
            for i in range(panels.count()):
                panel = panels.nth(i)
                # the band, the median and the PSI bars are drawn as SVG paths
                assert panel.locator(".main-svg").count() >= 1
                assert panel.locator("g.trace path").count() >= 3, names[i]
            heatmaps = page.locator(".heatmap")
            assert heatmaps.count() == 3
            # a heatmap is drawn as an image inside the SVG: loaded, with a width
            widths = page.eval_on_selector_all(
                ".heatmap svg image", "els => els.map(e => e.getBBox().width)"
            )
            assert len(widths) == 3 and min(widths) > 0
            assert page.locator("#quarantine").count() == 1
        finally:
            browser.close()
    assert errors == []
    assert requests and all(url.startswith(("file:", "data:")) for url in requests), requests
