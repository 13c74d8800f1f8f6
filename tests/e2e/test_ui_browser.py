"""Headless Chromium against `imagify ui` (dagster dev) on localhost: the asset graph from the
stream to the dashboards, and the checks page of the staged events after a bad batch was blocked.
Screenshots go to artifacts/ui-screenshots/ (git-ignored). Fails on an error page, an HTTP error or
an uncaught exception in the page.

Chromium is the Debian package (`make browser-deps`, which this test runs when chromium is missing);
the test is skipped only when there is no apt-get to install it. Playwright drives it through
``executable_path`` and never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.dagster_dev import dagster_dev, runs_settled
from support.lake_fixture import absurd_latency_batch, write_batch

from foundation.config import REPO_ROOT
from ingestion.simulator import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.dbt, pytest.mark.dagster, pytest.mark.browser]
IMAGIFY = str(Path(sys.executable).parent / "imagify")
SHOTS = REPO_ROOT / "artifacts" / "ui-screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# phrases of Dagster's error and not-found pages, as its web app writes them ("This page could not be
# found", "Asset not found", "... could not be found in this workspace"). Not the number 404: pages show
# figures ("0.098404", "1,404 rows") and a bare "404" failed this test twice on healthy pages
ERROR_MARKERS = ("Something went wrong", "Unexpected error", "An error occurred", "Page not found",
                 "could not be found", "Asset not found")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if not shutil.which("apt-get"):
        pytest.skip("no chromium and no apt-get to install it: install Chromium to run the browser test")
    subprocess.run(["make", "-s", "browser-deps"], cwd=REPO_ROOT, check=True, timeout=900)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "make browser-deps did not install chromium"
    return found


def _check_page(page, name: str, errors: list[str]) -> None:  # type: ignore[no-untyped-def]
    text = page.inner_text("body")
    for marker in ERROR_MARKERS:
        assert marker not in text, f"{name}: error page ({marker!r})"
    assert not errors, f"{name}: uncaught errors in the page: {errors}"


def test_asset_graph_and_checks_pages(tmp_path: Path) -> None:
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    home = tmp_path / "home"
    env = {**os.environ, "IMAGIFY_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    write_batch(home, list(Simulator(users=150, days=21, seed=3, end=end).records()), end - timedelta(hours=2))
    subprocess.run([IMAGIFY, "build"], env=env, check=True, capture_output=True, timeout=600)
    bad = absurd_latency_batch(end)
    write_batch(home, bad, end - timedelta(minutes=30), name="bad", seen=set())
    assert subprocess.run([IMAGIFY, "build"], env=env, capture_output=True, timeout=600).returncode == 1

    log = tmp_path / "dagster-dev.log"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with dagster_dev(env, log) as base:
        runs_settled(home)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1800, "height": 1050})
            ctx.add_init_script("localStorage.setItem('communityNux', '1')")  # no newsletter pop-up
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # 1. the global asset graph, every group expanded
            resp = page.goto(f"{base}/asset-groups", wait_until="networkidle")
            assert resp is not None and resp.status < 400
            page.get_by_text("staging", exact=True).first.wait_for(timeout=60_000)
            page.mouse.click(1200, 600)  # focus the graph canvas
            page.keyboard.press("Alt+e")  # "Expand all groups"
            # the graph draws only the nodes inside the viewport, and no labels when zoomed far out:
            # zoom out a fixed number of steps, each rendered before the next, for the screenshot
            page.get_by_text("stg_events", exact=True).first.wait_for(timeout=30_000)
            zoom_out = page.locator('button:has([aria-label="zoom_out"])').first
            zoom_out.wait_for(timeout=30_000)
            for _ in range(4):
                zoom_out.click()
                page.wait_for_timeout(600)
            page.wait_for_timeout(2000)
            _check_page(page, "asset graph", errors)
            page.screenshot(path=str(SHOTS / "asset_graph.png"))

            # every layer, lake to dashboards, has its asset page
            layers = ("flink/landing_job", "staging/stg_events", "marts/revenue_daily", "dashboards/business_overview")
            for key in layers:
                resp = page.goto(f"{base}/assets/{key}", wait_until="networkidle")
                assert resp is not None and resp.status < 400, key
                page.get_by_text(key.split("/")[-1], exact=True).first.wait_for(timeout=60_000)
                _check_page(page, f"asset page {key}", errors)

            # 2. the checks of the staged events: the GX check that blocked the bad batch, and why
            resp = page.goto(f"{base}/assets/staging/stg_events?view=checks", wait_until="networkidle")
            assert resp is not None and resp.status < 400
            page.get_by_text("gx_events_batch", exact=True).first.click(timeout=60_000)
            page.get_by_text("latency_ms", exact=False).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)
            _check_page(page, "checks page", errors)
            page.screenshot(path=str(SHOTS / "stg_events_checks.png"), full_page=True)

            # 3. the marts' daily partitions (backfills are launched from here)
            resp = page.goto(f"{base}/assets/marts/revenue_daily?view=partitions", wait_until="networkidle")
            assert resp is not None and resp.status < 400
            page.get_by_text("Partitions", exact=False).first.wait_for(timeout=30_000)
            page.wait_for_timeout(2500)
            _check_page(page, "partitions page", errors)
            page.screenshot(path=str(SHOTS / "revenue_daily_partitions.png"))

            # 4. the runs: the failed build says which check stopped it
            resp = page.goto(f"{base}/runs", wait_until="networkidle")
            assert resp is not None and resp.status < 400
            page.get_by_text("build_warehouse", exact=True).first.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)
            _check_page(page, "runs page", errors)
            page.screenshot(path=str(SHOTS / "runs.png"))
            browser.close()
    for name in ("asset_graph", "stg_events_checks", "revenue_daily_partitions", "runs"):
        assert (SHOTS / f"{name}.png").stat().st_size > 20_000, f"{name}.png looks empty"
