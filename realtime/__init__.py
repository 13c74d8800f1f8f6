"""Real-time metrics (issues 10, 21), one vertical slice: the Flink job (:mod:`realtime.job`), its launcher
(:mod:`realtime.launcher`), the live store (:mod:`realtime.store`), the alert rules (:mod:`realtime.alerts`),
the live view (:mod:`realtime.live`) and the production live view's QuickSight data sets
(:mod:`realtime.quicksight`). The ``imagify realtime`` commands are :mod:`imagify.realtime_cli`.

Nothing is imported here: the job's modules also run in ``.venv-flink`` and on Managed Flink, where only
``realtime/__init__.py`` and ``realtime/job/`` are packaged."""
