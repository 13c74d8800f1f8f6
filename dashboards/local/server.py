"""Running the local server: in the foreground (``imagify dashboards serve``) or in a background
thread on a free port (``imagify dashboards export`` and the tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from dashboards.local.app import Extension, create_app
from dashboards.spec import DEFINITIONS_DIR


def serve(
    warehouse: Path,
    host: str,
    port: int,
    definitions_dir: Path = DEFINITIONS_DIR,
    extensions: Sequence[Extension] = (),
) -> None:
    app = create_app(warehouse, definitions_dir, extensions)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def background_server(
    warehouse: Path, definitions_dir: Path = DEFINITIONS_DIR, host: str = "127.0.0.1", startup_timeout: float = 20.0
) -> Iterator[str]:
    """Serve on a free port of ``host`` in a thread; yields the base URL; stops on exit."""
    port = free_port(host)
    config = uvicorn.Config(create_app(warehouse, definitions_dir), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="dashboards-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the dashboard server did not start on {host}:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the dashboard server did not start within {startup_timeout:.0f}s")
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
