from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from contacts.models import Event
from contacts.services import contact_create
from lifecycle.models import StageSet, StageTransition
from lifecycle.services import contact_stage_set, stage_sets_ensure_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def stages():
    return {s.name: s for s in stage_sets_ensure_defaults().stages.all()}


def test_the_default_stage_sets_exist_after_migrate_with_the_customer_lifecycle_active():
    active = StageSet.objects.get(is_active=True)
    assert active.name == "Customer lifecycle"
    assert [s.name for s in active.stages.order_by("position")] == [
        "Reach & Engage", "Nurture & Educate", "Convert & Close", "Support & Grow"]
    assert set(StageSet.objects.values_list("name", flat=True)) == {
        "Customer lifecycle", "Kotler's 5 A's", "Journey in 4 steps"}


def test_only_one_stage_set_can_be_active():
    with pytest.raises(IntegrityError):
        StageSet.objects.filter(name="Kotler's 5 A's").update(is_active=True)


def test_it_records_entry_forward_and_backward_moves_with_who_and_why(stages, personas,
                                                                    django_capture_on_commit_callbacks):
    contact = contact_create(email="squiggle@example.com")
    with django_capture_on_commit_callbacks() as callbacks:
        entry = contact_stage_set(contact=contact, stage=stages["Reach & Engage"], actor="form")
        forward = contact_stage_set(contact=contact, stage=stages["Convert & Close"], actor="rule",
                                    reason="score passed 50")
        backward = contact_stage_set(contact=contact, stage=stages["Nurture & Educate"], actor="user",
                                     user=personas.marketer, reason="not ready yet")

    assert [entry.direction, forward.direction, backward.direction] == ["entry", "forward", "backward"]
    assert backward.from_stage == stages["Convert & Close"]
    assert backward.user == personas.marketer and backward.reason == "not ready yet"
    contact.refresh_from_db()
    assert contact.lifecycle_stage == stages["Nurture & Educate"]
    events = Event.objects.filter(contact=contact, type="stage_changed").order_by("id")
    assert [e.properties["to"] for e in events] == ["Reach & Engage", "Convert & Close", "Nurture & Educate"]
    assert events.last().properties["direction"] == "backward"
    assert len(callbacks) == 3  # each move is published on commit


def test_moving_to_the_current_stage_records_nothing(stages):
    contact = contact_create(email="same@example.com")
    contact_stage_set(contact=contact, stage=stages["Reach & Engage"], actor="api")

    assert contact_stage_set(contact=contact, stage=stages["Reach & Engage"], actor="api") is None
    assert StageTransition.objects.filter(contact=contact).count() == 1


def test_moving_into_a_stage_of_another_set_counts_as_an_entry(stages):
    contact = contact_create(email="switch@example.com")
    contact_stage_set(contact=contact, stage=stages["Support & Grow"], actor="api")
    other = StageSet.objects.get(name="Kotler's 5 A's").stages.get(name="Awareness")

    assert contact_stage_set(contact=contact, stage=other, actor="api").direction == "entry"


def test_stage_at_answers_where_the_contact_was_at_any_time(stages):
    contact = contact_create(email="history@example.com")
    start = timezone.now() - timedelta(days=30)
    contact_stage_set(contact=contact, stage=stages["Reach & Engage"], actor="api", occurred_at=start)
    contact_stage_set(contact=contact, stage=stages["Convert & Close"], actor="api",
                      occurred_at=start + timedelta(days=10))

    assert contact.stage_at(start - timedelta(days=1)) is None
    assert contact.stage_at(start + timedelta(days=5)) == stages["Reach & Engage"]
    assert contact.stage_at(timezone.now()) == stages["Convert & Close"]
