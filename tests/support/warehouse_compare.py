"""Comparing two warehouses built from the same lake at different times."""

# Columns whose values depend on when a build ran, not on the data: the build stamps (built_at, loaded_at)
# and stg_rejected_events' settling bookkeeping (settled_through = build start - look-back; copies_settled
# = the copies older than it). Comparisons of warehouse content leave them out.
BUILD_TIME_COLUMNS = ("built_at", "loaded_at", "settled_through", "copies_settled")
