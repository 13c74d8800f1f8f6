"""The marts' daily partitions start at the first day of data (the business date of the earliest
event in the lake), not at a fixed date long before it that every mart then shows as missing;
IMAGIFY_PARTITIONS_START overrides it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lake_fixture import table_rows, write_batch

from imagify import config
from ingestion.simulator import Simulator
from orchestration.defs.warehouse.partitions import business_daily_partitions, business_today


def _settings(home: Path, monkeypatch: pytest.MonkeyPatch, start: str | None = None) -> config.Settings:
    monkeypatch.setenv("IMAGIFY_HOME", str(home))
    if start is None:
        monkeypatch.delenv("IMAGIFY_PARTITIONS_START", raising=False)
    else:
        monkeypatch.setenv("IMAGIFY_PARTITIONS_START", start)
    return config.load()


def test_partitions_start_at_the_business_date_of_the_earliest_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    write_batch(tmp_path, list(Simulator(users=20, days=6, seed=2, end=end).records()), end - timedelta(hours=1))
    settings = _settings(tmp_path, monkeypatch)
    tz = ZoneInfo(settings.business_tz)
    first = min(
        datetime.fromisoformat(str(r["occurred_at"])).replace(tzinfo=UTC).astimezone(tz).date()
        for r in table_rows(tmp_path, "events")
    )
    assert first < business_today(settings) - timedelta(days=4)
    keys = business_daily_partitions(settings).get_partition_keys()
    assert keys[0] == first.isoformat()
    assert keys[-1] == business_today(settings).isoformat()


def test_an_empty_lake_has_only_today(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path, monkeypatch)
    assert business_daily_partitions(settings).get_partition_keys() == [business_today(settings).isoformat()]


def test_partitions_start_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path, monkeypatch, "2026-01-15")
    assert business_daily_partitions(settings).get_partition_keys()[0] == "2026-01-15"
    with pytest.raises(ValueError, match="IMAGIFY_PARTITIONS_START must be a date"):
        _settings(tmp_path, monkeypatch, "15/01/2026")


def test_an_event_from_year_one_does_not_make_centuries_of_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract accepts any past timestamp: a device with a reset clock sends 0001-01-01. The
    partitions then start MAX_HISTORY_DAYS back, not 740,000 days back (every build planned and
    materialized each of them: the end-to-end build ran for over ten minutes)."""
    import json
    import uuid

    from orchestration.defs.warehouse.partitions import MAX_HISTORY_DAYS

    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    records = list(Simulator(users=5, days=2, seed=3, end=end).records())
    old = json.loads(records[0])
    # year 1700: the fixture's writer (pandas, nanosecond timestamps) cannot hold year 1
    old.update(event_id=str(uuid.uuid4()), occurred_at="1700-01-01T00:00:00Z")
    write_batch(tmp_path, [*records, json.dumps(old)], end - timedelta(hours=1))
    settings = _settings(tmp_path, monkeypatch)
    keys = business_daily_partitions(settings).get_partition_keys()
    assert keys[0] == (business_today(settings) - timedelta(days=MAX_HISTORY_DAYS)).isoformat()
    assert len(keys) == MAX_HISTORY_DAYS + 1
