import socket
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

from lifecycle.models import WorkerHeartbeat
from lifecycle.tasks import heartbeat
from tests.helpers import wait_until


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_it_answers_200_when_the_database_redis_and_a_fresh_heartbeat_are_fine(client):
    WorkerHeartbeat.objects.create(hostname="celery@web-1", last_seen_at=timezone.now() - timedelta(seconds=5))

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is True
    assert 4 <= body["checks"]["worker"]["last_heartbeat_seconds_ago"] < 30


@pytest.mark.django_db
def test_it_needs_no_login_and_is_never_cached(client):
    WorkerHeartbeat.objects.create(hostname="celery@web-1", last_seen_at=timezone.now())

    response = client.get("/healthz")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_probes_over_plain_http_are_not_redirected_to_https(client):
    WorkerHeartbeat.objects.create(hostname="celery@web-1", last_seen_at=timezone.now())

    assert client.get("/healthz").status_code == 200
    # Everything else still is.
    login = client.get("/accounts/login/")
    assert login.status_code == 301
    assert login["Location"].startswith("https://")


@pytest.mark.django_db
def test_it_answers_503_when_no_worker_has_ever_sent_a_heartbeat(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["worker"] == {"ok": False, "error": "no heartbeat yet"}
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


@pytest.mark.django_db
def test_it_answers_503_when_the_newest_heartbeat_is_older_than_the_limit(client):
    now = timezone.now()
    limit = settings.WORKER_HEARTBEAT_MAX_AGE
    WorkerHeartbeat.objects.create(hostname="celery@old-1", last_seen_at=now - timedelta(seconds=limit + 30))
    WorkerHeartbeat.objects.create(hostname="celery@old-2", last_seen_at=now - timedelta(seconds=limit + 5))

    response = client.get("/healthz")

    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False
    # The newest of the heartbeats is the one that counts.
    assert limit + 5 <= worker["last_heartbeat_seconds_ago"] < limit + 30


@pytest.mark.django_db
def test_the_heartbeat_age_limit_comes_from_settings(client):
    WorkerHeartbeat.objects.create(hostname="celery@web-1", last_seen_at=timezone.now() - timedelta(seconds=20))

    with override_settings(WORKER_HEARTBEAT_MAX_AGE=10):
        assert client.get("/healthz").status_code == 503
    with override_settings(WORKER_HEARTBEAT_MAX_AGE=60):
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_it_answers_503_with_the_reason_when_redis_is_unreachable(client):
    WorkerHeartbeat.objects.create(hostname="celery@web-1", last_seen_at=timezone.now())
    unreachable = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0"},
    }

    # Changing CACHES drops the cached connections, so the view connects to the closed port.
    with override_settings(CACHES=unreachable):
        response = client.get("/healthz")
    caches["default"].close()

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["checks"]["redis"]["ok"] is False
    # The class of the error only: the public page must not name hosts or ports.
    assert body["checks"]["redis"]["error"] == "ConnectionError"
    assert "127.0.0.1" not in response.content.decode()
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is True


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_turns_green_once_the_real_worker_runs_the_heartbeat_task(client, celery_worker):
    before = client.get("/healthz")
    assert before.status_code == 503
    assert before.json()["checks"]["worker"]["ok"] is False

    heartbeat.delay()

    wait_until(lambda: client.get("/healthz").json()["checks"]["worker"]["ok"])
    after = client.get("/healthz")
    assert after.status_code == 200
    assert after.json()["ok"] is True
    assert WorkerHeartbeat.objects.get().hostname.startswith("test-worker-")
