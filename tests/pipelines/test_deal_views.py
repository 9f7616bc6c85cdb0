"""The deal page and side panel: who may open and change a deal, inline editing (good and bad input), the stage
changer, won (the contact becomes a customer) / lost (with a reason) / reopen / delete, notes, tasks and the
timeline, in a bounded number of queries."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomField, Event, Note, Task
from contacts.services import contact_create, note_add, task_create
from lifecycle.services import stage_sets_ensure_defaults
from pipelines.models import Deal, DealStageHistory, LostReason
from pipelines.services import deal_create, deal_lost, deal_move, deal_won, pipeline_create, pipeline_update

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def lifecycle():
    return {s.name: s for s in stage_sets_ensure_defaults().stages.all()}


@pytest.fixture
def sales():
    pipeline = pipeline_create(name="Sales")
    return pipeline, {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def ada(personas, lifecycle):
    return contact_create(email="ada@acme.com", first_name="Ada", last_name="Lovelace",
                          owner_id=personas.rep_alice.pk)


@pytest.fixture
def deal(sales, ada, personas):
    """Alice's deal with Ada, in Qualification."""
    pipeline, stages = sales
    return deal_create(title="Acme renewal", pipeline=pipeline, stage=stages["Qualification"], value=Decimal("12500"),
                       contact=ada, owner=personas.rep_alice, by=personas.rep_alice)


@pytest.fixture
def bobs_deal(sales, personas):
    pipeline, _stages = sales
    return deal_create(title="Bob's secret", pipeline=pipeline, owner=personas.rep_bob)


def url(name, *args):
    return reverse(f"pipelines:{name}", args=args)


def login(client, user):
    client.force_login(user)
    return client


def triggers(response) -> dict:
    return json.loads(response.get("HX-Trigger", "{}") or "{}")


# --- Who may open it ----------------------------------------------------------------------------------

def test_the_page_shows_the_deal_with_its_stage_path_and_days_in_stage(client, personas, deal):
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=timezone.now() - timedelta(days=20))
    response = login(client, personas.rep_alice).get(url("deal_detail", deal.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1" in html and "Acme renewal" in html
    assert "$12,500" in html
    assert "20 days in stage" in html
    assert 'data-testid="stale-badge"' in html  # Qualification rots after 14 days
    assert 'aria-current="step"' in html
    assert response.context["stage_path"][1].current and response.context["stage_path"][1].stage.name == \
        "Qualification"


def test_htmx_gets_the_side_panel_with_its_close_button_and_a_link_to_the_page(client, personas, deal):
    response = login(client, personas.rep_alice).get(url("deal_detail", deal.pk), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'data-testid="deal-panel"' in html
    assert f'href="{url("deal_detail", deal.pk)}"' in html  # open the full page
    assert url("deal_panel_close") in html and 'hx-target="#deal-panel"' in html
    assert "<h2" in html and "<h1" not in html
    closed = client.get(url("deal_panel_close"), headers=HTMX)
    assert closed.status_code == 200 and closed.content == b""


@pytest.mark.parametrize("who,status", [
    ("rep_alice", 404), ("rep_bob", 200), ("manager", 404), ("admin", 200), ("marketer", 200), ("outsider", 404),
])
def test_a_deal_opens_only_for_those_who_may_see_it(client, personas, bobs_deal, who, status):
    client = login(client, getattr(personas, who))
    assert client.get(url("deal_detail", bobs_deal.pk)).status_code == status
    assert client.get(url("deal_detail", bobs_deal.pk), headers=HTMX).status_code == status


def test_a_rep_cannot_change_another_reps_deal_in_any_way(client, personas, bobs_deal):
    client = login(client, personas.rep_alice)
    reason = LostReason.objects.first()
    for name, data in [("deal_won", {}), ("deal_lost", {"reason": reason.pk}), ("deal_reopen", {}),
                       ("deal_stage", {"stage": bobs_deal.stage_id}), ("deal_note_add", {"body": "x"}),
                       ("deal_delete", {})]:
        assert client.post(url(name, bobs_deal.pk), data, headers=HTMX).status_code == 404, name
    assert client.post(url("deal_field_edit", bobs_deal.pk, "title"), {"value": "Mine"}).status_code == 404
    assert Deal.objects.get(pk=bobs_deal.pk).title == "Bob's secret"
    assert Deal.objects.get(pk=bobs_deal.pk).status == "open"


def test_a_marketer_sees_a_deal_but_may_not_change_it(client, personas, deal):
    client = login(client, personas.marketer)
    page = client.get(url("deal_detail", deal.pk))
    assert page.status_code == 200
    assert 'data-testid="mark-won"' not in page.content.decode()
    assert 'data-testid="edit-title"' not in page.content.decode()
    assert client.post(url("deal_won", deal.pk), headers=HTMX).status_code == 403
    assert client.post(url("deal_field_edit", deal.pk, "title"), {"value": "x"}, headers=HTMX).status_code == 403
    assert Deal.objects.get(pk=deal.pk).status == "open"


# --- Inline editing ------------------------------------------------------------------------------------

def test_editing_the_title_swaps_the_field_and_the_header_out_of_band(client, personas, deal):
    client = login(client, personas.rep_alice)
    form = client.get(url("deal_field_edit", deal.pk, "title"), headers=HTMX)
    assert form.status_code == 200 and 'name="value"' in form.content.decode()
    assert "data-inline-cancel" in form.content.decode()

    saved = client.post(url("deal_field_edit", deal.pk, "title"), {"value": "  Acme renewal 2027 "}, headers=HTMX)

    assert saved.status_code == 200
    html = saved.content.decode()
    assert 'data-testid="edit-title"' in html and "Acme renewal 2027" in html
    assert 'id="deal-header"' in html and 'hx-swap-oob="true"' in html
    assert triggers(saved)["deal-changed"] == {"id": deal.pk}
    assert Deal.objects.get(pk=deal.pk).title == "Acme renewal 2027"


def test_editing_the_value_and_currency_records_the_change_on_the_contacts_timeline(client, personas, deal, ada):
    client = login(client, personas.rep_alice)
    saved = client.post(url("deal_field_edit", deal.pk, "value"), {"value": "20,000.50", "currency": "eur"},
                        headers=HTMX)
    assert saved.status_code == 200
    assert "€20,000.50" in saved.content.decode()
    deal.refresh_from_db()
    assert (deal.value, deal.currency) == (Decimal("20000.50"), "EUR")
    event = Event.objects.get(contact=ada, type="deal_value_changed")
    assert event.properties["previous_value"] == "12500.00" and event.properties["currency"] == "EUR"


@pytest.mark.parametrize("name,data,message", [
    ("value", {"value": "-5", "currency": "USD"}, "greater than or equal to 0"),
    ("value", {"value": "100", "currency": "XYZ"}, "“XYZ” is not an ISO 4217 currency code"),
    ("value", {"value": "lots", "currency": "USD"}, "“lots” is not an amount"),
    ("title", {"value": "   "}, "This field cannot be blank."),
    ("expected_close_date", {"value": "next week"}, "is not a date; use YYYY-MM-DD"),
    ("budget", {"value": "-1"}, "greater than or equal to 0"),
    ("contact", {"value": "nobody@nowhere.com"}, "No contact you can see has the email nobody@nowhere.com"),
    ("account", {"value": "Initech"}, "No account is called “Initech”"),
])
def test_bad_input_comes_back_as_the_form_with_the_fields_message_and_what_was_typed(client, personas, deal, name,
                                                                                      data, message):
    client = login(client, personas.rep_alice)
    before = Deal.objects.values().get(pk=deal.pk)

    refused = client.post(url("deal_field_edit", deal.pk, name), data, headers=HTMX)

    assert refused.status_code == 422
    html = refused.content.decode()
    assert message in html and 'data-testid="field-error"' in html
    assert f'value="{data["value"]}"' in html  # nothing typed is lost
    assert Deal.objects.values().get(pk=deal.pk) == before
    # Without JavaScript: the whole page, the field still open, 400.
    page = client.post(url("deal_field_edit", deal.pk, name), data)
    assert page.status_code == 400 and message in page.content.decode() and "<html" in page.content.decode()


def test_a_rep_may_give_a_deal_only_to_someone_whose_deals_they_see(client, personas, deal):
    client = login(client, personas.rep_alice)
    refused = client.post(url("deal_field_edit", deal.pk, "owner"), {"value": personas.rep_bob.pk}, headers=HTMX)
    assert refused.status_code == 422 and "Choose someone from the list" in refused.content.decode()
    assert client.post(url("deal_field_edit", deal.pk, "owner"), {"value": ""}, headers=HTMX).status_code == 200
    assert Deal.objects.get(pk=deal.pk).owner is None


def test_contacts_are_set_by_email_among_those_the_user_may_see(client, personas, deal, ada):
    grace = contact_create(email="grace@acme.com", first_name="Grace", owner_id=personas.rep_alice.pk)
    hidden = contact_create(email="carl@bob.com", first_name="Carl", owner_id=personas.rep_bob.pk)
    client = login(client, personas.rep_alice)

    refused = client.post(url("deal_field_edit", deal.pk, "other_contacts"), {"value": "grace@acme.com, carl@bob.com"},
                          headers=HTMX)
    assert refused.status_code == 422 and "carl@bob.com" in refused.content.decode()
    saved = client.post(url("deal_field_edit", deal.pk, "other_contacts"), {"value": "GRACE@acme.com"},
                        headers=HTMX)
    assert saved.status_code == 200
    assert list(Deal.objects.get(pk=deal.pk).other_contacts.all()) == [grace]
    assert hidden not in Deal.objects.get(pk=deal.pk).other_contacts.all()


def test_a_contact_the_rep_cannot_open_stays_on_a_shared_deal_named_but_not_linked(client, personas, deal):
    carl = contact_create(email="carl@bob.com", first_name="Carl", owner_id=personas.rep_bob.pk)
    Deal.objects.get(pk=deal.pk).other_contacts.add(carl)  # put there by someone who can see Carl
    grace = contact_create(email="grace@acme.com", first_name="Grace", owner_id=personas.rep_alice.pk)
    client = login(client, personas.rep_alice)

    page = client.get(url("deal_detail", deal.pk)).content.decode()
    assert "Carl" in page and reverse("contacts:detail", args=[carl.pk]) not in page
    saved = client.post(url("deal_field_edit", deal.pk, "other_contacts"),
                        {"value": "carl@bob.com, grace@acme.com"}, headers=HTMX)
    assert saved.status_code == 200, saved.content.decode()
    assert set(Deal.objects.get(pk=deal.pk).other_contacts.all()) == {carl, grace}
    assert reverse("contacts:detail", args=[grace.pk]) in saved.content.decode()
    assert reverse("contacts:detail", args=[carl.pk]) not in saved.content.decode()


def test_custom_fields_of_deals_are_edited_inline_and_checked_by_type(client, personas, deal):
    CustomField.objects.create(key="competitor", label="Competitor", type="choice", object="deal",
                               choices=["Globex", "Initech"])
    CustomField.objects.create(key="seats", label="Seats", type="number", object="deal")
    CustomField.objects.create(key="industry", label="Industry", type="text", object="contact")
    client = login(client, personas.rep_alice)
    page = client.get(url("deal_detail", deal.pk)).content.decode()
    assert "Competitor" in page and "Seats" in page and "Industry" not in page

    refused = client.post(url("deal_field_edit", deal.pk, "fields.seats"), {"value": "many"}, headers=HTMX)
    assert refused.status_code == 422 and "“many” is not a number." in refused.content.decode()
    assert "seats:" not in refused.content.decode()
    assert client.post(url("deal_field_edit", deal.pk, "fields.competitor"), {"value": "globex"},
                       headers=HTMX).status_code == 200
    seats = client.post(url("deal_field_edit", deal.pk, "fields.seats"), {"value": "25"}, headers=HTMX)
    assert seats.status_code == 200
    assert Deal.objects.get(pk=deal.pk).fields == {"competitor": "Globex", "seats": 25}
    assert client.get(url("deal_field_edit", deal.pk, "fields.industry"), headers=HTMX).status_code == 404


def test_yes_no_and_multiple_choice_fields_edit_with_checkboxes(client, personas, deal):
    CustomField.objects.create(key="signed_nda", label="Signed NDA", type="boolean", object="deal")
    CustomField.objects.create(key="modules", label="Modules", type="multi_choice", object="deal",
                               choices=["CRM", "Email", "Scoring"])
    client = login(client, personas.rep_alice)
    form = client.get(url("deal_field_edit", deal.pk, "fields.modules"), headers=HTMX).content.decode()
    assert form.count('type="checkbox" name="value"') == 3
    assert client.post(url("deal_field_edit", deal.pk, "fields.modules"), {"value": ["Email", "CRM"]},
                       headers=HTMX).status_code == 200
    assert client.post(url("deal_field_edit", deal.pk, "fields.signed_nda"), {"value": "true"},
                       headers=HTMX).status_code == 200
    assert Deal.objects.get(pk=deal.pk).fields == {"modules": ["Email", "CRM"], "signed_nda": True}
    # An unticked box is "no", not "unchanged".
    assert client.post(url("deal_field_edit", deal.pk, "fields.signed_nda"), {}, headers=HTMX).status_code == 200
    assert Deal.objects.get(pk=deal.pk).fields["signed_nda"] is False
    page = client.get(url("deal_detail", deal.pk)).content.decode()
    assert "Email, CRM" in page


def test_without_javascript_an_inline_edit_is_a_page_with_the_field_open(client, personas, deal):
    client = login(client, personas.rep_alice)
    page = client.get(url("deal_field_edit", deal.pk, "need"))
    assert page.status_code == 200 and "<textarea" in page.content.decode()
    saved = client.post(url("deal_field_edit", deal.pk, "need"), {"value": "Renewal before the audit"})
    assert saved.status_code == 302 and saved["Location"].endswith("#details")
    assert Deal.objects.get(pk=deal.pk).need == "Renewal before the audit"


# --- Stage, won, lost, reopen, delete ----------------------------------------------------------------

def test_the_stage_select_moves_the_deal_to_the_end_of_the_column_with_history(client, personas, sales, deal):
    pipeline, stages = sales
    first = deal_create(title="Already there", pipeline=pipeline, stage=stages["Proposal"])
    client = login(client, personas.rep_alice)

    moved = client.post(url("deal_stage", deal.pk), {"stage": stages["Proposal"].pk}, headers=HTMX)

    assert moved.status_code == 200 and triggers(moved)["deal-changed"] == {"id": deal.pk}
    assert list(Deal.objects.filter(stage=stages["Proposal"]).order_by("position").values_list("title", flat=True)) \
        == [first.title, "Acme renewal"]
    assert list(DealStageHistory.objects.filter(deal=deal).values_list("stage__name", "moved_by")) == [
        ("Qualification", personas.rep_alice.pk), ("Proposal", personas.rep_alice.pk)]
    assert "Moved “Acme renewal” to Proposal." in [m["message"] for m in triggers(moved)["messages"]]


def test_a_stage_of_another_pipeline_is_refused(client, personas, deal):
    other = pipeline_create(name="Partners")
    client = login(client, personas.rep_alice)
    refused = client.post(url("deal_stage", deal.pk), {"stage": other.stages.first().pk}, headers=HTMX)
    assert refused.status_code == 422 and "Choose a stage of this pipeline." in refused.content.decode()
    assert client.post(url("deal_stage", deal.pk), {"stage": other.stages.first().pk}).status_code == 400
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualification"


def test_won_makes_the_contact_a_customer_and_says_so(client, personas, deal, ada):
    client = login(client, personas.rep_alice)

    won = client.post(url("deal_won", deal.pk), headers=HTMX)

    assert won.status_code == 200
    assert Deal.objects.get(pk=deal.pk).status == "won"
    contact = Contact.objects.select_related("lifecycle_stage").get(pk=ada.pk)
    assert contact.lifecycle_stage.name == "Support & Grow"
    message = triggers(won)["messages"][0]
    assert message["level"] == "success"
    assert message["message"] == ("Won “Acme renewal”. Ada Lovelace is now a customer: lifecycle stage "
                                  "Support & Grow.")
    html = won.content.decode()
    assert 'data-testid="reopen"' in html and 'data-testid="mark-won"' not in html
    # Once won, it cannot be won again.
    again = client.post(url("deal_won", deal.pk), headers=HTMX)
    assert again.status_code == 422 and "This deal is already won." in again.content.decode()


def test_won_in_a_pipeline_without_the_rule_leaves_the_contact_and_says_why(client, personas, sales, deal, ada):
    pipeline_update(pipeline=sales[0], won_makes_customer=False)
    won = login(client, personas.rep_alice).post(url("deal_won", deal.pk), headers=HTMX)
    assert won.status_code == 200
    assert Contact.objects.get(pk=ada.pk).lifecycle_stage is None
    assert "does not change contacts' lifecycle stages" in triggers(won)["messages"][0]["message"]


def test_lost_asks_for_a_reason_from_the_active_list_and_refuses_without_one(client, personas, deal):
    LostReason.objects.filter(name="Timing").update(is_active=False)
    client = login(client, personas.rep_alice)
    form = client.get(url("deal_lost", deal.pk), headers=HTMX)
    html = form.content.decode()
    assert form.status_code == 200 and 'data-testid="lost-form"' in html
    assert "Chose a competitor" in html and "Timing" not in html

    refused = client.post(url("deal_lost", deal.pk), {"reason": ""}, headers=HTMX)
    assert refused.status_code == 422 and "Choose why the deal was lost." in refused.content.decode()
    retired = LostReason.objects.get(name="Timing")
    assert client.post(url("deal_lost", deal.pk), {"reason": retired.pk}, headers=HTMX).status_code == 422
    assert client.post(url("deal_lost", deal.pk), {}).status_code == 400
    assert Deal.objects.get(pk=deal.pk).status == "open"

    price = LostReason.objects.get(name="Price")
    lost = client.post(url("deal_lost", deal.pk), {"reason": price.pk}, headers=HTMX)
    assert lost.status_code == 200 and 'data-testid="lost-reason">Price<' in lost.content.decode()
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", price)


def test_reopening_a_closed_deal_puts_it_back_in_its_stage(client, personas, deal):
    deal_lost(deal=deal, reason=LostReason.objects.first())
    client = login(client, personas.rep_alice)
    reopened = client.post(url("deal_reopen", deal.pk), headers=HTMX)
    assert reopened.status_code == 200
    deal.refresh_from_db()
    assert deal.status == "open" and deal.lost_reason is None
    assert DealStageHistory.objects.filter(deal=deal, exited_at__isnull=True).count() == 1
    assert client.post(url("deal_reopen", deal.pk), headers=HTMX).status_code == 422


def test_delete_asks_first_and_is_for_roles_that_may_delete(client, personas, deal, ada):
    note_add(contact=ada, author=personas.rep_alice, body="Keep me", deal=deal)
    rep = login(client, personas.rep_alice)
    assert 'data-testid="delete-deal"' not in rep.get(url("deal_detail", deal.pk)).content.decode()
    assert rep.get(url("deal_delete", deal.pk)).status_code == 403

    manager = login(client, personas.manager)
    confirm = manager.get(url("deal_delete", deal.pk))
    assert confirm.status_code == 200 and "This cannot be undone." in confirm.content.decode()
    assert Deal.objects.filter(pk=deal.pk).exists()
    deleted = manager.post(url("deal_delete", deal.pk))
    assert deleted.status_code == 302
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert Note.objects.get(body="Keep me").deal is None  # the note stays on Ada's timeline


# --- Notes, tasks, the timeline ------------------------------------------------------------------------

def test_a_note_goes_on_the_deal_and_its_contacts_timeline_and_counts_as_activity(client, personas, deal, ada):
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - timedelta(days=30))
    client = login(client, personas.rep_alice)
    empty = client.post(url("deal_note_add", deal.pk), {"body": "  "}, headers=HTMX)
    assert empty.status_code == 422 and "Write the note first." in empty.content.decode()

    added = client.post(url("deal_note_add", deal.pk), {"body": "Budget approved"}, headers=HTMX)

    assert added.status_code == 200 and "Budget approved" in added.content.decode()
    note = Note.objects.get(deal=deal)
    assert note.contact == ada and note.author == personas.rep_alice
    assert Event.objects.filter(contact=ada, type="note_added", properties__deal_id=deal.pk).exists()
    assert Deal.objects.get(pk=deal.pk).last_activity_at > timezone.now() - timedelta(minutes=1)


def test_a_deal_without_a_contact_explains_why_it_takes_no_note(client, personas, sales):
    lone = deal_create(title="No one yet", pipeline=sales[0], owner=personas.rep_alice)
    client = login(client, personas.rep_alice)
    assert 'data-testid="notes-need-contact"' in client.get(url("deal_detail", lone.pk)).content.decode()
    refused = client.post(url("deal_note_add", lone.pk), {"body": "Hello"}, headers=HTMX)
    assert refused.status_code == 422 and "set the deal&#x27;s primary contact first" in refused.content.decode()
    assert not Note.objects.exists()


def test_a_task_is_added_to_the_deal_ticked_off_and_counts_as_activity(client, personas, deal, ada):
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - timedelta(days=30))
    client = login(client, personas.rep_alice)
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    bad = client.post(url("deal_task_add", deal.pk), {"title": "", "kind": "call", "due_at": due}, headers=HTMX)
    assert bad.status_code == 422 and "This field is required." in bad.content.decode()

    added = client.post(url("deal_task_add", deal.pk), {"title": "Send the quote", "kind": "email", "due_at": due,
                                                        "assignee": personas.rep_alice.pk}, headers=HTMX)
    assert added.status_code == 200 and "Send the quote" in added.content.decode()
    task = Task.objects.get(deal=deal)
    assert task.contact == ada and task.created_by == personas.rep_alice
    assert Deal.objects.get(pk=deal.pk).last_activity_at > timezone.now() - timedelta(minutes=1)
    # The next task shows in the header.
    assert "Next: Send the quote" in client.get(url("deal_detail", deal.pk)).content.decode()

    done = client.post(url("deal_task_done", deal.pk, task.pk), {"done": "on"}, headers=HTMX)
    assert done.status_code == 200 and "is-done" in done.content.decode()
    assert Task.objects.get(pk=task.pk).done
    other = task_create(title="Not this deal's", due_at=timezone.now(), contact=ada)
    assert client.post(url("deal_task_done", deal.pk, other.pk), {"done": "on"}).status_code == 404


def test_the_timeline_shows_the_stage_history_and_the_deals_events_once(client, personas, sales, deal, ada):
    _pipeline, stages = sales
    grace = contact_create(email="grace@acme.com", first_name="Grace")
    deal.other_contacts.add(grace)
    deal_move(deal=deal, stage=stages["Proposal"], position=0, by=personas.rep_alice)
    deal_won(deal=deal, by=personas.rep_alice)
    # Another deal of Ada's stays off this one's timeline.
    deal_create(title="Other deal", pipeline=sales[0], contact=ada)

    response = login(client, personas.rep_alice).get(url("deal_timeline", deal.pk), headers=HTMX)

    assert response.status_code == 200
    history = response.context["history"]
    assert [stay.history.stage.name for stay in history] == ["Proposal", "Qualification"]
    assert all(stay.history.exited_at for stay in history)  # won: the last stay closed too
    activity = response.context["activity"]
    assert [item.event.type for item in activity] == ["deal_won", "deal_moved", "deal_created"]
    assert activity[0].contacts == ["Ada Lovelace", "Grace"]  # recorded for both, shown once
    assert activity[1].summary == "Qualification → Proposal"
    assert activity[2].summary == "$12,500"
    assert "Other deal" not in response.content.decode()


def test_the_page_runs_a_bounded_number_of_queries_whatever_it_holds(client, personas, sales, deal, ada):
    client = login(client, personas.rep_alice)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url("deal_detail", deal.pk)).status_code == 200
    for i in range(8):
        note_add(contact=ada, author=personas.rep_alice, body=f"Note {i}", deal=deal)
        task_create(title=f"Task {i}", due_at=timezone.now() + timedelta(days=i), contact=ada, deal=deal,
                    assignee=personas.rep_alice)
        deal_move(deal=deal, stage=sales[1]["Meeting" if i % 2 else "Proposal"], position=0)
        deal.other_contacts.add(contact_create(email=f"c{i}@acme.com"))
    CustomField.objects.create(key="seats", label="Seats", type="number", object="deal")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url("deal_detail", deal.pk)).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


# --- Input that is not what a form sends -------------------------------------------------------------

@pytest.mark.parametrize("name, field, body", [
    # "²" passes str.isdigit() but int() refuses it: once a 500 from the id lookup.
    ("deal_field_edit", "owner", {"value": "\u00b2"}),
    ("deal_stage", None, {"stage": "\u00b2"}),
    ("deal_lost", None, {"reason": "\u00b2"}),
    # PostgreSQL refuses NUL in text: once a 500 on save or lookup.
    ("deal_field_edit", "title", {"value": "a\x00b"}),
    ("deal_field_edit", "need", {"value": "a\x00b"}),
    ("deal_field_edit", "contact", {"value": "\x00"}),
    ("deal_note_add", None, {"body": "a\x00b"}),
])
def test_odd_input_is_refused_with_a_message_not_a_500(client, personas, deal, name, field, body):
    login(client, personas.admin)
    response = client.post(url(name, deal.pk, *([field] if field else [])), body, headers=HTMX)
    assert response.status_code == 422
    deal.refresh_from_db()
    assert (deal.title, deal.need, deal.status, deal.owner) == ("Acme renewal", "", "open", personas.rep_alice)
    assert not Note.objects.filter(deal=deal).exists()
