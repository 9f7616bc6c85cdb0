"""The dashboard: counts and the deals-per-month chart, limited to what the user may see."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from contacts.models import Contact
from lifecycle.selectors import dashboard_summary
from pipelines.models import Deal, Pipeline, Stage

UTC = ZoneInfo("UTC")
NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)



@pytest.fixture
def book(personas):
    """Deals owned by Alice, Bob and nobody, in two currencies, created over several months."""
    pipeline = Pipeline.objects.create(name="Sales")
    stage = Stage.objects.create(pipeline=pipeline, name="Contact", position=0, probability=10)
    alice, bob = personas.rep_alice, personas.rep_bob
    rows = [
        # owner, value, currency, status, created
        (alice, "1000.00", "USD", Deal.Status.OPEN, datetime(2025, 3, 1, tzinfo=UTC)),
        (alice, "500.00", "USD", Deal.Status.WON, datetime(2025, 1, 20, tzinfo=UTC)),
        (bob, "2000.00", "USD", Deal.Status.OPEN, datetime(2025, 3, 10, tzinfo=UTC)),
        (None, "300.00", "EUR", Deal.Status.OPEN, datetime(2024, 4, 1, tzinfo=UTC)),
        (None, "999.00", "USD", Deal.Status.OPEN, datetime(2024, 3, 31, 23, 59, tzinfo=UTC)),  # 13 months ago
    ]
    for i, (owner, value, currency, status, created) in enumerate(rows):
        deal = Deal.objects.create(title=f"Deal {i}", pipeline=pipeline, stage=stage, owner=owner,
                                   value=Decimal(value), currency=currency, status=status)
        Deal.objects.filter(pk=deal.pk).update(created_at=created)
    Contact.objects.bulk_create([
        Contact(email="a@example.com", owner=alice),
        Contact(email="b@example.com", owner=bob),
        Contact(email="c@example.com"),
    ])


@pytest.mark.django_db
def test_an_admin_sees_every_contact_and_deal(personas, book):
    summary = dashboard_summary(personas.admin, now=NOW)

    assert summary.contact_count == 3
    assert summary.open_deal_count == 4
    assert summary.pipeline_value == [("USD", Decimal("3999.00")), ("EUR", Decimal("300.00"))]


@pytest.mark.django_db
def test_a_rep_sees_only_their_own_and_unassigned_rows(personas, book):
    summary = dashboard_summary(personas.rep_alice, now=NOW)

    assert summary.contact_count == 2
    assert summary.open_deal_count == 3
    assert summary.pipeline_value == [("USD", Decimal("1999.00")), ("EUR", Decimal("300.00"))]
    assert sum(summary.deals_per_month["counts"]) == 3  # Bob's deal and the 13-month-old one are left out


@pytest.mark.django_db
def test_a_user_without_a_role_sees_nothing(personas, book):
    summary = dashboard_summary(personas.outsider, now=NOW)

    assert (summary.contact_count, summary.open_deal_count, summary.pipeline_value) == (0, 0, [])
    assert set(summary.deals_per_month["counts"]) == {0}


@pytest.mark.django_db
def test_deals_per_month_covers_twelve_calendar_months_with_empty_months_as_zero(personas, book):
    chart = dashboard_summary(personas.admin, now=NOW).deals_per_month

    assert chart["months"] == [f"2024-{m:02}" for m in range(4, 13)] + ["2025-01", "2025-02", "2025-03"]
    assert chart["labels"][0] == "Apr 2024" and chart["labels"][-1] == "Mar 2025"
    assert chart["counts"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]


@pytest.mark.django_db
def test_months_follow_the_configured_time_zone(personas, book, settings):
    settings.TIME_ZONE = "America/New_York"  # 2025-03-01 00:00 UTC is still February there

    chart = dashboard_summary(personas.admin, now=NOW).deals_per_month

    assert chart["counts"][-3:] == [1, 1, 1]


@pytest.mark.django_db
def test_the_dashboard_page_shows_the_numbers_and_the_chart_data(client, personas, book,
                                                                  django_assert_max_num_queries):
    client.force_login(personas.rep_alice)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("dashboard"))

    html = response.content.decode()
    assert 'data-testid="contact-count">2<' in html
    assert 'data-testid="open-deal-count">3<' in html
    assert "1,999 <small>USD</small>" in html
    assert "300 <small>EUR</small>" in html
    data = html.split('<script id="deals-per-month-data" type="application/json">', 1)[1].split("</script>")[0]
    assert len(json.loads(data)["counts"]) == 12
    assert "Welcome back, Alice" in html


@pytest.mark.django_db
def test_an_empty_dashboard_shows_zeros(client, personas):
    client.force_login(personas.marketer)

    html = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="contact-count">0<' in html
    assert 'data-testid="open-deal-count">0<' in html
    assert "No deals were created in this period yet." in html


@pytest.mark.django_db
def test_a_deal_created_this_month_shows_in_the_last_bar(client, personas):
    pipeline = Pipeline.objects.create(name="Sales")
    stage = Stage.objects.create(pipeline=pipeline, name="Contact", position=0)
    Deal.objects.create(title="New", pipeline=pipeline, stage=stage)
    client.force_login(personas.marketer)

    html = client.get(reverse("dashboard")).content.decode()

    data = html.split('<script id="deals-per-month-data" type="application/json">', 1)[1].split("</script>")[0]
    assert json.loads(data)["counts"][-1] == 1
    assert "No deals were created in this period yet." not in html
