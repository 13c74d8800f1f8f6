"""``imagify stream tail`` on the local segment log and on Kinesis (moto)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto import mock_aws
from support.aws_helpers import create_stream, event, fake_credentials

from foundation import config
from imagify.cli import main
from imagify.stream_cli import parse_since, tail_kinesis
from ingestion.segment_log import SegmentLogProducer


def test_parse_since() -> None:
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert parse_since("10m", now) == now - timedelta(minutes=10)
    assert parse_since("1d", now) == now - timedelta(days=1)
    assert parse_since("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="--since"):
        parse_since("yesterday")


def test_tail_local_from_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_ENV", "local")
    sent = [event(i) for i in range(5)] + [b"not json"]
    with SegmentLogProducer(config.load().stream_dir) as p:
        p.put_many(sent)
    assert main(["stream", "tail", "--from-start", "--no-follow"]) == 0
    assert capsysbinary.readouterr().out.splitlines() == sent
    assert main(["stream", "tail", "--from-start", "--no-follow", "-n", "2", "--meta"]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 2
    meta, data = lines[0].split(b"\t", 1)
    assert data == sent[0] and json.loads(meta)["sequence"] == "1"
    # default: only records published from now on
    assert main(["stream", "tail", "--no-follow"]) == 0
    assert capsysbinary.readouterr().out == b""


def test_tail_kinesis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary) -> None:  # type: ignore[no-untyped-def]
    fake_credentials(monkeypatch)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_KINESIS_STREAM", "tail-test")
    with mock_aws():
        kinesis = create_stream("tail-test", shards=2)
        sent = [event(i) for i in range(30)]
        kinesis.put_records(StreamName="tail-test", Records=[{"Data": d, "PartitionKey": f"u{i}"}
                                                            for i, d in enumerate(sent)])
        assert main(["stream", "tail", "--from-start", "--no-follow", "--poll", "0.01"]) == 0
        assert sorted(capsysbinary.readouterr().out.splitlines()) == sorted(sent)
        assert main(["stream", "tail", "--from-start", "--no-follow", "--meta", "-n", "1", "--poll", "0.01"]) == 0
        meta = json.loads(capsysbinary.readouterr().out.split(b"\t", 1)[0])
        assert meta["where"].startswith("shardId-") and meta["partition_key"].startswith("u")

        # follow mode: starts at the newest record and prints what arrives after it
        settings = config.load()
        stop = threading.Event()
        got: list[bytes] = []
        it = tail_kinesis(settings, "latest", None, True, 0.01, stop, client=kinesis)
        first_poll = threading.Event()

        def reader() -> None:
            for rec in it:
                got.append(rec.data)
                if len(got) == 3:
                    stop.set()

        # open the iterators (LATEST) before publishing, as a person running tail -f would
        orig = kinesis.get_records

        def spy(**kw):  # type: ignore[no-untyped-def]
            first_poll.set()
            return orig(**kw)

        kinesis.get_records = spy
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        assert first_poll.wait(10)
        new = [event(100 + i) for i in range(3)]
        kinesis.put_records(StreamName="tail-test", Records=[{"Data": d, "PartitionKey": "k"} for d in new])
        t.join(10)
        assert sorted(got) == sorted(new)


def test_stream_status_and_drain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from support.aws_helpers import read_all

    from ingestion.disk_buffer import DiskBuffer
    from ingestion.kinesis_producer import partition_key_for

    fake_credentials(monkeypatch)
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path))
    monkeypatch.setenv("IMAGIFY_ENV", "aws")
    monkeypatch.setenv("IMAGIFY_KINESIS_STREAM", "drain-test")
    settings = config.load()
    buffered = [event(i) for i in range(40)]
    buf = DiskBuffer(settings.producer_spool_dir)  # as left by a producer during an outage
    buf.append([(d, partition_key_for(d)) for d in buffered])
    buf.close()
    with mock_aws():
        kinesis = create_stream("drain-test", shards=1)
        assert main(["stream", "status"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["producer_disk_buffer"]["pending_records"] == 40
        assert status["stream"]["StreamStatus"] == "ACTIVE"
        assert main(["stream", "drain", "--timeout", "20"]) == 0
        assert sorted(r["Data"] for r in read_all(kinesis, "drain-test")) == sorted(buffered)
    assert DiskBuffer(settings.producer_spool_dir).pending() == 0
