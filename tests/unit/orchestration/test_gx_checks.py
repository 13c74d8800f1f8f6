"""The Great Expectations suites (dbt-free): each passes on good data and fails on a crafted bad
batch, saying why. The warehouse is a DuckDB file with the columns of the real relations."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from foundation import config
from ingestion.contract import validate_line
from ingestion.simulator import Simulator
from orchestration.defs.quality.checks import run_suite
from orchestration.defs.quality.suites import SUITES
from orchestration.defs.warehouse.resources import WarehouseResource

NOW = datetime(2026, 9, 20, 5, 0, tzinfo=UTC)  # business date 2026-09-20 (UTC+7)
TODAY = date(2026, 9, 20)
SUITE = {s.name: s for s in SUITES}


def _events_frame(users: int = 300, days: float = 10, seed: int = 5) -> pd.DataFrame:
    rows = []
    for line in Simulator(users=users, days=days, seed=seed, end=NOW - timedelta(minutes=1)).records():
        try:
            ev = validate_line(line)
        except Exception:  # noqa: BLE001 - the simulator's malformed records: not in staging
            continue
        p = ev.properties
        rows.append(
            {"event_id": ev.event_id, "event_type": ev.event_type, "schema_version": ev.schema_version,
             "user_id": ev.user_id, "occurred_at": ev.occurred_at.replace(tzinfo=None),
             "occurred_date": (ev.occurred_at + timedelta(hours=7)).date(), "model": p.get("model"),
             "latency_ms": p.get("latency_ms"), "amount_vnd": p.get("amount_vnd"),
             "credits_added": p.get("credits_added"), "landed_at": NOW.replace(tzinfo=None) - timedelta(minutes=30)}
        )  # fmt: skip
    return pd.DataFrame(rows).drop_duplicates("event_id")


def _revenue_frame(days: int = 35, spike_on: date | None = None) -> pd.DataFrame:
    rng = random.Random(7)
    rows = []
    for i in range(days):
        d = TODAY - timedelta(days=days - 1 - i)
        vnd = int(1_000_000 * rng.uniform(0.8, 1.2))
        if d == spike_on:
            vnd *= 40
        payments = rng.randint(8, 15)
        rows.append({"revenue_date": d, "payments": payments, "gross_revenue_vnd": vnd, "paying_users": payments - 2,
                     "new_paying_users": 3, "credits_sold": payments * 200})  # fmt: skip
    return pd.DataFrame(rows)


class Warehouse:
    """A DuckDB warehouse + manifest with the given relations."""

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "wh.duckdb"
        self.manifest = tmp / "manifest.json"
        self.nodes: dict[str, dict] = {}

    def put(self, schema: str, name: str, df: pd.DataFrame) -> None:
        con = duckdb.connect(str(self.path))
        try:
            con.execute(f"create schema if not exists {schema}")
            con.register("df", df)
            con.execute(f"create or replace table {schema}.{name} as select * from df")
        finally:
            con.close()
        self.nodes[f"model.t.{name}"] = {"resource_type": "model", "name": name, "relation_name": f"{schema}.{name}"}
        self.manifest.write_text(json.dumps({"nodes": self.nodes}))

    def resource(self) -> WarehouseResource:
        return WarehouseResource(target="local", duckdb_path=str(self.path), manifest_path=str(self.manifest))


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    monkeypatch.setenv("IMAGIFY_HOME", str(tmp_path / "home"))
    return config.load()


@pytest.fixture(scope="module")
def good_events() -> pd.DataFrame:
    return _events_frame()


def _run(name: str, wh: Warehouse, settings: config.Settings) -> tuple[bool, str, dict]:
    return run_suite(SUITE[name], wh.resource(), settings, now=NOW)


@pytest.mark.parametrize("name", ["events_batch", "model_latency", "event_volume"])
def test_staged_event_suites_pass_on_good_data(name: str, tmp_path: Path, settings, good_events) -> None:
    wh = Warehouse(tmp_path)
    wh.put("staging", "stg_events", good_events)
    passed, description, meta = _run(name, wh, settings)
    assert passed, description
    assert "skipped" not in meta, f"{name} must really run on ten days of traffic: {description}"


def test_events_batch_fails_on_duplicates_unknown_types_and_future_events(
    tmp_path: Path, settings, good_events
) -> None:
    bad = good_events.copy()
    bad.loc[bad.index[:3], "event_id"] = bad["event_id"].iloc[5]  # a repeated event_id
    bad.loc[bad.index[10], "event_type"] = "teleported"
    bad.loc[bad.index[11], "occurred_at"] = NOW.replace(tzinfo=None) + timedelta(days=3)
    wh = Warehouse(tmp_path)
    wh.put("staging", "stg_events", bad)
    passed, description, meta = _run("events_batch", wh, settings)
    assert not passed
    for why in ("expect_column_values_to_be_unique(event_id", "teleported", "hours_ahead"):
        assert why in description, description
    assert "**NO**" in meta["expectations"].value


def test_model_latency_fails_when_a_model_slows_down(tmp_path: Path, settings, good_events) -> None:
    bad = good_events.copy()
    slow = (bad["event_type"] == "generation_completed") & (bad["model"] == "amazon.nova-canvas-v1:0")
    bad.loc[slow, "latency_ms"] = 250_000  # p50 of 250 s: the model is in trouble
    wh = Warehouse(tmp_path)
    wh.put("staging", "stg_events", bad)
    passed, description, _ = _run("model_latency", wh, settings)
    assert not passed and "p50_latency_ms" in description and "p95_latency_ms" in description, description


def test_event_volume_fails_when_yesterday_dropped_by_more_than_half(tmp_path: Path, settings, good_events) -> None:
    yesterday = TODAY - timedelta(days=1)
    day = good_events[good_events["occurred_date"] == yesterday]
    bad = pd.concat([good_events[good_events["occurred_date"] != yesterday], day.iloc[: len(day) // 3]])
    wh = Warehouse(tmp_path)
    wh.put("staging", "stg_events", bad)
    passed, description, meta = _run("event_volume", wh, settings)
    assert not passed and "ratio_to_day_before" in description, description
    assert meta["ratio_to_day_before"] < 0.5


def _rejects(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"reason": ["not_json"] * n, "detail": [""] * n, "payload": ["{"] * n, "segment": ["s"] * n,
         "landed_at": [NOW.replace(tzinfo=None) - timedelta(minutes=20)] * n}
    )  # fmt: skip


def test_rejected_share_passes_below_and_fails_above_the_threshold(tmp_path: Path, settings, good_events) -> None:
    wh = Warehouse(tmp_path)
    wh.put("staging", "stg_events", good_events)
    wh.put("staging", "stg_rejected_events", _rejects(len(good_events) // 100))  # 1%
    passed, description, _ = _run("rejected_share", wh, settings)
    assert passed, description
    wh.put("staging", "stg_rejected_events", _rejects(len(good_events) // 5))  # ~17%
    passed, description, meta = _run("rejected_share", wh, settings)
    assert not passed and "rejected_share" in description, description
    assert meta["rejected_share"] > settings.max_rejected_share


@pytest.mark.parametrize("name", ["revenue_rules", "revenue_band"])
def test_revenue_suites_pass_on_good_data(name: str, tmp_path: Path, settings) -> None:
    wh = Warehouse(tmp_path)
    wh.put("marts", "revenue_daily", _revenue_frame())
    passed, description, meta = _run(name, wh, settings)
    assert passed and "skipped" not in meta, description


def test_revenue_band_fails_on_a_spike(tmp_path: Path, settings) -> None:
    wh = Warehouse(tmp_path)
    wh.put("marts", "revenue_daily", _revenue_frame(spike_on=TODAY - timedelta(days=2)))
    passed, description, meta = _run("revenue_band", wh, settings)
    assert not passed and "ratio_to_median" in description, description
    assert meta["history_days"] >= 14


def test_revenue_rules_fail_on_a_future_date(tmp_path: Path, settings) -> None:
    df = _revenue_frame()
    df.loc[df.index[-1], "revenue_date"] = TODAY + timedelta(days=3)
    wh = Warehouse(tmp_path)
    wh.put("marts", "revenue_daily", df)
    passed, description, _ = _run("revenue_rules", wh, settings)
    assert not passed and "days_after_today" in description and "2026-09-23" not in description.split("—")[0]


def test_revenue_band_is_not_applicable_without_history(tmp_path: Path, settings) -> None:
    wh = Warehouse(tmp_path)
    wh.put("marts", "revenue_daily", _revenue_frame(days=10))
    passed, description, meta = _run("revenue_band", wh, settings)
    assert passed and "no band yet" in meta["skipped"], description


def test_mart_suites_of_the_coming_marts(tmp_path: Path, settings) -> None:
    """The suites for marts the dbt project is getting: good rows pass, a broken row fails."""
    d = [TODAY - timedelta(days=i) for i in range(3)]
    cases = {
        "activity_rules": ("user_activity_daily", pd.DataFrame(
            {"activity_date": d, "dau": [10, 12, 9], "wau": [40, 41, 39], "mau": [90, 91, 92], "new_users": [1, 2, 0]}
        ), ("wau", 5)),
        "model_usage_rules": ("model_usage_daily", pd.DataFrame(
            {"activity_date": d, "model": ["m"] * 3, "completed": [30, 40, 50], "failed": [1, 2, 3],
             "cost_usd": [1.0, 2.0, 3.0], "p50_latency_ms": [4000, 4100, 4200],
             "p95_latency_ms": [9000, 9100, 9200], "failure_rate": [0.03, 0.05, 0.06]}
        ), ("failure_rate", 1.7)),
        "funnel_rules": ("conversion_funnel", pd.DataFrame(
            {"signup_date": d, "signed_up": [10, 10, 10], "generated": [7, 8, 9], "paid": [1, 2, 3]}
        ), ("paid", 11)),
        "retention_rules": ("retention_weekly", pd.DataFrame(
            {"cohort_week": [d[0]] * 3, "week_number": [0, 1, 2], "cohort_size": [10] * 3,
             "active_users": [10, 5, 3], "retention_rate": [1.0, 0.5, 0.3]}
        ), ("retention_rate", 1.5)),
        "prompt_terms_rules": ("prompt_terms_daily", pd.DataFrame(
            {"activity_date": d, "term": ["cat", "sunset", "dragon"], "generations": [5, 4, 3], "users": [2, 2, 1]}
        ), ("term", "nguyen@example")),
    }  # fmt: skip
    for name, (model, df, (col, bad_value)) in cases.items():
        wh = Warehouse(tmp_path / name)
        (tmp_path / name).mkdir()
        wh.put("marts", model, df)
        passed, description, _ = _run(name, wh, settings)
        assert passed, f"{name}: {description}"
        bad = df.copy()
        bad[col] = bad[col].astype(object)
        bad.loc[bad.index[0], col] = bad_value
        wh.put("marts", model, bad)
        passed, description, _ = _run(name, wh, settings)
        assert not passed and col in description, f"{name}: {description}"


def test_checks_read_the_warehouse_they_open_whatever_database_the_manifest_names(
    tmp_path: Path, settings, good_events
) -> None:
    """The checkout's manifest may have been parsed last for another warehouse file (its database is that
    file's name): the checks still query the DuckDB file of their settings."""
    wh = Warehouse(tmp_path)
    wh.put("staging", "stg_events", good_events)
    wh.nodes["model.t.stg_events"].update(
        database="full", schema="staging", alias="stg_events", relation_name='"full"."staging"."stg_events"'
    )
    wh.manifest.write_text(json.dumps({"nodes": wh.nodes}))
    passed, description, _ = _run("events_batch", wh, settings)
    assert passed, description
