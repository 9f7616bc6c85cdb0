"""The double opt-in email (contacts.leadforms.optin.opt_in_send) against a real SMTP server (aiosmtpd).

The row is claimed (sending_at) and committed before the SMTP send and marked sent after it, so no retry and no
second caller sends it twice; an SMTP failure releases the claim; a stale claim (a dead sender) can be re-claimed.
"""

import secrets
import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from contacts.leadforms.optin import SEND_CLAIM_TIMEOUT, opt_in_send
from contacts.models import Contact, ContactList, LeadForm, LeadFormField, LeadFormSubmission, OptInRequest
from contacts.tasks import send_opt_in_email
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db


class Mailbox:
    """Keeps the emails it accepts. `reply` (e.g. "451 ...") answers DATA instead; `on_data` runs before accepting."""

    def __init__(self, port: int):
        self.port = port
        self.messages = []
        self.reply = None
        self.on_data = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.reply:
            return self.reply
        if self.on_data:
            self.on_data()
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


@pytest.fixture
def smtp(settings):
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    use_smtp(settings, box.port)
    yield box
    controller.stop()


def opt_in_request(email="grace@example.com") -> OptInRequest:
    """An OptInRequest as form_submit writes it (made directly, so no on-commit task reaches a running worker)."""
    form = LeadForm.objects.create(name="Ebook", lead_magnet="Pricing ebook", public_key=secrets.token_hex(16))
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True)
    contact = Contact.objects.create(email=email)
    submission = LeadFormSubmission.objects.create(form=form, contact=contact, data={"email": email},
                                                   submitted_at=timezone.now())
    request = OptInRequest.objects.create(submission=submission, contact=contact)
    request.lists.set([ContactList.objects.get_or_create(name="Weekly", defaults={"double_opt_in": True})[0]])
    return request


def test_sent_once_when_called_twice(smtp):
    request = opt_in_request()
    assert send_opt_in_email(request.pk) is True
    assert send_opt_in_email(request.pk) is False
    [email] = smtp.messages
    assert email["To"] == "grace@example.com"
    assert "/f/confirm/" in email.get_body(("plain",)).get_content()
    request.refresh_from_db()
    assert request.sent_at is not None and request.sending_at is not None


@pytest.mark.parametrize("failure", ["451 4.3.0 Try again later", "554 5.7.1 Rejected", "closed port"])
def test_an_smtp_failure_releases_the_claim_and_a_later_call_sends_it_once(smtp, settings, failure):
    request = opt_in_request()
    if failure == "closed port":
        use_smtp(settings, free_port())  # nothing listens there
    else:
        smtp.reply = failure
    with pytest.raises(OSError):  # smtplib.SMTPException is an OSError: the Celery task retries on it
        opt_in_send(request.pk)
    request.refresh_from_db()
    assert request.sending_at is None and request.sent_at is None
    assert smtp.messages == []

    smtp.reply = None
    use_smtp(settings, smtp.port)
    assert opt_in_send(request.pk) is True
    assert opt_in_send(request.pk) is False
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(("age", "sent"), [(SEND_CLAIM_TIMEOUT - timedelta(minutes=1), False),
                                           (SEND_CLAIM_TIMEOUT + timedelta(minutes=1), True)])
def test_a_fresh_claim_blocks_sending_and_a_stale_one_is_claimed_again(smtp, age, sent):
    request = opt_in_request()
    OptInRequest.objects.filter(pk=request.pk).update(sending_at=timezone.now() - age)
    assert opt_in_send(request.pk) is sent
    assert len(smtp.messages) == (1 if sent else 0)
    request.refresh_from_db()
    assert (request.sent_at is not None) is sent
    assert opt_in_send(request.pk) is False
    assert len(smtp.messages) == (1 if sent else 0)


@pytest.mark.django_db(transaction=True)
def test_a_second_caller_returns_at_once_while_the_first_is_sending(smtp):
    """Another caller's fresh claim is committed before its SMTP send: a second caller neither waits nor sends."""
    request = opt_in_request()
    in_data, release = threading.Event(), threading.Event()
    smtp.on_data = lambda: (in_data.set(), release.wait(10))
    results = {}

    def call(name):
        try:
            results[name] = opt_in_send(request.pk)
        finally:
            connection.close()

    first = threading.Thread(target=call, args=("first",))
    first.start()
    try:
        assert in_data.wait(10), "the first caller never reached DATA"
        second = threading.Thread(target=call, args=("second",))
        second.start()
        second.join(5)
        assert not second.is_alive(), "the second caller waited for the first one's SMTP send"
        assert results["second"] is False
    finally:
        release.set()
        first.join(10)
    assert results["first"] is True
    assert len(smtp.messages) == 1
    assert opt_in_send(request.pk) is False
    assert len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_losing_the_database_after_smtp_accepted_does_not_send_again_on_retry(smtp):
    """The bug this design fixes: the mail is accepted, then the database write after it fails; the retry that
    follows (the task retries on OperationalError) must find the committed claim and not send a duplicate."""
    request = opt_in_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
    params = connection.get_connection_params()
    dsn = {k: params[k] for k in ("host", "port", "user", "password", "dbname") if params.get(k)}

    def kill_our_connection():  # while the server holds the message, before it answers 250
        with psycopg.connect(**dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])

    smtp.on_data = kill_our_connection
    with pytest.raises(OperationalError):
        opt_in_send(request.pk)
    assert len(smtp.messages) == 1
    connection.close()  # what Celery does between tasks with an unusable connection

    smtp.on_data = None
    assert send_opt_in_email(request.pk) is False  # the retry
    assert len(smtp.messages) == 1
    request.refresh_from_db()
    assert request.sending_at is not None and request.sent_at is None
    # The one documented duplicate: once the claim is stale, a later call sends it again.
    OptInRequest.objects.filter(pk=request.pk).update(sending_at=request.sending_at - SEND_CLAIM_TIMEOUT)
    assert opt_in_send(request.pk) is True
    assert len(smtp.messages) == 2


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_real_worker_retries_after_a_refused_data_and_sends_once(celery_worker, smtp_inbox):
    """form_submit queues the task on commit; the worker's first try gets a 451, the retry delivers it once."""
    from contacts.leadforms.submit import form_submit

    address = f"retry-{secrets.token_hex(4)}@example.com"
    smtp_inbox.refuse(address, "451 4.3.0 Try again later")
    form = LeadForm.objects.create(name="Ebook", public_key=secrets.token_hex(16), min_fill_seconds=0)
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True)
    form.lists.add(ContactList.objects.create(name="Weekly", double_opt_in=True))
    with transaction.atomic():
        assert form_submit(form, {"email": address}, ip="203.0.113.9").status == "ok"
    [email] = wait_until(lambda: smtp_inbox.to(address), timeout=30)
    assert "/f/confirm/" in email.get_body(("plain",)).get_content()
    wait_until(lambda: OptInRequest.objects.filter(contact__email=address, sent_at__isnull=False).exists())
    assert smtp_inbox.refused.count(address) == 1  # the first try really was refused
    assert len(smtp_inbox.to(address)) == 1


def test_the_sweep_finds_owed_emails_no_task_is_about_to_send(smtp):
    from contacts.leadforms.optin import SWEEP_AFTER, opt_in_resend_due

    now = timezone.now()
    rows = {name: opt_in_request(f"{name}@example.com") for name in
            ("fresh", "lost", "sending", "stale", "sent")}
    OptInRequest.objects.filter(pk__in=[r.pk for n, r in rows.items() if n != "fresh"]).update(
        created_at=now - SWEEP_AFTER - timedelta(minutes=1))
    OptInRequest.objects.filter(pk=rows["sending"].pk).update(sending_at=now - timedelta(minutes=2))
    OptInRequest.objects.filter(pk=rows["stale"].pk).update(sending_at=now - SEND_CLAIM_TIMEOUT - timedelta(seconds=5))
    OptInRequest.objects.filter(pk=rows["sent"].pk).update(sending_at=now - timedelta(hours=1), sent_at=now)
    due = opt_in_resend_due(now=now)
    assert due == [rows["lost"].pk, rows["stale"].pk]
    for request_id in due:  # what the sweep task queues; each is then sent once
        assert send_opt_in_email(request_id) is True
    assert sorted(m["To"] for m in smtp.messages) == ["lost@example.com", "stale@example.com"]
    assert opt_in_resend_due(now=now) == []


def test_the_sweep_runs_every_five_minutes_on_the_beat():
    from django.conf import settings as django_settings

    entry = django_settings.CELERY_BEAT_SCHEDULE["opt-in-emails-sweep"]
    assert entry["task"] == "contacts.tasks.opt_in_emails_sweep" and entry["schedule"] == 300.0
