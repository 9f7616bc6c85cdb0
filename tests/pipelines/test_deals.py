"""Deal services: stage history, gapless positions, won → customer, lost with a reason, timeline events."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from contacts.models import Event
from contacts.services import contact_create
from lifecycle.models import StageTransition
from lifecycle.services import contact_stage_set, stage_sets_ensure_defaults
from pipelines.models import Deal, DealStageHistory, LostReason
from pipelines.services import deal_create, deal_lost, deal_move, deal_won, pipeline_create

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
    deal_move(deal=deals[0], stage=stages["Qualification"], position=5)

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
