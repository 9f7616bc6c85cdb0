"""The contact page: who may open and change it, inline editing, tags, lists, notes, tasks, the stage
changer, deleting, and the timeline (paging, filters, escaping), in a bounded number of queries."""

import json
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Account, Consent, Contact, ContactList, CustomField, Event, Note, Subscription, Tag, Task
from contacts.services import (
    contact_create,
    contact_tag,
    event_record,
    list_subscription_set,
    note_add,
    task_create,
)
from lifecycle.models import LifecycleStage, StageTransition
from lifecycle.services import contact_stage_set, stage_sets_ensure_defaults
from pipelines.models import Deal, Pipeline, Stage

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def stages():
    return {s.name: s for s in stage_sets_ensure_defaults().stages.all()}


@pytest.fixture
def ada(personas, stages):
    """Alice's contact, at Acme, in Nurture & Educate after a backward move."""
    account = Account.objects.create(name="Acme", domain="acme.com")
    contact = contact_create(email="ada@acme.com", first_name="Ada", last_name="Lovelace", title="CTO",
                             account_id=account.pk, owner_id=personas.rep_alice.pk, user=personas.rep_alice)
    contact_stage_set(contact=contact, stage=stages["Convert & Close"], actor="user", user=personas.rep_alice)
    contact_stage_set(contact=contact, stage=stages["Nurture & Educate"], actor="user", user=personas.rep_alice,
                      reason="not ready yet")
    return Contact.objects.get(pk=contact.pk)


@pytest.fixture
def bobs(personas):
    return contact_create(email="carl@example.com", first_name="Carl", owner_id=personas.rep_bob.pk)


@pytest.fixture
def unassigned():
    return contact_create(email="nobody@example.com", first_name="Nora")


def url(name, *args):
    return reverse(f"contacts:{name}", args=args)


def detail(contact):
    return url("detail", contact.pk)


def edit(contact, field):
    return url("contact_field_edit", contact.pk, field)


# --- Opening the page ------------------------------------------------------------------------------

def test_the_page_shows_the_header_panels_and_placeholders(client, personas, ada):
    pipeline = Pipeline.objects.create(name="Sales")
    stage = Stage.objects.create(pipeline=pipeline, name="Proposal", position=0)
    Deal.objects.create(title="Acme expansion", pipeline=pipeline, stage=stage, contact=ada, value=1200)
    Consent.objects.create(contact=ada, purpose="email marketing", occurred_at=timezone.now(), source="webinar form")
    client.force_login(personas.rep_alice)

    response = client.get(detail(ada))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="h3 fw-bold mb-1" id="contact-name">Ada Lovelace</h1>' in html
    assert "ada@acme.com" in html
    assert f'href="{reverse("contacts:account_detail", args=[ada.account_id])}">Acme</a>' in html
    assert "Owner: Alice" in html
    assert "Lead status: <span" in html and ">New</span>" in html
    assert 'data-testid="stage-path"' in html  # lifecycle/_stage_path.html
    assert "↩ backward" in html
    assert "Scores appear here once lead scoring is set up" in html
    assert "Acme expansion" in html and "1,200.00 USD" in html
    assert "email marketing" in html and "webinar form" in html
    assert 'id="stage-select"' in html
    assert "Delete contact" not in html  # reps cannot delete contacts


def test_a_contact_without_a_company_is_offered_the_account_of_their_email_domain(client, personas, unassigned):
    initech = Account.objects.create(name="Initech", domain="initech.com")
    peter = contact_create(email="peter@initech.com", first_name="Peter")
    client.force_login(personas.rep_alice)

    offered = client.get(detail(peter)).content.decode()
    not_offered = client.get(detail(unassigned)).content.decode()

    assert "Link to Initech?" in offered
    assert reverse("contacts:contact_link_account", args=[peter.pk, initech.pk]) in offered
    assert 'data-testid="account-suggestion"' not in not_offered


def test_an_empty_contact_shows_what_to_do_next(client, personas, unassigned):
    client.force_login(personas.marketer)

    html = client.get(detail(unassigned)).content.decode()

    assert "No tags yet." in html
    assert "No open tasks." in html
    assert "No notes yet." in html
    assert "Deals appear here" in html
    assert "No consent recorded." in html
    assert "Nora" in html


@pytest.mark.parametrize(("persona", "owner", "status"), [
    ("admin", "alice", 200), ("marketer", "alice", 200), ("manager", "alice", 200), ("manager", "bob", 404),
    ("rep_alice", "alice", 200), ("rep_alice", "nobody", 200), ("rep_alice", "bob", 404),
    ("rep_bob", "alice", 404), ("outsider", "nobody", 404),
])
def test_only_contacts_the_user_may_see_open(client, personas, ada, bobs, unassigned, persona, owner, status):
    contact = {"alice": ada, "bob": bobs, "nobody": unassigned}[owner]
    client.force_login(getattr(personas, persona))

    assert client.get(detail(contact)).status_code == status


def test_signed_out_visitors_are_sent_to_log_in(client, ada):
    response = client.get(detail(ada))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_missing_contact_is_a_404(client, personas):
    client.force_login(personas.admin)

    assert client.get(url("detail", 999999)).status_code == 404


# --- Inline editing -------------------------------------------------------------------------------

def test_the_edit_form_of_a_field_comes_back_as_a_fragment(client, personas, ada):
    client.force_login(personas.rep_alice)

    response = client.get(edit(ada, "first_name"), headers=HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="input-first_name" value="Ada"' in html
    assert "data-inline-cancel" in html


def test_saving_a_field_records_the_change_and_refreshes_the_header(client, personas, ada):
    client.force_login(personas.rep_alice)

    response = client.post(edit(ada, "first_name"), {"value": "Ann"}, headers=HTMX)

    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.first_name == "Ann"
    event = Event.objects.filter(contact=ada, type="field_changed").latest("id")
    assert event.properties["changes"] == {"first_name": ["Ada", "Ann"]}
    html = response.content.decode()
    assert 'data-testid="edit-first_name"' in html and "Ann" in html
    assert 'id="contact-summary" class="contact-summary" hx-swap-oob="true"' in html
    assert json.loads(response["HX-Trigger"])["contact-changed"] is True


def test_a_bad_email_is_refused_under_the_field_and_nothing_changes(client, personas, ada):
    client.force_login(personas.rep_alice)

    response = client.post(edit(ada, "email"), {"value": "not an email"}, headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "is not a valid email address" in html
    assert 'value="not an email"' in html  # what was typed stays, to be fixed
    assert 'aria-invalid="true"' in html
    ada.refresh_from_db()
    assert ada.email == "ada@acme.com"
    assert not Event.objects.filter(contact=ada, type="field_changed").exists()


def test_an_email_another_contact_has_is_refused(client, personas, ada, unassigned):
    client.force_login(personas.admin)

    response = client.post(edit(ada, "email"), {"value": "NOBODY@example.com"}, headers=HTMX)

    assert response.status_code == 422
    assert "Another contact already has the email nobody@example.com." in response.content.decode()


def test_without_javascript_a_bad_value_comes_back_as_the_page_with_the_form(client, personas, ada):
    client.force_login(personas.rep_alice)

    form = client.get(edit(ada, "title"))
    assert form.status_code == 200 and "<html" in form.content.decode()
    assert 'id="input-title" value="CTO"' in form.content.decode()

    response = client.post(edit(ada, "email"), {"value": "nope"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html and "is not a valid email address" in html
    ok = client.post(edit(ada, "title"), {"value": "CEO"})
    assert ok.status_code == 302 and ok["Location"] == detail(ada) + "#fields"
    ada.refresh_from_db()
    assert ada.title == "CEO"


def test_owner_company_and_lead_status_are_editable(client, personas, ada):
    client.force_login(personas.manager)

    assert client.post(edit(ada, "lead_status"), {"value": "sql"}, headers=HTMX).status_code == 200
    assert client.post(edit(ada, "company"), {"value": "Initech"}, headers=HTMX).status_code == 200
    assert client.post(edit(ada, "owner"), {"value": ""}, headers=HTMX).status_code == 200
    bad = client.post(edit(ada, "lead_status"), {"value": "hot"}, headers=HTMX)

    assert bad.status_code == 422 and "Choose one of" in bad.content.decode()
    ada.refresh_from_db()
    assert (ada.lead_status, ada.account.name, ada.owner_id) == ("sql", "Initech", None)


def test_the_owner_field_offers_the_users_with_a_role(client, personas, ada):
    client.force_login(personas.rep_alice)

    html = client.get(edit(ada, "owner"), headers=HTMX).content.decode()

    assert f'<option value="{personas.rep_bob.pk}">Bob</option>' in html
    assert f'<option value="{personas.rep_alice.pk}" selected>Alice</option>' in html
    assert f'value="{personas.outsider.pk}"' not in html


@pytest.fixture
def custom_fields():
    rows = [
        ("employees", "Employees", CustomField.Type.NUMBER, []),
        ("renewal", "Renewal date", CustomField.Type.DATE, []),
        ("vip", "VIP", CustomField.Type.BOOLEAN, []),
        ("region", "Region", CustomField.Type.CHOICE, ["EMEA", "Americas"]),
        ("products", "Products", CustomField.Type.MULTI_CHOICE, ["CRM", "Email", "Scoring"]),
        ("website", "Website", CustomField.Type.URL, []),
    ]
    return {key: CustomField.objects.create(key=key, label=label, type=type_, choices=choices, position=i)
            for i, (key, label, type_, choices) in enumerate(rows)}


def test_custom_fields_get_an_input_of_their_type(client, personas, ada, custom_fields):
    client.force_login(personas.rep_alice)

    def form(key):
        return client.get(edit(ada, f"fields.{key}"), headers=HTMX).content.decode()

    assert 'type="number"' in form("employees") and 'step="any"' in form("employees")
    assert 'type="date"' in form("renewal")
    assert 'type="checkbox" name="value" value="true"' in form("vip")
    assert '<select class="form-select form-select-sm" name="value" id="input-fields-region"' in form("region")
    assert form("products").count('type="checkbox" name="value"') == 3
    assert 'type="url"' in form("website")


def test_custom_field_values_are_checked_by_type_and_saved(client, personas, ada, custom_fields):
    client.force_login(personas.rep_alice)

    def save(key, value):
        return client.post(edit(ada, f"fields.{key}"), {"value": value} if value is not None else {}, headers=HTMX)

    assert save("employees", "1,250").status_code == 200
    assert save("renewal", "2026-01-31").status_code == 200
    assert save("vip", "true").status_code == 200
    assert save("region", "emea").status_code == 200
    assert save("products", ["CRM", "Scoring"]).status_code == 200
    assert save("website", "https://acme.com").status_code == 200
    ada.refresh_from_db()
    assert ada.fields == {"employees": 1250, "renewal": "2026-01-31", "vip": True, "region": "EMEA",
                          "products": ["CRM", "Scoring"], "website": "https://acme.com"}

    assert save("vip", None).status_code == 200  # an unticked box is "no"
    ada.refresh_from_db()
    assert ada.fields["vip"] is False

    bad_number = save("employees", "lots")
    assert bad_number.status_code == 422
    assert "“lots” is not a number." in bad_number.content.decode()
    assert "employees: " not in bad_number.content.decode()  # the message sits under its own field
    assert save("renewal", "31/01/2026").status_code == 422
    assert save("region", "Mars").status_code == 422
    assert save("website", "javascript:alert(1)").status_code == 422
    ada.refresh_from_db()
    assert ada.fields["employees"] == 1250 and ada.fields["website"] == "https://acme.com"


def test_custom_values_show_on_the_page_and_a_url_is_a_link(client, personas, ada, custom_fields):
    Contact.objects.filter(pk=ada.pk).update(fields={"website": "https://acme.com", "vip": True,
                                                     "products": ["CRM", "Email"]})
    client.force_login(personas.rep_alice)

    html = client.get(detail(ada)).content.decode()

    assert "Renewal date" in html and "Region" in html
    assert '<span class="inline-field-text">CRM, Email</span>' in html
    assert '<span class="inline-field-text">Yes</span>' in html


def test_an_unknown_field_is_a_404(client, personas, ada):
    client.force_login(personas.rep_alice)

    assert client.get(edit(ada, "fields.nope"), headers=HTMX).status_code == 404
    assert client.post(edit(ada, "search"), {"value": "x"}, headers=HTMX).status_code == 404


def test_reps_change_their_own_and_unassigned_contacts_but_not_others(client, personas, ada, bobs, unassigned):
    client.force_login(personas.rep_alice)

    assert client.post(edit(unassigned, "title"), {"value": "CFO"}, headers=HTMX).status_code == 200
    assert client.post(edit(bobs, "title"), {"value": "CFO"}, headers=HTMX).status_code == 404
    assert client.get(edit(bobs, "title"), headers=HTMX).status_code == 404
    bobs.refresh_from_db()
    assert bobs.title == ""


def test_an_outsider_can_change_nothing(client, personas, unassigned):
    client.force_login(personas.outsider)

    for response in [
        client.post(edit(unassigned, "title"), {"value": "CFO"}, headers=HTMX),
        client.post(url("contact_tag_add", unassigned.pk), {"name": "vip"}, headers=HTMX),
        client.post(url("contact_note_add", unassigned.pk), {"body": "hi"}, headers=HTMX),
        client.post(url("contact_stage", unassigned.pk), {"stage": "Reach & Engage"}, headers=HTMX),
        client.post(url("contact_delete", unassigned.pk)),
        client.get(url("contact_timeline", unassigned.pk), headers=HTMX),
    ]:
        assert response.status_code == 404
    assert not unassigned.tags.exists() and not unassigned.notes.exists()


# --- Stage -----------------------------------------------------------------------------------------

def test_the_stage_changer_moves_the_contact_with_the_user_and_reason(client, personas, ada, stages):
    client.force_login(personas.rep_alice)

    response = client.post(url("contact_stage", ada.pk),
                           {"stage": stages["Reach & Engage"].pk, "reason": "went quiet"}, headers=HTMX)

    assert response.status_code == 200
    move = StageTransition.objects.filter(contact=ada).latest("id")
    assert (move.to_stage.name, move.direction, move.actor, move.user, move.reason) == (
        "Reach & Engage", "backward", "user", personas.rep_alice, "went quiet")
    html = response.content.decode()
    assert 'id="stage"' in html and "went quiet" in html
    assert "contact-changed" in response["HX-Trigger"]


def test_a_stage_outside_the_active_set_is_refused(client, personas, ada):
    other = LifecycleStage.objects.exclude(stage_set__is_active=True).first()
    client.force_login(personas.rep_alice)

    response = client.post(url("contact_stage", ada.pk), {"stage": other.pk}, headers=HTMX)

    assert response.status_code == 422
    assert "There is no lifecycle stage" in response.content.decode()
    assert StageTransition.objects.filter(contact=ada).count() == 2


# --- Tags ------------------------------------------------------------------------------------------

def test_tags_are_added_created_and_removed(client, personas, ada):
    Tag.objects.create(name="VIP")
    client.force_login(personas.rep_alice)

    existing = client.post(url("contact_tag_add", ada.pk), {"name": "vip"}, headers=HTMX)
    created = client.post(url("contact_tag_add", ada.pk), {"name": "webinar 2025"}, headers=HTMX)

    assert existing.status_code == created.status_code == 200
    assert sorted(ada.tags.values_list("name", flat=True)) == ["VIP", "webinar 2025"]
    assert Tag.objects.filter(name="webinar 2025").exists()
    html = created.content.decode()
    assert 'aria-label="Remove tag VIP"' in html and '<option value="webinar 2025">' in html

    removed = client.post(url("contact_tag_remove", ada.pk), {"name": "VIP"}, headers=HTMX)

    assert removed.status_code == 200
    assert list(ada.tags.values_list("name", flat=True)) == ["webinar 2025"]
    assert list(Event.objects.filter(contact=ada, type__startswith="tag_").order_by("id")
                .values_list("type", flat=True)) == ["tag_added", "tag_added", "tag_removed"]


def test_an_empty_or_too_long_tag_is_refused(client, personas, ada):
    client.force_login(personas.rep_alice)

    empty = client.post(url("contact_tag_add", ada.pk), {"name": "  "}, headers=HTMX)
    long = client.post(url("contact_tag_add", ada.pk), {"name": "x" * 101}, headers=HTMX)

    assert empty.status_code == long.status_code == 422
    assert "Type a tag name" in empty.content.decode()
    assert "at most 100 characters" in long.content.decode()
    assert not Tag.objects.exists()


# --- Lists -----------------------------------------------------------------------------------------

def test_subscribing_unsubscribing_and_adding_to_a_list(client, personas, ada):
    news = ContactList.objects.create(name="Newsletter")
    ContactList.objects.create(name="Product updates")
    client.force_login(personas.rep_alice)

    added = client.post(url("contact_list_subscription", ada.pk), {"list": news.pk, "status": "subscribed"},
                        headers=HTMX)
    assert added.status_code == 200
    html = added.content.decode()
    assert "Newsletter" in html and ">Subscribed</span>" in html
    assert '<option value="' in html and "Product updates" in html  # still offered

    gone = client.post(url("contact_list_subscription", ada.pk), {"list": news.pk, "status": "unsubscribed"},
                       headers=HTMX)
    assert gone.status_code == 200 and ">Unsubscribed</span>" in gone.content.decode()
    assert Subscription.objects.get(contact=ada, list=news).status == "unsubscribed"


def test_adding_to_a_double_opt_in_list_leaves_the_contact_unconfirmed_until_they_confirm(client, personas, ada):
    webinar = ContactList.objects.create(name="Webinar", double_opt_in=True)
    client.force_login(personas.rep_alice)

    added = client.post(url("contact_list_subscription", ada.pk), {"list": webinar.pk, "status": "subscribed"},
                        headers=HTMX)
    assert added.status_code == 200 and ">Unconfirmed</span>" in added.content.decode()
    assert Subscription.objects.get(contact=ada, list=webinar).status == "unconfirmed"
    refused = client.post(url("contact_list_subscription", ada.pk), {"list": "²", "status": "subscribed"},
                          headers=HTMX)
    assert refused.status_code == 422


def test_a_bad_list_or_status_is_refused(client, personas, ada):
    news = ContactList.objects.create(name="Newsletter")
    client.force_login(personas.rep_alice)

    assert client.post(url("contact_list_subscription", ada.pk), {"list": "", "status": "subscribed"},
                       headers=HTMX).status_code == 422
    bad = client.post(url("contact_list_subscription", ada.pk), {"list": news.pk, "status": "maybe"}, headers=HTMX)
    assert bad.status_code == 422 and "Choose one of" in bad.content.decode()
    assert not Subscription.objects.exists()


# --- Notes -----------------------------------------------------------------------------------------

def test_notes_are_added_and_listed_newest_first_with_their_author(client, personas, ada):
    note_add(contact=ada, author=personas.rep_bob, body="First call went well")
    client.force_login(personas.rep_alice)

    response = client.post(url("contact_note_add", ada.pk), {"body": "Wants a demo\nnext week"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Wants a demo<br>next week") < html.index("First call went well")
    assert "<strong>Alice</strong>" in html and "<strong>Bob</strong>" in html
    assert Note.objects.filter(contact=ada, author=personas.rep_alice).exists()


def test_an_empty_note_is_refused(client, personas, ada):
    client.force_login(personas.rep_alice)

    response = client.post(url("contact_note_add", ada.pk), {"body": "   "}, headers=HTMX)

    assert response.status_code == 422 and "Write the note first." in response.content.decode()
    assert not Note.objects.exists()


def test_only_the_author_deletes_a_note_after_confirming(client, personas, ada):
    mine = note_add(contact=ada, author=personas.rep_alice, body="mine")
    theirs = note_add(contact=ada, author=personas.admin, body="theirs")
    client.force_login(personas.rep_alice)

    html = client.get(detail(ada)).content.decode()
    assert html.count("hx-confirm=\"Delete this note?") == 1
    confirm = client.get(url("contact_note_delete", ada.pk, mine.pk))
    assert confirm.status_code == 200 and "Delete this note?" in confirm.content.decode()
    assert client.post(url("contact_note_delete", ada.pk, theirs.pk), headers=HTMX).status_code == 403
    assert client.post(url("contact_note_delete", ada.pk, mine.pk), headers=HTMX).status_code == 200
    assert list(Note.objects.values_list("body", flat=True)) == ["theirs"]


def test_many_notes_show_the_newest_and_offer_the_rest(client, personas, ada):
    Note.objects.bulk_create([Note(contact=ada, author=personas.rep_alice, body=f"note {i}") for i in range(25)])
    client.force_login(personas.rep_alice)

    page = client.get(detail(ada)).content.decode()
    everything = client.get(url("contact_notes", ada.pk) + "?all=1", headers=HTMX).content.decode()

    assert page.count('data-testid="note"') == 20 and "Show all 25 notes" in page
    assert everything.count('data-testid="note"') == 25


# --- Tasks -----------------------------------------------------------------------------------------

def test_a_task_is_added_for_me_by_default_and_marked_done(client, personas, ada):
    client.force_login(personas.rep_alice)
    page = client.get(detail(ada)).content.decode()
    assert f'<option value="{personas.rep_alice.pk}" selected>Alice</option>' in page

    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url("contact_task_add", ada.pk), {
        "kind": "call", "title": "Call about pricing", "due_at": due, "assignee": personas.rep_alice.pk,
    }, headers=HTMX)

    assert response.status_code == 200
    task = Task.objects.get(contact=ada)
    assert (task.kind, task.assignee, task.created_by, task.done) == ("call", personas.rep_alice,
                                                                      personas.rep_alice, False)
    done = client.post(url("task_done", task.pk), {"done": "on", "panel": "contact"}, headers=HTMX)
    assert done.status_code == 200
    task.refresh_from_db()
    assert task.done and task.done_at
    assert 'id="tasks"' in done.content.decode() and "is-done" in done.content.decode()
    assert Event.objects.filter(contact=ada, type="task_done").count() == 1


def test_a_task_with_bad_input_is_refused_by_field(client, personas, ada):
    client.force_login(personas.rep_alice)

    response = client.post(url("contact_task_add", ada.pk), {"kind": "fax", "title": "", "due_at": "soon"},
                           headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert "Select a valid choice" in html and "This field is required." in html and "Enter a valid date/time." in html
    assert not Task.objects.exists()


def test_overdue_tasks_are_highlighted(client, personas, ada):
    task_create(title="Late call", due_at=timezone.now() - timedelta(days=1), contact=ada,
                assignee=personas.rep_alice)
    task_create(title="Later call", due_at=timezone.now() + timedelta(days=1), contact=ada,
                assignee=personas.rep_alice)
    client.force_login(personas.rep_alice)

    html = client.get(detail(ada)).content.decode()

    assert html.count('data-testid="overdue"') == 1
    assert html.index("Late call") < html.index("Later call")


# --- Deleting the contact ----------------------------------------------------------------------------

def test_deleting_a_contact_asks_first_and_needs_the_permission(client, personas, ada):
    client.force_login(personas.rep_alice)
    assert client.get(url("contact_delete", ada.pk)).status_code == 403
    assert client.post(url("contact_delete", ada.pk)).status_code == 403

    client.force_login(personas.marketer)
    confirm = client.get(url("contact_delete", ada.pk))
    assert confirm.status_code == 200 and "This cannot be undone." in confirm.content.decode()
    assert Contact.objects.filter(pk=ada.pk).exists()

    response = client.post(url("contact_delete", ada.pk))

    assert response.status_code == 302 and response["Location"] == reverse("contacts:list")
    assert not Contact.objects.filter(pk=ada.pk).exists()


# --- Timeline --------------------------------------------------------------------------------------

def _events(contact, count, **kwargs):
    start = timezone.now() - timedelta(days=count)
    return Event.objects.bulk_create([
        Event(contact=contact, type=kwargs.get("type", "page_visited"), channel=kwargs.get("channel", "website"),
              properties={"url": f"https://acme.com/p{i}"}, occurred_at=start + timedelta(hours=i))
        for i in range(count)])


def test_the_timeline_pages_newest_first_without_gaps_or_repeats(client, personas, unassigned):
    Event.objects.filter(contact=unassigned).delete()
    events = _events(unassigned, 60)
    same_time = events[10].occurred_at  # ties on occurred_at are ordered by id
    Event.objects.filter(pk__in=[e.pk for e in events[8:13]]).update(occurred_at=same_time)
    client.force_login(personas.marketer)

    seen, before = [], ""
    for _ in range(5):
        response = client.get(url("contact_timeline", unassigned.pk), {"before": before}, headers=HTMX)
        html = response.content.decode()
        seen += [int(u) for u in re.findall(r"https://acme.com/p(\d+)", html)]
        if 'data-testid="timeline-more"' not in html:
            break
        before = unquote(re.search(r'hx-get="[^"]*\?before=([^"]+)"', html).group(1))
    assert len(seen) == 60 and len(set(seen)) == 60
    expected = sorted(events, key=lambda e: (Event.objects.get(pk=e.pk).occurred_at, e.pk), reverse=True)
    assert seen == [int(e.properties["url"].rsplit("p", 1)[1]) for e in expected]


def test_the_first_page_has_a_lazy_load_more_marker(client, personas, unassigned):
    _events(unassigned, 30)
    client.force_login(personas.marketer)

    html = client.get(detail(unassigned)).content.decode()

    assert html.count('data-testid="timeline-entry"') == 25
    assert 'hx-trigger="revealed, click"' in html


def test_the_timeline_filters_by_channel_and_type(client, personas, unassigned):
    _events(unassigned, 3)
    _events(unassigned, 2, type="email_opened", channel="email")
    client.force_login(personas.marketer)

    def entries(**params):
        html = client.get(url("contact_timeline", unassigned.pk), params, headers=HTMX).content.decode()
        return html.count('data-testid="timeline-entry"'), html

    assert entries(channel="email")[0] == 2
    assert entries(type="page_visited")[0] == 3
    assert entries(type="page_visited", channel="email")[1].count("Nothing on the timeline matches") == 1
    page = client.get(detail(unassigned)).content.decode()
    assert '<option value="email">Email</option>' in page
    assert '<option value="email_opened">Email opened</option>' in page


def test_a_bad_cursor_is_a_400(client, personas, unassigned):
    client.force_login(personas.marketer)

    response = client.get(url("contact_timeline", unassigned.pk), {"before": "yesterday~x"}, headers=HTMX)

    assert response.status_code == 400


def test_events_read_as_sentences_and_properties_are_escaped(client, personas, ada):
    event_record(contact=ada, type="page_visited", channel="website",
                 properties={"url": "https://acme.com/<script>alert(1)</script>", "referrer": "<img src=x>"})
    event_record(contact=ada, type="webinar_attended", channel="webinar",
                 properties={"<b>webinar</b>": "Lifecycle 101 <script>x()</script>", "minutes": 45})
    client.force_login(personas.rep_alice)
    client.post(edit(ada, "first_name"), {"value": "Ann"}, headers=HTMX)
    client.post(edit(ada, "company"), {"value": "Initech"}, headers=HTMX)

    html = client.get(url("contact_timeline", ada.pk), headers=HTMX).content.decode()

    assert "<script>" not in html and "<img" not in html and "<b>webinar" not in html
    assert "https://acme.com/&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x&gt;" in html
    assert "Lifecycle 101 &lt;script&gt;x()&lt;/script&gt;" in html
    assert "Webinar attended" in html  # a custom type, humanised
    assert '<span class="timeline-field">first_name</span>: Ada → Ann' in html
    assert '<span class="timeline-field">account</span>: Acme → Initech' in html
    assert "Convert &amp; Close → <strong>Nurture &amp; Educate</strong>" in html
    assert "↩ backward" in html and "not ready yet" in html
    assert "Page visited" in html


# --- Query counts ------------------------------------------------------------------------------------

def _fill(contact, user, n):
    tags = Tag.objects.bulk_create([Tag(name=f"{contact.pk}-tag-{i}") for i in range(n)])
    contact.tags.add(*tags)
    Note.objects.bulk_create([Note(contact=contact, author=user, body=f"note {i}") for i in range(n)])
    Task.objects.bulk_create([Task(contact=contact, assignee=user, title=f"task {i}", done=i % 2 == 0,
                                   due_at=timezone.now() + timedelta(days=i - n // 2)) for i in range(n)])
    _events(contact, n)
    lists = ContactList.objects.bulk_create([ContactList(name=f"{contact.pk}-list-{i}") for i in range(3)])
    for item in lists:
        list_subscription_set(contact=contact, contact_list=item, status="subscribed")
    contact_tag(contact=contact, names=["extra"])


def test_the_page_renders_in_a_bounded_number_of_queries(client, personas, unassigned,
                                                          django_assert_max_num_queries):
    solo = contact_create(email="solo@example.com", first_name="Sol")
    _fill(solo, personas.rep_alice, 1)
    _fill(unassigned, personas.rep_alice, 30)
    client.force_login(personas.rep_alice)
    client.get(detail(solo))  # warm up the session and permission caches alike for both

    with CaptureQueriesContext(connection) as small:
        assert client.get(detail(solo)).status_code == 200
    with django_assert_max_num_queries(25), CaptureQueriesContext(connection) as big:
        response = client.get(detail(unassigned))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="tag"') == 31 and html.count('data-testid="task"') == 15 + 10  # open, latest done
    assert html.count('data-testid="note"') == 20 and html.count('data-testid="timeline-entry"') == 25
    assert html.count('data-testid="subscription"') == 3
    # 30 of everything costs what 1 of everything does.
    assert len(big.captured_queries) == len(small.captured_queries)


def test_without_javascript_panels_redirect_back_or_show_the_page_with_the_error(client, personas, ada, stages):
    client.force_login(personas.rep_alice)

    tagged = client.post(url("contact_tag_add", ada.pk), {"name": "vip"})
    bad_tag = client.post(url("contact_tag_add", ada.pk), {"name": ""})
    bad_stage = client.post(url("contact_stage", ada.pk), {"stage": "Nowhere"})
    moved = client.post(url("contact_stage", ada.pk), {"stage": stages["Support & Grow"].pk})

    assert tagged.status_code == 302 and tagged["Location"] == detail(ada) + "#tags"
    assert bad_tag.status_code == 400 and "Type a tag name" in bad_tag.content.decode()
    assert bad_stage.status_code == 400 and "There is no lifecycle stage" in bad_stage.content.decode()
    assert "<html" in bad_stage.content.decode()
    assert moved.status_code == 302
    ada.refresh_from_db()
    assert ada.lifecycle_stage == stages["Support & Grow"]


def test_the_deals_panel_shows_only_deals_the_user_may_see_with_links(client, personas, unassigned):
    from pipelines.services import deal_create, pipeline_create

    pipeline = pipeline_create(name="Sales")
    mine = deal_create(title="Alice's deal", pipeline=pipeline, contact=unassigned, owner=personas.rep_alice)
    deal_create(title="Bob's deal", pipeline=pipeline, contact=unassigned, owner=personas.rep_bob)
    other = contact_create(email="other@x.com")
    deal_create(title="Shared deal", pipeline=pipeline, contact=other, other_contacts=[unassigned])
    client.force_login(personas.rep_alice)

    page = client.get(detail(unassigned)).content.decode()
    html = page[page.index('id="deals"'):page.index("</section>", page.index('id="deals"'))]

    assert "Alice&#x27;s deal" in html and "Shared deal" in html
    assert "Bob&#x27;s deal" not in html  # (its deal_created event stays on the contact's timeline)
    assert reverse("pipelines:deal_detail", args=[mine.pk]) in html
