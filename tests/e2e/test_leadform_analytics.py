"""A form's analytics page in a real Chromium under the strict CSP: the chart is drawn from the json_script data
and holds the table's numbers; the period switch redraws it."""

import secrets
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.leadforms.stats import form_count
from contacts.models import Contact, LeadForm, LeadFormSubmission
from tests.e2e.conftest import log_in_by_keyboard

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_analytics_page_draws_views_and_submissions_per_day(live_server, page: Page, personas,
                                                               console_problems):
    form = LeadForm.objects.create(name="Pricing ebook", public_key=secrets.token_hex(16))
    today = timezone.now().date()
    form_count(form.pk, views=40, submissions=10, rejected=2, day=today - timedelta(days=2))
    form_count(form.pk, views=3, day=today - timedelta(days=20))
    contact = Contact.objects.create(email="ann@example.com", first_name="Ann")
    LeadFormSubmission.objects.create(form=form, contact=contact, data={"email": "ann@example.com"},
                                      page_url="https://www.example.com/pricing", submitted_at=timezone.now())

    then = f"/forms/{form.pk}/analytics/"
    page.goto(f"{live_server.url}/accounts/login/?next={quote(then)}")
    log_in_by_keyboard(page, "marketer", personas.password)
    expect(page).to_have_url(live_server.url + then)

    expect(page.get_by_role("heading", name="Pricing ebook", level=1)).to_be_visible()
    expect(page.get_by_test_id("total-rate")).to_have_text("23.3%")
    expect(page.locator("#leadform-analytics-chart")).to_be_visible()
    chart = "Chart.getChart(document.getElementById('leadform-analytics-chart'))"
    views = page.evaluate(f"{chart}.data.datasets[0].data")
    assert len(views) == 30 and views[-3] == 40 and views[-21] == 3 and sum(views) == 43
    assert page.evaluate(f"{chart}.data.datasets[1].data")[-3] == 10
    expect(page.get_by_role("link", name="Ann")).to_have_attribute("href", f"/contacts/{contact.pk}/")

    page.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(f"{live_server.url}{then}?days=7")
    assert page.evaluate(f"{chart}.data.datasets[0].data") == [0, 0, 0, 0, 40, 0, 0]
    assert console_problems == []
