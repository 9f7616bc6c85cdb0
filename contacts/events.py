"""The event spine: every stored touchpoint is published to Celery after its transaction commits.

Consumers (scoring, automations, lifecycle rules, webhooks) register a callable taking a list
of event ids with `register_consumer`, usually in their AppConfig.ready(). Each consumer must
be idempotent: the same ids may be delivered again after a worker dies.
"""

from collections.abc import Callable, Iterable

from django.db import transaction

__all__ = ["consumers", "publish_on_commit", "register_consumer"]

_consumers: dict[str, Callable[[list[int]], None]] = {}


def register_consumer(name: str, consumer: Callable[[list[int]], None]) -> None:
    _consumers[name] = consumer


def consumers() -> dict[str, Callable[[list[int]], None]]:
    return dict(_consumers)


def publish_on_commit(event_ids: Iterable[int]) -> None:
    """Publish one message for the batch once the surrounding transaction commits.

    A rolled-back transaction publishes nothing.
    """
    ids = list(event_ids)
    if not ids:
        return
    from contacts.tasks import events_recorded

    transaction.on_commit(lambda: events_recorded.delay(ids))
