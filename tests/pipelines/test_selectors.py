"""Deal filters and card facts: stale, radio silent, next task; role scoping."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone

from contacts.models import Contact, Task
from contacts.services import contact_create
from pipelines.models import Deal
from pipelines.selectors import DealFilterSet, deal_facts, deals_visible_to
from pipelines.services import deal_create, pipeline_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales():
    pipeline = pipeline_create(name="Sales")
    return pipeline, {stage.name: stage for stage in pipeline.stages.all()}


def filtered(params, user):
    request = RequestFactory().get("/", params)
    request.user = user
    filterset = DealFilterSet(request.GET, queryset=deals_visible_to(user), request=request)
    assert filterset.is_valid(), filterset.errors
    return sorted(filterset.qs.values_list("title", flat=True))


def test_stale_and_radio_silent_follow_the_stage_limit_and_the_pipeline_setting(sales, personas):
    pipeline, stages = sales  # Contact rots after 14 days; radio silent after 14 days
    now = timezone.now()
    fresh = deal_create(title="Fresh", pipeline=pipeline)
    old = deal_create(title="Old", pipeline=pipeline)
    quiet = deal_create(title="Quiet", pipeline=pipeline, contact=contact_create(email="q@x.com"))
    Deal.objects.filter(pk=old.pk).update(stage_entered_at=now - timedelta(days=15))
    Deal.objects.filter(pk=quiet.pk).update(last_activity_at=now - timedelta(days=20))
    Contact.objects.filter(pk=quiet.contact_id).update(last_activity_at=now - timedelta(days=15))
    Task.objects.create(deal=fresh, title="Call back", due_at=now + timedelta(days=2))
    Task.objects.create(deal=fresh, title="Later", due_at=now + timedelta(days=5))

    facts = {d.title: d for d in deal_facts(Deal.objects.all(), now)}

    assert [t for t, d in facts.items() if d.is_stale] == ["Old"]
    assert [t for t, d in facts.items() if d.is_radio_silent] == ["Quiet"]
    assert facts["Fresh"].next_task_title == "Call back" and facts["Quiet"].next_task_title is None
    assert filtered({"stale": "true"}, personas.admin) == ["Old"]
    assert filtered({"radio_silent": "true"}, personas.admin) == ["Quiet"]
    assert filtered({"stale": "false"}, personas.admin) == ["Fresh", "Quiet"]
    # A recent email or event of the contact is activity too.
    Contact.objects.filter(pk=quiet.contact_id).update(last_activity_at=now)
    assert filtered({"radio_silent": "true"}, personas.admin) == []


def test_filters_by_owner_value_close_date_contact_and_search(sales, personas):
    pipeline, _stages = sales
    ada, bob = contact_create(email="ada@acme.example", first_name="Ada"), contact_create(email="bob@x.com")
    deal_create(title="Acme renewal", pipeline=pipeline, owner=personas.rep_alice, value=Decimal("500"),
                contact=ada, expected_close_date=timezone.localdate() + timedelta(days=10))
    deal_create(title="Big one", pipeline=pipeline, value=Decimal("90000"), contact=bob, other_contacts=[ada])

    assert filtered({"owner": "me"}, personas.rep_alice) == ["Acme renewal"]
    assert filtered({"owner": "none"}, personas.admin) == ["Big one"]
    assert filtered({"value_min": "1000"}, personas.admin) == ["Big one"]
    assert filtered({"close_before": str(timezone.localdate() + timedelta(days=30))}, personas.admin) == [
        "Acme renewal"]
    assert filtered({"contact": ada.pk}, personas.admin) == ["Acme renewal", "Big one"]
    assert filtered({"q": "ADA"}, personas.admin) == ["Acme renewal"]


@pytest.mark.parametrize("params", [{"owner": "bob"}, {"value_min": "10", "value_max": "5"}, {"status": "maybe"},
                                    {"close_after": "soon"}])
def test_bad_filters_are_field_errors(params, personas):
    filterset = DealFilterSet(params, queryset=Deal.objects.all())

    assert not filterset.is_valid()
    assert set(filterset.errors) == {next(iter(params)) if len(params) == 1 else "value_max"}


def test_each_role_sees_its_deals(sales, personas, settings):
    pipeline, _stages = sales
    deal_create(title="Alice's", pipeline=pipeline, owner=personas.rep_alice)
    deal_create(title="Bob's", pipeline=pipeline, owner=personas.rep_bob)
    deal_create(title="Nobody's", pipeline=pipeline)

    seen = {name: sorted(deals_visible_to(getattr(personas, name)).values_list("title", flat=True))
            for name in ("admin", "manager", "rep_alice", "rep_bob", "marketer")}
    settings.REPS_SEE_ALL_DEALS = True
    alice_all = sorted(deals_visible_to(personas.rep_alice).values_list("title", flat=True))

    assert seen["admin"] == seen["marketer"] == alice_all == ["Alice's", "Bob's", "Nobody's"]
    assert seen["rep_alice"] == ["Alice's", "Nobody's"] and seen["rep_bob"] == ["Bob's", "Nobody's"]
    assert seen["manager"] == ["Alice's", "Nobody's"]  # Alice is on the manager's team, Bob is not
