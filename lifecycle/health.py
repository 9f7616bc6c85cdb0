"""Health of the parts Lifecycle depends on: the database, Redis and the Celery worker."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from lifecycle.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def record_heartbeat(*, hostname: str) -> None:
    """Called on a worker (through beat) so the web side can tell it is alive."""
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults={"last_seen_at": timezone.now()})


def _failure(exc: Exception) -> dict:
    """A failed check, named by the exception's class only: /healthz is public, and the message of a
    connection error can name the database host, port or user. The full error goes to the log."""
    logger.warning("health check failed", exc_info=exc)
    return {"ok": False, "error": type(exc).__name__}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # any failure to reach it is "down", with the reason
        return _failure(exc)


def check_redis() -> dict:
    try:
        cache.get("healthz")
        return {"ok": True}
    except Exception as exc:
        return _failure(exc)


def check_worker() -> dict:
    try:
        beat = WorkerHeartbeat.objects.aggregate(last=Max("last_seen_at"))["last"]
    except Exception as exc:
        return _failure(exc)
    if beat is None:
        return {"ok": False, "error": "no heartbeat yet"}
    age = (timezone.now() - beat).total_seconds()
    return {"ok": age <= settings.WORKER_HEARTBEAT_MAX_AGE, "last_heartbeat_seconds_ago": round(age, 1)}


def status() -> dict:
    checks = {"database": check_database(), "redis": check_redis(), "worker": check_worker()}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
