"""Real-time metrics (issue 10): launcher of the Flink job, live store, alerts, live view, QuickSight."""
