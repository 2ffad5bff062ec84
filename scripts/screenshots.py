"""Screenshots of the console's main pages (Debian's Chromium via Playwright).

Usage: ``make screenshots`` (or ``.venv/bin/python scripts/screenshots.py [--out screenshots]``).
Builds a small demo project in a temporary folder, serves it on loopback and saves PNGs of the
login, dashboard, run and customer pages.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests._serve
from tests._serve import serve_in_background

from nextbest.api import hash_token, new_token
from nextbest.pipeline import run_demo

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's chromium is not installed: apt-get install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    token = new_token()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        run_demo(root, n_customers=3000, n_weeks=78, seed=3)
        tokens = f"demo:operator:{hash_token(token)}"
        with (
            serve_in_background(root / "nextbest.toml", api_tokens=tokens) as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/console/login")
            page.screenshot(path=str(args.out / "login.png"))
            page.fill("#token", token)
            page.click("#login")
            page.wait_for_selector("#runs")
            page.wait_for_timeout(800)
            page.screenshot(path=str(args.out / "dashboard.png"), full_page=True)
            page.click("#runs a")
            page.wait_for_selector("#decisions")
            page.screenshot(path=str(args.out / "run.png"), full_page=True)
            page.click("#decisions tr:nth-child(2) a")
            page.wait_for_selector("#why")
            page.screenshot(path=str(args.out / "customer.png"), full_page=True)
            browser.close()
    print(f"screenshots in {args.out}: login, dashboard, run, customer")


if __name__ == "__main__":
    main()
