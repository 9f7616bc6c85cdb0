"""Accounts in a real Chromium: adding one by keyboard, linking contacts by domain, the hierarchy, search."""

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Account, Contact, Event
from tests.e2e.conftest import log_in_by_keyboard

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_manager_adds_an_account_and_links_its_people_by_their_email_domain(live_server, page: Page, personas,
                                                                               console_problems):  # noqa: F811
    Contact.objects.create(email="ada@acme.com", first_name="Ada", last_name="Lovelace")
    Contact.objects.create(email="bob@acme.com", first_name="Bob", last_name="Byte")
    Contact.objects.create(email="cy@gmail.com", first_name="Cy")
    page.goto(live_server.url + "/accounts/login/?next=/contacts/accounts/")
    log_in_by_keyboard(page, "manager", personas.password)

    expect(page.get_by_test_id("accounts-empty")).to_be_visible()
    page.get_by_test_id("accounts-empty").get_by_role("link", name="Add an account").click()

    # Keyboard only: the name field, then Tab to the domain; Enter submits.
    page.get_by_label("Name").focus()
    page.keyboard.type("Acme")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Domain")).to_be_focused()
    page.keyboard.type("https://www.acme.com/")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Acme", level=1)).to_be_visible()
    expect(page.locator("#toasts .toast.show")).to_contain_text("Added the account “Acme”.")
    banner = page.get_by_test_id("domain-match")
    expect(banner).to_contain_text("2 contacts with @acme.com emails aren't linked")
    banner.get_by_role("button", name="Link them").click()

    expect(page.locator("#toasts .toast.show")).to_contain_text("Linked 2 contacts to “Acme”.")
    expect(page.get_by_test_id("domain-match")).to_have_count(0)
    contacts = page.get_by_test_id("account-contacts")
    expect(contacts).to_contain_text("ada@acme.com")
    expect(contacts).to_contain_text("bob@acme.com")
    acme = Account.objects.get()
    assert acme.domain == "acme.com"
    assert set(Contact.objects.filter(account=acme).values_list("email", flat=True)) == {"ada@acme.com", "bob@acme.com"}
    assert Event.objects.filter(type="field_changed").count() == 2
    assert console_problems == []


def test_the_hierarchy_shows_as_breadcrumbs_and_a_loop_is_refused_on_the_form(live_server, page: Page, personas,
                                                                             console_problems):  # noqa: F811
    group = Account.objects.create(name="Acme Group")
    europe = Account.objects.create(name="Acme Europe", parent=group)
    france = Account.objects.create(name="Acme France", parent=europe)
    page.goto(live_server.url + f"/accounts/login/?next=/contacts/accounts/{france.pk}/")
    log_in_by_keyboard(page, "admin", personas.password)

    crumbs = page.get_by_test_id("account-breadcrumbs")
    expect(crumbs.get_by_role("link")).to_have_text(["Accounts", "Acme Group", "Acme Europe"])
    crumbs.get_by_role("link", name="Acme Group").click()

    expect(page.get_by_test_id("child-accounts")).to_contain_text("Acme Europe")
    page.get_by_role("link", name="Edit").click()
    parent = page.get_by_label("Parent account")
    expect(parent).to_have_value("")  # Acme Group is at the top
    parent.fill("acme fr")
    # The suggestions arrive as the user types; picking one fills in its label.
    expect(page.locator("#parent-options option")).to_have_count(1)
    expect(page.locator("#parent-options option")).to_have_attribute("value", f"Acme France · #{france.pk}")
    parent.fill(f"Acme France · #{france.pk}")
    page.get_by_role("button", name="Save").click()

    parent = page.get_by_label("Parent account")
    expect(parent).to_have_attribute("aria-invalid", "true")
    expect(parent).to_be_focused()
    expect(page.locator(".invalid-feedback")).to_contain_text("that would make a loop")
    group.refresh_from_db()
    assert group.parent is None
    # A form with errors comes back as a 400 page, which Chromium reports; anything else is a real problem.
    assert [p for p in console_problems if "status of 400" not in p] == []


def test_searching_the_list_narrows_it_as_you_type(live_server, page: Page, personas, console_problems):  # noqa: F811
    Account.objects.bulk_create([Account(name="Acme Corp", domain="acme.com"), Account(name="Brightwave"),
                                 Account(name="Cobalt Health", domain="cobalt.io")])
    page.goto(live_server.url + "/accounts/login/?next=/contacts/accounts/")
    log_in_by_keyboard(page, "marketer", personas.password)
    expect(page.get_by_test_id("account-row")).to_have_count(3)

    page.get_by_label("Search by name or domain").fill("cobalt.io")

    expect(page.get_by_test_id("account-row")).to_have_count(1)
    expect(page.get_by_test_id("account-row")).to_contain_text("Cobalt Health")
    expect(page).to_have_url(f"{live_server.url}/contacts/accounts/?q=cobalt.io&industry=&owner=&sort=name")
    assert console_problems == []
