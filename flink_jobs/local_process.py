"""The launcher's side of a local Flink job (``imagify land``, ``imagify realtime``): the ``.venv-flink``
interpreter and environment the job runs in, waiting for it to run, stopping it with a savepoint, what it
reported when it failed, and the state kept afterwards. The job's side of the control directory is
:mod:`flink_jobs.job_control`; each launcher passes its own job name and error class."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from foundation.config import REPO_ROOT, Settings


def flink_python(settings: Settings, error: type[Exception]) -> Path:
    """The interpreter of ``.venv-flink`` (``error`` when `make setup` has not created it)."""
    py = settings.flink_venv / "bin" / "python"
    if not py.exists():
        raise error(f"{py} not found: run `make setup` to create the Flink virtualenv")
    return py


def flink_env(settings: Settings, error: type[Exception]) -> dict[str, str]:
    """The environment of the job's process: the settings' variables, the repository and the venv on the path."""
    env = settings.env_for_children()
    py = flink_python(settings, error)
    site = subprocess.run(
        [str(py), "-c", "import site; print(site.getsitepackages()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # thread mode embeds CPython in the JVM (pemja): it needs the venv's site-packages on the path
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), site])
    env["FLINK_LOG_DIR"] = str(settings.flink_dir / "log")
    return env


class StopSignals:
    """Ctrl-C and SIGTERM ask the launcher to stop its job with a savepoint: the first says so on stderr
    and sets ``requested`` (the launcher's loop checks it), later ones are ignored. ``install`` replaces
    the process's handlers, ``restore`` puts the previous ones back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.requested = False
        self._previous: tuple = ()

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.requested:
            self.requested = True
            print(f"\nstopping the {self.name} job with a savepoint (wait) ...", file=sys.stderr, flush=True)

    def install(self) -> StopSignals:
        self._previous = (signal.signal(signal.SIGINT, self._on_signal), signal.signal(signal.SIGTERM, self._on_signal))
        return self

    def restore(self) -> None:
        if self._previous:
            signal.signal(signal.SIGINT, self._previous[0])
            signal.signal(signal.SIGTERM, self._previous[1])
            self._previous = ()


def wait_for_job(
    control: Path, proc: subprocess.Popen, job_log: Path, name: str, error: type[Exception], timeout_s: float = 180,
) -> dict:  # fmt: skip
    """The job's ``job.json`` once it runs (shared by ``imagify land`` and ``imagify realtime``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (control / "job.json").exists():
            return read_json(control / "job.json")
        if proc.poll() is not None:
            raise error(failure_message(control, job_log, name))
        time.sleep(0.2)
    raise error(f"the {name} job did not start within {timeout_s:.0f}s; see {job_log}")


def stop_job(control: Path, proc: subprocess.Popen, job_log: Path, name: str, error: type[Exception]) -> str | None:
    """Ask the job to stop with a savepoint and wait for it; the savepoint's path."""
    (control / "stop").touch()
    rc = proc.wait(timeout=300)
    res = read_json(control / "result.json")
    if rc != 0 or not res.get("ok"):
        raise error(failure_message(control, job_log, name))
    return res.get("savepoint")


def ensure_stopped(control: Path, proc: subprocess.Popen) -> None:
    """After an error or Ctrl-C: ask the job to stop (savepoint), then kill its process group if it hangs."""
    if proc.poll() is None:
        (control / "stop").touch()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def failure_message(control: Path, job_log: Path, name: str) -> str:
    """What the job reported in ``result.json`` and the last lines of its log."""
    res = read_json(control / "result.json")
    tail = ""
    if job_log.exists():
        lines = job_log.read_text(errors="replace").splitlines()
        tail = "\n".join(lines[-15:])
    return (
        f"{name} job failed: {res.get('error', 'process exited')}\n"
        f"--- last lines of {job_log} ---\n{tail}\n"
        f"(JVM logs: {job_log.parent})"
    )


def prune_old_checkpoints(flink_dir: Path, keep_savepoint: str | None) -> None:
    """Keep the newest savepoint; drop older savepoints and checkpoints of finished jobs."""
    import shutil

    if not keep_savepoint:
        return
    keep = Path(keep_savepoint.removeprefix("file:"))
    sp_dir = flink_dir / "savepoints"
    if sp_dir.is_dir():
        for p in sp_dir.iterdir():
            if p.resolve() != keep.resolve():
                shutil.rmtree(p, ignore_errors=True)
    cp_dir = flink_dir / "checkpoints"
    if cp_dir.is_dir():
        for p in cp_dir.iterdir():
            shutil.rmtree(p, ignore_errors=True)
