"""``imagify status``: one screen on the state of the platform — the landing job and its lag, the
lake, the last runs, failing checks, stale assets and recent alerts — read from the files and the
Dagster instance (no definitions loaded, so it answers in about a second)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from foundation.config import Settings

EVAL_SCAN = 2000  # newest asset-check evaluations scanned for the latest result per check
WAREHOUSE_JOBS = ("build_warehouse", "refresh_marts", "backfill_marts")


def _ago(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f}s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f}h ago"
    return f"{seconds / 86400:.1f}d ago"


@dataclass
class Status:
    lines: list[str] = field(default_factory=list)
    failing_checks: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    last_run_ok: bool | None = None

    @property
    def healthy(self) -> bool:
        return not self.failing_checks and not self.stale and self.last_run_ok is not False


def collect(settings: Settings, now: float | None = None) -> Status:
    from orchestration.defs.lake import scan
    from orchestration.defs.ops.notifier import recent_alerts

    now = time.time() if now is None else now
    st = Status()
    out = st.lines
    out.append(f"Imagify Analytics — status at {datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M:%S} UTC")
    out.append(f"IMAGIFY_HOME={settings.home}  DAGSTER_HOME={settings.dagster_home}")

    # -- pipeline -------------------------------------------------------------------------------
    ls = scan.landing_status(settings.flink_dir, settings.stream_dir / "segments", settings.audit_dir, now=now)
    out.append("")
    out.append("PIPELINE")
    cp = f"last checkpoint {_ago(ls.last_checkpoint_age_s)}" if ls.last_checkpoint else "no checkpoint yet"
    out.append(
        f"  landing job      {ls.state:<9} {cp}; {ls.records_behind:,} records behind the stream"
        f" (oldest waiting {_ago(ls.oldest_unlanded_age_s) if ls.records_behind else '-'})"
    )
    if ls.error:
        out.append(f"                   error: {ls.error[:100]}")
    last_commit: float | None = None
    for table in ("events", "quarantine"):
        summ = scan.summarize(scan.scan_table(settings.lake_dir, table), table)
        if summ.last_commit_at:
            last_commit = max(last_commit or 0.0, summ.last_commit_at)
        newest = f"newest {summ.newest.key} committed {_ago(now - summ.last_commit_at)}" if summ.newest else "empty"
        out.append(f"  lake {table:<11} {summ.committed_partitions:>5} partitions {summ.rows:>12,} rows   {newest}")

    # -- Dagster --------------------------------------------------------------------------------
    if not (settings.dagster_home / "dagster.yaml").exists():
        out.append("")
        out.append("no Dagster instance yet: run `imagify build` (or `make demo`)")
        return st
    import os

    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    from dagster import DagsterEventType, DagsterInstance, EventRecordsFilter

    with DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=6)
        out.append("")
        out.append("LAST RUNS")
        if not runs:
            out.append("  (none)")
        last_ok_build: float | None = None
        for r in runs:
            rec = instance.get_run_record_by_id(r.run_id)
            start = rec.start_time if rec else None
            end = rec.end_time if rec else None
            dur = f"{end - start:6.1f}s" if start and end else "   ... "
            rng = r.tags.get("dagster/asset_partition_range_start")
            rng = f"{rng}..{r.tags.get('dagster/asset_partition_range_end')}" if rng else ""
            trig = r.tags.get(
                "imagify/trigger", r.tags.get("dagster/sensor_name", r.tags.get("dagster/schedule_name", ""))
            )
            out.append(
                f"  {r.status.value:<9} {r.job_name:<18} {_ago(now - start) if start else '':>9} {dur} "
                f"{r.run_id[:8]}  {rng:<23} {trig}"
            )
        for r in instance.get_runs(limit=50):
            if r.job_name in WAREHOUSE_JOBS and r.status.value in ("SUCCESS", "FAILURE"):
                st.last_run_ok = r.status.value == "SUCCESS"
                break
        for r in instance.get_runs(limit=50):
            if r.job_name in WAREHOUSE_JOBS and r.status.value == "SUCCESS":
                rec = instance.get_run_record_by_id(r.run_id)
                last_ok_build = rec.start_time if rec else None
                break

        # latest evaluation of every check
        latest: dict[tuple[str, str], Any] = {}
        for rec in instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION), ascending=False, limit=EVAL_SCAN
        ):
            ev = rec.event_log_entry.dagster_event
            data = ev.event_specific_data if ev else None
            if data is None:
                continue
            key = (data.asset_key.to_user_string(), data.check_name)
            if key not in latest:
                latest[key] = (data, rec.timestamp)
        failing = [(k, d, t) for k, (d, t) in sorted(latest.items()) if not d.passed]
        out.append("")
        out.append(f"CHECKS  {len(latest) - len(failing)} passing, {len(failing)} failing (latest evaluation of each)")
        for (asset, check), d, t in failing:
            line = f"{asset}:{check} ({d.severity.value}, {_ago(now - t)})"
            st.failing_checks.append(line)
            out.append(f"  FAIL {line}")
            if d.description:
                out.append(f"       {d.description[:150]}")

        # stale assets
        out.append("")
        out.append("FRESHNESS")
        daily = set(settings.daily_models)
        mart_keys = [k for k in instance.get_asset_keys() if k.path and k.path[0] == "marts"]
        for key in sorted(mart_keys, key=lambda k: k.to_user_string()):
            ev = instance.get_latest_materialization_event(key)
            age = now - ev.timestamp if ev else None
            limit_h = settings.daily_fresh_hours if key.path[-1] in daily else settings.fresh_hours
            if age is None or age > limit_h * 3600:
                st.stale.append(f"{key.to_user_string()} (built {_ago(age)}, limit {limit_h:g}h)")
        if last_commit and (last_ok_build is None or last_commit > last_ok_build):
            st.stale.append(f"staging: lake committed {_ago(now - last_commit)}, after the last successful build")
        if not mart_keys:
            out.append("  no mart built yet")
        elif not st.stale:
            out.append(f"  all {len(mart_keys)} marts within their freshness limits")
        for s in st.stale:
            out.append(f"  STALE {s}")

    alerts = recent_alerts(settings.notifications_log, limit=3)
    if alerts:
        out.append("")
        out.append(f"RECENT ALERTS ({settings.notifier})")
        for a in alerts:
            out.append(f"  {_ago(now - float(a.get('at', now))):>9}  {a.get('title', '')[:100]}")
    out.append("")
    out.append("healthy" if st.healthy else "ATTENTION NEEDED: see above; details in the UI (`imagify ui`)")
    return st


def print_status(settings: Settings) -> int:
    st = collect(settings)
    print("\n".join(st.lines))
    return 0 if st.healthy else 1
