"""seed_demo's deals: two pipelines, about 200 deals over a year whose stage history, positions, timelines and
lifecycle moves agree with each other, and enough of every kind (stale, radio silent, slipping, won, lost,
reopened, moved back) for the board and the metrics to show something real."""

from collections import Counter, defaultdict
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from contacts.models import Event, Task
from lifecycle.models import LifecycleStage, StageTransition
from pipelines.metrics import pipeline_metrics
from pipelines.models import DEFAULT_STAGES, Deal, DealStageHistory, Pipeline
from pipelines.selectors import radio_silent_q, stale_q
from pipelines.services import POSITION_GAP
from users.models import User


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The default demo (300 contacts), seeded once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded")]


def test_it_makes_two_pipelines_with_their_own_stages_and_about_200_deals():
    sales, partnerships = Pipeline.objects.get(name="Sales"), Pipeline.objects.get(name="Partnerships")

    assert [(s.name, s.probability, s.rotting_days) for s in sales.stages.all()] == DEFAULT_STAGES
    own = list(partnerships.stages.values_list("name", "probability", "rotting_days"))
    assert 4 <= len(own) <= 5 and not {name for name, _p, _r in own} & {name for name, _p, _r in DEFAULT_STAGES}
    assert [p for _n, p, _r in own] == sorted(p for _n, p, _r in own) and all(r for _n, _p, r in own)
    assert sales.won_makes_customer and not partnerships.won_makes_customer
    assert Deal.objects.count() == 200
    assert Deal.objects.filter(pipeline=sales).count() > Deal.objects.filter(pipeline=partnerships).count() > 40
    for pipeline in (sales, partnerships):
        assert set(pipeline.deals.values_list("status", flat=True)) == {"open", "won", "lost"}
        assert pipeline.deals.filter(status="open").values("stage").distinct().count() >= 4


def test_deals_were_created_and_closed_over_the_past_year():
    now = timezone.now()
    created = list(Deal.objects.values_list("created_at", flat=True))
    assert min(created) > now - timedelta(days=366) and max(created) < now
    assert len({(now - when).days // 30 for when in created}) >= 11
    closed = Deal.objects.exclude(status="open")
    assert len({(now - when).days // 30 for when in closed.values_list("closed_at", flat=True)}) >= 10
    assert not Deal.objects.filter(status="open", closed_at__isnull=False).exists()
    assert not closed.filter(closed_at__isnull=True).exists()
    assert not Deal.objects.filter(last_activity_at__gt=now).exists()
    assert not Deal.objects.filter(status="lost", lost_reason__isnull=True).exists()
    assert not Deal.objects.exclude(status="lost").filter(lost_reason__isnull=False).exists()
    assert Deal.objects.filter(status="lost").values("lost_reason").distinct().count() >= 4


def test_each_deals_stage_history_walks_through_time_to_where_the_deal_is():
    stays = defaultdict(list)
    for stay in DealStageHistory.objects.select_related("stage").order_by("entered_at", "id"):
        stays[stay.deal_id].append(stay)
    backward = reopened = 0
    for deal in Deal.objects.all():
        history = stays[deal.pk]
        assert history, deal
        assert history[0].entered_at == deal.created_at
        assert all(stay.stage.pipeline_id == deal.pipeline_id for stay in history)
        for before, after in zip(history, history[1:], strict=False):
            assert before.exited_at is not None and before.entered_at < before.exited_at <= after.entered_at
            backward += after.stage.position < before.stage.position
            reopened += after.entered_at > before.exited_at  # a gap: closed, then reopened
        last = history[-1]
        assert (last.stage_id, last.entered_at) == (deal.stage_id, deal.stage_entered_at), deal
        if deal.status == "open":
            assert last.exited_at is None and deal.last_activity_at >= deal.stage_entered_at
        else:
            assert last.exited_at == deal.closed_at == deal.last_activity_at
    assert backward >= 10 and reopened >= 2
    assert not DealStageHistory.objects.filter(deal__status__in=["won", "lost"], exited_at__isnull=True).exists()
    open_stays = Counter(DealStageHistory.objects.filter(exited_at__isnull=True).values_list("deal", flat=True))
    assert set(open_stays.values()) == {1}
    assert set(open_stays) == set(Deal.objects.filter(status="open").values_list("pk", flat=True))


def test_every_open_column_has_its_own_sort_keys_spread_for_drops_between_them():
    columns = defaultdict(list)
    for stage, position in Deal.objects.filter(status="open").values_list("stage", "position"):
        columns[stage].append(position)
    assert len(columns) >= 8
    assert all(sorted(keys) == [n * POSITION_GAP for n in range(len(keys))] for keys in columns.values())


def test_the_boards_show_stale_radio_silent_and_slipping_deals_with_bant_and_more_contacts():
    now = timezone.now()
    open_deals = Deal.objects.filter(status="open")
    assert 60 <= open_deals.count() <= 110
    stale = open_deals.filter(stale_q(now))
    assert 8 <= stale.count() <= open_deals.count() // 2
    assert stale.values("pipeline").distinct().count() == 2
    silent = open_deals.filter(radio_silent_q(now))
    assert silent.count() >= 4 and silent.values("pipeline").distinct().count() == 2
    assert open_deals.exclude(radio_silent_q(now)).count() > 3 * silent.count()
    assert open_deals.filter(expected_close_date__lt=timezone.localdate(now)).count() >= 8
    assert open_deals.filter(expected_close_date__gte=timezone.localdate(now)).count() >= 30
    bant = Deal.objects.exclude(budget=None).exclude(authority="").exclude(need="").exclude(timeline="")
    assert 40 <= bant.count() <= 160
    assert Deal.objects.filter(other_contacts__isnull=False).distinct().count() >= 20
    currencies = Counter(Deal.objects.values_list("currency", flat=True))
    assert currencies["USD"] > 0.8 * 200 and len(currencies) >= 2


def test_owners_are_spread_over_the_demo_reps_and_their_deals_have_tasks_some_overdue():
    owners = Counter(Deal.objects.values_list("owner__username", flat=True))
    assert {"alice", "bob", "maria"} <= set(owners) and owners[None] >= 3
    assert min(owners[name] for name in ("alice", "bob", "maria")) >= 30
    now = timezone.now()
    tasks = Task.objects.filter(deal__isnull=False)
    assert tasks.values("deal").distinct().count() >= 100
    assert tasks.filter(done=False, due_at__lt=now).count() >= 20
    # The radio-silent deals have no contact to follow up with: each has its overdue follow-up on the deal.
    silent = Deal.objects.filter(radio_silent_q(now), contact__isnull=True)
    assert silent.exists()
    assert not silent.annotate(n=Count("tasks")).filter(n=0).exists()


def test_the_contacts_timelines_tell_each_deals_story():
    with_contact = Deal.objects.filter(contact__isnull=False)
    created = set(Event.objects.filter(type="deal_created").values_list("contact", "properties__deal_id",
                                                                       "occurred_at"))
    assert {(d.contact_id, d.pk, d.created_at) for d in with_contact} <= created
    won = with_contact.filter(status="won")
    won_events = set(Event.objects.filter(type="deal_won").values_list("properties__deal_id", "occurred_at"))
    assert {(d.pk, d.closed_at) for d in won} <= won_events
    lost = Event.objects.filter(type="deal_lost").first()
    assert lost.properties["reason"] and lost.properties["currency"]
    assert Event.objects.filter(type="deal_moved", properties__direction="backward").exists()
    assert Event.objects.filter(type="deal_reopened").exists()
    assert not Event.objects.filter(type__startswith="deal_", occurred_at__gt=timezone.now()).exists()
    assert not Event.objects.filter(type__startswith="deal_", occurred_at__lt=F("contact__created_at")).exists()


def test_a_won_sales_deal_made_its_contact_a_customer_but_a_won_partnership_did_not():
    customer = LifecycleStage.objects.filter(stage_set__is_active=True).order_by("-position").first()
    by_rule = StageTransition.objects.filter(actor="rule", reason__startswith="Won the deal")
    assert by_rule.count() >= 10
    titles = set(Deal.objects.filter(status="won", pipeline__name="Partnerships").values_list("title", flat=True))
    for transition in by_rule.select_related("contact__lifecycle_stage"):
        title = transition.reason.removeprefix("Won the deal “").removesuffix("”")
        assert transition.to_stage == customer and title not in titles
        assert Deal.objects.filter(contact=transition.contact, title=title, status="won",
                                   closed_at=transition.occurred_at).exists()
        assert transition.contact.lifecycle_stage == customer
        later = transition.contact.stage_transitions.filter(occurred_at__gt=transition.occurred_at)
        assert not later.exists(), "the rule's move is the contact's newest"


def test_the_metrics_have_a_year_of_real_curves():
    now = timezone.now()
    admin = User.objects.get(username="admin")
    for name in ("Sales", "Partnerships"):
        metrics = pipeline_metrics(Pipeline.objects.get(name=name), start=now - timedelta(days=365), end=now,
                                   user=admin)
        assert 0.15 <= metrics.close_ratio <= 0.7
        assert metrics.velocity and metrics.sales_cycle_median_days > 7
        assert sum(1 for month in metrics.months if month.won + month.lost) >= 9
        assert sum(1 for month in metrics.months if month.won) >= 6
        timed = [stage for stage in metrics.stages if stage.average_days]
        assert len(timed) >= len(metrics.stages) - 1
        assert len({round(stage.average_days) for stage in timed}) >= 3  # stages differ
        assert any(0 < stage.advanced < stage.entered for stage in metrics.stages)


def test_running_it_again_adds_nothing(capsys):
    models = (Pipeline, Deal, DealStageHistory, Event, Task, StageTransition)
    before = {model: model.objects.count() for model in models}

    call_command("seed_demo")

    assert {model: model.objects.count() for model in models} == before
    assert "deals: already there" in capsys.readouterr().out
