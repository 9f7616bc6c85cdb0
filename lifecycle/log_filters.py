"""Logging filters for settings.LOGGING."""

import logging

__all__ = ["QUIET_TASKS", "QuietFrequentTasks"]

#: Tasks the beat starts every few seconds (the tracking drain every second, the worker heartbeat every ten).
QUIET_TASKS = ("contacts.tasks.tracking_visits_drain", "lifecycle.tasks.heartbeat")


class QuietFrequentTasks(logging.Filter):
    """Drop Celery's INFO lines about each run of a task in QUIET_TASKS ("Sending due task", "received",
    "succeeded"): three lines a second would drown everything else. Their warnings and errors stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not record.name.startswith("celery"):
            return True
        message = record.getMessage()
        return not any(task in message for task in QUIET_TASKS)
