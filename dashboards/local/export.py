"""PNG and PDF exports of the local dashboards with headless Chromium (the Debian ``chromium``
package, driven by Playwright from PyPI; Playwright never downloads a browser here).

An export holds the dashboard's content only (no navigation, no filter form: ``body.export`` for
the PNG, the print stylesheet for the PDF), with the range shown and the data's freshness stamp
("Data as of ..."), which the page carries.

Each page is loaded, every visual is waited for, and anything that went wrong is collected: a visual
in error, an error logged on the browser console, a page error, or a request that tried to leave
the local server (the dashboards must not fetch anything from the internet).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChromiumMissing(RuntimeError):
    pass


def find_chromium(configured: str = "") -> str:
    if configured:
        if Path(configured).is_file() and os.access(configured, os.X_OK):
            return configured
        raise ChromiumMissing(f"IMAGIFY_CHROMIUM={configured} is not an executable file")
    for name in _CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise ChromiumMissing(
        "no Chromium found: install the Debian package with `make browser-deps` (apt-get install -y chromium) "
        "or point IMAGIFY_CHROMIUM at a Chromium binary"
    )


@dataclass
class Snapshot:
    dashboard_id: str
    path: Path
    visuals: dict[str, str] = field(default_factory=dict)  # visual id -> status (ok / empty / error)
    charts: int = 0  # SVG charts drawn
    problems: list[str] = field(default_factory=list)
    pdf: Path | None = None
    as_of: str = ""  # the freshness stamp the export shows


def snapshot(
    base_url: str,
    dashboard_ids: list[str],
    out_dir: Path,
    chromium: str,
    query: str = "",
    width: int = 1400,
    timeout_ms: int = 30_000,
    formats: tuple[str, ...] = ("png",),
) -> list[Snapshot]:
    """Open each dashboard, wait for its visuals, save ``<out_dir>/<id>.png`` (full page) and/or
    ``<out_dir>/<id>.pdf`` (A4 landscape), content only."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    shots: list[Snapshot] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            for dash_id in dashboard_ids:
                shot = Snapshot(dashboard_id=dash_id, path=out_dir / f"{dash_id}.png")
                page = browser.new_page(viewport={"width": width, "height": 900})

                def on_console(msg, shot: Snapshot = shot) -> None:  # type: ignore[no-untyped-def]
                    if msg.type == "error":
                        shot.problems.append(f"console error: {msg.text}")

                def on_route(route, shot: Snapshot = shot) -> None:  # type: ignore[no-untyped-def]
                    url = route.request.url
                    if url.startswith(base_url) or url.startswith("data:") or url.startswith("about:"):
                        route.continue_()
                    else:
                        shot.problems.append(f"request outside the local server: {url}")
                        route.abort()

                page.on("console", on_console)
                page.on("pageerror", lambda err, shot=shot: shot.problems.append(f"page error: {err}"))
                page.route("**/*", on_route)
                url = f"{base_url}/d/{dash_id}{'?' + query if query else ''}"
                response = page.goto(url, wait_until="networkidle", timeout=timeout_ms)
                if response is None or response.status != 200:
                    status = response.status if response else "no response"
                    text = page.inner_text("main")[:500] if response else ""
                    shot.problems.append(f"HTTP {status} for {url}: {text}")
                page.wait_for_selector("article.visual", timeout=timeout_ms)
                rows = page.eval_on_selector_all(
                    "article.visual", "els => els.map(e => [e.dataset.visualId, e.dataset.status, e.innerText])"
                )
                for vid, status, text in rows:
                    shot.visuals[vid] = status
                    if status == "error":
                        shot.problems.append(f"visual {vid}: {text.strip()[:300]}")
                shot.charts = page.eval_on_selector_all("article.visual svg.chart", "els => els.length")
                banner = page.query_selector(".banner, .page-error")
                if banner:
                    shot.problems.append(f"page shows: {banner.inner_text()[:500]}")
                stamp = page.query_selector("p.freshness")
                if stamp is None or not stamp.is_visible():
                    shot.problems.append("no data freshness stamp on the page")
                else:
                    shot.as_of = stamp.inner_text()
                page.evaluate("document.body.classList.add('export')")
                if "png" in formats:
                    page.screenshot(path=str(shot.path), full_page=True)
                if "pdf" in formats:
                    shot.pdf = shot.path.with_suffix(".pdf")
                    page.emulate_media(media="print")
                    page.pdf(path=str(shot.pdf), format="A4", landscape=True, print_background=True)
                page.close()
                shots.append(shot)
        finally:
            browser.close()
    return shots
