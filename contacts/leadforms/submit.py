"""Submitting a lead form (docs/forms.md): spam checks, validation, then everything a submission does at once.

    result = form_submit(form, data, ip=..., page_url=..., visitor_key=..., started_at=...)
    result.status: "ok" | "invalid" (result.errors by field) | "spam" (looks like success, nothing stored)
                   | "rate_limited" (answer 429) | "closed" (inactive form / no email field)

Spam checks run BEFORE anything is written; a refused submission only counts `rejected` on the form's day.
An accepted one, in ONE transaction: contact created or updated by email (blanks never overwrite values),
the LeadFormSubmission, tags, lists (double opt-in lists "unconfirmed"), stage (only forward), a deal in the
pipeline's first stage, consent, the visitor linked, a `form_submitted` event (published on commit), and an
OptInRequest whose confirmation email is sent on commit by `contacts.tasks.send_opt_in_email`.
"""

import re
import time
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts import tracking
from contacts.fields import clean_field_value, custom_fields_by_key
from contacts.inputs import valid_email
from contacts.leadforms.publish import HONEYPOT
from contacts.leadforms.stats import form_count
from contacts.models import Channel, Contact, LeadFormSubmission, OptInRequest, Subscription

__all__ = ["SubmitResult", "form_submit"]

_LINK = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(com|net|org|io|ru|cn|info|biz|xyz|top)\b/?)", re.IGNORECASE)
_COLUMNS = {"first_name", "last_name", "phone", "title"}
MAX_VALUE = 2000


@dataclass
class SubmitResult:
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    submission: LeadFormSubmission | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "spam")  # spam looks like success from outside


def _get(data, name: str) -> str:
    value = data.get(name, "") if hasattr(data, "get") else ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _reject(form) -> None:
    form_count(form.pk, rejected=1)


def form_submit(form, data, *, ip: str, page_url: str = "", visitor_key: str = "", started_at: float | None = None,
                now_ts: float | None = None) -> SubmitResult:
    if not form.is_active:
        return SubmitResult("closed", {"__all__": ["This form is closed."]})
    fields = list(form.fields.all())
    if not any(f.target == "email" for f in fields):
        return SubmitResult("closed", {"__all__": ["This form cannot be submitted yet."]})
    # --- Spam checks: nothing is written before they pass -----------------------------------------------
    if tracking.rate_limited("leadform-ip", f"{form.pk}:{ip}", limit=form.rate_per_ip) or \
            tracking.rate_limited("leadform-form", str(form.pk), limit=form.rate_per_form):
        _reject(form)
        return SubmitResult("rate_limited", {"__all__": ["Too many submissions. Please try again in a minute."]})
    if _get(data, HONEYPOT):
        _reject(form)
        return SubmitResult("spam")
    now_ts = now_ts if now_ts is not None else time.time()
    if started_at is not None and form.min_fill_seconds and now_ts - started_at < form.min_fill_seconds:
        _reject(form)
        return SubmitResult("spam")
    # --- Validation --------------------------------------------------------------------------------------
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    custom: dict = {}
    definitions = custom_fields_by_key()
    for f in fields:
        raw = tracking.clean_text(_get(data, f.target), MAX_VALUE)
        values[f.target] = raw
        if not raw:
            if f.required or f.target == "email":
                errors[f.target] = ["Please fill this in."]
            continue
        if f.target == "email":
            address = valid_email(raw)
            if address is None:
                errors["email"] = ["Please enter a valid email address, like name@example.com."]
            else:
                values["email"] = address
        elif f.target.startswith("fields."):
            definition = definitions.get(f.target[7:])
            if definition is None:
                continue  # the custom field was deleted since: ignore the value
            try:
                custom[definition.key] = clean_field_value(definition, raw)
            except ValidationError as error:
                errors[f.target] = list(error.messages)
        elif f.target in _COLUMNS:
            limit = Contact._meta.get_field(f.target).max_length
            if len(raw) > limit:
                errors[f.target] = [f"Please keep this under {limit} characters."]
    if form.consent_text and not _get(data, "consent"):
        errors["consent"] = ["Please tick this box to continue."]
    if errors:
        return SubmitResult("invalid", errors)
    # --- Stricter checks ----------------------------------------------------------------------------------
    email = values["email"]
    if tracking.domain_allowed(email.rsplit("@", 1)[1], tracking.domain_lines(form.blocked_email_domains)):
        _reject(form)
        return SubmitResult("invalid", {"email": ["Please use another email address."]})
    if form.reject_links and any(_LINK.search(v) for k, v in values.items() if k != "email"):
        _reject(form)
        return SubmitResult("invalid", {"__all__": ["Please remove links from your answers."]})
    submission = _accept(form, values, custom, email=email, ip=ip, page_url=tracking.clean_url(page_url) or "",
                         visitor_key=visitor_key, consent=bool(form.consent_text))
    form_count(form.pk, submissions=1)
    return SubmitResult("ok", submission=submission)


@transaction.atomic
def _accept(form, values: dict, custom: dict, *, email: str, ip: str, page_url: str, visitor_key: str,
            consent: bool) -> LeadFormSubmission:
    from contacts.services import (
        consent_record,
        contact_create,
        contact_tag,
        contact_update,
        event_record,
        list_subscription_set,
    )

    columns = {name: values[name] for name in _COLUMNS if values.get(name)}
    linking = tracking.key_known(visitor_key)
    if linking:  # the visitor before the contact: the drain's lock order (tracking.visitor_lock)
        tracking.visitor_lock(visitor_key)
    contact = Contact.objects.select_for_update().with_email(email).first()
    if contact is None:
        try:
            with transaction.atomic():
                contact = contact_create(email=email, actor="form", fields=custom or None, **columns)
        except ValidationError:  # created meanwhile
            contact = Contact.objects.select_for_update().with_email(email).first()
    if contact is not None and not contact._state.adding and (columns or custom):
        changes = {k: v for k, v in columns.items() if v != getattr(contact, k)}
        if custom:
            changes["fields"] = custom
        if changes:
            contact = contact_update(contact=contact, actor="form", **changes)
    now = timezone.now()
    stored = {k: v for k, v in values.items() if v}
    if consent:
        stored["consent"] = True
    submission = LeadFormSubmission.objects.create(
        form=form, contact=contact, data=stored, ip_address=_ip_or_none(ip), page_url=page_url, submitted_at=now)
    if consent:
        consent_record(contact=contact, purpose=f"Form: {form.name}"[:100], source=f"form:{form.pk}",
                       ip_address=_ip_or_none(ip), wording=form.consent_text)
    tags = [tag.name for tag in form.tags.all()]
    if tags:
        contact_tag(contact=contact, names=tags, source="form")
    unconfirmed = []
    for contact_list in form.lists.all():
        current = (Subscription.objects.filter(contact=contact, list=contact_list)
                   .values_list("status", flat=True).first())
        if contact_list.double_opt_in and current != Subscription.Status.SUBSCRIBED:
            list_subscription_set(contact=contact, contact_list=contact_list, status=Subscription.Status.UNCONFIRMED,
                                  source="form")
            unconfirmed.append(contact_list)
        elif not contact_list.double_opt_in:
            list_subscription_set(contact=contact, contact_list=contact_list, status=Subscription.Status.SUBSCRIBED,
                                  source="form")
    stage = form.lifecycle_stage
    if stage is not None:
        current = Contact.objects.select_related("lifecycle_stage").get(pk=contact.pk).lifecycle_stage
        if current is None or current.stage_set_id != stage.stage_set_id or current.position < stage.position:
            from lifecycle.services import contact_stage_set

            contact_stage_set(contact=contact, stage=stage, actor="form", reason=f"Form: {form.name}")
    if form.pipeline_id:
        from pipelines.services import deal_create

        label = form.lead_magnet or form.name
        who = " ".join(p for p in (contact.first_name, contact.last_name) if p) or contact.email
        deal_create(title=f"{label}: {who}"[:200], pipeline=form.pipeline, contact=contact, owner=form.deal_owner)
    if linking:  # a key the server made, even if its visits are still queued
        tracking.visitor_identify(visitor_key, email, known_only=True)
    event_record(contact=contact, type="form_submitted", channel=Channel.FORM, source="form",
                 properties={"form_id": form.pk, "form": form.name, "lead_magnet": form.lead_magnet,
                             "page_url": page_url})
    if unconfirmed:
        request = OptInRequest.objects.create(submission=submission, contact=contact)
        request.lists.set(unconfirmed)
        from contacts.tasks import send_opt_in_email

        transaction.on_commit(lambda: send_opt_in_email.delay(request.pk))
    return submission


def _ip_or_none(ip: str) -> str | None:
    import ipaddress

    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None
