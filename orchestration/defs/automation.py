"""Whether the code location's sensors and schedules run by default: yes, unless IMAGIFY_AUTOMATION_PAUSED
(`imagify ui --paused`), of the settings the definitions are built with (when Dagster loads the code
location, the only time it reads a default status).

Paused means "stopped unless someone switched it on": the daemon follows the code for every sensor and
schedule nobody toggled, and keeps the ones started or stopped in the UI as they were. Starting the UI
paused is also the only race-free way to have no automation at all: stopping a default-running sensor
from the UI while the daemon records its first tick makes both insert its state, and one of them fails
(Dagster 1.13's ``stop_sensor`` reads, then inserts).
"""

from __future__ import annotations

from dagster import DefaultScheduleStatus, DefaultSensorStatus

from foundation import config


def sensor_status(settings: config.Settings) -> DefaultSensorStatus:
    paused = settings.automation_paused
    return DefaultSensorStatus.STOPPED if paused else DefaultSensorStatus.RUNNING


def schedule_status(settings: config.Settings) -> DefaultScheduleStatus:
    paused = settings.automation_paused
    return DefaultScheduleStatus.STOPPED if paused else DefaultScheduleStatus.RUNNING
