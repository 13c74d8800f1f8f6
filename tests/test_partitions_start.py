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
