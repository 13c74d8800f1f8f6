"""imagify cost: each driver's arithmetic on hand-computed cases, the deployed sizes from the templates and
deploy's parameters, and the README's table = the command's output (so the README cannot drift)."""

from __future__ import annotations

import pytest
from support.paths import REPO_ROOT as REPO

from foundation import config
from imagify import cost
from imagify.cli import main


def dollars(lines: list[cost.Line], item: str) -> float:
    return sum(line.dollars for line in lines if line.item.startswith(item))


def test_kinesis_shards_put_units_and_retention() -> None:
    lines = cost.kinesis(shards=2, retention_h=168, put_units=3_000_000, bytes_month=0, hours=730)
    assert dollars(lines, "shard-hours") == pytest.approx(2 * 730 * 0.015)  # 21.90
    assert dollars(lines, "PUT payload units") == pytest.approx(3 * 0.014)
    assert dollars(lines, "extended retention") == pytest.approx(2 * 730 * 0.02)  # 29.20
    assert not any(line.item.startswith("long-term") for line in lines)
    assert [line.item for line in cost.kinesis(1, 24, 0, 0, 730)] == ["shard-hours", "PUT payload units"]
    # 336 h: 168 h beyond 7 days of 1 GB an hour are stored on average: 168 GB-month
    long = cost.kinesis(1, 336, 0, 730 * cost.GB, 730)
    assert dollars(long, "long-term") == pytest.approx(168 * 0.023)


def test_flink_kpus_include_orchestration_and_storage() -> None:
    lines = cost.flink(parallelism=3, parallelism_per_kpu=2, hours=730)  # 2 KPUs + 1
    assert dollars(lines, "KPU-hours") == pytest.approx(3 * 730 * 0.11)
    assert dollars(lines, "running application storage") == pytest.approx(2 * 50 * 0.10)
    assert dollars(cost.flink(1, 1, 73), "KPU-hours") == pytest.approx(2 * 73 * 0.11)


def test_athena_bills_ten_megabytes_at_least_per_query() -> None:
    (line,) = cost.athena("x", [0, 20 * 1024**2], builds=10)
    assert line.dollars == pytest.approx((10 + 20) * 1024**2 * 10 / 1024**4 * 5)


def test_s3_glue_kms_cloudwatch_quicksight() -> None:
    s3 = cost.s3(stored_bytes=10 * cost.GB, puts=2000, gets=10_000, hours=730)
    assert [round(line.dollars, 4) for line in s3] == [0.23, 0.01, 0.004]
    glue = cost.glue(objects=1_200_000, requests=500_000, hours=730)
    assert [line.dollars for line in glue] == [pytest.approx(2.0), 0.0]
    assert sum(line.dollars for line in cost.kms(keys=1, requests=20_000, hours=730)) == pytest.approx(1.06)
    assert dollars(cost.cloudwatch(alarms=3, log_gb=0, log_retention_days=30, hours=730), "alarms") == \
        pytest.approx(0.30)
    assert sum(line.dollars for line in cost.quicksight(authors=2, readers=5, hours=730)) == pytest.approx(63)


def test_occupied_slots() -> None:
    assert cost.occupied(10, 0) == 0
    assert cost.occupied(10, 1e9) == pytest.approx(10)
    assert cost.occupied(1000, 1) == pytest.approx(1, rel=1e-3)  # one item fills one slot


def test_sizes_are_the_templates_as_deploy_passes_them(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGIFY_KINESIS_SHARDS", "3")
    monkeypatch.setenv("IMAGIFY_MSF_PARALLELISM", "2")
    monkeypatch.setenv("IMAGIFY_REALTIME_PARALLELISM", "3")
    dep = cost.deployment(config.load())
    assert dep.param("platform.yaml", "ShardCount") == "3"
    assert dep.param("flink-app.yaml", "Parallelism") == "2"
    assert dep.param("flink-app.yaml", "ParallelismPerKPU") == "1"  # deploy does not pass it: the template's
    assert dep.param("realtime-app.yaml", "Parallelism") == "3"
    assert dep.resource_types["AWS::KMS::Key"] == 1
    sample = cost.measure(users=20, days=2)
    lines = cost.estimate(config.load(), 1000, sample, dep=dep).lines
    assert dollars(lines, "shard-hours") == pytest.approx(3 * 730 * 0.015)
    # each application: its KPUs and one orchestration KPU (landing 2 + 1, real-time 3 + 1)
    assert dollars(lines, "KPU-hours, landing") == pytest.approx(3 * 730 * 0.11)
    assert dollars(lines, "KPU-hours, real-time") == pytest.approx(4 * 730 * 0.11)


def test_volume_is_measured_and_scales_with_users(clean_env: None) -> None:
    sample = cost.measure(users=50, days=3, seed=3)
    assert sample.records > len(sample.events) > 0 and sample.rejects
    assert sample.per_user_month(sample.records) == pytest.approx(sample.records / 50 * 730 / 24 / 3)
    settings = config.load()
    small, big = (cost.estimate(settings, n, sample) for n in (1000, 10_000))
    assert dollars(big.lines, "PUT payload units") == pytest.approx(10 * dollars(small.lines, "PUT payload units"))
    assert sample.parquet_bytes("events", 10) < sample.parquet_bytes("events", 100)


def test_builds_per_day_are_the_schedules() -> None:
    from foundation import config
    from orchestration.defs.warehouse import schedules

    hourly = [d.cron_schedule for d in schedules.build_schedules(config.load()) if d.job_name == "refresh_marts"]
    assert hourly == ["5 * * * *"]  # hourly: 24 a day
    assert cost.HOURLY_BUILDS_PER_DAY == 24
    assert schedules.DAILY_LOOKBACK_DAYS == cost.DAILY_LOOKBACK_DAYS


def test_readme_table_is_the_commands_output(clean_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--users", "1000", "--users", "100000", "--users", "1000000", "--markdown"]) == 0
    table = capsys.readouterr().out.strip()
    assert table.startswith("| service |")
    readme = (REPO / "README.md").read_text()
    assert table in readme, "README's cost table differs: paste `imagify cost --users 1000 --users 100000 " \
        "--users 1000000 --markdown` into the section Cost drivers"
