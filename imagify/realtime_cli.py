"""``imagify realtime ...`` command logic (the parser block lives in :mod:`imagify.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from foundation import config

DESCRIPTION = """\
Real-time metrics. `run` (the default) starts the PyFlink real-time job (in .venv-flink): per-minute
event-time windows with watermarks — active users, generations requested/completed/failed and
failure rate and p50/p95 latency per model, images, cost, payments and revenue (VND) — late events
update their minute within the allowed lateness (later ones are set aside as too late), a sliding
"trending now" top-N of prompt terms, rejected records by arrival minute. A minute reaches the live
store ($IMAGIFY_HOME/realtime.sqlite) as soon as it fires (upserts); every version also goes to
lake/realtime (committed on checkpoints). `serve` shows the store — and says when the job is not
running or behind — and the alert rules (IMAGIFY_ALERT_RULES) watch it. Ctrl-C stops the job with a
savepoint; the next run resumes from it."""

EPILOG = """\
examples:
  imagify realtime                       run until Ctrl-C (alerts evaluated all along)
  imagify realtime --serve-port 8050     ... and show the live view at http://127.0.0.1:8050/
  imagify realtime --until-idle          process what is published now, then stop with a savepoint
  imagify realtime serve --port 8050     the live view only (reads the live store)
  imagify realtime alerts                alerts recorded in the live store (--open: only firing ones)
  imagify realtime quicksight            the QuickSight data set definitions (JSON) for production

settings (foundation/config.py): IMAGIFY_REALTIME_OUT_OF_ORDERNESS_S (watermark bound, default 5),
IMAGIFY_REALTIME_ALLOWED_LATENESS_S (late events still update their minute, default 600),
IMAGIFY_REALTIME_LOOKBACK_MIN (first start: also read that many minutes back, default 0),
IMAGIFY_ALERT_RULES, IMAGIFY_NOTIFIER (+ IMAGIFY_SLACK_WEBHOOK_URL / IMAGIFY_SNS_TOPIC_ARN), ...
"""


def add_parser(sub) -> None:  # type: ignore[no-untyped-def]
    s = sub.add_parser(
        "realtime",
        help="real-time metrics: Flink windows → live store, alerts, live view",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument(
        "action", nargs="?", default="run", choices=["run", "serve", "alerts", "quicksight"],
        help="run (default), serve, alerts or quicksight",
    )  # fmt: skip
    s.add_argument(
        "--until-idle",
        action="store_true",
        help="run: stop once every record published before the command is processed and visible",
    )
    s.add_argument(
        "--stall-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="run --until-idle: fail if nothing is read for S seconds (default 300)",
    )
    s.add_argument(
        "--serve-port", type=int, default=None, metavar="PORT", help="run: also serve the live view on this port"
    )
    s.add_argument("--port", type=int, default=8050, help="serve: port of the live view (default 8050)")
    s.add_argument("--open", action="store_true", help="alerts: only the alerts still firing")
    s.add_argument("--out", metavar="FILE", help="quicksight: write the definitions to FILE")
    s.add_argument("--account-id", help="quicksight: AWS account id (default: a placeholder)")
    s.add_argument("--data-source-arn", help="quicksight: ARN of the QuickSight Athena data source")
    s.add_argument("--database", help="quicksight: Glue database of the realtime tables (default imagify_lake)")
    s.add_argument("--owner-arn", help="quicksight: QuickSight user/group ARN granted the data sets")
    s.set_defaults(func=cmd_realtime)  # fmt: skip


def cmd_realtime(args: argparse.Namespace) -> int:
    settings = config.load()
    return {"run": _run, "serve": _serve, "alerts": _alerts, "quicksight": _quicksight}[args.action](settings, args)


def _run(settings: config.Settings, args: argparse.Namespace) -> int:
    from realtime.alerts import RuleError
    from realtime.launcher import RealtimeError, run

    try:
        res = run(settings, until_idle=args.until_idle, stall_timeout_s=args.stall_timeout,
                  serve_port=args.serve_port)  # fmt: skip
    except (RealtimeError, RuleError) as err:
        print(f"imagify realtime: {err}", file=sys.stderr)
        return 1
    fired = sum(1 for t in res.transitions if t.status == "firing")
    resolved = len(res.transitions) - fired
    print(
        f"realtime: read {res.records:,} records in {res.seconds_running:.1f}s "
        f"({res.seconds_total:.1f}s with JVM start and savepoint); {res.windows:,} minute windows in the live "
        f"store; alerts fired {fired}, resolved {resolved}"
    )
    print(f"live store: {settings.realtime_store_path}   savepoint: {res.savepoint}")
    return 0


def _serve(settings: config.Settings, args: argparse.Namespace) -> int:
    import signal
    import threading

    from realtime.live.server import start_server

    # a service stops on SIGTERM (systemd, a supervisor, a test) as on Ctrl-C, even when started by a
    # process that had those signals blocked (the mask is inherited across exec)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if not settings.realtime_store_path.exists():
        print(f"no live store yet at {settings.realtime_store_path}: the real-time job writes it. Start the job "
              f"with `imagify realtime` (or `imagify realtime --serve-port {args.port}` for the job and this view); "
              "until then the view says the job is not running.", flush=True)  # fmt: skip
    server = start_server(settings, args.port, daemon=False)
    print(f"live view on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop); "
          f"store {settings.realtime_store_path}", flush=True)  # fmt: skip
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()
    server.server_close()
    print("live view stopped", flush=True)
    return 0


def _alerts(settings: config.Settings, args: argparse.Namespace) -> int:
    from realtime import store

    if not settings.realtime_store_path.exists():
        print(f"no live store at {settings.realtime_store_path}: run `imagify realtime` first", file=sys.stderr)
        return 1
    con = store.connect(settings.realtime_store_path)
    where = "WHERE status = 'firing'" if args.open else ""
    rows = con.execute(f"SELECT * FROM alerts {where} ORDER BY alert_id").fetchall()
    for r in rows:
        fired = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["fired_at"]))
        print(f"#{r['alert_id']} {r['status']:<8} {r['severity']:<8} {r['rule']} [{r['subject']}] fired {fired} UTC: "
              f"{r['message']}")  # fmt: skip
    print(f"{len(rows)} alert(s)")
    return 0


def _quicksight(settings: config.Settings, args: argparse.Namespace) -> int:
    from realtime import quicksight as qs

    database = args.database or qs.DATABASE
    defs = qs.dataset_definitions(
        account_id=args.account_id or qs.ACCOUNT_PLACEHOLDER,
        data_source_arn=args.data_source_arn or qs.DATA_SOURCE_PLACEHOLDER,
        database=database,
        owner_arn=args.owner_arn,
    )
    text = json.dumps(defs, indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
