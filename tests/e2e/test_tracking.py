"""Site tracking in a real Chromium: a page on ANOTHER origin loads /t/s.js, its visit is recorded
anonymously, and lifecycle.identify(email) then puts that visit on the contact's timeline."""


import pytest
from playwright.sync_api import Page, expect

from contacts import tracking
from contacts.models import Event, PageVisit, TrackingSettings, Visitor
from contacts.services import contact_create
from tests.e2e.conftest import log_in_by_keyboard

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def empty_stream():
    """No visits queued by earlier tests; the settings re-read from this test's database."""
    tracking._redis().delete(tracking.STREAM)
    tracking.config_forget()
    yield
    tracking._redis().delete(tracking.STREAM)
    tracking.config_forget()


def drain() -> int:
    """What the beat task does every second: write the visits /t/collect queued."""
    return tracking.visits_drain()



@pytest.fixture
def other_site(tmp_path, live_server, second_origin):
    """A page on another origin (second_origin) that embeds the tracking script."""
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Pricing &lt;b&gt;</title><link rel='icon' href='data:,'></head>"
        "<body><h1>Our pricing</h1>"
        f'<script async src="{live_server.url}/t/s.js" data-lifecycle></script></body></html>')
    return second_origin


def test_an_anonymous_visit_on_another_site_joins_the_contact_after_identify(
        live_server, page: Page, personas, other_site, console_problems):
    TrackingSettings.objects.update_or_create(pk=1, defaults={"enabled": True, "allowed_domains": "127.0.0.1"})
    ada = contact_create(email="ada@example.com", first_name="Ada", last_name="Lovelace")

    page.goto(f"{other_site}/index.html?utm_source=newsletter")
    page.wait_for_function("document.cookie.includes('lc_vid=')")
    assert drain() == 1
    visit = PageVisit.objects.get()
    assert visit.url == f"{other_site}/index.html?utm_source=newsletter"
    assert visit.title == "Pricing <b>" and visit.contact is None and visit.is_entry
    assert not Event.objects.filter(type="page_visited").exists()

    page.evaluate("() => lifecycle.identify('ada@example.com')")
    assert Visitor.objects.get().contact == ada
    event = Event.objects.get(contact=ada, type="page_visited")
    assert event.properties["url"] == visit.url
    assert console_problems == []

    page.goto(f"{live_server.url}/contacts/{ada.pk}/")
    log_in_by_keyboard(page, "admin", personas.password)
    timeline = page.locator("#timeline-items")
    expect(timeline).to_contain_text("Page visited")
    expect(timeline).to_contain_text(f"{other_site}/index.html?utm_source=newsletter")
    assert console_problems == []


def test_with_wait_for_consent_nothing_is_sent_until_the_site_calls_consent(
        live_server, page: Page, other_site, tmp_path, console_problems):
    TrackingSettings.objects.update_or_create(pk=1, defaults={"enabled": True, "allowed_domains": "127.0.0.1"})
    (tmp_path / "consent.html").write_text(
        "<!doctype html><html><head><title>Consent</title><link rel='icon' href='data:,'></head><body>"
        f'<script src="{live_server.url}/t/s.js" data-lifecycle data-wait-for-consent></script></body></html>')
    page.goto(f"{other_site}/consent.html")
    page.wait_for_function("typeof window.lifecycle === 'function'")
    page.evaluate("() => lifecycle.identify('grace@example.com')")  # queued too, not sent
    assert drain() == 0
    assert not PageVisit.objects.exists() and not Visitor.objects.exists()
    assert "lc_vid=" not in page.evaluate("() => document.cookie")

    page.evaluate("() => lifecycle('consent')")  # sends the queued page visit, then the identify call
    drain()
    visit = PageVisit.objects.get()
    assert visit.path == "/consent.html" and visit.visitor.contact.email == "grace@example.com"
    assert Event.objects.filter(contact__email="grace@example.com", type="page_visited").count() == 1
    assert console_problems == []


def test_a_marketer_turns_tracking_on_and_sees_the_snippet(live_server, page: Page, personas, console_problems):
    page.goto(f"{live_server.url}/settings/tracking/")
    log_in_by_keyboard(page, "marketer", personas.password)
    expect(page.get_by_role("heading", name="Tracking", level=1)).to_be_visible()
    expect(page.get_by_test_id("tracking-off")).to_be_visible()
    page.get_by_label("Track page visits").check()
    page.get_by_label("Allowed domains").fill("https://www.example.com/\nshop.example.org")
    page.get_by_role("button", name="Save tracking settings").click()
    expect(page.get_by_test_id("tracking-snippet")).to_contain_text('/t/s.js" data-lifecycle></script>')
    expect(page.get_by_test_id("tracking-off")).to_have_count(0)
    expect(page.get_by_label("Allowed domains")).to_have_value("www.example.com\nshop.example.org")
    assert TrackingSettings.load().domains == ["www.example.com", "shop.example.org"]
    assert console_problems == []
