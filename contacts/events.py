"""The event spine: every stored touchpoint is published to Celery after its transaction commits.

Consumers (scoring, automations, lifecycle rules, webhooks) register a callable taking a list
of event ids with `register_consumer`, usually in their AppConfig.ready(). Each consumer must
be idempotent: the same ids may be delivered again after a worker dies.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

__all__ = ["consumers", "one_message", "publish_on_commit", "register_consumer"]

_consumers: dict[str, Callable[[list[int]], None]] = {}
#: The ids published inside a `one_message()` block, sent together when it ends.
_collected: ContextVar[list[int] | None] = ContextVar("collected_event_ids", default=None)


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
    collected = _collected.get()
    if collected is not None:
        collected.extend(ids)
        return
    from contacts.tasks import events_recorded

    transaction.on_commit(lambda: events_recorded.delay(ids))


@contextmanager
def one_message() -> Iterator[None]:
    """Publish everything recorded inside the block as one message, at commit (bulk ingestion).

    The ids of every publish_on_commit() inside are sent together when the block ends without an
    error; a block that raises publishes nothing. Nested blocks join the outermost one. Use it
    inside the transaction: an error caught within the block after a rolled-back savepoint would
    still send that savepoint's ids (consumers re-read rows by id, so a missing one is skipped).
    """
    if _collected.get() is not None:
        yield
        return
    ids: list[int] = []
    token = _collected.set(ids)
    try:
        yield
    finally:
        _collected.reset(token)
    publish_on_commit(ids)
