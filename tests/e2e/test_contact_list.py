"""The contact list in a real Chromium, under the strict CSP: search and open a contact, select rows and tag them
from the bulk bar, filter with the controls and chips, page through, and confirm a delete."""

import re

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Contact, CustomField, Tag
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def console_problems(page: Page) -> list[str]:
    """Console errors, CSP violations and uncaught exceptions seen while the test runs."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" or "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    # Going back in history makes Chromium ask for /favicon.ico (the layout links an SVG icon instead).
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return problems



@pytest.fixture
def book(personas):
    people = [("Ada", "Lovelace"), ("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson")]
    return {first: Contact.objects.create(email=f"{first.lower()}@example.com", first_name=first, last_name=last,
                                          owner=personas.rep_alice) for first, last in people}


def row(page: Page, email: str):
    return page.get_by_test_id("contact-table").locator("tbody tr", has_text=email)


def test_search_open_a_contact_then_tag_two_rows_from_the_bulk_bar(live_server, page: Page, personas, book,
                                                                   console_problems):
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, "marketer", personas.password, "/contacts/")
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    expect(page.get_by_test_id("contact-count")).to_have_text("4 contacts")

    # "/" puts the keyboard in the search box; results swap in place and the URL can be shared.
    page.locator("body").press("/")
    search = page.get_by_role("searchbox", name="Search")
    expect(search).to_be_focused()
    page.keyboard.type("lovel")
    expect(page.get_by_test_id("contact-count")).to_have_text("1 contact")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=lovel$"))
    expect(search).to_be_focused()
    expect(page.get_by_test_id("filter-chips")).to_contain_text("Search: lovel")

    link = row(page, "ada@example.com").get_by_role("link", name="Ada Lovelace")
    expect(link).to_have_attribute("href", f"/contacts/{book['Ada'].pk}/")
    link.click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/contacts/\?q=lovel$"))

    # Clear the search with its chip, then pick two rows and tag them.
    page.get_by_role("link", name="Search: lovel — remove this filter").click()
    expect(page.get_by_test_id("contact-count")).to_have_text("4 contacts")
    expect(page).to_have_url(f"{live_server.url}/contacts/")
    status = page.get_by_test_id("bulk-bar").locator("[data-bulk-status]")
    expect(status).to_have_attribute("aria-live", "polite")
    page.get_by_role("checkbox", name="Select Grace Hopper").check()
    page.get_by_role("checkbox", name="Select Alan Turing").check()
    expect(status).to_have_text("2 selected")
    bar = page.get_by_test_id("bulk-bar")
    expect(bar.get_by_label("Tag name")).to_be_hidden()  # each action shows only the input it needs
    bar.get_by_label("Action", exact=True).select_option(label="Add tag")
    expect(bar.get_by_label("Add to list")).to_be_hidden()
    bar.get_by_label("Tag name").fill("webinar")
    bar.get_by_role("button", name="Apply").click()

    expect(page.locator("#toasts .toast.show", has_text="Tagged")).to_contain_text("Tagged 2 contacts with “webinar”.")
    expect(row(page, "grace@example.com")).to_contain_text("webinar")
    expect(row(page, "alan@example.com")).to_contain_text("webinar")
    expect(row(page, "ada@example.com")).not_to_contain_text("webinar")
    expect(status).to_have_text("0 selected")
    assert set(Tag.objects.get(name="webinar").contacts.values_list("first_name", flat=True)) == {"Grace", "Alan"}
    page.screenshot(path="/tmp/contact-list.png", full_page=True, caret="initial")
    assert console_problems == []


def test_filters_chips_sorting_and_pages_work_by_the_controls(live_server, page: Page, personas, console_problems):
    CustomField.objects.create(key="headcount", label="Employee headcount", type=CustomField.Type.NUMBER)
    Contact.objects.bulk_create([Contact(email=f"p{i:03}@example.com", first_name="P", last_name=f"{i:03}",
                                         fields={"headcount": i}, lead_status="mql" if i % 2 else "new")
                                 for i in range(130)])
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, "admin", personas.password, "/contacts/")
    table = page.get_by_test_id("contact-table")
    expect(table.locator("tbody tr")).to_have_count(50)

    page.get_by_label("Lead status").select_option(label="MQL")
    expect(page.get_by_test_id("contact-count")).to_have_text("65 contacts")
    expect(page).to_have_url(re.compile(r"/contacts/\?status=mql$"))

    # A custom field filter: the comparisons offered fit a number field.
    page.get_by_label("Custom field").select_option(label="Employee headcount")
    page.get_by_label("Comparison").select_option(label="is at least")
    page.get_by_label("Value", exact=True).fill("100")
    page.get_by_role("button", name="Add filter").click()
    expect(page.get_by_test_id("contact-count")).to_have_text("15 contacts")
    expect(page.get_by_test_id("filter-chips")).to_contain_text("Employee headcount is at least 100")
    expect(page).to_have_url(re.compile(r"status=mql&field.headcount__gte=100"))
    page.screenshot(path="/tmp/contact-list-filters.png", caret="initial")

    # Removing a chip re-draws the controls too.
    page.get_by_role("link", name="Lead status: MQL — remove this filter").click()
    expect(page.get_by_test_id("contact-count")).to_have_text("30 contacts")
    expect(page.get_by_label("Lead status")).to_have_value("")

    page.get_by_role("link", name="Employee headcount is at least 100 — remove this filter").click()
    expect(page.get_by_test_id("contact-count")).to_have_text("130 contacts")
    page.get_by_role("link", name="Name", exact=True).click()
    expect(page).to_have_url(re.compile(r"/contacts/\?sort=name$"))
    expect(table.locator("tbody tr").first).to_contain_text("p000@example.com")
    page.get_by_role("link", name="Next →").click()
    expect(table.locator("tbody tr").first).to_contain_text("p050@example.com")
    page.get_by_role("link", name="Next →").click()
    expect(table.locator("tbody tr")).to_have_count(30)
    page.get_by_role("link", name="← Previous").click()
    expect(table.locator("tbody tr").first).to_contain_text("p050@example.com")
    assert console_problems == []


def test_deleting_many_asks_to_type_their_number(live_server, page: Page, personas, console_problems):
    Contact.objects.bulk_create([Contact(email=f"old{i}@example.com", first_name="Old") for i in range(120)])
    Contact.objects.create(email="keep@example.com", first_name="Keep")
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, live_server, "admin", personas.password, "/contacts/?q=old")
    page.get_by_text("All matching (120 contacts)").click()
    page.get_by_label("Action", exact=True).select_option(label="Delete")
    page.get_by_role("button", name="Apply").click()

    confirm = page.get_by_test_id("bulk-confirm")
    expect(confirm).to_contain_text("Delete 120 contacts?")
    typed = page.get_by_label("Type 120 to confirm")
    expect(typed).to_be_focused()
    page.screenshot(path="/tmp/contact-list-delete.png", caret="initial")
    typed.fill("12")
    page.get_by_role("button", name="Delete 120 contacts").click()
    expect(page.get_by_text("Type 120 to delete these 120 contacts.")).to_be_visible()
    assert Contact.objects.count() == 121

    page.get_by_label("Type 120 to confirm").fill("120")
    page.get_by_role("button", name="Delete 120 contacts").click()
    expect(page.locator("#toasts .toast.show", has_text="Deleted")).to_contain_text("Deleted 120 contacts.")
    expect(page.get_by_test_id("no-matches")).to_be_visible()
    assert list(Contact.objects.values_list("email", flat=True)) == ["keep@example.com"]
    assert [p for p in console_problems if "status of 422" not in p] == []
