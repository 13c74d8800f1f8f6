"""Local processes: whether one is still running (the segment log's crashed writers, the Flink jobs' temp dirs).

Hand-written rather than psutil: one ``kill(pid, 0)`` is all it takes, and neither virtualenv has psutil."""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True while a process with this id exists (also one of another user, which we may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
