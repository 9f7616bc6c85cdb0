"""Double opt-in for lead forms: the confirmation email (sent once per OptInRequest) and the signed link.

    opt_in_send(request_id) -> bool          # claims the row, commits, sends, marks it sent; False when not sent
    confirm_url(request) -> absolute URL     # /f/confirm/<token>/, signed, valid CONFIRM_MAX_AGE
    opt_in_confirm(token) -> OptInRequest | None   # moves unconfirmed subscriptions to subscribed; idempotent
    opt_in_resend_due() -> [request ids]     # owed emails no task is about to send (the beat's sweep queues them)
"""

import contextlib
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import OptInRequest, Subscription

__all__ = ["CONFIRM_MAX_AGE", "SEND_CLAIM_TIMEOUT", "SWEEP_AFTER", "confirm_url", "opt_in_confirm",
           "opt_in_resend_due", "opt_in_send"]

_SALT = "contacts.leadforms.optin"
CONFIRM_MAX_AGE = 30 * 24 * 3600
#: A send claim (`sending_at`) older than this, still without `sent_at`, belongs to a sender that died; it may be
#: claimed again. Far longer than one SMTP send can take (EMAIL_TIMEOUT is seconds).
SEND_CLAIM_TIMEOUT = timedelta(minutes=10)
#: A request never claimed this long after it was made lost its task (a worker died with it queued).
SWEEP_AFTER = timedelta(minutes=5)


def confirm_token(request: OptInRequest) -> str:
    return signing.dumps({"o": request.pk}, salt=_SALT)


def confirm_url(request: OptInRequest) -> str:
    return f"{settings.SITE_URL}/f/confirm/{confirm_token(request)}/"


def opt_in_send(request_id: int) -> bool:
    """Send the confirmation email of one OptInRequest at most once; True when this call sent it.

    The row is the idempotency key. Three steps, none of them holding a transaction open across the SMTP send:

    1. claim: one committed UPDATE sets `sending_at` where `sent_at` is null and there is no claim younger than
       SEND_CLAIM_TIMEOUT. Postgres re-checks that condition after waiting for a concurrent claimer's row lock, so
       of two callers only one gets the row; the other returns False without sending.
    2. send through the Django email backend. When that fails (OSError, which includes smtplib.SMTPException:
       refused connection, 4xx/5xx answers; or any other error before the server accepted the email) the claim
       is released and the error raised, so the Celery task's retry (it retries on OSError) can send it.
    3. mark it sent (`sent_at`).

    The only way to a duplicate: the process dies (or loses the database) after the SMTP server accepted the
    email and before step 3 commits; after SEND_CLAIM_TIMEOUT a later call claims the row again and resends.
    Call it outside a transaction (the Celery task does): inside one, the claim is not committed before the send.
    """
    claimed_at = timezone.now()
    with transaction.atomic():
        claimed = (OptInRequest.objects
                   .filter(pk=request_id, sent_at__isnull=True)
                   .filter(Q(sending_at__isnull=True) | Q(sending_at__lt=claimed_at - SEND_CLAIM_TIMEOUT))
                   .update(sending_at=claimed_at))
    if not claimed:
        return False
    connection = get_connection()
    try:
        request = OptInRequest.objects.select_related("contact", "submission__form").get(pk=request_id)
        form = request.submission.form
        names = ", ".join(lst.name for lst in request.lists.all())
        subject = f"Please confirm your subscription{': ' + form.lead_magnet if form.lead_magnet else ''}"
        body = (f"Hello,\n\nPlease confirm that you want to receive emails from us ({names}) by opening this "
                f"link:\n\n{confirm_url(request)}\n\nIf you did not ask for this, ignore this email and nothing "
                "will be sent to you.\n")
        message = EmailMessage(subject[:150], body, settings.DEFAULT_FROM_EMAIL, [request.contact.email])
        connection.open()
        connection.send_messages([message])  # returns once the server accepted the message (250 to DATA)
    except Exception:  # smtplib.SMTPException is an OSError; the task retries on OSError and OperationalError
        # Not sent (a database blip while building it counts too): release our own claim (not one taken over
        # since) so that a retry sends it.
        with contextlib.suppress(Exception):
            connection.close()
        with contextlib.suppress(DatabaseError):
            (OptInRequest.objects.filter(pk=request_id, sending_at=claimed_at, sent_at__isnull=True)
             .update(sending_at=None))
        raise
    with contextlib.suppress(OSError):
        connection.close()  # the email is accepted; a failing QUIT must not make it look unsent
    OptInRequest.objects.filter(pk=request_id, sent_at__isnull=True).update(sent_at=timezone.now())
    return True


def opt_in_resend_due(*, now=None, limit: int = 500) -> list[int]:
    """Requests whose email is owed and no task is about to send: never claimed for SWEEP_AFTER (a task lost
    with its worker), or claimed longer than SEND_CLAIM_TIMEOUT ago and never marked sent. The beat's sweep
    queues a send for each; the claim keeps it to one."""
    now = now or timezone.now()
    return list(OptInRequest.objects.filter(sent_at__isnull=True, created_at__lt=now - SWEEP_AFTER)
                .filter(Q(sending_at__isnull=True) | Q(sending_at__lt=now - SEND_CLAIM_TIMEOUT))
                .order_by("pk").values_list("pk", flat=True)[:limit])


@transaction.atomic
def opt_in_confirm(token: str) -> OptInRequest | None:
    from contacts.services import list_subscription_set

    try:
        payload = signing.loads(token, salt=_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("o"), int):
        return None
    request = OptInRequest.objects.select_for_update().select_related("contact").filter(pk=payload["o"]).first()
    if request is None:
        return None
    for contact_list in request.lists.all():
        status = (Subscription.objects.filter(contact=request.contact, list=contact_list)
                  .values_list("status", flat=True).first())
        if status == Subscription.Status.UNCONFIRMED:
            list_subscription_set(contact=request.contact, contact_list=contact_list,
                                  status=Subscription.Status.SUBSCRIBED, source="form")
    if request.confirmed_at is None:
        request.confirmed_at = timezone.now()
        request.save(update_fields=["confirmed_at"])
    return request
