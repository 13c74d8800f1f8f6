"""The live view in a real browser, served by the real `imagify realtime serve` process on a real port:
it says when its numbers are not current — no job running, or a job behind — instead of showing stale
minutes as if they were the present (issue 21)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_ui_browser import CHROMIUM_ARGS, _chromium, _free_port

from imagify.realtime import store

pytestmark = pytest.mark.e2e
IMAGIFY = str(Path(sys.executable).parent / "imagify")


def _status_text(page) -> str:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#behind", timeout=20_000)
    return page.inner_text("#status")


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
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "IMAGIFY_HOME": str(home)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([IMAGIFY, "realtime", "serve", "--port", str(port)], env=env, stdout=out,
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
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
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
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            proc.kill()
            detail = f"{status}\n{log.read_text()}"
            raise AssertionError(f"`imagify realtime serve` ignored SIGTERM for 30 s:\n{detail}") from None
    assert proc.returncode == 0 and "live view stopped" in log.read_text(), log.read_text()
