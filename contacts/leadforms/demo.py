"""Demo lead forms for `seed_demo` (docs/forms.md): a pricing ebook and a webinar sign-up, with their history.

Called from `contacts.demo.seed_followups`, once the lifecycle journeys and deals exist. Each form is made through
the builder (so it is valid) and seeded once: a form whose name is already taken is left alone.

Its history is written set-based and backdated, as the submit path (contacts/leadforms/submit.py) would have:
- 90 days of daily counts (views, submissions, rejected) with a weekday shape, never fewer submissions on a day
  than the submission rows of that day;
- submissions by some demo contacts, each with its `form_submitted` event, the form's tags, its lists (a double
  opt-in list stays *unconfirmed* until the contact confirms, with an OptInRequest either way) and consent.
Submitters are picked so that nothing else would have changed: at the time they were already at or past the form's
lifecycle stage, and on none of its lists with another status than *subscribed*. The forms open no deals.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from contacts import catalog
from contacts.demo import DEMO_SITE, _between, _create_backdated, _ip, _update_last_activity
from contacts.leadforms.builder import leadform_create
from contacts.models import (
    Channel,
    Consent,
    Contact,
    ContactList,
    Event,
    LeadForm,
    LeadFormDay,
    LeadFormSubmission,
    OptInRequest,
    Subscription,
    Tag,
)

__all__ = ["FORMS", "HISTORY_DAYS", "seed"]

HISTORY_DAYS = 90
#: Share of a day's views by weekday (Monday first): B2B visitors read on workdays.
WEEKDAY = [1.0, 1.1, 1.1, 1.0, 0.85, 0.45, 0.4]


@dataclass(frozen=True)
class DemoForm:
    name: str
    lead_magnet: str
    title: str
    intro: str
    submit_text: str
    fields: list[dict]
    tags: list[str]
    #: (name, description, double opt-in, create): a list is found by name, else created when `create` says so
    lists: list[tuple[str, str, bool, bool]]
    #: position in the active stage set, or None for no stage
    stage_position: int | None
    consent_text: str
    success_message: str
    page: str
    #: share of the demo contacts who submitted it (of those who could have)
    share: float
    #: views on a weekday at the start of the 90 days, and the share of views that submit
    views: int
    conversion: float


def _field(target: str, label: str, required: bool = False, placeholder: str = "") -> dict:
    return {"target": target, "label": label, "required": required, "placeholder": placeholder}


FORMS = [
    DemoForm(
        name="Pricing ebook", lead_magnet="The 2026 pricing ebook", title="Get the 2026 pricing ebook",
        intro="How 200 B2B teams price, package and discount, in 40 pages.", submit_text="Download",
        fields=[_field("email", "Email", True, "you@company.com"), _field("first_name", "First name"),
                _field("title", "Job title", placeholder="e.g. Head of Marketing")],
        tags=["ebook-download"],
        lists=[("Monthly newsletter", "", True, False)],  # the contacts demo's newsletter, if it is there
        stage_position=None, consent_text="",
        success_message="Thank you! The ebook is on its way to your inbox.", page="/pricing",
        share=0.15, views=55, conversion=0.06),
    DemoForm(
        name="Webinar sign-up", lead_magnet="Webinar: lifecycle marketing 101",
        title="Lifecycle marketing 101: the live webinar", intro="45 minutes, live, with questions at the end.",
        submit_text="Save my seat",
        fields=[_field("email", "Email", True), _field("first_name", "First name"), _field("last_name", "Last name")],
        tags=["webinar-signup"],
        lists=[("Webinar attendees", "People who signed up for a webinar: reminders and the recording.", True,
                True)],
        stage_position=1,
        consent_text="Yes, email me about this webinar and future ones. I can unsubscribe at any time.",
        success_message="You are in! Please confirm your email address to get the link to the webinar.",
        page="/webinar/automation", share=0.08, views=30, conversion=0.09),
]


def seed(*, rng, context: dict) -> str:
    from lifecycle.services import stage_sets_ensure_defaults

    specs = [spec for spec in FORMS if not LeadForm.objects.filter(name__iexact=spec.name).exists()]
    if not specs:
        return "lead forms: already there"
    now = timezone.now()
    stages = list(stage_sets_ensure_defaults().stages.order_by("position"))
    host = DEMO_SITE.split("://", 1)[1].removeprefix("www.")
    # Who could have submitted: created, and at their current stage, before the submission.
    contacts = list(context["contacts_qs"].select_related("lifecycle_stage")
                    .annotate(settled=Max("stage_transitions__occurred_at")).order_by("pk"))
    statuses = {(contact_id, list_id): status for contact_id, list_id, status in Subscription.objects.filter(
        contact__in=context["contacts_qs"]).values_list("contact_id", "list_id", "status")}
    tagged = set(Contact.tags.through.objects.filter(contact__in=context["contacts_qs"])
                 .values_list("contact_id", "tag_id"))
    rows = {"submissions": [], "events": [], "links": [], "subscriptions": [], "consents": [], "requests": []}
    days = []
    for spec in specs:
        lists = []
        for name, description, double_opt_in, create in spec.lists:
            contact_list = ContactList.objects.filter(name__iexact=name).first()
            if contact_list is None and create:
                contact_list = catalog.list_create(name=name, description=description, double_opt_in=double_opt_in)
            if contact_list is not None:
                lists.append(contact_list)
        stage = stages[min(spec.stage_position, len(stages) - 1)] if spec.stage_position is not None else None
        form = leadform_create(
            created_by=context["users"]["mark"], fields=spec.fields, name=spec.name, lead_magnet=spec.lead_magnet,
            title=spec.title, intro=spec.intro, submit_text=spec.submit_text, consent_text=spec.consent_text,
            success_message=spec.success_message, allowed_domains=host, tags=spec.tags, lists=lists,
            lifecycle_stage=stage)
        LeadForm.objects.filter(pk=form.pk).update(created_at=now - timedelta(days=HISTORY_DAYS, hours=3))
        submitted = _seed_submissions(rng, form, spec, contacts, lists, statuses, tagged, rows, now)
        days += _days(rng, form, spec, submitted, now)

    LeadFormSubmission.objects.bulk_create(rows["submissions"], batch_size=2000)
    for request in rows["requests"]:
        request.submission_id = request.submission.pk
    _create_backdated(OptInRequest, rows["requests"])
    OptInRequest.lists.through.objects.bulk_create(
        [OptInRequest.lists.through(optinrequest_id=request.pk, contactlist_id=contact_list.pk)
         for request in rows["requests"] for contact_list in request._demo_lists], batch_size=2000)
    Contact.tags.through.objects.bulk_create(rows["links"], batch_size=2000)
    Subscription.objects.bulk_create(rows["subscriptions"], batch_size=2000)
    Consent.objects.bulk_create(rows["consents"], batch_size=2000)
    Event.objects.bulk_create(rows["events"], batch_size=2000)
    LeadFormDay.objects.bulk_create(days, batch_size=2000)
    _update_last_activity()
    unconfirmed = sum(1 for request in rows["requests"] if request.confirmed_at is None)
    return (f"lead forms: {len(specs)} ({', '.join(spec.name for spec in specs)}), {len(days)} days of counts, "
            f"{len(rows['submissions'])} submissions, {len(rows['requests'])} opt-in requests "
            f"({unconfirmed} unconfirmed)")


def _seed_submissions(rng, form: LeadForm, spec: DemoForm, contacts: list[Contact], lists: list[ContactList],
                      statuses: dict, tagged: set, rows: dict, now) -> Counter:
    """Submissions by demo contacts and what each one wrote; returns how many there were per day (UTC)."""
    start = now - timedelta(days=HISTORY_DAYS - 1)
    latest = now - timedelta(minutes=10)
    page_url = f"{DEMO_SITE}{spec.page}"
    eligible = []
    for contact in contacts:
        earliest = max(start, contact.created_at)
        if form.lifecycle_stage is not None:
            # Already at (or past) the form's stage when submitting, so the submission moved nothing.
            current = contact.lifecycle_stage
            if current is None or current.stage_set_id != form.lifecycle_stage.stage_set_id or \
                    current.position < form.lifecycle_stage.position:
                continue
            earliest = max(earliest, contact.settled or earliest)
        if earliest >= latest:
            continue
        if any(statuses.get((contact.pk, contact_list.pk)) not in (None, Subscription.Status.SUBSCRIBED)
               for contact_list in lists):
            continue
        eligible.append((contact, earliest))
    wanted = min(len(eligible), max(3, round(len(contacts) * spec.share)))
    tags = [Tag.objects.get(name__iexact=name) for name in spec.tags]
    per_day: Counter = Counter()
    for contact, earliest in rng.sample(eligible, k=wanted):
        when = _between(rng, earliest, latest)
        per_day[when.date()] += 1
        address = _ip(rng)
        data = {target: value for target, value in (("email", contact.email), ("first_name", contact.first_name),
                                                    ("last_name", contact.last_name), ("title", contact.title))
                if value and any(field["target"] == target for field in spec.fields)}
        if form.consent_text:
            data["consent"] = True
        submission = LeadFormSubmission(form=form, contact=contact, data=data, ip_address=address, page_url=page_url,
                                        submitted_at=when)
        rows["submissions"].append(submission)
        events = rows["events"]
        if form.consent_text:
            rows["consents"].append(Consent(contact=contact, purpose=f"Form: {form.name}"[:100], granted=True,
                                            occurred_at=when, source=f"form:{form.pk}", ip_address=address,
                                            wording=form.consent_text))
            events.append(Event(contact=contact, type="consent_recorded", occurred_at=when, source="demo",
                                properties={"purpose": f"Form: {form.name}"[:100], "granted": True}))
        for tag in tags:
            if (contact.pk, tag.pk) not in tagged:
                tagged.add((contact.pk, tag.pk))
                rows["links"].append(Contact.tags.through(contact_id=contact.pk, tag_id=tag.pk))
                events.append(Event(contact=contact, type="tag_added", occurred_at=when, source="demo",
                                    properties={"tag": tag.name}))
        _subscribe(rng, contact, lists, submission, statuses, rows, when, now)
        events.append(Event(contact=contact, type="form_submitted", channel=Channel.FORM, occurred_at=when,
                            source="demo", properties={"form_id": form.pk, "form": form.name,
                                                       "lead_magnet": form.lead_magnet, "page_url": page_url}))
    return per_day


def _subscribe(rng, contact: Contact, lists: list[ContactList], submission: LeadFormSubmission, statuses: dict,
               rows: dict, when, now) -> None:
    """The form's lists: subscribed at once, or unconfirmed with an opt-in email and perhaps confirmed later."""
    owed = []
    for contact_list in lists:
        if statuses.get((contact.pk, contact_list.pk)) == Subscription.Status.SUBSCRIBED:
            continue
        about = {"list": contact_list.name, "list_id": contact_list.pk}
        status = Subscription.Status.UNCONFIRMED if contact_list.double_opt_in else Subscription.Status.SUBSCRIBED
        rows["events"].append(Event(
            contact=contact, type="list_status_changed" if contact_list.double_opt_in else "list_subscribed",
            channel="email", occurred_at=when, source="demo", properties={**about, "status": status, "previous": None}))
        subscription = Subscription(contact=contact, list=contact_list, status=status, changed_at=when, source="form")
        rows["subscriptions"].append(subscription)
        statuses[(contact.pk, contact_list.pk)] = status
        if contact_list.double_opt_in:
            owed.append((contact_list, subscription, about))
    if not owed:
        return
    sent = when + timedelta(seconds=rng.randint(2, 90))
    request = OptInRequest(submission=submission, contact=contact, sent_at=min(sent, now))
    request._demo_created, request._demo_lists = when, [contact_list for contact_list, _s, _a in owed]
    confirmed = request.sent_at + timedelta(minutes=min(int(rng.paretovariate(1.2) * 3), 7 * 24 * 60))
    if rng.random() < 0.7 and confirmed < now:
        request.confirmed_at = confirmed
        for contact_list, subscription, about in owed:
            subscription.status, subscription.changed_at = Subscription.Status.SUBSCRIBED, confirmed
            statuses[(contact.pk, contact_list.pk)] = Subscription.Status.SUBSCRIBED
            rows["events"].append(Event(contact=contact, type="list_subscribed", channel="email", occurred_at=confirmed,
                                        source="demo", properties={**about, "status": "subscribed",
                                                                   "previous": "unconfirmed"}))
    rows["requests"].append(request)


def _days(rng, form: LeadForm, spec: DemoForm, submitted: Counter, now) -> list[LeadFormDay]:
    """Views, submissions and rejected per day: weekday shape, slow growth, noise, today so far."""
    today = now.date()
    elapsed_today = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() / 86400
    days = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        growth = 1 + 0.4 * (HISTORY_DAYS - back) / HISTORY_DAYS
        share = elapsed_today if back == 0 else 1.0
        views = round(spec.views * WEEKDAY[day.weekday()] * growth * rng.uniform(0.75, 1.25) * share)
        submissions = max(submitted[day], round(views * spec.conversion * rng.uniform(0.6, 1.4)))
        rejected = round(views * 0.02 * rng.random()) + (rng.randint(5, 25) if rng.random() < 0.04 else 0)
        days.append(LeadFormDay(form=form, day=day, views=max(views, submissions + rejected),
                                submissions=submissions, rejected=rejected))
    return days
