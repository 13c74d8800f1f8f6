"""Dagster code location of Imagify Analytics (see orchestration/definitions.py)."""

import warnings

# Dagster marks a few APIs we use (backfill policies, freshness checks) beta/preview: they are
# pinned with dagster==1.13.27, so the warnings only clutter the CLI's output.
warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview).*")
# get_event_records is deprecated for 2.0 but is the only query of check evaluations across assets
# in 1.13 (used by `imagify status` and the check-failure notifier).
warnings.filterwarnings("ignore", message=r".*get_event_records.* is deprecated.*")
# last-update freshness *checks* are "superseded" by FreshnessPolicy in 1.13, but checks are what the
# checks page, the check-failure notifier and `imagify status` show; they stay.
warnings.filterwarnings("ignore", message=r".*(build_last_update_freshness_checks|build_sensor_for_freshness).*")
