"""Logs go to stdout, one record per line, as JSON by default (LOG_FORMAT=text for people).

Each test starts a fresh Python process, so Django configures logging from settings.LOGGING
exactly as gunicorn, the worker and beat do, and nothing leaks into this process's loggers.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging
import django

django.setup()
log = logging.getLogger("lifecycle.tests.logging")
log.info("contact %s imported", 42, extra={"contact_id": 42})
log.debug("debug is below the default level")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("the import failed")
"""


def _run(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "LOG_LEVEL"}}
    environ |= {"DJANGO_SETTINGS_MODULE": "lifecycle.settings", **env}
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=BASE_DIR, env=environ,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def test_the_stdout_handler_is_the_root_handler_and_writes_to_stdout():
    handler = settings.LOGGING["handlers"]["stdout"]
    assert handler["class"] == "logging.StreamHandler"
    assert handler["stream"] == "ext://sys.stdout"
    assert settings.LOGGING["root"]["handlers"] == ["stdout"]


def test_each_record_is_one_line_of_json_with_time_level_logger_and_message():
    result = _run()

    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout  # the debug record is filtered out at INFO
    info, error = (json.loads(line) for line in lines)
    assert {"time", "level", "logger", "message"} <= set(info)
    assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", info["time"])
    assert info["level"] == "INFO"
    assert info["logger"] == "lifecycle.tests.logging"
    assert info["message"] == "contact 42 imported"
    assert info["contact_id"] == 42  # `extra` fields become keys
    # A traceback stays inside its record instead of spilling over many lines.
    assert error["level"] == "ERROR"
    assert "ZeroDivisionError" in error["exc_info"]
    assert result.stderr == ""


def test_log_level_filters_records():
    result = _run(LOG_LEVEL="ERROR")

    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["level"] for r in records] == ["ERROR"]


def test_text_format_is_key_value_lines():
    result = _run(LOG_FORMAT="text")

    first = result.stdout.splitlines()[0]
    assert re.fullmatch(
        r"time=\S+ \S+ level=INFO logger=lifecycle\.tests\.logging msg=contact 42 imported", first)


FREQUENT = """
import logging
import django

django.setup()
logging.getLogger("celery.beat").info("Scheduler: Sending due task tracking-visits-drain (%s)",
                                      "contacts.tasks.tracking_visits_drain")
logging.getLogger("celery.app.trace").info("Task %s[1] succeeded in 0.001s: 0", "lifecycle.tasks.heartbeat")
logging.getLogger("celery.app.trace").info("Task %s[2] succeeded in 2s: 10", "contacts.tasks.import_run")
logging.getLogger("celery.app.trace").error("Task %s[3] raised", "contacts.tasks.tracking_visits_drain")
"""


def test_celery_lines_about_each_run_of_a_frequent_task_are_dropped_but_not_its_errors():
    environ = {k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "LOG_LEVEL"}}
    result = subprocess.run([sys.executable, "-c", FREQUENT], cwd=BASE_DIR, capture_output=True, text=True,
                            env={**environ, "DJANGO_SETTINGS_MODULE": "lifecycle.settings"}, timeout=60)
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line)["message"] for line in result.stdout.splitlines()]
    assert messages == ["Task contacts.tasks.import_run[2] succeeded in 2s: 10",
                        "Task contacts.tasks.tracking_visits_drain[3] raised"]
