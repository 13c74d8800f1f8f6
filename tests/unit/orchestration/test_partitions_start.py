"""The marts' daily partitions start at the first day of data (the business date of the earliest
event in the lake), not at a fixed date long before it that every mart then shows as missing;
IMAGIFY_PARTITIONS_START overrides it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.lake_fixture import table_rows, write_batch

from foundation import config
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
    partitions then start at the first day of the recent data, not 740,000 days back, nor at the
    MAX_HISTORY_DAYS clamp: every build planned and materialized each of them (731 partitions x 13
    marts: 9 min a build on a slow machine). And the next incremental build labels the recent dates
    only, although the old event is pending too."""
    import json
    import uuid

    from orchestration.defs.warehouse.pending import incremental_range, pending_business_dates

    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    records = list(Simulator(users=5, days=2, seed=3, end=end).records())
    old = json.loads(records[0])
    # year 1700: the fixture's writer (pandas, nanosecond timestamps) cannot hold year 1
    old.update(event_id=str(uuid.uuid4()), occurred_at="1700-01-01T00:00:00Z")
    write_batch(tmp_path, [*records, json.dumps(old)], end - timedelta(hours=1))
    settings = _settings(tmp_path, monkeypatch)
    today = business_today(settings)
    keys = business_daily_partitions(settings).get_partition_keys()
    assert len(keys) <= 4, keys  # two days of traffic (three business dates at most) and today
    assert keys[-1] == today.isoformat()
    pending = pending_business_dates(settings)
    assert pending[0].year == 1699 or pending[0].year == 1700  # business time zone east of UTC
    first, last, n_dates = incremental_range(settings)
    assert (first, last) == (keys[0], pending[-1].isoformat())
    assert n_dates == len(pending)


def test_an_old_cluster_of_data_before_a_long_gap_has_no_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay of an old export (events 100 days back), then a month of nothing, then traffic:
    the partitions start at the traffic. Gaps of up to MAX_GAP_DAYS do not cut the history."""
    import json
    import uuid

    from orchestration.defs.warehouse.partitions import MAX_GAP_DAYS, latest_run

    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    records = list(Simulator(users=5, days=2, seed=4, end=end).records())
    base = json.loads(records[0])
    stamps = [(end - timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%SZ") for d in (100, 99, 98)]
    old = [json.dumps({**base, "event_id": str(uuid.uuid4()), "occurred_at": t}) for t in stamps]
    write_batch(tmp_path, [*records, *old], end - timedelta(hours=1))
    settings = _settings(tmp_path, monkeypatch)
    keys = business_daily_partitions(settings).get_partition_keys()
    assert date.fromisoformat(keys[0]) > business_today(settings) - timedelta(days=5), keys[:3]

    d = date.fromisoformat("2026-01-01")
    assert latest_run([]) == []
    assert latest_run([d]) == [d]
    gap = d + timedelta(days=MAX_GAP_DAYS)
    assert latest_run([gap, d, d]) == [d, gap]  # a gap of exactly MAX_GAP_DAYS keeps the history
    far = gap + timedelta(days=MAX_GAP_DAYS + 1)
    assert latest_run([d, gap, far, far + timedelta(days=1)]) == [far, far + timedelta(days=1)]
