"""Project-wide tasks: the worker heartbeat that /healthz reads."""

from celery import shared_task

from lifecycle import health


@shared_task(bind=True, name="lifecycle.tasks.heartbeat")
def heartbeat(self) -> None:
    health.record_heartbeat(hostname=self.request.hostname or "unknown")
