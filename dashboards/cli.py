"""``imagify dashboards ...``: serve, export, check, publish (wired into imagify/cli.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from foundation import config

if TYPE_CHECKING:
    from dashboards.local.app import Extension

# Pages of other packages the served app shows beside the dashboards (the live view): given by the
# command line, which may import them (imagify/cli.py); the dashboards import no package above them.
Extensions = Callable[[config.Settings], Sequence["Extension"]]

EPILOG = """\
the dashboards are defined once, in dashboards/definitions/*.yml, and used twice:
  imagify dashboards serve                  browse them locally, from the DuckDB marts (and the live
                                            view of `imagify realtime` at /live/)
  imagify dashboards export --out shots/    PNG and PDF of each (headless Chromium)
  imagify dashboards check                  validate definitions + QuickSight requests offline
  imagify dashboards publish --dry-run      write the QuickSight API requests as JSON
  imagify dashboards publish                create/update them in QuickSight and publish
"""


def _dashboards(ids: list[str] | None):  # type: ignore[no-untyped-def]
    from dashboards import spec

    all_dash = spec.load_all()
    if not ids:
        return all_dash
    known = {d.id: d for d in all_dash}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown dashboard(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[i] for i in ids]


def _warehouse(args: argparse.Namespace, settings: config.Settings) -> Path:
    return Path(args.warehouse).resolve() if args.warehouse else settings.warehouse_path


def cmd_serve(args: argparse.Namespace) -> int:
    from dashboards.local.server import serve

    settings = config.load()
    warehouse = _warehouse(args, settings)
    _dashboards(None)  # fail now on a broken definition
    host = args.host or settings.dashboards_host
    port = args.port or settings.dashboards_port
    if not warehouse.is_file():
        print(f"note: no warehouse yet at {warehouse} (run `imagify demo`); pages will say so", file=sys.stderr)
    extensions = list(args.extensions(settings)) if getattr(args, "extensions", None) else []
    pages = "".join(f", {e.title.lower()} view at http://{host}:{port}{e.path}/" for e in extensions)
    print(f"dashboards on http://{host}:{port}/{pages}  (warehouse {warehouse}, read-only; Ctrl-C stops)")
    serve(warehouse, host, port, extensions=extensions)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from urllib.parse import urlencode

    from dashboards.local.export import ChromiumMissing, find_chromium, snapshot
    from dashboards.local.server import background_server

    settings = config.load()
    warehouse = _warehouse(args, settings)
    if not warehouse.is_file():
        print(f"imagify dashboards export: no warehouse at {warehouse}; run `imagify demo` first", file=sys.stderr)
        return 1
    try:
        chromium = find_chromium(settings.chromium)
    except ChromiumMissing as err:
        print(f"imagify dashboards export: {err}", file=sys.stderr)
        return 1
    dashboards = _dashboards(args.dashboard)
    out = Path(args.out).resolve() if args.out else settings.home / "snapshots"
    params = {k: v for k, v in (("date_from", args.date_from), ("date_to", args.date_to)) if v}
    t0 = time.monotonic()
    with background_server(warehouse) as url:
        formats = ("png", "pdf") if args.format == "both" else (args.format,)
        shots = snapshot(url, [d.id for d in dashboards], out, chromium, query=urlencode(params), formats=formats)
    failed = False
    for s in shots:
        counts = {st: list(s.visuals.values()).count(st) for st in ("ok", "empty", "error")}
        files = "  ".join(str(p) for p in (s.path if "png" in formats else None, s.pdf) if p)
        print(
            f"{files}  {len(s.visuals)} visuals ({counts['ok']} ok, {counts['empty']} empty, "
            f"{counts['error']} error), {s.charts} charts; {s.as_of}"
        )
        for p in s.problems:
            failed = True
            print(f"  problem: {p}", file=sys.stderr)
    print(f"exported {len(shots)} dashboards in {time.monotonic() - t0:.1f}s")
    return 1 if failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    from dashboards import check

    settings = config.load()
    dashboards = _dashboards(args.dashboard)
    warehouse = _warehouse(args, settings)
    report = check.check_all(dashboards, warehouse, settings.quicksight_region)
    print(
        f"{report.dashboards} definitions checked against dashboards/catalog.yml; "
        f"{report.requests} QuickSight requests validated offline (botocore model + our checks)"
    )
    if report.warehouse is not None:
        print(f"checked against the warehouse {warehouse}")
    else:
        print(f"no warehouse at {warehouse}: skipped the comparison with real marts")
    for p in report.problems:
        print(f"problem: {p}", file=sys.stderr)
    print("OK" if not report.problems else f"{len(report.problems)} problem(s)")
    return 1 if report.problems else 0


def cmd_publish(args: argparse.Namespace) -> int:
    from dashboards.quicksight import compiler, validate
    from dashboards.quicksight.publish import Publisher, PublishError, stack_data_source_arn

    settings = config.load()
    dashboards = _dashboards(args.dashboard)
    account = settings.quicksight_account_id
    session = None
    source_arn = ""  # dry run: the ARN the stack gives its data source
    if not args.dry_run:
        import boto3

        from foundation import aws_clients

        session = boto3.session.Session(region_name=settings.quicksight_region)
        if not account:
            account = session.client("sts").get_caller_identity()["Account"]
        # the data source is CloudFormation's (infra/quicksight.yaml), never created or updated here
        stack = f"{settings.aws_prefix}-quicksight"
        try:
            source_arn = stack_data_source_arn(aws_clients.client(settings, "cloudformation"), stack)
        except PublishError as err:
            print(f"imagify dashboards publish: {err}", file=sys.stderr)
            return 1
    target = compiler.QuickSightTarget(
        account_id=account or "123456789012",
        region=settings.quicksight_region,
        prefix=settings.quicksight_prefix,
        athena_workgroup=settings.athena_workgroup,
        athena_catalog=settings.athena_catalog,
        import_mode=settings.quicksight_import_mode,
        owners=settings.quicksight_owners,
        viewers=settings.quicksight_viewers,
        data_source_arn=source_arn,
    )
    compiled = compiler.compile_all(dashboards, target)
    problems: list[str] = []
    for req in compiled.data_sets.values():
        problems += validate.validate("CreateDataSet", req)
    for cd in compiled.dashboards:
        problems += validate.validate("CreateAnalysis", cd.analysis, cd.columns)
        problems += validate.validate("CreateDashboard", cd.dashboard, cd.columns)
    if problems:
        for p in problems:
            print(f"problem: {p}", file=sys.stderr)
        print("imagify dashboards publish: the requests are not valid; nothing was sent", file=sys.stderr)
        return 1
    if args.dry_run:
        out = Path(args.out).resolve() if args.out else settings.home / "quicksight"
        out.mkdir(parents=True, exist_ok=True)
        for ds_id, req in compiled.data_sets.items():
            (out / f"data_set.{ds_id}.json").write_text(json.dumps(req, indent=2))
        for cd in compiled.dashboards:
            (out / f"analysis.{cd.dashboard_id}.json").write_text(json.dumps(cd.analysis, indent=2))
            (out / f"dashboard.{cd.dashboard_id}.json").write_text(json.dumps(cd.dashboard, indent=2))
        print(
            f"dry run: {len(compiled.data_sets) + 2 * len(compiled.dashboards)} valid requests written to {out} "
            f"(data sets over {target.source_arn}, the data source of infra/quicksight.yaml's stack)"
        )
        return 0
    if not settings.quicksight_owners:
        print(
            "warning: IMAGIFY_QUICKSIGHT_OWNERS is empty: nobody will see the resources in the QuickSight console",
            file=sys.stderr,
        )
    assert session is not None
    publisher = Publisher(session.client("quicksight"), target)
    try:
        res = publisher.publish(compiled)
    except PublishError as err:
        print(f"imagify dashboards publish: {err}", file=sys.stderr)
        return 1
    print(f"created: {len(res.created)}, updated: {len(res.updated)}")
    for dash_id, version in res.published.items():
        print(
            f"published {dash_id} version {version}: "
            f"https://{target.region}.quicksight.aws.amazon.com/sn/dashboards/{dash_id}"
        )
    return 0


def add_parser(sub: argparse._SubParsersAction, extensions: Extensions | None = None) -> None:  # type: ignore[type-arg]
    """``imagify dashboards``; ``extensions``: the other pages ``serve`` shows (the live view)."""
    p = sub.add_parser(
        "dashboards",
        help="business dashboards: serve locally, export PNGs, check, publish to QuickSight",
        description="The four business dashboards (business overview, prompt insights, user behaviour, "
        "operations) are defined in dashboards/definitions/*.yml and rendered both locally from the DuckDB "
        "marts and in Amazon QuickSight over Athena.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dsub = p.add_subparsers(dest="dashboards_command", required=True, metavar="ACTION")

    s = dsub.add_parser(
        "serve",
        help="serve the dashboards in the browser from the DuckDB marts",
        description="Serve every dashboard at http://HOST:PORT/ from $IMAGIFY_HOME/warehouse.duckdb, opened "
        "read-only per request (a build may run at the same time). Filters (date range, model, package) are in "
        "the form at the top of each page. The live view of the real-time job (`imagify realtime`) is at /live/, "
        "from its live store. Nothing is fetched from the internet.",
    )
    s.add_argument("--host", default=None, help="address to listen on (default IMAGIFY_DASHBOARDS_HOST, 127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="port (default IMAGIFY_DASHBOARDS_PORT, 8765)")
    s.add_argument("--warehouse", metavar="PATH", help="DuckDB file (default $IMAGIFY_HOME/warehouse.duckdb)")
    s.set_defaults(func=cmd_serve, extensions=extensions)

    s = dsub.add_parser(
        "export",
        help="export each dashboard as PNG and PDF (headless Chromium)",
        description="Serve the dashboards on a free local port and export each with headless Chromium (Debian "
        "package: `make browser-deps`): a full-page PNG and an A4 landscape PDF of the content only (no "
        "navigation or filter form), stamped with the range shown and the data's freshness ('Data as of', "
        "Vietnam time). Fails if a visual shows an error, the browser logs an error, the page has no "
        "freshness stamp, or a page tries to fetch anything from outside.",
    )
    s.add_argument(
        "--format", choices=("png", "pdf", "both"), default="both", help="what to write per dashboard (default both)"
    )
    s.add_argument("--out", metavar="DIR", help="output folder (default $IMAGIFY_HOME/snapshots)")
    s.add_argument("--dashboard", action="append", metavar="ID", help="only this dashboard (repeatable)")
    s.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="start of the date range")
    s.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="end of the date range")
    s.add_argument("--warehouse", metavar="PATH", help="DuckDB file (default $IMAGIFY_HOME/warehouse.duckdb)")
    s.set_defaults(func=cmd_export)

    s = dsub.add_parser(
        "check",
        help="validate the definitions and their QuickSight requests offline",
        description="Check every definition against dashboards/catalog.yml (columns exist, types fit), run "
        "its SQL data sets on an empty DuckDB and parse them as Athena SQL, compile the QuickSight requests and "
        "validate them against botocore's QuickSight model plus our own checks; if the warehouse exists, also "
        "compare the catalog and the definitions with the real marts.",
    )
    s.add_argument("--dashboard", action="append", metavar="ID", help="only this dashboard (repeatable)")
    s.add_argument("--warehouse", metavar="PATH", help="DuckDB file (default $IMAGIFY_HOME/warehouse.duckdb)")
    s.set_defaults(func=cmd_check)

    s = dsub.add_parser(
        "publish",
        help="create or update the dashboards in QuickSight and publish the new versions",
        description="Compile the definitions to QuickSight API requests (Athena data source, one data set per "
        "mart or SQL data set, an analysis and a dashboard per definition), validate them offline, then create "
        "or update each resource (idempotent: fixed ids, describe → update or create) and publish the new "
        "dashboard version. AWS credentials come from the usual boto3 chain; see IMAGIFY_QUICKSIGHT_* in "
        "foundation/config.py.",
    )
    s.add_argument("--dashboard", action="append", metavar="ID", help="only this dashboard (repeatable)")
    s.add_argument("--dry-run", action="store_true", help="validate and write the requests as JSON; send nothing")
    s.add_argument(
        "--out", metavar="DIR", help="with --dry-run: folder for the JSON (default $IMAGIFY_HOME/quicksight)"
    )
    s.set_defaults(func=cmd_publish)
