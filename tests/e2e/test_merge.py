"""Merging two duplicates in a real Chromium: from the duplicates list to the merged contact's page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Contact, Note
from contacts.services import contact_tag, note_add
from tests.e2e.conftest import log_in_by_keyboard

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def twins(personas):
    """Ada, twice: the older contact without a phone, and a newer one (same Gmail mailbox) with one."""
    ada = Contact.objects.create(email="ada.lovelace@gmail.com", first_name="Ada", last_name="Lovelace")
    Contact.objects.filter(pk=ada.pk).update(created_at=timezone.now() - timedelta(days=30))
    twin = Contact.objects.create(email="adalovelace+crm@gmail.com", first_name="Adeline", last_name="Lovelace",
                                  phone="+44 20 7946 0000")
    note_add(contact=twin, author=personas.marketer, body="Asked for a demo")
    contact_tag(contact=twin, names=["webinar"])
    return ada, twin


def test_a_marketer_merges_two_duplicates_choosing_a_field_from_the_duplicate(live_server, page: Page, personas,
                                                                               twins, console_problems):  # noqa: F811
    ada, twin = twins
    page.goto(live_server.url + "/accounts/login/?next=/contacts/duplicates/")
    log_in_by_keyboard(page, "marketer", personas.password)

    expect(page.get_by_role("heading", name="Duplicates", level=1)).to_be_visible()
    group = page.get_by_test_id("duplicate-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("Same email address")
    group.get_by_role("link", name=f"Merge {twin.email} into {ada.email}").click()

    expect(page.get_by_role("heading", name="Merge contacts", level=1)).to_be_visible()
    expect(page.get_by_test_id("merge-table")).to_contain_text("+44 20 7946 0000")
    primary_name = page.get_by_label("First name from the primary: Ada")
    expect(primary_name).to_be_checked()  # the older contact's value by default
    page.get_by_label("First name from the duplicate: Adeline").check()
    page.get_by_role("button", name="Review the merge").click()

    expect(page.get_by_role("heading", name=f"Merge {twin.email} into {ada.email}?")).to_be_visible()
    result = page.get_by_test_id("merge-result")
    expect(result.locator("[data-field=first_name]")).to_contain_text("Adeline")
    expect(result.locator("[data-field=phone]")).to_contain_text("+44 20 7946 0000")
    expect(page.get_by_test_id("merge-moves")).to_contain_text("1 note")
    assert Contact.objects.count() == 2  # nothing happens before the confirmation
    page.get_by_role("button", name="Merge contacts").click()

    expect(page).to_have_url(f"{live_server.url}/contacts/{ada.pk}/")
    toast = page.locator("#toasts .toast.show")
    expect(toast).to_contain_text(f"Merged {twin.email} into Adeline Lovelace.")
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text("Adeline Lovelace")
    expect(page.locator("main")).to_contain_text("+44 20 7946 0000")
    expect(page.locator("main")).to_contain_text("Asked for a demo")

    merged = Contact.objects.get()
    assert (merged.pk, merged.first_name, merged.email) == (ada.pk, "Adeline", ada.email)
    assert Note.objects.get().contact_id == ada.pk
    assert list(merged.tags.values_list("name", flat=True)) == ["webinar"]
    assert console_problems == []
