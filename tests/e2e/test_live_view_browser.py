"""The live view in a real browser, served by the real `imagify realtime serve` process on a real port:
it says when its numbers are not current — no job running, or a job behind — instead of showing stale
minutes as if they were the present (issue 21)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.dagster_dev import free_port

from e2e.test_ui_browser import CHROMIUM_ARGS, _chromium
from realtime import store

pytestmark = [pytest.mark.e2e, pytest.mark.flink, pytest.mark.browser, pytest.mark.services]
IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _status_text(page) -> str:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#behind", timeout=20_000)
    return page.inner_text("#status")


@contextmanager
def _serve(home: Path, log: Path, command: tuple[str, ...] = ("realtime", "serve")) -> Iterator[str]:
    """`imagify <command> --port P` (default `imagify realtime serve`) on a free port over ``home``; its base
    URL; stopped with SIGTERM."""
    port = free_port()
    env = {**os.environ, "IMAGIFY_HOME": str(home)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([IMAGIFY, *command, "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            proc.kill()
            detail = f"{status}\n{log.read_text()}"
            raise AssertionError(f"`imagify {' '.join(command)}` ignored SIGTERM for 30 s:\n{detail}") from None
    if command == ("realtime", "serve"):
        assert proc.returncode == 0 and "live view stopped" in log.read_text(), log.read_text()
    else:  # uvicorn shuts down gracefully, then re-raises the signal it caught: the exit status says SIGTERM
        assert proc.returncode in (0, -signal.SIGTERM), (proc.returncode, log.read_text())


def test_live_view_says_when_the_job_is_not_running_or_behind(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    home = tmp_path / "home"
    db = home / "realtime.sqlite"
    con = store.connect(db)
    now = time.time()
    minute = datetime.fromtimestamp(now // 60 * 60 - 60, UTC)
    end = datetime.fromtimestamp(minute.timestamp() + 60, UTC)
    con.execute("INSERT INTO minute (window_start, window_end, events) VALUES (?, ?, 42)",
                (f"{minute:%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}"))  # fmt: skip
    log = tmp_path / "serve.log"
    with _serve(home, log) as base:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/")
            assert "not running" in _status_text(page) and "imagify realtime" in _status_text(page)

            # a running job that keeps up: the closed-through minute and the last checkpoint
            store.record_job_progress(con, running=True, last_checkpoint_at=time.time() - 2, pending_records=0,
                                      checkpoint_interval_s=5, out_of_orderness_s=5)  # fmt: skip
            page.reload()
            text = _status_text(page)
            assert "keeping up" in text and "last checkpoint" in text, text

            # records pile up unread: the view says its numbers are not current
            store.record_job_progress(con, running=True, last_checkpoint_at=time.time() - 2, pending_records=500_000,
                                      checkpoint_interval_s=5, out_of_orderness_s=5)  # fmt: skip
            page.reload()
            text = _status_text(page)
            assert "numbers are not current" in text and "500,000 published records not read yet" in text, text
            browser.close()


def test_live_view_without_the_job_says_to_start_it_and_shows_vietnam_time(tmp_path: Path) -> None:
    """Started before the real-time job ever ran: the command and the page tell the user to start
    `imagify realtime` (it said "no events for ever"); times are Vietnam time like the dashboards."""
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    home = tmp_path / "home"
    log = tmp_path / "serve.log"
    with _serve(home, log) as base, sync_playwright() as p:
        assert "no live store yet" in log.read_text() and "imagify realtime" in log.read_text()
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/")
        page.wait_for_selector("#notice:not([hidden])", timeout=20_000)
        notice = page.inner_text("#notice")
        assert "not running" in notice and "imagify realtime" in notice and "empty" in notice, notice
        assert "ever" not in page.inner_text("#status")

        # a minute closed at 10:15 UTC is 17:15 in Vietnam
        minute = datetime(2026, 12, 4, 10, 15, tzinfo=UTC)
        con = store.connect(home / "realtime.sqlite")
        con.execute("INSERT INTO minute (window_start, window_end, events) VALUES (?, ?, 7)",
                    (f"{minute:%Y-%m-%d %H:%M:%S}", f"{minute + timedelta(minutes=1):%Y-%m-%d %H:%M:%S}"))  # fmt: skip
        page.reload()
        page.wait_for_function("document.getElementById('lastmin').textContent.length > 0", timeout=20_000)
        assert page.text_content("#lastmin") == "2026-12-04 17:15 Vietnam time"
        assert "UTC" not in page.inner_text("body")
        browser.close()


def test_the_dashboards_app_serves_the_live_view(tmp_path: Path) -> None:
    """`imagify dashboards serve` (a real process on a real port): the live view is one of its pages, at
    /live/, linked from every dashboard page and the list, with a link back; its data API answers there."""
    import json
    import urllib.error

    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    home = tmp_path / "home"
    con = store.connect(home / "realtime.sqlite")
    minute = datetime(2026, 12, 4, 10, 15, tzinfo=UTC)
    con.execute("INSERT INTO minute (window_start, window_end, events) VALUES (?, ?, 7)",
                (f"{minute:%Y-%m-%d %H:%M:%S}", f"{minute + timedelta(minutes=1):%Y-%m-%d %H:%M:%S}"))  # fmt: skip
    log = tmp_path / "dashboards.log"
    with _serve(home, log, ("dashboards", "serve")) as base:
        assert f"live view at {base}/live/" in log.read_text(), log.read_text()
        data = json.loads(urllib.request.urlopen(f"{base}/live/api/live?minutes=60", timeout=10).read())
        assert data["minutes"][-1]["events"] == 7 and data["latest_window"] == "2026-12-04 10:15:00"
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(f"{base}/live/api/live?minutes=soon", timeout=10)
        assert bad.value.code == 400 and b"minutes must be an integer" in bad.value.read()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"{base}/")
            page.click("main a[href='/live/']")  # the list of dashboards names the live view
            page.wait_for_function("document.getElementById('lastmin').textContent.length > 0", timeout=20_000)
            assert page.url == f"{base}/live/"
            assert page.text_content("#lastmin") == "2026-12-04 17:15 Vietnam time"
            page.click("#home")
            assert page.url == f"{base}/"
            page.goto(f"{base}/d/operations")
            assert page.locator("header nav a[href='/live/']").inner_text() == "Live"
            page.goto(f"{base}/live")  # without the slash: redirected to the page
            page.wait_for_selector("#status")
            assert page.url == f"{base}/live/"
            browser.close()
