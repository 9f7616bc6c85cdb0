import pytest
from django.db import transaction

from lifecycle.models import WorkerHeartbeat
from lifecycle.tasks import heartbeat
from tests.helpers import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_enqueued_on_commit_runs_on_the_real_worker_and_writes_a_row(celery_worker):
    with transaction.atomic():
        transaction.on_commit(heartbeat.delay)
        # Nothing is published before the commit.
        assert not WorkerHeartbeat.objects.exists()

    row = wait_until(lambda: WorkerHeartbeat.objects.first())
    assert row.hostname.startswith("test-worker-")

