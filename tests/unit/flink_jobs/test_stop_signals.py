"""Ctrl-C / SIGTERM in `imagify land` and `imagify realtime`: the first asks for a stop with a savepoint
(said once on stderr), the handlers before the launcher come back afterwards."""

from __future__ import annotations

import os
import signal

import pytest

from flink_jobs.local_process import StopSignals


def test_the_first_signal_asks_to_stop_and_the_previous_handlers_come_back(capsys: pytest.CaptureFixture[str]) -> None:
    def before(signum: int, frame: object) -> None:
        raise AssertionError("the launcher's handler should answer while installed")

    old_int, old_term = signal.signal(signal.SIGINT, before), signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        stop = StopSignals("landing").install()
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        os.kill(os.getpid(), signal.SIGTERM)  # a second signal: still one message, no exit
        assert capsys.readouterr().err.count("stopping the landing job with a savepoint") == 1
        stop.restore()
        assert signal.getsignal(signal.SIGINT) is before and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        stop.restore()  # twice: harmless
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
