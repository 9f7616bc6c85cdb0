"""Logging in and out in a real Chromium, by keyboard, under the strict CSP."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Contact
from pipelines.models import Deal, Pipeline, Stage
from tests.e2e.conftest import log_in_by_keyboard

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alices_book(personas):
    """Alice's contacts and open deals, created over the last months."""
    pipeline = Pipeline.objects.create(name="Sales")
    stage = Stage.objects.create(pipeline=pipeline, name="Proposal", position=0, probability=60)
    Contact.objects.bulk_create([Contact(email=f"lead{i}@example.com", owner=personas.rep_alice) for i in range(42)])
    now = timezone.now()
    for i, months_ago in enumerate([0, 0, 0, 1, 1, 2, 4, 4, 4, 4, 7, 9]):
        deal = Deal.objects.create(title=f"Deal {i}", pipeline=pipeline, stage=stage, owner=personas.rep_alice,
                                   value=Decimal(1250 * (i + 1)))
        Deal.objects.filter(pk=deal.pk).update(created_at=now - timedelta(days=30 * months_ago))


def test_a_user_logs_in_by_keyboard_sees_the_dashboard_and_logs_out(live_server, page: Page, personas, alices_book,
                                                                     console_problems):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + "/")

    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_focused()

    log_in_by_keyboard(page, "rep_alice", personas.password)

    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link")).to_have_count(9)
    expect(nav.locator("[aria-current=page]")).to_have_accessible_name("Dashboard")
    expect(page.get_by_test_id("user-name")).to_have_text("Alice")
    expect(page.get_by_test_id("user-role")).to_have_text("Sales rep")

    expect(page.get_by_test_id("contact-count")).to_have_text("42")
    expect(page.get_by_test_id("open-deal-count")).to_have_text("12")
    expect(page.get_by_test_id("pipeline-value")).to_contain_text("97,500")

    # The welcome message arrives as a toast, and the chart is drawn from the page's data.
    toast = page.locator("#toasts .toast.show:not(.showing)")
    expect(toast).to_contain_text("Welcome back, Alice.")
    drawn = page.evaluate("() => Chart.getChart('deals-per-month-chart').data.datasets[0].data")
    assert len(drawn) == 12 and sum(drawn) == 12

    page.wait_for_timeout(1200)  # let the chart's grow-in animation finish, so the screenshot shows real bars
    page.screenshot(path="/tmp/dashboard.png")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    page.goto(live_server.url + "/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")

    assert console_problems == []


def test_the_nav_highlights_the_area_the_user_is_in(live_server, page: Page, personas, console_problems):
    page.goto(live_server.url + "/accounts/login/")
    log_in_by_keyboard(page, "manager", personas.password)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()

    expect(page).to_have_url(live_server.url + "/contacts/")
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    expect(page.locator("nav[aria-label=Main] [aria-current=page]")).to_have_accessible_name("Contacts")
    assert console_problems == []


def test_a_wrong_password_shows_an_error_and_keeps_the_username(live_server, page: Page, personas,
                                                               console_problems):
    page.goto(live_server.url + "/accounts/login/")

    log_in_by_keyboard(page, "rep_alice", "not the password")

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    expect(page.get_by_label("Username")).to_have_value("rep_alice")
    expect(page.get_by_label("Password")).to_be_focused()  # ready for another try, still keyboard only
    assert console_problems == []


def test_htmx_messages_and_failures_become_toasts(live_server, page: Page, personas, console_problems):
    page.goto(live_server.url + "/accounts/login/")
    log_in_by_keyboard(page, "admin", personas.password)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    page.locator("#toasts .toast .btn-close").click()
    expect(page.locator("#toasts .toast")).to_have_count(0)

    # Stand-ins for future htmx endpoints: the headers are what HtmxMessagesMiddleware sends.
    trigger = {"messages": [{"level": "success", "message": "Saved <b>Ada</b>."}]}
    page.route("**/htmx-probe/ok", lambda route: route.fulfill(
        status=200, body="", headers={"HX-Trigger": json.dumps(trigger), "Content-Type": "text/html"}))
    page.route("**/htmx-probe/broken", lambda route: route.fulfill(status=500, body="boom"))

    page.evaluate("() => htmx.ajax('POST', '/htmx-probe/ok', {target: '#main', swap: 'none'})")
    toast = page.locator("#toasts .toast.show.toast-success")
    expect(toast).to_have_text("Saved <b>Ada</b>.")  # shown as text, never as markup

    page.evaluate("() => htmx.ajax('GET', '/htmx-probe/broken', {target: '#main', swap: 'none'})")
    error = page.locator("#toasts .toast.show.toast-error")
    expect(error).to_contain_text("Something went wrong on our side (error 500)")
    expect(error).to_have_attribute("role", "alert")

    # The htmx request carried the CSRF token from <body hx-headers>.
    with page.expect_request("**/htmx-probe/ok") as request_info:
        page.evaluate("() => htmx.ajax('POST', '/htmx-probe/ok', {target: '#main', swap: 'none'})")
    assert request_info.value.headers.get("x-csrftoken")

    # The 500 was ours to fake; anything else in the console is a real problem.
    assert [p for p in console_problems if "500" not in p] == []


def test_on_a_narrow_screen_the_sidebar_becomes_a_menu(live_server, page: Page, personas, console_problems):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/accounts/login/")
    log_in_by_keyboard(page, "marketer", personas.password)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Open menu").click()
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="Email").click()

    expect(page.get_by_role("heading", name="Email", level=1)).to_be_visible()
    assert console_problems == []
