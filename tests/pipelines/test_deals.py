"""Deal services: stage history, gapless positions, won → customer, lost with a reason, timeline events."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts.models import CustomField, Event
from contacts.services import contact_create
from lifecycle.models import StageTransition
from lifecycle.services import contact_stage_set, stage_sets_ensure_defaults
from pipelines.models import Deal, DealStageHistory, LostReason
from pipelines.services import (
    deal_create,
    deal_delete,
    deal_lost,
    deal_move,
    deal_reopen,
    deal_update,
    deal_won,
    pipeline_create,
    pipeline_delete,
    pipeline_update,
    stage_create,
    stage_delete,
    stage_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales():
    pipeline = pipeline_create(name="Sales")
    return pipeline, {stage.name: stage for stage in pipeline.stages.all()}


def positions(stage) -> list[str]:
    return list(Deal.objects.filter(stage=stage, status="open").order_by("position").values_list("title", flat=True))


def test_a_new_deal_enters_the_first_stage_at_the_end_and_shows_on_the_timeline(sales, personas):
    pipeline, stages = sales
    contact = contact_create(email="a@x.com")

    first = deal_create(title="First", pipeline=pipeline, by=personas.rep_alice)
    second = deal_create(title="Second", pipeline=pipeline, contact=contact)

    assert first.stage == second.stage == stages["Contact"]
    assert positions(stages["Contact"]) == ["First", "Second"]
    stay = DealStageHistory.objects.get(deal=first)
    assert stay.stage == stages["Contact"] and stay.exited_at is None and stay.moved_by == personas.rep_alice
    assert Event.objects.filter(contact=contact, type="deal_created", properties__deal="Second").exists()


def test_moving_records_each_stay_forward_and_back_and_keeps_both_columns_gapless(sales):
    pipeline, stages = sales
    contact = contact_create(email="a@x.com")
    deals = [deal_create(title=f"D{i}", pipeline=pipeline, contact=contact) for i in range(3)]
    target = deal_create(title="T", pipeline=pipeline, stage=stages["Meeting"])

    deal_move(deal=deals[0], stage=stages["Meeting"], position=0)
    deal_move(deal=deals[0], stage=stages["Qualification"], position=0)

    assert positions(stages["Contact"]) == ["D1", "D2"]
    assert positions(stages["Meeting"]) == ["T"]
    assert positions(stages["Qualification"]) == ["D0"]
    stays = list(DealStageHistory.objects.filter(deal=deals[0]).values_list("stage__name", "exited_at"))
    assert [name for name, _ in stays] == ["Contact", "Meeting", "Qualification"]
    assert all(exited for _n, exited in stays[:2]) and stays[2][1] is None
    moves = Event.objects.filter(type="deal_moved").order_by("id").values_list("properties__direction", flat=True)
    assert list(moves) == ["forward", "backward"]
    assert target.stage == stages["Meeting"]


def test_reordering_within_a_column_records_no_stage_change(sales):
    pipeline, stages = sales
    a, b, c = (deal_create(title=t, pipeline=pipeline) for t in "ABC")

    deal_move(deal=c, stage=stages["Contact"], position=0)

    assert positions(stages["Contact"]) == ["C", "A", "B"]
    assert DealStageHistory.objects.filter(deal=c).count() == 1


def test_a_move_to_another_pipelines_stage_or_of_a_closed_deal_is_refused(sales):
    pipeline, _stages = sales
    other = pipeline_create(name="Partners")
    deal = deal_create(title="D", pipeline=pipeline)

    with pytest.raises(ValidationError, match="another pipeline"):
        deal_move(deal=deal, stage=other.stages.first())
    deal_lost(deal=deal, reason=LostReason.objects.get(name="Price"))
    with pytest.raises(ValidationError, match="Only open deals"):
        deal_move(deal=deal, stage=pipeline.stages.last())


def test_winning_makes_the_contact_a_customer_with_the_reason_recorded(sales, personas):
    pipeline, _stages = sales
    stages = {s.name: s for s in stage_sets_ensure_defaults().stages.all()}
    contact = contact_create(email="a@x.com")
    contact_stage_set(contact=contact, stage=stages["Convert & Close"], actor="user")
    deal = deal_create(title="Big", pipeline=pipeline, contact=contact)

    won = deal_won(deal=deal, by=personas.rep_alice)

    contact.refresh_from_db()
    assert won.status == "won" and won.closed_at is not None
    assert contact.lifecycle_stage == stages["Support & Grow"]
    move = StageTransition.objects.filter(contact=contact).first()
    assert (move.actor, move.direction, move.reason) == ("rule", "forward", "Won the deal “Big”")
    assert not DealStageHistory.objects.filter(deal=deal, exited_at__isnull=True).exists()
    assert Event.objects.filter(contact=contact, type="deal_won").exists()
    with pytest.raises(ValidationError, match="already won"):
        deal_won(deal=deal)


def test_a_second_won_deal_leaves_a_customer_where_they_are(sales):
    pipeline, _stages = sales
    contact = contact_create(email="a@x.com")
    deal_won(deal=deal_create(title="One", pipeline=pipeline, contact=contact))
    transitions = StageTransition.objects.count()

    deal_won(deal=deal_create(title="Two", pipeline=pipeline, contact=contact))

    assert StageTransition.objects.count() == transitions


def test_losing_needs_a_reason_from_the_list(sales):
    pipeline, stages = sales
    deal = deal_create(title="D", pipeline=pipeline)
    retired = LostReason.objects.create(name="Retired reason", is_active=False)

    with pytest.raises(ValidationError, match="why the deal was lost"):
        deal_lost(deal=deal, reason=retired)
    lost = deal_lost(deal=deal, reason=LostReason.objects.get(name="Chose a competitor"))

    assert lost.status == "lost" and lost.lost_reason.name == "Chose a competitor"
    assert positions(stages["Contact"]) == []


def test_the_default_lost_reasons_exist_and_a_deal_has_one_open_stay_at_most(sales):
    pipeline, stages = sales
    deal = deal_create(title="D", pipeline=pipeline)

    assert "Price" in LostReason.objects.values_list("name", flat=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        DealStageHistory.objects.create(deal=deal, stage=stages["Meeting"], entered_at=deal.created_at)


def test_a_move_past_the_end_of_a_stage_is_refused_and_the_end_is_allowed(sales):
    pipeline, stages = sales
    a, b = (deal_create(title=t, pipeline=pipeline) for t in "AB")

    with pytest.raises(ValidationError) as refused:
        deal_move(deal=a, stage=stages["Meeting"], position=1)
    deal_move(deal=a, stage=stages["Contact"], position=1)

    assert "past the end" in refused.value.message_dict["position"][0]
    assert positions(stages["Contact"]) == ["B", "A"]


def test_a_deal_is_created_with_bant_other_contacts_and_custom_fields(sales):
    pipeline, _stages = sales
    CustomField.objects.create(object="deal", key="seats", label="Seats", type="number")
    CustomField.objects.create(key="seats", label="Seats (contact)", type="text")  # a contact field of the same key
    ada, bob = contact_create(email="ada@x.com"), contact_create(email="bob@x.com")

    deal = deal_create(title="D", pipeline=pipeline, contact=ada, other_contacts=[bob, ada], budget=Decimal("900"),
                       authority="CFO signs", need="Faster onboarding", timeline="Q3", fields={"seats": "25"})

    deal.refresh_from_db()
    assert deal.fields == {"seats": 25} and deal.budget == Decimal("900") and deal.authority == "CFO signs"
    assert list(deal.other_contacts.all()) == [bob]
    assert Event.objects.filter(type="deal_created", contact__in=[ada, bob]).count() == 2
    with pytest.raises(ValidationError) as bad:
        deal_create(title="E", pipeline=pipeline, fields={"seats": "many"})
    assert "seats" in bad.value.message_dict["fields"][0]


@pytest.mark.parametrize(("change", "field"), [
    ({"value": Decimal("-1")}, "value"),
    ({"currency": "XYZ"}, "currency"),
    ({"title": "  "}, "title"),
])
def test_bad_deal_details_are_refused_by_field(sales, change, field):
    pipeline, _stages = sales
    deal = deal_create(title="D", pipeline=pipeline, value=Decimal("10"))

    with pytest.raises(ValidationError) as refused:
        deal_update(deal=deal, **change)

    assert field in refused.value.message_dict
    deal.refresh_from_db()
    assert deal.value == Decimal("10") and deal.currency == "USD" and deal.title == "D"


def test_a_new_value_or_owner_is_an_event_and_other_changes_are_not(sales, personas):
    pipeline, _stages = sales
    contact = contact_create(email="a@x.com")
    deal = deal_create(title="D", pipeline=pipeline, contact=contact, value=Decimal("100"))

    deal_update(deal=deal, value=Decimal("250.50"), need="More seats")
    deal_update(deal=deal, owner=personas.rep_alice)
    deal_update(deal=deal, expected_close_date=date(2027, 1, 31), currency="eur")

    events = Event.objects.filter(contact=contact, type__startswith="deal_").order_by("id")
    types = list(events.values_list("type", flat=True))
    assert types == ["deal_created", "deal_value_changed", "deal_owner_changed", "deal_value_changed"]
    assert events.filter(type="deal_value_changed").first().properties["previous_value"] == "100.00"
    deal.refresh_from_db()
    assert deal.currency == "EUR" and deal.need == "More seats"


def test_the_won_makes_customer_rule_can_be_turned_off_per_pipeline(sales):
    pipeline, _stages = sales
    pipeline_update(pipeline=pipeline, won_makes_customer=False)
    contact = contact_create(email="a@x.com")

    deal_won(deal=deal_create(title="D", pipeline=pipeline, contact=contact))

    assert not StageTransition.objects.filter(contact=contact).exists()


def test_a_reopened_deal_gets_a_new_stay_last_in_its_stage(sales):
    pipeline, stages = sales
    deal = deal_create(title="D", pipeline=pipeline)
    deal_create(title="E", pipeline=pipeline)
    deal_lost(deal=deal, reason=LostReason.objects.get(name="Price"))

    reopened = deal_reopen(deal=deal)

    assert reopened.status == "open" and reopened.closed_at is None and reopened.lost_reason is None
    assert positions(stages["Contact"]) == ["E", "D"]
    assert DealStageHistory.objects.filter(deal=deal).count() == 2
    assert DealStageHistory.objects.filter(deal=deal, exited_at__isnull=True).count() == 1
    with pytest.raises(ValidationError, match="already open"):
        deal_reopen(deal=deal)


def test_deleting_a_deal_keeps_the_order_of_the_others(sales):
    pipeline, stages = sales
    a, b, c = (deal_create(title=t, pipeline=pipeline) for t in "ABC")

    deal_delete(deal=b)
    deal_move(deal=c, stage=stages["Contact"], position=1)  # indexes count the cards that are left

    assert positions(stages["Contact"]) == ["A", "C"]
    assert not Deal.objects.filter(pk=b.pk).exists()


def test_a_move_writes_only_the_moved_card_until_two_keys_touch_then_the_column_is_renumbered(sales):
    pipeline, stages = sales
    cards = [deal_create(title=t, pipeline=pipeline) for t in "ABCD"]
    keys = dict(Deal.objects.values_list("title", "position"))

    deal_move(deal=cards[3], stage=stages["Contact"], position=1)  # D between A and B

    after = dict(Deal.objects.values_list("title", "position"))
    assert positions(stages["Contact"]) == ["A", "D", "B", "C"]
    assert {t: after[t] for t in "ABC"} == {t: keys[t] for t in "ABC"}  # nobody else moved
    # Squeeze cards between A and the one after it until the keys touch: the order still holds.
    for _ in range(20):
        deal_move(deal=Deal.objects.get(title="C"), stage=stages["Contact"], position=1)
        deal_move(deal=Deal.objects.get(title="B"), stage=stages["Contact"], position=1)
    assert positions(stages["Contact"])[0] == "A" and sorted(positions(stages["Contact"])) == list("ABCD")
    assert Deal.objects.get(title="A").position != keys["A"]  # the column was renumbered on the way
    order = positions(stages["Contact"])
    deal_move(deal=Deal.objects.get(title=order[3]), stage=stages["Contact"], position=0)
    assert positions(stages["Contact"]) == [order[3], *order[:3]]


def test_stages_are_added_moved_renamed_and_deleted_with_their_deals_moved(sales):
    pipeline, stages = sales
    deal = deal_create(title="D", pipeline=pipeline, stage=stages["Meeting"])
    demo = stage_create(pipeline=pipeline, name="Demo", probability=50, rotting_days=7, position=3)

    with pytest.raises(ValidationError) as taken:
        stage_create(pipeline=pipeline, name="Demo")
    with pytest.raises(ValidationError) as needs_target:
        stage_delete(stage=stages["Meeting"])
    stage_delete(stage=stages["Meeting"], move_deals_to=demo)
    stage_update(stage=demo, name="Live demo", probability=45)

    order = list(pipeline.stages.order_by("position").values_list("name", "position"))
    assert order == [("Contact", 0), ("Qualification", 1), ("Live demo", 2), ("Proposal", 3), ("Closing", 4),
                     ("Retention", 5)]
    assert "already has a stage" in taken.value.message_dict["name"][0]
    assert "move_deals_to" in needs_target.value.message_dict
    deal.refresh_from_db()
    assert deal.stage == demo
    assert list(DealStageHistory.objects.filter(deal=deal).values_list("stage__name", flat=True)) == [
        "Live demo", "Live demo"]


def test_a_pipeline_with_deals_or_the_last_one_cannot_be_deleted(sales):
    pipeline, _stages = sales
    deal_create(title="D", pipeline=pipeline)

    with pytest.raises(ValidationError, match="still in this pipeline"):
        pipeline_delete(pipeline=pipeline)
    Deal.objects.all().delete()
    with pytest.raises(ValidationError, match="only pipeline"):
        pipeline_delete(pipeline=pipeline)
