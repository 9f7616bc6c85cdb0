"""pipeline_metrics: every formula against hand-computed numbers, periods, owners and teams, roles, and queries.

The fixture is Q1 2025 of one pipeline (stages Contact 10%, Qualification 20%, Meeting 40%, Proposal 60%,
Closing 80%, Retention 100%) with deals and stage history written with explicit timestamps:

    open now   O1 Alice Proposal  1,000 (expected 15 Feb 2025)   O2 Bob Contact 500 (expected 1 Jun 2025)
               O3 nobody Meeting  250 (no expected date)
    won in Q1  W1 Alice 2,000  1 Jan → 11 Jan (10 days)    W2 Bob 4,000  21 Jan → 10 Feb (20 days)
               W3 Alice 3,000  5 Jan → 6 Mar (60 days)
    lost in Q1 L1 Bob 700  10 Jan → 30 Jan (20 days)
               R1 Alice 1,500  created 1 Nov 2024, won 1 Dec 2024, reopened 15 Jan, lost 1 Mar (120 days)
    outside    W0 won 15 Dec 2024; W4 won 2 Apr 2025
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lifecycle.forms import Period
from pipelines.metrics import pipeline_metrics
from pipelines.models import Deal, LostReason
from pipelines.services import deal_create, deal_lost, deal_move, deal_reopen, deal_won, pipeline_create
from tests.pipelines.metrics_data import Q1, at, build_q1, make_deal, sales_pipeline
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales():
    return sales_pipeline()


@pytest.fixture
def q1(sales, personas):
    return build_q1(personas, sales)


def metrics_for(pipeline, user, period=Q1, owners=None):
    return pipeline_metrics(pipeline, start=period.start, end=period.end, user=user, owners=owners)


def by_stage(metrics):
    return {row.stage.name: row for row in metrics.stages}


def test_open_deals_count_value_and_weighted_value(q1, personas):
    m = metrics_for(q1[0], personas.admin)

    assert (m.open_count, m.open_value) == (3, Decimal("1750.00"))
    assert m.weighted_open_value == Decimal("750.00")  # 1,000 × 60% + 500 × 10% + 250 × 40%
    stages = by_stage(m)
    assert (stages["Proposal"].open_count, stages["Proposal"].open_value, stages["Proposal"].weighted_value) == (
        1, Decimal("1000.00"), Decimal("600.00"))
    assert stages["Closing"].open_count == 0 and stages["Closing"].open_value == Decimal("0.00")


def test_won_lost_average_size_close_ratio_cycle_and_lifetime(q1, personas):
    m = metrics_for(q1[0], personas.admin)

    assert (m.won_count, m.won_value, m.lost_count) == (3, Decimal("9000.00"), 2)
    assert m.average_deal_size == Decimal("3000.00")
    assert m.close_ratio == pytest.approx(3 / 5)
    assert m.sales_cycle_mean_days == pytest.approx(30)  # (10 + 20 + 60) / 3
    assert m.sales_cycle_median_days == pytest.approx(20)
    assert m.deal_lifetime_mean_days == pytest.approx(46)  # (10 + 20 + 60 + 20 + 120) / 5


def test_velocity_and_both_forecasts(q1, personas):
    m = metrics_for(q1[0], personas.admin)

    assert m.days == 90
    assert m.velocity == Decimal("180.00")  # 3 open × 0.6 × 3,000 ÷ 30 days
    assert m.forecast_by_velocity == Decimal("16200.00")  # 180 × 90 days
    # Only O1 is expected to close in Q1: 1,000 × 60%.
    assert (m.expected_count, m.expected_value, m.forecast_weighted) == (1, Decimal("1000.00"), Decimal("600.00"))


def test_a_reopened_deal_counts_by_its_current_status_and_close_date(q1, personas):
    """R1 was won in December (outside Q1), reopened and lost in March: it is one lost deal of Q1, not a win."""
    m = metrics_for(q1[0], personas.admin)
    december = metrics_for(q1[0], personas.admin, Period(first_day=date(2024, 12, 1), last_day=date(2024, 12, 31)))

    assert m.lost_count == 2
    assert (december.won_count, december.won_value) == (1, Decimal("9999.00"))  # W0 only; R1's old win is gone
    # Its reopened stay in Proposal counts for time in stage (and the one before the win, when it ended).
    assert by_stage(m)["Proposal"].stays == 1 and by_stage(m)["Proposal"].average_days == pytest.approx(30)
    assert by_stage(december)["Proposal"].stays == 1 and by_stage(december)["Proposal"].average_days == 20


def test_stage_conversion_counts_each_deal_once_per_stage_and_ignores_moves_back(q1, personas):
    stages = by_stage(metrics_for(q1[0], personas.admin))

    # Contact: W1, W2, L1 and O2 entered; W1 and W2 moved on.
    assert (stages["Contact"].entered, stages["Contact"].advanced) == (4, 2)
    assert stages["Contact"].conversion == pytest.approx(0.5)
    # Qualification: W1 (moved on to Closing), W2 (came back, then on to Meeting), R1 (came back, then lost).
    assert (stages["Qualification"].entered, stages["Qualification"].advanced) == (3, 2)
    # Meeting: W2 entered twice but counts once; going back to Qualification is not moving on.
    assert (stages["Meeting"].entered, stages["Meeting"].advanced) == (1, 0)
    # Proposal: R1's reopened stay, then back to Qualification. Closing: W1, won without another stage.
    assert (stages["Proposal"].entered, stages["Proposal"].advanced) == (1, 0)
    assert (stages["Closing"].entered, stages["Closing"].advanced) == (1, 0)
    assert (stages["Retention"].entered, stages["Retention"].conversion) == (0, None)


def test_time_in_stage_counts_every_stay_that_ended_in_the_period(q1, personas):
    stages = by_stage(metrics_for(q1[0], personas.admin))

    # Contact: 2 (W1) + 4 (W2) + 20 (L1) days; O2's open stay and R1's 2024 stay are left out.
    assert stages["Contact"].stays == 3 and stages["Contact"].average_days == pytest.approx(26 / 3)
    assert stages["Qualification"].stays == 3 and stages["Qualification"].average_days == pytest.approx(20 / 3)
    # Both of W2's stays in Meeting: 7 and 6 days.
    assert stages["Meeting"].stays == 2 and stages["Meeting"].average_days == pytest.approx(6.5)
    assert stages["Closing"].stays == 1 and stages["Closing"].average_days == pytest.approx(6)
    assert stages["Retention"].stays == 0 and stages["Retention"].average_days is None


def test_win_rate_by_month_covers_at_least_the_twelve_months_to_the_period_end(q1, personas):
    m = metrics_for(q1[0], personas.admin)
    months = {point.month: point for point in m.months}

    assert [p.month for p in m.months][0] == date(2024, 4, 1) and len(m.months) == 12
    assert (months[date(2025, 1, 1)].won, months[date(2025, 1, 1)].lost) == (1, 1)
    assert months[date(2025, 2, 1)].win_rate == 1.0
    assert (months[date(2025, 3, 1)].won, months[date(2025, 3, 1)].lost) == (1, 1)
    assert (months[date(2024, 12, 1)].won, months[date(2024, 12, 1)].lost) == (1, 0)  # W0
    assert months[date(2024, 6, 1)].win_rate is None
    assert m.chart["win_rate"][-3:] == [50.0, 100.0, 50.0]


def test_period_boundaries_include_the_first_moment_and_exclude_the_end(sales, personas):
    pipeline, stages = sales
    for title, closed in [("At start", Q1.start), ("Last moment", Q1.end - timedelta(microseconds=1)),
                          ("At end", Q1.end), ("Just before", Q1.start - timedelta(microseconds=1))]:
        make_deal(pipeline, stages, title, stage="Closing", value=100, status=Deal.Status.WON,
                  created=Q1.start - timedelta(days=10), closed=closed)
    make_deal(pipeline, stages, "Expected on the last day", stage="Closing", value=1000, created=Q1.start,
              expected=Q1.last_day)
    make_deal(pipeline, stages, "Expected the day after", stage="Closing", value=1000, created=Q1.start,
              expected=Q1.last_day + timedelta(days=1))

    m = metrics_for(pipeline, personas.admin)

    assert m.won_count == 2
    assert (m.expected_count, m.forecast_weighted) == (1, Decimal("800.00"))


def test_owner_and_team_filters(q1, personas):
    pipeline = q1[0]
    alice = metrics_for(pipeline, personas.admin, owners=[personas.rep_alice.pk])
    team = metrics_for(pipeline, personas.admin, owners=User.objects.filter(team=personas.rep_alice.team)
                       .values("pk"))

    for m in (alice, team):
        # O1; W1 and W3 won (10 and 60 days); R1 lost.
        assert (m.open_count, m.won_count, m.lost_count) == (1, 2, 1)
        assert m.average_deal_size == Decimal("2500.00")
        assert m.sales_cycle_median_days == pytest.approx(35) and m.sales_cycle_mean_days == pytest.approx(35)
        assert m.velocity == Decimal("47.62")  # 1 × 2/3 × 2,500 ÷ 35 = 47.619…
        assert m.forecast_by_velocity == Decimal("4285.71")  # 47.619… × 90
        assert by_stage(m)["Contact"].entered == 1  # W1 only


def test_each_role_counts_only_the_deals_it_may_see(q1, personas):
    pipeline = q1[0]
    bob = metrics_for(pipeline, personas.rep_bob)
    manager = metrics_for(pipeline, personas.manager)
    outsider = metrics_for(pipeline, personas.outsider)

    # Bob: his O2, W2, L1 and the unassigned O3.
    assert (bob.open_count, bob.open_value, bob.weighted_open_value) == (2, Decimal("750.00"), Decimal("150.00"))
    assert (bob.won_count, bob.lost_count, bob.average_deal_size) == (1, 1, Decimal("4000.00"))
    assert by_stage(bob)["Contact"].entered == 3  # W2, L1, O2
    # The manager's team is Alice's: O1 and O3 open, W1 and W3 won, R1 lost.
    assert (manager.open_count, manager.won_count, manager.lost_count) == (2, 2, 1)
    assert outsider.is_empty and outsider.open_count == 0 and outsider.velocity is None


def test_no_win_in_the_period_means_no_velocity(sales, personas):
    pipeline, stages = sales
    make_deal(pipeline, stages, "Open", stage="Meeting", value=100, created=at(2025, 1, 2))
    make_deal(pipeline, stages, "Lost", stage="Meeting", value=100, status=Deal.Status.LOST,
              created=at(2025, 1, 2), closed=at(2025, 1, 4))

    m = metrics_for(pipeline, personas.admin)

    assert m.close_ratio == 0 and m.average_deal_size is None and m.sales_cycle_median_days is None
    assert m.velocity is None and m.forecast_by_velocity is None
    assert m.deal_lifetime_mean_days == pytest.approx(2)


def test_mixed_currencies_are_added_as_they_are_and_named(sales, personas):
    pipeline, stages = sales
    make_deal(pipeline, stages, "Dollars", stage="Meeting", value=300, created=at(2025, 1, 2))
    make_deal(pipeline, stages, "Euros", stage="Meeting", value=100, currency="EUR", created=at(2025, 1, 2))

    m = metrics_for(pipeline, personas.admin)

    assert m.open_value == Decimal("400.00") and m.currency == "USD"
    assert m.currencies == ["EUR", "USD"] and m.mixed_currencies


def test_deals_moved_won_reopened_and_lost_through_the_services(sales, personas):
    """The history the services write: a move back, a win, a reopen and a loss, all in the current month."""
    pipeline, stages = sales
    reason = LostReason.objects.get_or_create(name="Price")[0]
    deal = deal_create(title="Acme", pipeline=pipeline, value=Decimal("1200"), owner=personas.rep_alice)
    deal_move(deal=deal, stage=stages["Proposal"])
    deal_move(deal=deal, stage=stages["Meeting"])  # back
    deal_won(deal=deal)
    deal_reopen(deal=deal)
    deal_lost(deal=deal, reason=reason)
    today = timezone.localdate()
    period = Period(first_day=today - timedelta(days=1), last_day=today + timedelta(days=1))

    m = metrics_for(pipeline, personas.admin, period)
    stages_m = by_stage(m)

    assert (m.won_count, m.lost_count, m.close_ratio) == (0, 1, 0)
    assert (stages_m["Contact"].entered, stages_m["Contact"].advanced) == (1, 1)
    assert (stages_m["Proposal"].entered, stages_m["Proposal"].advanced) == (1, 0)
    # Meeting: entered once (before the win), again at the reopen; two stays ended.
    assert (stages_m["Meeting"].entered, stages_m["Meeting"].stays) == (1, 2)
    assert sum(row.stays for row in m.stages) == 4


def test_the_number_of_queries_does_not_grow_with_deals_or_history(sales, q1, personas):
    pipeline = q1[0]
    small = pipeline_create(name="Small")
    small_stages = {stage.name: stage for stage in small.stages.all()}
    make_deal(small, small_stages, "Only", stage="Contact", value=1, created=at(2025, 1, 2),
              stays=[("Contact", at(2025, 1, 2), None)])
    personas.admin.role  # noqa: B018 - the role is looked up once per user object, before counting

    with CaptureQueriesContext(connection) as few:
        metrics_for(small, personas.admin)
    with CaptureQueriesContext(connection) as many:
        metrics_for(pipeline, personas.admin)

    assert len(few) == len(many) == 5
