"""seed_demo's contacts: custom fields, lists, consent, notes and tasks, with their timelines, seeded once."""

import pytest
from django.core.management import call_command
from django.db.models import Count, Max
from django.utils import timezone

from contacts import demo
from contacts.fields import clean_field_values, custom_fields_by_key
from contacts.models import (
    Account,
    Consent,
    Contact,
    ContactList,
    CustomField,
    Event,
    Note,
    Subscription,
    Tag,
    Task,
)
from lifecycle.models import LifecycleStage, StageSet, StageTransition
from pipelines.models import Deal
from users.roles import Role

pytestmark = pytest.mark.django_db

MODELS = (Account, Contact, CustomField, Tag, ContactList, Subscription, Consent, Note, Task, Event, Deal,
          StageTransition)


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
    assert "contact follow-ups: already there" in capsys.readouterr().out


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
        "Monthly newsletter", "Product updates", "Webinar invites"}
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
