"""Project-wide tasks: the worker heartbeat that /healthz reads, and API housekeeping."""

from celery import shared_task

from lifecycle import health
from lifecycle.api.idempotency import idempotency_records_delete_expired


@shared_task(bind=True, name="lifecycle.tasks.heartbeat")
def heartbeat(self) -> None:
    health.record_heartbeat(hostname=self.request.hostname or "unknown")


@shared_task(name="lifecycle.tasks.delete_expired_idempotency_records")
def delete_expired_idempotency_records() -> int:
    """Hourly (beat): stored Idempotency-Key responses live 24 hours."""
    return idempotency_records_delete_expired()
