"""The metrics page and API, the pipeline review and the pipeline size calculator."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Task
from pipelines.metrics import pipeline_metrics, pipeline_review, pipeline_size
from pipelines.models import Deal
from tests.api_base import assert_error, bearer_client
from tests.factories import UserFactory
from tests.lifecycle.test_csp import audit
from tests.pipelines.metrics_data import Q1, build_q1, make_deal, sales_pipeline
from users.models import ApiKey
from users.roles import Role

pytestmark = pytest.mark.django_db

Q1_QUERY = {"from": "2025-01-01", "to": "2025-03-31"}


@pytest.fixture
def q1(personas):
    return build_q1(personas)


def metrics_url(pipeline) -> str:
    return reverse("pipelines:metrics", args=[pipeline.pk])


def api_url(pipeline_or_pk) -> str:
    return reverse("pipelines-api:pipeline-metrics", args=[getattr(pipeline_or_pk, "pk", pipeline_or_pk)])


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</', html, re.S)
    assert match, testid
    return " ".join(match.group(1).split())


def chart_data(html: str) -> dict:
    match = re.search(r'<script id="metrics-chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


# --- The metrics page ----------------------------------------------------------------------------------------

def test_the_metrics_page_shows_the_numbers_with_their_definitions_and_chart_data(client, q1, personas):
    client.force_login(personas.admin)

    response = client.get(metrics_url(q1[0]), Q1_QUERY)

    html = response.content.decode()
    assert response.status_code == 200
    assert text_of(html, "metric-open_deals") == "3"
    assert text_of(html, "metric-open_deals-detail") == "$1,750 in all · $750 weighted"
    assert text_of(html, "metric-average_deal_size") == "$3,000"
    assert text_of(html, "metric-close_ratio") == "60%"
    assert text_of(html, "metric-sales_cycle") == "20 days"
    assert text_of(html, "metric-sales_cycle-detail") == "median; mean 30 days"
    assert text_of(html, "metric-deal_lifetime") == "46 days"
    assert text_of(html, "metric-velocity") == "$180 / day"
    assert text_of(html, "forecast-velocity") == "$16,200"
    assert text_of(html, "forecast-weighted") == "$600"
    # Every number says how it is computed, in a popover.
    assert html.count('data-bs-toggle="popover"') == 10
    assert "Won ÷ (won + lost), for the deals closed in the period." in html
    contact_row = re.search(r'<tr data-stage="Contact">(.*?)</tr>', html, re.S).group(1)
    assert 'data-col="entered">4<' in contact_row and 'data-col="conversion">50%<' in contact_row
    data = chart_data(html)
    assert data["stages"][:3] == ["Contact", "Qualification", "Meeting"]
    assert data["open_value"] == [500.0, 0.0, 250.0, 1000.0, 0.0, 0.0]
    assert data["average_days"][2] == 6.5
    assert "chartjs-4.6.1/chart.umd.min.js" in html and "js/pipeline-reports.js" in html
    assert "<script>" not in html  # the CSP allows no inline script


def test_the_period_presets_owner_and_team_come_from_the_url(client, q1, personas):
    client.force_login(personas.admin)
    alice = personas.rep_alice

    by_owner = client.get(metrics_url(q1[0]), {**Q1_QUERY, "owner": alice.pk}).content.decode()
    by_team = client.get(metrics_url(q1[0]), {**Q1_QUERY, "team": alice.team_id}).content.decode()
    this_year = client.get(metrics_url(q1[0]), {"period": "year"})

    for html in (by_owner, by_team):
        assert text_of(html, "metric-open_deals") == "1"
        assert text_of(html, "metric-average_deal_size") == "$2,500"
    assert "deals of Alice" in by_owner and "deals of the Sales team" in by_team
    assert this_year.status_code == 200
    assert this_year.context["period"].first_day == timezone.localdate().replace(month=1, day=1)
    assert this_year.context["preset"] == "year"


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2025-03-01", "to": "2025-01-01"}, "to"),
    ({"from": "2025-03-01"}, "to"),
    ({"from": "yesterday", "to": "2025-01-01"}, "from"),
    ({"period": "decade"}, "period"),
    ({"period": "custom"}, "from"),
    ({"owner": "bob"}, "owner"),
    ({"from": "1900-01-01", "to": "2025-01-01"}, "from"),
    ({"from": "2000-01-01", "to": "2025-01-01"}, "to"),
])
def test_bad_period_or_owner_input_is_a_400_with_the_message(client, q1, personas, query, field):
    client.force_login(personas.admin)

    response = client.get(metrics_url(q1[0]), query)

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert 'data-testid="metrics-error"' in response.content.decode()
    assert "metric-cards" not in response.content.decode()


def test_a_rep_may_not_choose_another_reps_deals_nor_both_owner_and_team(client, q1, personas):
    client.force_login(personas.rep_alice)
    assert client.get(metrics_url(q1[0]), {"owner": personas.rep_bob.pk}).status_code == 400
    assert client.get(metrics_url(q1[0]), {"owner": personas.rep_alice.pk}).status_code == 200
    client.force_login(personas.admin)
    response = client.get(metrics_url(q1[0]), {"owner": personas.rep_alice.pk, "team": personas.rep_alice.team_id})
    assert response.status_code == 400 and "not both" in response.context["form"].errors["team"][0]


def test_a_pipeline_without_history_shows_what_to_do_next(client, personas):
    pipeline, _stages = sales_pipeline("Empty")
    client.force_login(personas.admin)

    html = client.get(metrics_url(pipeline)).content.decode()

    assert 'data-testid="metrics-empty"' in html and "Nothing to measure yet" in html
    assert "metrics-chart-data" not in html


def test_no_win_in_the_period_says_not_enough_history(client, personas):
    pipeline, stages = sales_pipeline()
    make_deal(pipeline, stages, "Open", stage="Meeting", value=100, created=Q1.start)
    client.force_login(personas.admin)

    html = client.get(metrics_url(pipeline), Q1_QUERY).content.decode()

    assert text_of(html, "metric-velocity") == "Not enough history"
    assert text_of(html, "forecast-velocity") == "Not enough history"


def test_unknown_pipeline_is_404_and_no_role_is_403(client, q1, personas):
    client.force_login(personas.admin)
    assert client.get(reverse("pipelines:metrics", args=[q1[0].pk + 100])).status_code == 404
    client.force_login(personas.outsider)
    for url in (metrics_url(q1[0]), reverse("pipelines:review"), reverse("pipelines:calculator")):
        assert client.get(url).status_code == 403


def test_each_role_sees_its_own_numbers_on_the_page(client, q1, personas):
    opened = {}
    for name in ("admin", "manager", "rep_alice", "rep_bob", "marketer"):
        client.force_login(getattr(personas, name))
        opened[name] = text_of(client.get(metrics_url(q1[0]), Q1_QUERY).content.decode(), "metric-open_deals")

    # O1 Alice, O2 Bob, O3 unassigned; the manager's team is Alice's.
    assert opened == {"admin": "3", "manager": "2", "rep_alice": "2", "rep_bob": "2", "marketer": "3"}


def test_the_metrics_page_makes_the_same_number_of_queries_whatever_the_data(client, q1, personas):
    small, small_stages = sales_pipeline("Small")
    make_deal(small, small_stages, "Only", stage="Contact", value=1, created=Q1.start)
    client.force_login(personas.admin)

    with CaptureQueriesContext(connection) as few:
        assert client.get(metrics_url(small), Q1_QUERY).status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(metrics_url(q1[0]), Q1_QUERY).status_code == 200

    assert len(few) == len(many)


# --- The metrics API -----------------------------------------------------------------------------------------

def test_the_api_gives_the_same_numbers_as_the_page(client, q1, personas):
    pipeline = q1[0]
    client.force_login(personas.admin)
    html = client.get(metrics_url(pipeline), Q1_QUERY).content.decode()

    response = bearer_client(personas.admin, scope=ApiKey.Scope.READ).get(api_url(pipeline), Q1_QUERY)

    assert response.status_code == 200, response.content
    body = response.json()
    selector = pipeline_metrics(pipeline, start=Q1.start, end=Q1.end, user=personas.admin)
    assert body["open_count"] == selector.open_count == int(text_of(html, "metric-open_deals"))
    assert Decimal(body["velocity"]) == selector.velocity == Decimal("180.00")
    assert Decimal(body["average_deal_size"]) == Decimal("3000.00")
    assert body["close_ratio"] == pytest.approx(0.6)
    assert (body["sales_cycle_median_days"], body["sales_cycle_mean_days"]) == (pytest.approx(20), pytest.approx(30))
    assert body["deal_lifetime_mean_days"] == pytest.approx(46)
    assert (Decimal(body["forecast_by_velocity"]), Decimal(body["forecast_weighted"])) == (
        Decimal("16200.00"), Decimal("600.00"))
    assert body["days"] == 90 and body["currency"] == "USD" and body["mixed_currencies"] is False
    data = chart_data(html)
    assert [float(s["open_value"]) for s in body["stages"]] == data["open_value"]
    assert [s["name"] for s in body["stages"]] == data["stages"]
    assert [None if s["average_days"] is None else round(s["average_days"], 1) for s in body["stages"]] == \
        data["average_days"]
    contact = body["stages"][0]
    assert (contact["entered"], contact["advanced"], contact["conversion"]) == (4, 2, 0.5)
    assert [m["won"] for m in body["months"]][-3:] == [1, 1, 1] and body["months"][-1]["month"] == "2025-03-01"


def test_the_api_filters_by_owner_and_scopes_by_role(q1, personas):
    pipeline = q1[0]
    alice = bearer_client(personas.admin).get(api_url(pipeline), {**Q1_QUERY, "owner": personas.rep_alice.pk})
    bob = bearer_client(personas.rep_bob).get(api_url(pipeline), Q1_QUERY)

    assert alice.json()["open_count"] == 1 and alice.json()["velocity"] == "47.62"
    assert (bob.json()["open_count"], bob.json()["won_count"]) == (2, 1)


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2025-13-01", "to": "2025-03-31"}, "from"),
    ({"from": "2025-03-31", "to": "2025-01-01"}, "to"),
    ({"to": "2025-03-31"}, "from"),
    ({"owner": "999999"}, "owner"),
    ({"owner": "me"}, "owner"),
    ({"team": "999999"}, "team"),
])
def test_the_api_answers_bad_input_with_field_errors(q1, personas, query, field):
    response = bearer_client(personas.admin).get(api_url(q1[0]), query)

    assert_error(response, 400, "invalid", fields=(field,))


def test_the_api_404s_for_an_unknown_pipeline_and_403s_without_a_role(q1, personas):
    assert_error(bearer_client(personas.admin).get(api_url(q1[0].pk + 100)), 404, "not_found")
    assert_error(bearer_client(personas.outsider).get(api_url(q1[0])), 403)


# --- The pipeline review -------------------------------------------------------------------------------------

@pytest.fixture
def review_data(personas):
    pipeline, stages = sales_pipeline()
    now = timezone.now()
    today = timezone.localdate()
    alice, bob = personas.rep_alice, personas.rep_bob
    contact = Contact.objects.create(email="ada@example.com")

    def open_deal(title, *, owner, stage="Meeting", value=100, expected=None, entered_days_ago=1):
        deal = make_deal(pipeline, stages, title, stage=stage, value=value, owner=owner, expected=expected,
                         created=now - timedelta(days=30))
        Deal.objects.filter(pk=deal.pk).update(stage_entered_at=now - timedelta(days=entered_days_ago))
        return deal

    slipping = open_deal("Slipping", owner=alice, value=1000, expected=today - timedelta(days=1))
    open_deal("Stale", owner=alice, value=2000, stage="Contact", entered_days_ago=30)  # Contact rots after 14 days
    on_track = open_deal("On track", owner=alice, value=500, expected=today + timedelta(days=20))
    open_deal("Bob's", owner=bob, value=700)
    open_deal("Nobody's", owner=None, value=50)
    make_deal(pipeline, stages, "Won", stage="Closing", value=9000, owner=alice, status=Deal.Status.WON,
              created=now - timedelta(days=40), closed=now - timedelta(days=2))
    Task.objects.create(deal=on_track, title="Send the proposal", due_at=now + timedelta(days=2), assignee=alice)
    Task.objects.create(deal=on_track, title="Later call", due_at=now + timedelta(days=9), assignee=alice)
    Task.objects.create(deal=slipping, title="Chase", due_at=now - timedelta(days=3), assignee=alice)
    Task.objects.create(contact=contact, title="Overdue call", due_at=now - timedelta(hours=1), assignee=alice)
    Task.objects.create(contact=contact, title="Done already", due_at=now - timedelta(days=5), assignee=alice,
                        done=True)
    Task.objects.create(contact=contact, title="Bob's overdue", due_at=now - timedelta(days=1), assignee=bob)
    return pipeline


def rows_by_name(review):
    return {(row.rep.username if row.rep else None): row for row in review.rows}


def test_the_review_sums_up_each_reps_deals_tasks_and_next_steps(review_data, personas):
    rows = rows_by_name(pipeline_review(personas.admin))

    assert set(rows) == {"manager", "rep_alice", "rep_bob", None}  # sellers, and the unassigned deals
    alice = rows["rep_alice"]
    assert (alice.open_count, alice.open_value) == (3, Decimal("3500.00"))
    assert (alice.stale_count, alice.slipping_count, alice.without_next_step, alice.overdue_tasks) == (1, 1, 1, 2)
    # Slipping first, then stale (and without a next step), then the rest; each with its next open task.
    assert [d.title for d in alice.deals] == ["Slipping", "Stale", "On track"]
    assert [d.next_task_title for d in alice.deals] == ["Chase", None, "Send the proposal"]
    assert rows["rep_bob"].overdue_tasks == 1 and rows[None].open_count == 1
    assert rows["manager"].open_count == 0


def test_the_review_shows_a_manager_their_team_and_a_rep_themself(review_data, personas):
    assert set(rows_by_name(pipeline_review(personas.manager))) == {"manager", "rep_alice", None}
    assert set(rows_by_name(pipeline_review(personas.rep_bob))) == {"rep_bob", None}
    assert set(rows_by_name(pipeline_review(personas.marketer))) == {"manager", "rep_alice", "rep_bob", None}
    assert pipeline_review(personas.outsider).rows == []


def test_the_review_page_lists_the_reps_and_filters_by_pipeline(client, review_data, personas):
    other, other_stages = sales_pipeline("Partners")
    make_deal(other, other_stages, "Partner deal", stage="Meeting", value=10, owner=personas.rep_alice,
              created=timezone.now())
    client.force_login(personas.manager)

    everywhere = client.get(reverse("pipelines:review")).content.decode()
    sales_only = client.get(reverse("pipelines:review"), {"pipeline": review_data.pk}).content.decode()

    assert everywhere.count('data-testid="review-rep"') == 3
    assert "Partner deal" in everywhere and "Partner deal" not in sales_only
    assert "Send the proposal" in sales_only and "Slipping</span>" in sales_only
    slipping = Deal.objects.get(title="Slipping")
    assert f'href="{reverse("pipelines:deal_detail", args=[slipping.pk])}"' in sales_only
    assert client.get(reverse("pipelines:review"), {"pipeline": "x"}).status_code == 400


def test_the_review_page_makes_the_same_number_of_queries_whatever_the_number_of_reps(client, review_data,
                                                                                          personas):
    client.force_login(personas.admin)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("pipelines:review")).status_code == 200
    for index in range(4):
        rep = UserFactory(username=f"rep_{index}", role=Role.SALES_REP)
        make_deal(review_data, {s.name: s for s in review_data.stages.all()}, f"Deal {index}", stage="Meeting",
                  value=10, owner=rep, created=timezone.now())
        Task.objects.create(contact=Contact.objects.first(), title="Late", assignee=rep,
                            due_at=timezone.now() - timedelta(days=1))

    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("pipelines:review"))

    assert response.content.decode().count('data-testid="review-rep"') == 8
    assert len(few) == len(many)


# --- The calculator ------------------------------------------------------------------------------------------

def test_the_domain_example_100000_at_500_and_80_percent_with_10_reps():
    size = pipeline_size(target=Decimal("100000"), average_deal_size=Decimal("500"), close_rate=Decimal("80"),
                         reps=10)

    assert (size.deals, size.leads, size.per_rep) == (200, 250, 25)
    assert size.steps == [
        "$100,000 target ÷ $500 average deal size = 200 deals to close.",
        "200 deals ÷ 80% close rate = 250 leads needed.",
        "250 leads ÷ 10 reps = 25 each.",
    ]


def test_each_step_rounds_up_to_whole_deals_and_leads():
    size = pipeline_size(target=Decimal("1000"), average_deal_size=Decimal("300"), close_rate=Decimal("30"),
                         reps=4)

    # 3.33… deals → 4; 4 ÷ 30% = 13.33… leads → 14; 14 ÷ 4 = 3.5 → 4.
    assert (size.deals, size.leads, size.per_rep) == (4, 14, 4)
    assert size.steps[0] == "$1,000 target ÷ $300 average deal size = 3.33, rounded up to 4 deals to close."
    assert size.steps[2] == "14 leads ÷ 4 reps = 3.5, rounded up to 4 each."


@pytest.mark.parametrize("bad", [
    {"target": Decimal("0")}, {"average_deal_size": Decimal("-1")}, {"close_rate": Decimal("0")},
    {"close_rate": Decimal("100.1")}, {"reps": 0},
])
def test_pipeline_size_refuses_impossible_input(bad):
    with pytest.raises(ValueError):
        pipeline_size(**{"target": Decimal("1"), "average_deal_size": Decimal("1"), "close_rate": Decimal("50"),
                         "reps": 1, **bad})


def test_the_calculator_page_shows_the_arithmetic_in_words(client, personas):
    client.force_login(personas.rep_alice)

    response = client.get(reverse("pipelines:calculator"), {
        "target": "100000", "period": "quarter", "reps": "10", "average_deal_size": "500", "close_rate": "80"})

    html = response.content.decode()
    assert response.status_code == 200
    assert (text_of(html, "calculator-deals"), text_of(html, "calculator-leads"),
            text_of(html, "calculator-per-rep")) == ("200", "250", "25")
    assert "<li>250 leads ÷ 10 reps = 25 each.</li>" in html
    assert "this quarter" in html


@pytest.fixture
def history(personas):
    """In the last 12 months: Alice won 1,000 and 3,000 and lost one; Bob lost one. A win 13 months ago."""
    pipeline, stages = sales_pipeline()
    now = timezone.now()
    for title, owner, status, value, days_ago in [
        ("Won small", personas.rep_alice, Deal.Status.WON, 1000, 10),
        ("Won big", personas.rep_alice, Deal.Status.WON, 3000, 100),
        ("Lost", personas.rep_alice, Deal.Status.LOST, 500, 20),
        ("Bob lost", personas.rep_bob, Deal.Status.LOST, 500, 30),
        ("Long ago", personas.rep_alice, Deal.Status.WON, 90000, 400),
    ]:
        make_deal(pipeline, stages, title, stage="Closing", value=value, owner=owner, status=status,
                  created=now - timedelta(days=days_ago + 30), closed=now - timedelta(days=days_ago))
    return pipeline


def test_the_calculator_prefills_the_deal_size_and_close_rate_from_the_last_12_months(client, history, personas):
    client.force_login(personas.admin)
    admin_page = client.get(reverse("pipelines:calculator"))
    client.force_login(personas.rep_alice)
    alice_page = client.get(reverse("pipelines:calculator"))

    # Everything: 2 won (average 2,000) of 4 closed = 50%. Alice sees her 3: 2 of 3 = 66.7%.
    assert admin_page.status_code == 200
    assert admin_page.context["form"]["average_deal_size"].value() == Decimal("2000.00")
    assert admin_page.context["form"]["close_rate"].value() == Decimal("50.0")
    assert alice_page.context["form"]["close_rate"].value() == Decimal("66.7")
    assert 'data-testid="calculator-empty"' in admin_page.content.decode()  # no target yet, no result
    assert 'value="2000.00"' in admin_page.content.decode()

    # Left blank, the history is used.
    blank = client.get(reverse("pipelines:calculator"), {"target": "8000", "reps": "1", "average_deal_size": "",
                                                         "close_rate": ""})
    assert blank.status_code == 200 and blank.context["size"].leads == 6  # 8,000 ÷ 2,000 = 4 deals ÷ 66.7%


@pytest.mark.parametrize(("query", "field", "message"), [
    ({"reps": "0"}, "reps", "You need at least one rep."),
    ({"target": "-5"}, "target", "The target must be more than 0."),
    ({"target": ""}, "target", "Enter the revenue you aim for."),
    ({"close_rate": "120"}, "close_rate", "A close rate is more than 0% and at most 100%."),
    ({"average_deal_size": "-10"}, "average_deal_size", "The average deal size must be more than 0."),
    ({"average_deal_size": "lots"}, "average_deal_size", "Enter the deal size as a number."),
])
def test_the_calculator_answers_bad_input_with_400_and_the_fields_message(client, personas, query, field, message):
    client.force_login(personas.admin)
    good = {"target": "1000", "reps": "2", "average_deal_size": "100", "close_rate": "50"}

    response = client.get(reverse("pipelines:calculator"), {**good, **query})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    html = response.content.decode()
    assert message in html and 'data-testid="calculator-errors"' in html


def test_the_calculator_without_history_asks_for_a_deal_size(client, personas):
    client.force_login(personas.admin)

    response = client.get(reverse("pipelines:calculator"), {"target": "1000", "reps": "2", "close_rate": "50"})

    assert response.status_code == 400
    assert "no deal was won in the last 12 months" in response.context["form"].errors["average_deal_size"][0]


def test_htmx_gets_just_the_result_and_each_fields_message_out_of_band(client, personas):
    client.force_login(personas.admin)
    good = {"target": "1000", "reps": "2", "average_deal_size": "100", "close_rate": "50"}

    ok = client.get(reverse("pipelines:calculator"), good, headers={"HX-Request": "true"})
    bad = client.get(reverse("pipelines:calculator"), {**good, "reps": "0"}, headers={"HX-Request": "true"})

    assert ok.status_code == 200 and "<html" not in ok.content.decode()
    assert text_of(ok.content.decode(), "calculator-leads") == "20"
    assert bad.status_code == 422
    html = bad.content.decode()
    assert re.search(r'id="calc-reps-error" data-field-error="id_reps" hx-swap-oob="true">You need at least one rep.<',
                     html)
    assert 'id="calc-target-error" data-field-error="id_target" hx-swap-oob="true"></div>' in html


def test_the_three_pages_hold_to_the_csp(client, q1, personas):
    client.force_login(personas.admin)
    pages = [
        client.get(metrics_url(q1[0]), Q1_QUERY),
        client.get(metrics_url(q1[0]), {"from": "bad"}),
        client.get(reverse("pipelines:review")),
        client.get(reverse("pipelines:calculator"), {"target": "100", "reps": "1", "average_deal_size": "10",
                                                     "close_rate": "50"}),
        client.get(reverse("pipelines:calculator"), {"target": "100", "reps": "0"}, headers={"HX-Request": "true"}),
    ]

    for response in pages:
        assert audit(response.content.decode()).problems == [], response.request
