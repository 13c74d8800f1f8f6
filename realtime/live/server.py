"""The live view: a local page that refreshes itself every few seconds from the live store.

No internet assets: the page, its CSS, JavaScript and SVG charts are served from here. ``GET /`` the
page, ``GET /api/live?minutes=60`` its data as JSON (the page asks for ``api/live``, relative to itself),
``GET /healthz`` a liveness probe. Read-only on the store. Served two ways, by the same functions:
- as a page of the dashboards web app, at ``/live/`` (``imagify dashboards serve``;
  :func:`dashboard_extension`, which the command line hands to the app);
- alone, for the real-time job's ``--serve-port`` and ``imagify realtime serve`` (standard library
  ``http.server``, :func:`start_server`).
"""

from __future__ import annotations

import html
import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from foundation.config import Settings
from realtime import store

if TYPE_CHECKING:
    from dashboards.local.app import Extension

REFRESH_S = 3


def live_data(con: sqlite3.Connection, minutes: int = 60, now: float | None = None) -> dict[str, Any]:
    """The last ``minutes`` minutes (ending at the newest window) of every live metric."""
    now = time.time() if now is None else now
    latest = con.execute("SELECT MAX(window_start) FROM minute").fetchone()[0]
    since = (
        (datetime.fromisoformat(latest) - timedelta(minutes=minutes - 1)).strftime("%Y-%m-%d %H:%M:%S")
        if latest
        else ""
    )
    rows = [dict(r) for r in con.execute("SELECT * FROM live_minute WHERE window_start >= ? ORDER BY 1", (since,))]
    models = [
        dict(r)
        for r in con.execute(
            "SELECT model, SUM(generations_requested) AS requested, SUM(generations_completed) AS completed, "
            "SUM(generations_failed) AS failed, "
            "1.0 * SUM(generations_failed) / NULLIF(SUM(generations_completed + generations_failed), 0) "
            "AS failure_rate, MAX(p95_latency_ms) AS max_p95_latency_ms, SUM(images) AS images, "
            "SUM(cost_usd) AS cost_usd FROM model_minute WHERE window_start >= ? GROUP BY model ORDER BY 2 DESC",
            (since,),
        )
    ]
    last_models = [
        dict(r)
        for r in con.execute("SELECT * FROM model_minute WHERE window_start = ? ORDER BY model", (latest or "",))
    ]
    trend_end = con.execute("SELECT MAX(window_end) FROM trending_terms").fetchone()[0]
    trending = [
        dict(r)
        for r in con.execute(
            "SELECT window_start, window_end, term_rank, term, generations, users FROM trending_terms "
            "WHERE window_end = ? ORDER BY term_rank",
            (trend_end or "",),
        )
    ]
    arrivals = [
        dict(r)
        for r in con.execute(
            "SELECT * FROM arrival_minute WHERE minute >= ? ORDER BY minute",
            (datetime.fromtimestamp(now - minutes * 60, UTC).strftime("%Y-%m-%d %H:%M:%S"),),
        )
    ]
    last_arrival = con.execute("SELECT MAX(window_end) FROM arrivals WHERE outcome = 'valid'").fetchone()[0]
    alerts = [
        dict(r)
        for r in con.execute(
            "SELECT alert_id, rule, subject, severity, status, window_start, value, message, fired_at, resolved_at "
            "FROM alerts WHERE status = 'firing' OR fired_at >= ? ORDER BY alert_id DESC LIMIT 50",
            (now - 24 * 3600,),
        )
    ]
    # late events: counted in their minute (within the allowed lateness) and too late to be counted
    late_total = sum(r.get("late_events") or 0 for r in rows)
    too_late_total = sum(r.get("too_late_events") or 0 for r in rows)
    return {
        "generated_at": now,
        "latest_window": latest,
        "last_arrival": last_arrival,
        "minutes": rows,
        "models": models,
        "last_minute_models": last_models,
        "trending": trending,
        "arrivals": arrivals,
        "alerts": alerts,
        "late_events": late_total,
        "too_late_events": too_late_total,
        "job": store.job_status(con, now),
    }


TEMPLATE = (Path(__file__).with_name("page.html")).read_text(encoding="utf-8")


def page(business_tz: str, home: str | None = None) -> str:
    """The live view's page: times shown in the business time zone (Vietnam time by default), like
    every date of the dashboards; the store keeps UTC. ``home``: a link back (the dashboards' list)."""
    name = "Vietnam time" if business_tz == "Asia/Ho_Chi_Minh" else business_tz
    back = f'<a href="{html.escape(home)}" id="home">← Dashboards</a>' if home else ""
    return (
        TEMPLATE.replace("__REFRESH__", str(REFRESH_S))
        .replace("__TZ_NAME__", json.dumps(name)[1:-1])
        .replace("__TZ__", json.dumps(business_tz)[1:-1])
        .replace("__HOME__", back)
    )


def api_response(store_path: Path, query: str) -> tuple[int, bytes, str]:
    """``GET api/live?<query>``: (status, body, content type) — the live data of the last ``minutes``
    (1 to 1,440, default 60), or 400 with what is wrong."""
    try:
        minutes = max(1, min(24 * 60, int(parse_qs(query).get("minutes", ["60"])[0])))
    except ValueError:
        return 400, b'{"error": "minutes must be an integer"}', "application/json"
    con = store.connect(store_path)
    try:
        return 200, json.dumps(live_data(con, minutes), default=str).encode("utf-8"), "application/json"
    finally:
        con.close()


def dashboard_extension(settings: Settings) -> Extension:
    """The live view as a page of the dashboards web app, at ``/live/`` (``imagify dashboards serve``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from dashboards.local.app import Extension

    store_path = settings.realtime_store_path
    store.connect(store_path).close()  # create the schema once, so the page works before the job wrote anything
    body = page(settings.business_tz, home="/")

    def live_page(request: Request) -> HTMLResponse:
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    def live_api(request: Request) -> Response:
        status, content, ctype = api_response(store_path, request.url.query)
        return Response(content, status, media_type=ctype, headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[Route("/", live_page), Route("/api/live", live_api)])
    return Extension(
        "Live", "/live", app,
        "The last hour minute by minute from the real-time job's live store (`imagify realtime`): traffic, "
        "failures, revenue, trending prompt terms, alerts; refreshes itself every few seconds.",
    )  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    store_path: Path
    page: bytes

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — quiet: one line per request is noise
        return

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 — http.server's name
        url = urlparse(self.path)
        if url.path in ("/", "/index.html"):
            self._send(200, self.page, "text/html; charset=utf-8")
        elif url.path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        elif url.path == "/api/live":
            self._send(*api_response(self.store_path, url.query))
        else:
            self._send(404, b"not found\n", "text/plain")


def start_server(settings: Settings, port: int, host: str = "127.0.0.1", daemon: bool = True) -> ThreadingHTTPServer:
    """Serve the live view in a background thread; ``server.shutdown()`` stops it."""
    handler = type(
        "LiveHandler",
        (_Handler,),
        {"store_path": settings.realtime_store_path, "page": page(settings.business_tz).encode("utf-8")},
    )
    store.connect(settings.realtime_store_path).close()  # create the schema so the page works before data
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="live-view", daemon=daemon)
    thread.start()
    return server
