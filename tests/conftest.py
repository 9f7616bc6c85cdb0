"""Fixtures for the whole suite: personas, a real Celery worker, and the system Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from lifecycle.devservices import stop_process
from tests.factories import PASSWORD, TeamFactory, UserFactory
from users.models import User
from users.roles import Role

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# around it are still synchronous, so Django's async-safety guard would only get in the way.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Personas:
    """The cast every permission test uses: one user per role, two reps, and an outsider."""

    admin: User
    manager: User
    marketer: User
    rep_alice: User
    rep_bob: User
    outsider: User
    password: str = PASSWORD


@pytest.fixture
def personas(db) -> Personas:
    sales = TeamFactory(name="Sales")
    other = TeamFactory(name="Partners")
    return Personas(
        admin=UserFactory(username="admin", role=Role.ADMIN, is_staff=True),
        manager=UserFactory(username="manager", role=Role.MANAGER, team=sales),
        marketer=UserFactory(username="marketer", role=Role.MARKETER),
        rep_alice=UserFactory(username="rep_alice", role=Role.SALES_REP, team=sales),
        rep_bob=UserFactory(username="rep_bob", role=Role.SALES_REP, team=other),
        outsider=UserFactory(username="outsider"),
    )


# --- A real Celery worker -------------------------------------------------------------

def _test_database_url() -> str:
    from django.db import connection

    parts = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lifecycle"))
    return urlunparse(parts._replace(path="/" + connection.settings_dict["NAME"]))


class SmtpInbox:
    """An aiosmtpd handler that keeps every email it accepts, for tests to wait for.

    `refuse(address, reply, ...)` makes the next DATA commands for that recipient answer with those replies
    (e.g. "451 4.3.0 Try again later") instead of accepting.
    """

    def __init__(self):
        self.url = ""
        self.messages: list[EmailMessage] = []
        self.refused: list[str] = []  # the recipients of each refused DATA
        self._refusals: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def refuse(self, address: str, *replies: str) -> None:
        with self._lock:
            self._refusals.setdefault(address.lower(), []).extend(replies)

    def to(self, address: str) -> list[EmailMessage]:
        """The accepted emails sent to `address`."""
        with self._lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                pending = self._refusals.get(rcpt.lower())
                if pending:
                    self.refused.append(rcpt)
                    return pending.pop(0)
            self.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                    policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_inbox():
    """A real SMTP server (aiosmtpd) for the session; the Celery worker sends its email here (EMAIL_URL)."""
    from aiosmtpd.controller import Controller

    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}?timeout=5"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, smtp_inbox, live_server):
    """A `celery worker` process on the real Redis broker and the test database.

    Its email goes to the session's `smtp_inbox` (EMAIL_URL), and the links it writes point at the session's
    `live_server` (SITE_URL), so a browser can follow them. Tests that use it must commit their data
    (`@pytest.mark.django_db(transaction=True)`; live_server asks for that too).

    The suite owns the Redis database REDIS_URL names (tests' cache.clear() flushes it too), so never point it
    at one an app or another test session uses. The queues are emptied first: earlier sessions and this one's
    tests without a worker leave messages there (on-commit publishes about rows long gone), and a test's own
    task would wait behind all of them. The pool is prefork, as in production: the threads pool fetched about
    3 tasks a second from Redis here (prefork and solo about 50), which once left the double opt-in email
    behind 1,300 stale messages for over 30 s.
    """
    from lifecycle.celery import QUEUES, app

    with app.connection_for_write() as connection:
        for queue in QUEUES:
            connection.default_channel.queue_purge(queue)
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "DB_CONN_MAX_AGE": "0",
           "EMAIL_URL": smtp_inbox.url, "SITE_URL": live_server.url}
    (BASE_DIR / "var").mkdir(exist_ok=True)
    log = open(BASE_DIR / "var" / "test-worker.log", "w")  # noqa: SIM115 - lives as long as the worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lifecycle", "worker", "--pool", "prefork",
         "--concurrency", "2", "-Q", ",".join(QUEUES), "--loglevel", "INFO",
         "--hostname", f"test-worker-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(60):
            if worker.poll() is not None:
                raise RuntimeError(f"the Celery worker exited; see {log.name}")
            if app.control.ping(timeout=0.5):
                break
        else:
            raise RuntimeError(f"the Celery worker did not answer a ping; see {log.name}")
        yield worker
    finally:
        stop_process(worker, timeout=20)
        log.close()


# --- Chromium ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's Chromium; Playwright's own browser downloads are never used."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }
