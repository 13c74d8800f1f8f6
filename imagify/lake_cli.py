"""``imagify lake migrate``: upgrade a lake landed as JSON Lines to Parquet (logic in :mod:`foundation.lake`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from foundation import config

MIGRATE_HELP = """\
Before the Parquet lake, the landing job wrote events/ and quarantine/ as JSON Lines files. The readers
(dbt's lake views, replay, privacy rewrites, the Dagster lake scan) accept both formats, but dbt's views
read Parquet only, and a mixed lake costs more to scan. This command rewrites every legacy JSON Lines
data file of events/ and quarantine/ as a Parquet file (zstd) of the same name and rows, in place.

  * atomic per file: each Parquet file is written to a hidden temporary file next to the old one, then
    renamed over it; a reader (or a crash) sees the old file or the new one, never half of one;
  * resumable: files already in Parquet are skipped, so after an interruption run it again;
  * partitions, file names and _SUCCESS markers are kept; in-progress (hidden) files are not touched;
  * the landing audit (_landing_audit/) and the real-time tables (realtime/) stay JSON Lines.

Safe while the landing job runs (it only adds new Parquet files). `imagify build` and the Dagster
jobs migrate a legacy lake by themselves before dbt runs; run this to do it up front, or to see
what is left with --dry-run.

examples:
  imagify lake migrate --dry-run     # list the JSON Lines files that would be rewritten
  imagify lake migrate               # rewrite them, one progress line per file
  imagify lake migrate --lake DIR    # a lake elsewhere than $IMAGIFY_HOME/lake
"""


def cmd_migrate(args: argparse.Namespace) -> int:
    from foundation import lake

    lake_dir = Path(args.lake) if args.lake else config.load().lake_dir
    if not lake_dir.is_dir():
        print(f"imagify lake migrate: no lake at {lake_dir}", file=sys.stderr)
        return 1
    todo = lake.legacy_files(lake_dir)
    if not todo:
        print(f"{lake_dir}: nothing to migrate (events/ and quarantine/ are Parquet)")
        return 0
    if args.dry_run:
        size = 0
        for f in todo:
            size += f.stat().st_size
            print(f"would rewrite {f.relative_to(lake_dir)}")
        print(f"{len(todo)} JSON Lines files ({size / 1e6:,.1f} MB) would be rewritten as Parquet; nothing changed")
        return 0
    print(f"{lake_dir}: {len(todo)} JSON Lines files to rewrite as Parquet")
    started = time.monotonic()

    def progress(i: int, n: int, path: Path) -> None:
        if not args.quiet:
            print(f"[{i}/{n}] {path.relative_to(lake_dir)}", flush=True)

    try:
        files, rows = lake.migrate(lake_dir, progress)
    except lake.LakeError as exc:
        print(f"imagify lake migrate: {exc}\nfiles done so far are Parquet; rerun to carry on", file=sys.stderr)
        return 1
    print(f"migrated {files} files ({rows:,} rows) in {time.monotonic() - started:.1f}s")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lake", help="maintain the lake (upgrade a JSON Lines lake to Parquet)",
                       description="Maintenance of the landed lake ($IMAGIFY_HOME/lake).")  # fmt: skip
    lsub = p.add_subparsers(dest="lake_command", required=True, metavar="ACTION")
    s = lsub.add_parser("migrate", help="rewrite legacy JSON Lines events/quarantine files as Parquet, in place",
                        description=MIGRATE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    s.add_argument("--dry-run", action="store_true", help="list the files that would be rewritten, change nothing")
    s.add_argument("--lake", metavar="DIR", help="the lake directory (default $IMAGIFY_HOME/lake)")
    s.add_argument("--quiet", action="store_true", help="no line per file, only the summary")
    s.set_defaults(func=cmd_migrate)
