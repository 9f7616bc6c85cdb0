"""Settings → Custom fields and Tags in a real Chromium, under the strict CSP."""

import pytest
from playwright.sync_api import Page, expect

from contacts import catalog
from contacts.models import Contact, CustomField, Tag
from tests.e2e.conftest import log_in, real_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def console_problems(page: Page) -> list[str]:
    """Console errors, CSP violations and uncaught exceptions seen while the test runs."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" or "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return problems




def test_an_admin_adds_a_single_choice_field_with_options_and_sees_it_listed(live_server, page: Page, personas,
                                                                            console_problems):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "admin", personas.password, "/settings/fields/")
    expect(page.get_by_role("heading", name="Custom fields", level=1)).to_be_visible()
    expect(page.get_by_test_id("empty-state")).to_contain_text("No custom fields yet")

    page.get_by_role("link", name="Add your first field").click()
    expect(page.get_by_role("heading", name="New custom field")).to_be_visible()
    options = page.get_by_label("Options")
    expect(options).to_be_hidden()  # only choice types have options

    page.get_by_label("Label").fill("Industry")
    page.get_by_label("Type").select_option(label="Single choice")
    expect(options).to_be_visible()
    expect(options).to_be_focused()
    page.keyboard.type("SaaS\nRetail\nRetail\n")
    page.get_by_role("button", name="Add field").click()

    # A duplicate option comes back as an error on the options, with what was typed kept.
    expect(page.get_by_test_id("error-choices")).to_contain_text("“Retail” is listed twice.")
    expect(page.get_by_label("Label")).to_have_value("Industry")
    expect(options).to_be_visible()
    options.fill("SaaS\nRetail\nFinance")
    page.get_by_role("button", name="Add field").click()

    expect(page).to_have_url(f"{live_server.url}/settings/fields/#field-{CustomField.objects.get().pk}")
    row = page.get_by_test_id("field-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Industry")
    expect(row).to_contain_text("industry")
    expect(row).to_contain_text("Single choice")
    expect(row).to_contain_text("SaaS, Retail, Finance")
    expect(page.locator("#toasts .toast")).to_contain_text("Added the field “Industry” (industry).")
    page.screenshot(path="/tmp/settings_fields.png", full_page=True)
    assert CustomField.objects.get().choices == ["SaaS", "Retail", "Finance"]
    assert real_problems(console_problems) == []


def test_a_marketer_renames_a_tag(live_server, page: Page, personas, console_problems):
    tag = catalog.tag_create(name="webinar")
    catalog.tag_create(name="vip")
    contacts = Contact.objects.bulk_create([Contact(email=f"c{i}@example.com") for i in range(3)])
    for contact in contacts:
        contact.tags.add(tag)

    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "marketer", personas.password, "/settings/tags/")
    row = page.get_by_test_id("tag-row").filter(has_text="webinar")
    expect(row.get_by_test_id("tag-count")).to_have_text("3")

    row.get_by_role("link", name="Rename webinar").click()
    expect(page.get_by_role("heading", name="Rename “webinar”")).to_be_visible()
    name = page.get_by_label("Name")
    name.fill("VIP")
    name.press("Enter")
    expect(page.get_by_test_id("error-name")).to_contain_text("There is already a tag “vip”")

    page.get_by_label("Name").fill("webinar-attendee")
    page.get_by_label("Name").press("Enter")

    expect(page.locator("#toasts .toast")).to_contain_text("Renamed “webinar” to “webinar-attendee”.")
    renamed = page.get_by_test_id("tag-row")
    expect(renamed).to_have_count(1)  # the list is filtered to the renamed tag
    expect(renamed).to_contain_text("webinar-attendee")
    expect(renamed.get_by_test_id("tag-count")).to_have_text("3")

    # The search box filters the table as you type (htmx), and the URL follows.
    search = page.get_by_label("Find a tag")
    search.fill("vi")
    expect(page.get_by_test_id("tag-row")).to_have_count(1)
    expect(page.get_by_test_id("tag-row")).to_contain_text("vip")
    expect(page).to_have_url(f"{live_server.url}/settings/tags/?q=vi")
    page.screenshot(path="/tmp/settings_tags.png", full_page=True)
    assert Tag.objects.get(pk=tag.pk).name == "webinar-attendee"
    assert real_problems(console_problems) == []
