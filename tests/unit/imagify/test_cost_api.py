"""imagify cost --api: the generation API stack's bill, each driver on hand-computed cases, the sizes as
`imagify deploy --api` passes them, Bedrock at the catalog's prices, and the README's table = the
command's output."""

from __future__ import annotations

import json

import pytest
from support.paths import REPO_ROOT as REPO

from foundation import config
from generation_service import catalog
from imagify import cost, cost_api
from imagify.cli import main
from unit.imagify.test_cost import dollars


def one_month_sample(events: list[tuple[str, dict]]) -> cost.Sample:
    """A sample of one user over one month (per_user_month is the identity), of these events."""
    sample = cost.Sample(users=1, days=cost.HOURS_PER_MONTH / 24, seed=0, records=1, busiest_hour=1)
    sample.events = [{"event_type": kind, "properties": json.dumps(props)} for kind, props in events]
    return sample


def traffic(**counts: float) -> cost_api.Traffic:
    base = dict(sessions=0, signups=0, generations=0, images=0, downloads=0, payments=0, bedrock_usd=0, peak_factor=1.0)
    return cost_api.Traffic(**{**base, **counts})


def test_fargate_is_vcpu_and_memory_hours() -> None:
    lines = cost_api.fargate(tasks=2, vcpu=0.5, gb=1, hours=730, what="API tasks")
    assert [round(line.dollars, 4) for line in lines] == [
        round(2 * 0.5 * 730 * 0.04048, 4),
        round(2 * 730 * 0.004445, 4),
    ]


def test_tasks_cover_the_busiest_hour_never_below_the_minimum() -> None:
    params = {"ApiMinTasks": "2", "WorkerMinTasks": "1", "GenerationWorkers": "8"}
    assert cost_api.task_counts(params, traffic(), 730) == (2, 1)
    # 730 h x 3,600 s: 2,628,000 s; 26,280,000 images x 10 s / 2,628,000 s = 100 images in flight x peak 2
    # = 200 threads: 25 tasks of 8; requests: 3 a generation, 26,280,000 / 2,628,000 x 2 = 20/s: 2 tasks
    t = traffic(images=26_280_000, generations=8_760_000, peak_factor=2.0)
    assert cost_api.task_counts(params, t, 730) == (2, 25)
    # 200 req/s a task: 3 x 175,200,000 / 2,628,000 x 2 = 400/s: 2 tasks; 4 x that: 8
    assert cost_api.task_counts(params, traffic(generations=4 * 175_200_000, peak_factor=2.0), 730)[0] == 8


def test_load_balancer_bills_its_largest_dimension() -> None:
    # 90,000 requests an hour = 25/s new connections: 1 LCU; 2 KB each = 0.17 GB/h; active: small
    t = traffic(generations=30_000 * 730)
    assert cost_api.lcu_hours(t, 730) == pytest.approx(730)
    # 5 M sessions of 600 s in 730 h: 1,141 active WebSockets, 0.38 LCU, more than the requests' 0.2
    t = traffic(sessions=5_000_000)
    assert cost_api.lcu_hours(t, 730) == pytest.approx(5_000_000 * 600 / (730 * 3600) / 3000 * 730)


def test_dynamodb_units_storage_and_replicas() -> None:
    t = traffic(generations=1_000_000, sessions=100_000)
    lines = cost_api.dynamodb(t, replicas=0, hours=730)
    wru = 1_000_000 * 23 + 100_000 * 4
    assert dollars(lines, "write request units") == pytest.approx(wru / 1e6 * 0.625)
    assert dollars(lines, "read request units") == pytest.approx((8_000_000 + 300_000) / 1e6 * 0.125)
    assert dollars(lines, "storage") == pytest.approx(1_000_000 * 3 / 1024**2 * 0.25)
    replicated = cost_api.dynamodb(t, replicas=2, hours=730)
    assert dollars(replicated, "replicated writes") == pytest.approx(2 * wru / 1e6 * 0.625)


def test_bedrock_bills_each_completed_image_at_its_models_catalog_price() -> None:
    sample = one_month_sample(
        [
            ("generation_requested", {}),
            ("generation_requested", {}),
            ("generation_requested", {}),
            ("generation_completed", {"model": "amazon.nova-canvas-v1:0", "n_images": 2}),
            ("generation_completed", {"model": "stability.sd3-5-large-v1:0", "n_images": 1}),
            ("generation_failed", {"model": "amazon.titan-image-generator-v2:0"}),
        ]
    )
    t = cost_api.traffic(sample, users=1, hours=730)
    nova, sd = catalog.MODELS["amazon.nova-canvas-v1:0"], catalog.MODELS["stability.sd3-5-large-v1:0"]
    assert (t.generations, t.images) == (3, 3)
    assert t.bedrock_usd == pytest.approx(2 * nova.cost_usd + sd.cost_usd)
    assert cost_api.traffic(sample, users=1000, hours=730).bedrock_usd == pytest.approx(1000 * t.bedrock_usd)


@pytest.mark.usefixtures("clean_env")
def test_sizes_are_the_template_as_deploy_passes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    params, resources = cost_api.api_stack(config.load())
    assert (params["ApiMinTasks"], params["GenerationWorkers"]) == ("2", "2")  # template default; the setting's
    assert cost_api.alarm_metrics(resources) == 3 + 1 + 1 + 1 + 2  # 5xx (3 metrics), p99, age, DLQ, throttles
    sample = cost.measure(users=30, days=2)
    monkeypatch.setenv("IMAGIFY_GENERATION_WORKERS", "8")
    eight = cost_api.estimate(config.load(), 100_000, sample)
    monkeypatch.setenv("IMAGIFY_GENERATION_WORKERS", "2")
    two = cost_api.estimate(config.load(), 100_000, sample)
    assert dollars(two.lines, "worker tasks") > dollars(eight.lines, "worker tasks")  # fewer threads, more tasks
    monkeypatch.setenv("IMAGIFY_API_REPLICA_REGIONS", "us-west-2")
    assert dollars(cost_api.estimate(config.load(), 1000, sample).lines, "replicated writes") > 0
    # the analytics estimate counts its own templates' keys and alarms, not the API stack's
    dep = cost.deployment(config.load())
    assert "api.yaml" in dep.parameters and dep.resource_types["AWS::KMS::Key"] == 1


@pytest.mark.usefixtures("clean_env")
def test_readme_api_table_is_the_commands_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["cost", "--api", "--users", "1000", "--users", "100000", "--users", "1000000", "--markdown"]
    assert main(argv) == 0
    table = capsys.readouterr().out.strip()
    assert table.startswith("| service |") and "| Bedrock |" in table
    readme = (REPO / "README.md").read_text()
    assert table in readme, f"README's API cost table differs: paste `imagify {' '.join(argv)}` into it"
