"""Double opt-in for lead forms: the confirmation email (sent once per OptInRequest) and the signed link.

    opt_in_send(request_id) -> bool          # claims the row (sent_at null) and sends; False when already sent
    confirm_url(request) -> absolute URL     # /f/confirm/<token>/, signed, valid CONFIRM_MAX_AGE
    opt_in_confirm(token) -> OptInRequest | None   # moves unconfirmed subscriptions to subscribed; idempotent
"""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from contacts.models import OptInRequest, Subscription

__all__ = ["CONFIRM_MAX_AGE", "confirm_url", "opt_in_confirm", "opt_in_send"]

_SALT = "contacts.leadforms.optin"
CONFIRM_MAX_AGE = 30 * 24 * 3600


def confirm_token(request: OptInRequest) -> str:
    return signing.dumps({"o": request.pk}, salt=_SALT)


def confirm_url(request: OptInRequest) -> str:
    return f"{settings.SITE_URL}/f/confirm/{confirm_token(request)}/"


def opt_in_send(request_id: int) -> bool:
    with transaction.atomic():
        request = (OptInRequest.objects.select_for_update().select_related("contact", "submission__form")
                   .filter(pk=request_id, sent_at__isnull=True).first())
        if request is None:
            return False
        form = request.submission.form
        names = ", ".join(lst.name for lst in request.lists.all())
        subject = f"Please confirm your subscription{': ' + form.lead_magnet if form.lead_magnet else ''}"
        body = (f"Hello,\n\nPlease confirm that you want to receive emails from us ({names}) by opening this "
                f"link:\n\n{confirm_url(request)}\n\nIf you did not ask for this, ignore this email and nothing "
                "will be sent to you.\n")
        send_mail(subject[:150], body, settings.DEFAULT_FROM_EMAIL, [request.contact.email])
        request.sent_at = timezone.now()
        request.save(update_fields=["sent_at"])
    return True


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
