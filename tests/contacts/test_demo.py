"""seed_demo's contacts: custom fields, lists, consent, notes, tasks, lead forms and their timelines, once."""

import random
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import Count, Max
from django.utils import timezone

from contacts import demo
from contacts.fields import clean_field_values, custom_fields_by_key
from contacts.leadforms import demo as leadforms_demo
from contacts.leadforms import publish
from contacts.leadforms.demo import HISTORY_DAYS
from contacts.models import (
    Account,
    Consent,
    Contact,
    ContactList,
    CustomField,
    Event,
    LeadForm,
    LeadFormDay,
    LeadFormField,
    LeadFormSubmission,
    Note,
    OptInRequest,
    Subscription,
    Tag,
    Task,
)
from contacts.tracking import domain_allowed, domain_lines, origin_host
from lifecycle.models import LifecycleStage, StageSet, StageTransition
from pipelines.models import Deal
from users.roles import Role

pytestmark = pytest.mark.django_db

MODELS = (Account, Contact, CustomField, Tag, ContactList, Subscription, Consent, Note, Task, Event, Deal,
          StageTransition, LeadForm, LeadFormField, LeadFormSubmission, LeadFormDay, OptInRequest)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def seeded(db):
    call_command("seed_demo", contacts=120)


def test_running_it_twice_adds_nothing(capsys):
    call_command("seed_demo", contacts=60)
    first = counts()
    assert all(first[name] > 0 for name in first), first

    call_command("seed_demo", contacts=60)

    assert counts() == first
    out = capsys.readouterr().out
    assert "contact follow-ups: already there" in out and "lead forms: already there" in out


def test_the_custom_fields_exist_and_every_stored_value_is_valid_for_its_type(seeded):
    assert set(CustomField.objects.values_list("key", "type")) == {
        ("industry", "choice"), ("employee_headcount", "number"), ("annual_revenue", "money"),
        ("region", "choice"), ("renewal_date", "date"), ("trial_user", "boolean"), ("website", "url")}
    definitions = custom_fields_by_key()
    with_values = 0
    for fields in demo.demo_contacts().values_list("fields", flat=True):
        cleaned, errors = clean_field_values(fields, definitions)
        assert errors == {} and cleaned == fields
        with_values += bool(fields)
    assert with_values > 100
    for key in definitions:
        assert Contact.objects.filter(fields__has_key=key).exists(), key
    assert Contact.objects.filter(fields__annual_revenue__gt=100_000_000).exists()


def test_accounts_form_a_hierarchy_with_size_and_revenue(seeded):
    assert Account.objects.filter(parent__isnull=False).exists()
    assert not Account.objects.filter(size="").exists()
    assert not Account.objects.filter(annual_revenue__isnull=True).exists()
    child = Account.objects.filter(parent__isnull=False).select_related("parent").first()
    assert child.annual_revenue < child.parent.annual_revenue


def test_contacts_come_from_lead_magnets_and_their_lead_status_follows_their_stage(seeded):
    contacts = demo.demo_contacts()
    assert {"form", "import", "api", "manual"} <= set(contacts.values_list("source", flat=True))
    assert contacts.filter(source="form", source_detail="CRM playbook ebook").exists()
    assert contacts.filter(source="form", source_detail="Automation webinar").exists()
    assert set(contacts.values_list("lead_status", flat=True)) == set(Contact.LeadStatus.values)
    stage_set = StageSet.objects.get(is_active=True)
    grow = LifecycleStage.objects.get(stage_set=stage_set, position=3)
    assert set(contacts.filter(lifecycle_stage=grow).values_list("lead_status", flat=True)) == {"customer"}


def test_every_stage_has_contacts_and_some_moved_backward(seeded):
    stages = LifecycleStage.objects.filter(stage_set__is_active=True).annotate(n=Count("contacts"))
    assert all(stage.n > 0 for stage in stages), [(s.name, s.n) for s in stages]
    assert StageTransition.objects.filter(direction="backward").count() >= 3


def test_lists_have_mixed_statuses_with_consent_records(seeded):
    assert set(ContactList.objects.values_list("name", flat=True)) == {
        "Monthly newsletter", "Product updates", "Webinar invites", "Webinar attendees"}
    statuses = set(Subscription.objects.values_list("status", flat=True))
    assert {"subscribed", "unsubscribed", "bounced"} <= statuses
    assert Consent.objects.filter(granted=True, ip_address__startswith="203.0.113.").exists()
    unsubscribed = Subscription.objects.filter(status="unsubscribed").first()
    assert Consent.objects.filter(contact=unsubscribed.contact, granted=False).exists()
    assert Event.objects.filter(type="list_unsubscribed", contact=unsubscribed.contact,
                                properties__list=unsubscribed.list.name).exists()


def test_reps_have_notes_and_tasks_some_overdue_some_done_some_on_deals(seeded):
    now = timezone.now()
    tasks = Task.objects.filter(contact__in=demo.demo_contacts())
    assert tasks.filter(done=False, due_at__lt=now).exists(), "some overdue"
    assert tasks.filter(done=True, done_at__isnull=False).exists(), "some done"
    assert tasks.filter(done=False, due_at__gt=now).exists(), "some coming up"
    assert tasks.filter(deal__isnull=False).exists() and tasks.filter(deal__isnull=True).exists()
    assert set(tasks.values_list("kind", flat=True)) == set(Task.Kind.values)
    assignee_roles = {task.assignee.role for task in tasks.select_related("assignee")}
    assert assignee_roles <= {Role.SALES_REP, Role.MANAGER} and Role.SALES_REP in assignee_roles
    overdue_by_rep = tasks.filter(done=False, due_at__lt=now, assignee__username="alice")
    assert overdue_by_rep.exists(), "Alice's dashboard has overdue tasks to show"
    assert Note.objects.filter(deal__isnull=False).exists()
    assert not Note.objects.filter(author__isnull=True).exists()
    assert not tasks.filter(created_at__gt=now).exists()


def test_notes_tasks_and_subscriptions_are_on_the_timelines_at_sensible_times(seeded):
    now = timezone.now()
    for event_type in ("note_added", "task_created", "task_done", "list_subscribed", "list_status_changed",
                       "consent_recorded"):
        assert Event.objects.filter(type=event_type).exists(), event_type
    note = Note.objects.select_related("contact").first()
    assert Event.objects.filter(type="note_added", properties__note_id=note.pk, occurred_at=note.created_at).exists()
    done = Task.objects.filter(done=True, contact__isnull=False).first()
    assert Event.objects.filter(type="task_done", properties__task_id=done.pk, occurred_at=done.done_at).exists()
    assert not Event.objects.filter(occurred_at__gt=now).exists()
    # Nothing happens to a contact before it was created, and its last activity is its newest touchpoint.
    for contact in demo.demo_contacts().annotate(newest=Max("events__occurred_at"))[:50]:
        assert contact.last_activity_at == contact.newest
        assert not contact.events.filter(occurred_at__lt=contact.created_at).exists()


def test_it_queues_the_range_indexes_of_the_number_money_and_date_fields(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("seed_demo", contacts=5)
    assert len(callbacks) == 3


# --- Lead forms (contacts.leadforms.demo) -------------------------------------------------------------


def test_two_lead_forms_exist_with_their_fields_tags_lists_and_stage(seeded):
    ebook = LeadForm.objects.get(name="Pricing ebook")
    webinar = LeadForm.objects.get(name="Webinar sign-up")
    assert ebook.lead_magnet == "The 2026 pricing ebook" and webinar.lead_magnet == "Webinar: lifecycle marketing 101"
    assert list(ebook.fields.values_list("target", "required")) == [
        ("email", True), ("first_name", False), ("title", False)]
    assert list(webinar.fields.values_list("target", flat=True)) == ["email", "first_name", "last_name"]
    assert list(ebook.tags.values_list("name", flat=True)) == ["ebook-download"]
    assert list(ebook.lists.values_list("name", flat=True)) == ["Monthly newsletter"]
    assert ebook.success_message and not ebook.consent_text and ebook.lifecycle_stage is None
    webinar_list = webinar.lists.get()
    assert webinar_list.name == "Webinar attendees" and webinar_list.double_opt_in
    assert webinar.consent_text and webinar.pipeline is None
    assert webinar.lifecycle_stage.stage_set.is_active and webinar.lifecycle_stage.position == 1
    for form in (ebook, webinar):  # the demo site may embed them
        assert domain_allowed(origin_host(demo.DEMO_SITE), domain_lines(form.allowed_domains)), form


def test_each_form_has_90_days_of_counts_with_a_weekday_shape_covering_its_submissions(seeded):
    today = timezone.now().date()
    for form in LeadForm.objects.all():
        days = list(LeadFormDay.objects.filter(form=form).order_by("day"))
        assert [d.day for d in days] == [today - timedelta(days=n) for n in range(HISTORY_DAYS - 1, -1, -1)]
        rows = Counter(s.date() for s in form.submissions.values_list("submitted_at", flat=True))
        assert rows, form
        for day in days:
            assert day.submissions >= rows[day.day], (form, day.day)
            assert day.views >= day.submissions
        assert sum(d.rejected for d in days) > 0
        full = days[:-1]  # today is not over yet
        weekdays = [d.views for d in full if d.day.weekday() < 5]
        weekends = [d.views for d in full if d.day.weekday() >= 5]
        assert sum(weekdays) / len(weekdays) > 1.5 * sum(weekends) / len(weekends), form


def test_a_busy_day_counts_at_least_the_submissions_made_that_day():
    now = timezone.now()
    busy = now.date() - timedelta(days=3)
    days = leadforms_demo._days(random.Random(7), LeadForm(), leadforms_demo.FORMS[1], Counter({busy: 400}), now)
    day = next(d for d in days if d.day == busy)
    assert day.submissions >= 400 and day.views >= day.submissions + day.rejected


def test_submissions_are_on_the_submitters_timelines_with_what_the_form_does(seeded):
    submissions = list(LeadFormSubmission.objects.select_related("form", "contact"))
    assert len({s.form_id for s in submissions}) == 2
    events = Event.objects.filter(type="form_submitted", properties__has_key="form_id")
    assert events.count() == len(submissions)
    for submission in submissions:
        form, contact = submission.form, submission.contact
        event = events.get(contact=contact, properties__form_id=form.pk)
        assert event.channel == "form" and event.occurred_at == submission.submitted_at
        assert event.properties == {"form_id": form.pk, "form": form.name, "lead_magnet": form.lead_magnet,
                                    "page_url": submission.page_url}
        assert submission.page_url.startswith(demo.DEMO_SITE + "/")
        assert submission.data["email"] == contact.email and contact.created_at <= submission.submitted_at
        assert set(form.tags.all()) <= set(contact.tags.all())
        assert not contact.subscriptions.filter(list__in=form.lists.all()).exclude(
            status__in=["subscribed", "unconfirmed"]).exists()
        if form.lifecycle_stage:  # already there at the time: the submission moved nothing
            assert contact.stage_at(submission.submitted_at).position >= form.lifecycle_stage.position
        if form.consent_text:
            assert submission.data["consent"] is True
            assert Consent.objects.filter(contact=contact, source=f"form:{form.pk}", wording=form.consent_text,
                                          occurred_at=submission.submitted_at).exists()


def test_webinar_sign_ups_are_confirmed_or_still_wait_with_an_opt_in_request(seeded):
    webinar = LeadForm.objects.get(name="Webinar sign-up")
    attendees = ContactList.objects.get(name="Webinar attendees")
    subscriptions = Subscription.objects.filter(list=attendees)
    assert {"subscribed", "unconfirmed"} == set(subscriptions.values_list("status", flat=True))
    assert subscriptions.count() == webinar.submissions.values("contact").distinct().count()
    for subscription in subscriptions:
        request = OptInRequest.objects.get(contact=subscription.contact, submission__form=webinar)
        assert list(request.lists.all()) == [attendees]
        assert request.created_at == request.submission.submitted_at <= request.sent_at
        if subscription.status == "unconfirmed":
            assert request.confirmed_at is None
        else:
            assert request.sent_at < request.confirmed_at == subscription.changed_at <= timezone.now()
            assert Event.objects.filter(contact=subscription.contact, type="list_subscribed",
                                        properties__list_id=attendees.pk, occurred_at=request.confirmed_at).exists()
    # Every unconfirmed subscription a form left behind has its opt-in request, the newsletter's included.
    from_forms = Subscription.objects.filter(status="unconfirmed", source="form")
    assert from_forms.filter(list__name="Monthly newsletter").exists()
    for subscription in from_forms:
        assert OptInRequest.objects.filter(contact=subscription.contact, lists=subscription.list,
                                           confirmed_at__isnull=True, sent_at__isnull=False).exists()


def test_a_demo_form_accepts_a_real_submission_from_the_demo_site_after_seeding(seeded, client):
    cache.clear()
    webinar = LeadForm.objects.get(name="Webinar sign-up")
    today = LeadFormDay.objects.get(form=webinar, day=timezone.now().date())
    assert client.get(f"/f/{webinar.public_key}/").status_code == 200

    answer = client.post(
        f"/f/{webinar.public_key}/submit/",
        urlencode({"email": "new.visitor@example.com", "first_name": "Nia", "last_name": "Obi", "consent": "on",
                   "lc_token": publish.form_token(webinar, rendered=False)}),
        content_type="application/x-www-form-urlencoded", HTTP_ACCEPT="application/json",
        HTTP_ORIGIN=demo.DEMO_SITE)

    assert answer.status_code == 200, answer.content
    assert answer["Access-Control-Allow-Origin"] == demo.DEMO_SITE
    contact = Contact.objects.get(email="new.visitor@example.com")
    assert contact.lifecycle_stage == webinar.lifecycle_stage
    assert Subscription.objects.get(contact=contact, list__name="Webinar attendees").status == "unconfirmed"
    assert OptInRequest.objects.get(contact=contact).lists.get().name == "Webinar attendees"
    assert Event.objects.filter(contact=contact, type="form_submitted", properties__form_id=webinar.pk).exists()
    before = today.submissions
    today.refresh_from_db()
    assert today.submissions == before + 1
    assert LeadFormDay.objects.filter(form=webinar).count() == HISTORY_DAYS
    cache.clear()
