"""The form editor in a real Chromium: a marketer builds a form by keyboard, publishes it and deletes it."""

import re

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Contact, LeadForm
from tests.e2e.conftest import htmx_settled, log_in, real_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]




def field_targets(page: Page) -> list[str]:
    return [page.locator(f"#field-{index}-target").input_value()
            for index in range(page.locator("[data-field-row]").count())]


def test_a_marketer_builds_publishes_and_deletes_a_form_by_keyboard(live_server, page: Page, personas, settings,
                                                                      console_problems):
    settings.SITE_URL = live_server.url
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, live_server, "marketer", personas.password, "/forms/")
    page.get_by_role("link", name="Create your first form").click()

    # A missing name comes back by its field; then the form is created and the editor opens.
    page.get_by_label("Name").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("error-name")).to_be_visible()
    page.get_by_label("Name").fill("Webinar")
    page.get_by_label("Lead magnet").fill("Webinar 101")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Webinar")
    form = LeadForm.objects.get()
    assert field_targets(page) == ["email", "first_name"]

    # Add a field: the new row's "Fills in" gets the focus; it picks the next unused target.
    page.get_by_role("button", name="+ Add field").click()
    expect(page.locator("#field-2-target")).to_be_focused()
    assert field_targets(page) == ["email", "first_name", "last_name"]
    htmx_settled(page)  # htmx focuses the [autofocus] select again when the settle ends
    page.locator("#field-2-label").fill("Surname")

    # Move it up by keyboard: the focus stays on the moved field's Up button, so Enter again moves it again.
    page.get_by_role("button", name="Move field 3 up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Move field 2 up")).to_be_focused()
    assert field_targets(page) == ["email", "last_name", "first_name"]
    page.keyboard.press("Enter")
    # At the top there is no Up button: the focus goes to the same row's Down button.
    expect(page.get_by_role("button", name="Move field 1 down")).to_be_focused()
    assert field_targets(page) == ["last_name", "email", "first_name"]
    assert page.locator("#field-0-label").input_value() == "Surname"
    htmx_settled(page)

    # Enter in a text box saves the fields (not the first row's buttons); nothing was saved before.
    assert list(form.fields.values_list("target", flat=True)) == ["email", "first_name"]
    page.locator("#field-0-placeholder").fill("Lovelace")
    page.locator("#field-0-placeholder").press("Enter")
    expect(page.get_by_test_id("fields-saved")).to_be_visible()
    assert list(form.fields.values_list("target", "label")) == [
        ("last_name", "Surname"), ("email", "Email"), ("first_name", "First name")]
    expect(page.locator("#publish-html")).to_have_value(re.compile("Surname"))

    # Settings: the embed needs an allowed domain; the warning goes once it is saved.
    expect(page.get_by_test_id("publish-no-domains")).to_be_visible()
    page.get_by_label("Allowed domains").fill("localhost")
    page.get_by_label("Success message").fill("See you at the webinar!")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Form settings saved.")).to_be_visible()
    expect(page.get_by_test_id("publish-no-domains")).to_have_count(0)

    # Copy the hosted page's link, then open the preview and submit the form there.
    page.locator("[data-copy='#publish-hosted']").click()
    expect(page.get_by_text("Copied to the clipboard.")).to_be_visible()
    hosted = f"{live_server.url}/f/{form.public_key}/"
    assert page.evaluate("navigator.clipboard.readText()") == hosted
    with page.context.expect_page() as preview_info:
        page.get_by_role("link", name="Preview").click()
    preview = preview_info.value
    preview.wait_for_load_state()
    assert preview.url == hosted
    form.min_fill_seconds = 0
    form.save(update_fields=["min_fill_seconds"])
    preview.get_by_label("Surname").fill("Lovelace")
    preview.get_by_label("Email").fill("ada@example.com")
    preview.get_by_role("button", name="Download").click()
    expect(preview.get_by_text("See you at the webinar!")).to_be_visible()
    assert Contact.objects.get(email="ada@example.com").last_name == "Lovelace"
    preview.close()

    # Delete asks first, with Cancel focused; then the list is empty again.
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_test_id("delete-consequences")).to_contain_text("1 submission record")
    expect(page.get_by_role("link", name="Cancel")).to_be_focused()
    page.get_by_role("button", name="Delete form").click()
    expect(page.get_by_text("Create your first form")).to_be_visible()
    assert not LeadForm.objects.exists()
    assert Contact.objects.filter(email="ada@example.com").exists()
    assert real_problems(console_problems) == []
