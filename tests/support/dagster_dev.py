"""`imagify ui` (dagster dev: webserver + daemon) as the tests meet it: a real process on a free
loopback port with its own log, its GraphQL API, stopped however the test ends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

IMAGIFY = str(Path(sys.executable).parent / "imagify")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited:\n{log.read_text()[-4000:]}"
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url} did not answer in {timeout_s}s:\n{log.read_text()[-4000:]}")


def runs_settled(home: Path, timeout_s: float = 180) -> None:
    """Wait until no run is queued or running (the sensors may have started one)."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    active = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    try:
        with DagsterInstance.get() as instance:
            deadline = time.monotonic() + timeout_s
            while instance.get_run_ids(RunsFilter(statuses=active)) and time.monotonic() < deadline:
                time.sleep(1)
    finally:
        os.environ.pop("DAGSTER_HOME", None)


@contextmanager
def dagster_dev(env: dict[str, str], log: Path, *options: str) -> Iterator[str]:
    """Start `imagify ui` (with ``options``, e.g. ``--paused``) on a free port; yield its base URL once it
    answers; Ctrl-C it at the end."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [IMAGIFY, "ui", "--port", str(port), *options],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/server_info", proc, log)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # dagster dev stops its webserver and daemon on Ctrl-C
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def graphql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request to the webserver's GraphQL API (what the UI sends); errors fail the test."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
    except urllib.error.HTTPError as err:  # the server's own answer says why (its log may not)
        raise AssertionError(f"{err}: {err.read()[:3000]!r} (query {query[:200]!r})") from err
    assert not answer.get("errors"), answer["errors"]
    return answer["data"]


def repository(base: str) -> dict[str, str]:
    """The repository selector of the (single) code location."""
    repos = graphql(base, "{repositoriesOrError {... on RepositoryConnection {nodes {name location {name}}}}}")
    repo = repos["repositoriesOrError"]["nodes"][0]
    return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}


AUTOMATION = """query ($repositorySelector: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repositorySelector) {... on Sensors {results {name sensorState {status}}}}
  schedulesOrError(repositorySelector: $repositorySelector) {... on Schedules {results {name scheduleState {status}}}}
}"""


def automation(base: str) -> dict[str, str]:
    """Every sensor and schedule with its status as the UI's Automation page shows it (RUNNING, STOPPED)."""
    data = graphql(base, AUTOMATION, {"repositorySelector": repository(base)})
    sensors = {s["name"]: s["sensorState"]["status"] for s in data["sensorsOrError"]["results"]}
    schedules = {s["name"]: s["scheduleState"]["status"] for s in data["schedulesOrError"]["results"]}
    return {**sensors, **schedules}
