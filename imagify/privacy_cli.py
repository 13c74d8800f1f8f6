"""``imagify privacy expire-prompts`` and ``imagify forget USER_ID`` (logic in :mod:`privacy.jobs`)."""

from __future__ import annotations

import argparse
import json

from foundation import config


def cmd_expire_prompts(args: argparse.Namespace) -> int:
    from privacy import jobs as privacy_jobs

    settings = config.load()
    try:
        report = privacy_jobs.expire_prompts(settings, days=args.days, dry_run=args.dry_run)
    except (RuntimeError, ValueError) as exc:
        print(f"imagify privacy expire-prompts: {exc}")
        return 1
    print(json.dumps({"dry_run": args.dry_run, **report.as_dict()}, indent=2))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from privacy import jobs as privacy_jobs

    settings = config.load()
    try:
        report = privacy_jobs.forget(settings, args.user_id, rebuild=not args.no_rebuild)
    except (RuntimeError, ValueError) as exc:
        print(f"imagify forget: {exc}")
        return 1
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "privacy",
        help="privacy of the lake: expire raw prompts after the retention",
        description="Raw prompts are personal data. They stay raw in the lake's events/ zone (and staging) for "
        "IMAGIFY_RAW_PROMPT_RETENTION_DAYS (default 90) days of landing date; `expire-prompts` rewrites the lake "
        "files of older partitions atomically with each prompt replaced by its terms (what the marts count: "
        "e-mails, phones, URLs, card numbers removed) and the same in staging. The marts do not change. "
        "Dagster runs it daily (schedule expire_raw_prompts_daily). With IMAGIFY_ENV=aws: the S3 lake's files "
        "are replaced in place (staged under a hidden key, then copied onto their own key) and staging's Iceberg "
        "table gets a MERGE from the rewritten partitions through Athena.",
    )
    psub = p.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    s = psub.add_parser("expire-prompts", help="replace raw prompts older than the retention by their terms",
                        description="Rewrite lake events/ files of partitions dt < today - DAYS (UTC): prompts become "
                        "their terms, property prompt_expired is set; other columns, files and _SUCCESS are kept. "
                        "Idempotent. Prints what it did as JSON.")  # fmt: skip
    s.add_argument("--days", type=int, default=None,
                   help="retention in days (default IMAGIFY_RAW_PROMPT_RETENTION_DAYS)")
    s.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    s.set_defaults(func=cmd_expire_prompts)

    s = sub.add_parser(
        "forget",
        help="remove a user's events from the lake and the warehouse (right to be forgotten)",
        description="Record a tombstone (SHA-256 of the user id) under $IMAGIFY_HOME/privacy/ so that staging never "
        "loads the user's events again (replays, re-landing), rewrite every lake file (events, quarantine, "
        "real-time late events) without the user's rows, delete them from the staging tables, rebuild the "
        "intermediate models and marts from staging (dbt build --full-refresh, bounded by the size of staging), "
        "and blank the user's prompts in the API's SQLite store. Safe to rerun. With IMAGIFY_ENV=aws: the S3 lake's "
        "files are replaced in place, every Iceberg table with a user_id column (from the dbt project and Glue) "
        "gets a DELETE through Athena (each waited for), and the Hive tables holding user data "
        "(stg_rejected_events) are rebuilt with dbt run --full-refresh; aggregate marts are not rebuilt there. "
        "User ids: letters, digits and _ . : @ + - only (refused before anything changes).",
    )
    s.add_argument("user_id", help="the stable user_id of the events (not the e-mail)")
    s.add_argument("--no-rebuild", action="store_true", help="skip the rebuild of the marts (run `imagify forget` "
                   "again or rebuild yourself: the marts still count the user until then)")  # fmt: skip
    s.set_defaults(func=cmd_forget)
