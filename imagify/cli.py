"""``imagify``: one command-line tool for the whole pipeline. Run ``imagify COMMAND --help``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from foundation import config

if TYPE_CHECKING:
    from dashboards.local.app import Extension

log = logging.getLogger("imagify")

EPILOG = """\
the pipeline, in order:
  imagify simulate --users 200 --days 7      publish synthetic traffic to the stream
  imagify ingest events.jsonl                or publish your own JSON Lines file(s)
  imagify land --until-idle                  Flink: validate, dedup, write the lake, stop
  imagify build                              Dagster + dbt: staging and marts, with tests
  imagify demo                               all of the above on 2,000 users x 30 days
  imagify serve                              the generation API (emits the events it serves)
  imagify dashboards serve                   the business dashboards in the browser

all local state lives under $IMAGIFY_HOME (default ./.imagify); see foundation/config.py for every
environment variable and its default.
"""


def _settings() -> config.Settings:
    return config.load()


# -- ingest -------------------------------------------------------------------------------------
def _lines(stream: BinaryIO) -> Iterator[bytes]:
    for line in stream:
        yield line[:-1] if line.endswith(b"\n") else line


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingestion.segment_log import StreamWriteError
    from ingestion.streams import open_producer

    settings = _settings()
    t0 = time.monotonic()
    total = 0
    name, n = "", 0
    try:
        with open_producer(settings) as producer:
            for name in args.files:
                n = 0
                if name == "-":
                    source: BinaryIO = sys.stdin.buffer
                    for line in _lines(source):
                        n += 1
                        producer.put(line)
                else:
                    path = Path(name)
                    if not path.is_file():
                        print(f"imagify ingest: {name}: no such file", file=sys.stderr)
                        return 2
                    with open(path, "rb") as fh:
                        for line in _lines(fh):
                            n += 1
                            producer.put(line)
                total += n
                print(f"{name}: published {n:,} records", file=sys.stderr)
    except StreamWriteError as err:
        done = max(0, n - err.not_written)
        print(
            f"imagify ingest: {err}\n{name}: the first {done:,} lines are published; re-send from line {done + 1:,} "
            f"(e.g. tail -n +{done + 1} {name} | imagify ingest -)",
            file=sys.stderr,
        )
        return 1
    secs = time.monotonic() - t0
    rate = total / secs if secs > 0 else 0.0
    print(f"published {total:,} records to stream '{settings.stream_name}' in {secs:.1f}s ({rate:,.0f}/s)")
    return 0


# -- simulate -----------------------------------------------------------------------------------
def _simulate(settings: config.Settings, users: int, days: float, seed: int | None, out: str | None):  # type: ignore[no-untyped-def]
    import random

    from ingestion.simulator import Simulator
    from ingestion.streams import open_producer

    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    sim = Simulator(users=users, days=days, seed=seed)
    t0 = time.monotonic()
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            for rec in sim.records():
                fh.write(rec + "\n")
    else:
        with open_producer(settings) as producer:
            for rec in sim.records():
                producer.put(rec)
    st = sim.stats
    where = out or f"stream '{settings.stream_name}'"
    print(
        f"simulated {users:,} users x {days:g} days (seed {seed}): {st.records:,} records to {where} "
        f"in {time.monotonic() - t0:.1f}s — {st.events:,} distinct events, {st.duplicates:,} re-sent "
        f"duplicates, {st.malformed:,} malformed; {st.payments_succeeded:,} payments, "
        f"{st.revenue_vnd:,} VND"
    )
    return sim


def cmd_simulate(args: argparse.Namespace) -> int:
    _simulate(_settings(), args.users, args.days, args.seed, args.out)
    return 0


# -- land ---------------------------------------------------------------------------------------
def cmd_land(args: argparse.Namespace) -> int:
    from imagify.landing import LandingError, land

    settings = _settings()
    try:
        res = land(settings, until_idle=args.until_idle, stall_timeout_s=args.stall_timeout)
    except LandingError as err:
        print(f"imagify land: {err}", file=sys.stderr)
        return 1
    print(
        f"landed {res.records:,} records: {res.events_per_second:,.0f} records/s while reading; "
        f"{res.seconds_running:.1f}s until committed, {res.seconds_total:.1f}s with JVM start and savepoint"
    )
    print(f"lake: {settings.lake_dir}   savepoint: {res.savepoint}")
    return 0


# -- build --------------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace) -> int:
    from imagify.build import build, parse_dates

    settings = _settings()
    try:
        first, last = parse_dates(args.from_date, args.to_date)
        res = build(settings, first, last)
    except (ValueError, RuntimeError) as err:
        print(f"imagify build: {err}", file=sys.stderr)
        return 2
    status = "succeeded" if res.success else "FAILED"
    what = res.job_name
    if res.partition_range:
        what += f" for business dates {res.partition_range[0]}..{res.partition_range[1]}"
    print(f"build {status} in {res.seconds:.1f}s — {what}, Dagster run {res.run_id}")
    print(f"DAGSTER_HOME={settings.dagster_home}")
    if not res.success:
        print(f"failed steps: {', '.join(res.failed_steps) or 'see the run in `imagify ui`'}", file=sys.stderr)
        for c in res.failed_checks:
            print(f"failed check: {c}", file=sys.stderr)
        return 1
    print(f"warehouse: {settings.warehouse_path}")
    return 0


# -- demo ---------------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from imagify.build import build
    from imagify.landing import LandingError, land
    from imagify.summary import print_summary

    settings = _settings()
    t0 = time.monotonic()
    print(f"==> 1/3 simulate {args.users:,} users x {args.days:g} days into {settings.stream_dir}")
    _simulate(settings, args.users, args.days, args.seed, None)
    print("==> 2/3 land with the Flink job (until idle)")
    try:
        res = land(settings, until_idle=True)
    except LandingError as err:
        print(f"imagify demo: {err}", file=sys.stderr)
        return 1
    print(
        f"landed {res.records:,} records: {res.events_per_second:,.0f} records/s while reading; "
        f"{res.seconds_running:.1f}s until committed, {res.seconds_total:.1f}s with JVM start and savepoint"
    )
    print("==> 3/3 build the warehouse (Dagster job: dbt models + tests)")
    b = build(settings)
    if not b.success:
        print(f"imagify demo: build failed ({', '.join(b.failed_steps)})", file=sys.stderr)
        return 1
    print(f"build succeeded in {b.seconds:.1f}s (Dagster run {b.run_id})")
    print_summary(settings, land_rate=res.events_per_second, elapsed=time.monotonic() - t0)
    return 0


# -- dagster-dev --------------------------------------------------------------------------------
def cmd_dagster_dev(args: argparse.Namespace) -> int:
    from imagify.build import prepare_dagster_home

    settings = _settings()
    prepare_dagster_home(settings)
    env = settings.env_for_children()
    exe = Path(sys.executable).parent / "dagster"
    cmd = [str(exe), "dev", "-m", "orchestration.definitions", "-p", str(args.port)]
    print(f"Dagster UI on http://127.0.0.1:{args.port}  (DAGSTER_HOME={settings.dagster_home})")
    os.chdir(config.REPO_ROOT)
    os.execve(str(exe), cmd, env)
    return 0  # not reached


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imagify",
        description="Imagify Analytics: event stream → Flink landing → dbt marts, orchestrated by Dagster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser(
        "ingest",
        help="publish JSON Lines files to the stream, one record per line, as-is",
        description="Publish each line of the given JSON Lines files as one record to the configured stream "
        "(IMAGIFY_STREAM under $IMAGIFY_HOME/stream). Lines are never dropped or repaired: a line that is "
        "not JSON or breaks the contract is published too, and landing quarantines it with a reason.",
        epilog="example: imagify ingest day1.jsonl day2.jsonl;  cat x.jsonl | imagify ingest -",
    )
    s.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines file, or - for standard input")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser(
        "land",
        help="run the Flink landing job (stream → validated, deduplicated lake)",
        description="Run the PyFlink landing job on a local mini-cluster (in .venv-flink). It validates every "
        "record against the event contract, quarantines rejects with a reason, drops repeats of an event_id, "
        "and writes the lake under $IMAGIFY_HOME/lake partitioned by landing date/hour, committed on "
        "checkpoints. It resumes from its last savepoint or checkpoint: nothing is landed twice. Without "
        "--until-idle it runs until Ctrl-C, which stops it cleanly with a savepoint.",
    )
    s.add_argument(
        "--until-idle",
        action="store_true",
        help="exit once every record published before this command started is landed and committed",
    )
    s.add_argument(
        "--stall-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="with --until-idle: fail if nothing lands for S seconds (default 300)",
    )
    s.set_defaults(func=cmd_land)

    s = sub.add_parser(
        "build",
        help="run the Dagster job that builds the dbt models and runs their tests",
        description="Run the Dagster job `build_warehouse`: dbt build of staging, intermediate and marts on "
        "the configured target (IMAGIFY_DBT_TARGET, default local = DuckDB at $IMAGIFY_HOME/warehouse.duckdb), "
        "with dbt tests as asset checks. The run is recorded in DAGSTER_HOME; `make dagster-dev` shows it. "
        "Without dates it is the incremental build (what the new events touch); with --from/--to it "
        "recomputes exactly those business dates of every mart (a backfill, job `backfill_marts`; dbt vars "
        "from_date/to_date), after staging the new events and catching the marts up with them.",
        epilog="examples: imagify build;  imagify build --from 2026-09-01 --to 2026-09-07",
    )
    s.add_argument("--from", dest="from_date", metavar="DATE", help="first business date to rebuild (YYYY-MM-DD)")
    s.add_argument("--to", dest="to_date", metavar="DATE", help="last business date to rebuild, inclusive")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser(
        "simulate",
        help="publish realistic synthetic traffic (with duplicates and malformed records)",
        description="Publish synthetic Imagify traffic of the contract: sign-ups, logins, generations with "
        "long-tailed prompts over several Bedrock models, failures, downloads, VNPAY payments in VND, "
        "low-credit warnings, with event times over the past D days, plus ~1.5%% re-sent duplicates and "
        "~0.5%% malformed records.",
    )
    s.add_argument("--users", type=int, required=True, metavar="N", help="number of users")
    s.add_argument("--days", type=float, required=True, metavar="D", help="days of history, ending now")
    s.add_argument("--seed", type=int, default=None, metavar="S", help="random seed (default: random)")
    s.add_argument("--out", metavar="FILE", help="write JSON Lines to FILE instead of publishing")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser(
        "demo",
        help="simulate → land → build, then print a summary",
        description="The whole pipeline on synthetic data: simulate (default 2,000 users x 30 days), land "
        "with Flink until idle, build with Dagster+dbt, then print events landed, rejected, mart row counts, "
        "top prompt terms, revenue by day and where the outputs are.",
    )
    s.add_argument("--users", type=int, default=2000, metavar="N", help="users to simulate (default 2000)")
    s.add_argument("--days", type=float, default=30, metavar="D", help="days of history (default 30)")
    s.add_argument("--seed", type=int, default=None, metavar="S", help="random seed (default: random)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser(
        "dagster-dev",
        help="open the Dagster UI on the same DAGSTER_HOME as `imagify build`",
        description="Run `dagster dev -m orchestration.definitions` with this installation's settings "
        "(IMAGIFY_HOME, DAGSTER_HOME), so the UI shows the assets, their checks and every run that "
        "`imagify build` made.",
    )
    s.add_argument("--port", type=int, default=3000, help="port of the web UI (default 3000)")
    s.set_defaults(func=cmd_dagster_dev)

    from generation_service.serve import add_parsers as add_api_parsers  # issue 4: serve, fake-vnpay

    add_api_parsers(sub)
    # issue 5 (AWS production path): command logic lives in the modules named here
    from imagify import deploy, stream_cli

    stream_cli.add_parser(sub)
    deploy.add_parser(sub)
    from imagify import dagster_cli

    s = sub.add_parser(
        "status",
        help="one screen: landing lag, lake, last runs, failing checks, stale marts, alerts",
        description="Summarize the platform from the lake files and the Dagster instance: the Flink landing job "
        "(state, records behind the stream, last checkpoint), the lake's committed partitions, the last runs, "
        "every failing asset check (GX, dbt, freshness) with its reason, marts older than their freshness limit, "
        "and the latest alerts. Exit status 1 when something needs attention.",
    )
    s.set_defaults(func=dagster_cli.cmd_status)

    s = sub.add_parser(
        "ui",
        help="Dagster UI (dagster dev) on this installation, with the demo's data",
        description="Run `dagster dev -m orchestration.definitions` on this installation's DAGSTER_HOME: the asset "
        "graph from the stream to the dashboards, checks, runs, sensors, schedules and backfills. With "
        "--demo-data (what `make dagster` uses) it first runs `imagify demo` if nothing has been built yet.",
    )
    s.add_argument("--port", type=int, default=3000, help="port of the web UI (default 3000)")
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    s.add_argument("--demo-data", action="store_true", help="run `imagify demo` first when the warehouse is empty")
    s.add_argument(
        "--paused",
        action="store_true",
        help="start the sensors and schedules paused (IMAGIFY_AUTOMATION_PAUSED): nothing runs until you launch it "
        "or switch automation on in the UI's Automation page; those you switched on before stay on",
    )
    s.set_defaults(func=dagster_cli.cmd_ui)
    from dashboards.cli import add_parser as add_dashboards_parser  # imagify dashboards serve|export|check|publish

    add_dashboards_parser(sub, extensions=_live_view)  # the live view at /live/ of imagify dashboards serve
    from imagify.realtime_cli import add_parser as add_realtime_parser

    add_realtime_parser(sub)
    from imagify import replay  # issue 9: imagify replay --from-quarantine | --lake FROM TO

    replay.add_parser(sub)
    from imagify.privacy_cli import add_parsers as add_privacy_parsers  # issue 9: privacy expire-prompts, forget

    add_privacy_parsers(sub)
    from imagify import lake_cli  # imagify lake migrate (JSON Lines lake → Parquet)

    lake_cli.add_parser(sub)
    from imagify import cost, smoke_aws  # issue 16: imagify cost, imagify smoke-aws

    cost.add_parser(sub)
    smoke_aws.add_parser(sub)
    return p


def _live_view(settings: config.Settings) -> list[Extension]:
    """The real-time live view as a page of the dashboards app (imported when the app is served, not at
    every command's start)."""
    from realtime.live.server import dashboard_extension

    return [dashboard_extension(settings)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    for handler in logging.getLogger().handlers:  # libraries (dagster) set their own loggers to INFO
        handler.setLevel(level)
    try:
        return int(args.func(args) or 0)
    except ValueError as err:  # configuration errors
        print(f"imagify: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
