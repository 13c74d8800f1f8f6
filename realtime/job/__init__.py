"""The PyFlink real-time job (``.venv-flink``): :mod:`realtime.job.local` on a local mini-cluster (started by
:mod:`realtime.launcher`), :mod:`realtime.job.managed_app` on Managed Flink; both wire
:mod:`realtime.job.transform` (the Java operators of ``ai.imagify.realtime``) to :mod:`realtime.job.sinks`.
Stdlib, :mod:`foundation.lake` and :mod:`flink_jobs` (source, control directory) only until PyFlink."""
