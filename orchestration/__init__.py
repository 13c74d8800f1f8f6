"""Dagster code location of Imagify Analytics (see orchestration/definitions.py)."""

import warnings

# Dagster marks a few APIs we use (backfill policies, freshness checks) beta/preview: they are
# pinned with dagster==1.13.27, so the warnings only clutter the CLI's output.
warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview).*")
