"""Lead forms in a real Chromium: a page on ANOTHER origin embeds a form with embed.js and submits it."""

import secrets

import pytest
from playwright.sync_api import Page, expect

from contacts.models import Contact, ContactList, Event, LeadForm, LeadFormField, LeadFormSubmission, Subscription, Tag
from pipelines.models import Deal
from pipelines.services import pipeline_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def lead_form(db):
    form = LeadForm.objects.create(name="Ebook", lead_magnet="Pricing ebook", public_key=secrets.token_hex(16),
                                   min_fill_seconds=0, allowed_domains="127.0.0.1",
                                   success_message="Thanks, check your inbox!",
                                   pipeline=pipeline_create(name="Inbound", stages=[("New", 10, None)]))
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True, position=0)
    LeadFormField.objects.create(form=form, target="first_name", label="First name", position=1)
    form.tags.add(Tag.objects.create(name="ebook"))
    form.lists.add(ContactList.objects.create(name="News"))
    return form


@pytest.fixture
def other_site(tmp_path, live_server, lead_form, second_origin):
    (tmp_path / "index.html").write_text(
        "<!doctype html><html><head><title>Ebook</title><link rel='icon' href='data:,'></head><body>"
        f'<h1>Get the ebook</h1><script src="{live_server.url}/f/{lead_form.public_key}/embed.js"></script>'
        "</body></html>")
    return second_origin


def test_embedded_form_creates_contact_tags_list_deal_and_event(page: Page, other_site, lead_form, console_problems):
    page.goto(f"{other_site}/index.html")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("First name").fill("Ada")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".lc-success")).to_have_text("Thanks, check your inbox!")
    contact = Contact.objects.get(email="ada@example.com")
    assert contact.first_name == "Ada" and contact.tags.get().name == "ebook"
    assert Subscription.objects.get(contact=contact).status == "subscribed"
    assert Deal.objects.get(contact=contact).title == "Pricing ebook: Ada"
    event = Event.objects.get(contact=contact, type="form_submitted")
    assert event.properties["page_url"] == f"{other_site}/index.html"
    assert console_problems == []


def test_filled_honeypot_creates_nothing(page: Page, other_site, lead_form, console_problems):
    page.goto(f"{other_site}/index.html")
    page.get_by_label("Email").fill("bot@example.com")
    page.evaluate("() => { document.querySelector('input[name=lc_hp]').value = 'spam'; }")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".lc-success")).to_be_visible()  # looks like success to the bot
    assert not Contact.objects.filter(email="bot@example.com").exists()
    assert not LeadFormSubmission.objects.exists()
    assert console_problems == []


@pytest.mark.worker
def test_double_opt_in_from_submission_to_the_emailed_link(page: Page, other_site, lead_form, celery_worker,
                                                          smtp_inbox, live_server):
    """The submission's on-commit task runs on the session's real Celery worker, which emails the session inbox."""
    import re

    from contacts.models import OptInRequest
    from tests.helpers import wait_until

    address = f"grace-{secrets.token_hex(4)}@example.com"  # the inbox lives as long as the session
    weekly = ContactList.objects.create(name="Weekly", double_opt_in=True)
    lead_form.lists.set([weekly])
    page.goto(f"{other_site}/index.html")
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".lc-success")).to_be_visible()
    assert Subscription.objects.get(list=weekly).status == "unconfirmed"

    [email] = wait_until(lambda: smtp_inbox.to(address), timeout=30)
    request = wait_until(lambda: OptInRequest.objects.filter(sent_at__isnull=False).first())
    body = email.get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/f/confirm/\S+/)", body).group(1)
    assert link.startswith(f"{live_server.url}/f/confirm/")  # the worker's SITE_URL is the live server
    page.goto(link)
    expect(page.get_by_role("heading")).to_contain_text("confirmed")
    assert Subscription.objects.get(list=weekly).status == "subscribed"
    request.refresh_from_db()
    assert request.confirmed_at is not None
    assert len(smtp_inbox.to(address)) == 1
