"""Bulk actions from the contact list: each action, set-based, with its timeline events and stage history;
the delete confirmation; permissions and row scoping; bad input; and "all matching" through a real worker."""

import json

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import actions
from contacts.models import Contact, ContactList, Event, Note, Subscription, Tag
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults
from pipelines.models import Deal, Pipeline, Stage
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db

BULK = reverse("contacts:bulk")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "contact-results"}


@pytest.fixture
def stages():
    return {s.name: s for s in stage_sets_ensure_defaults().stages.all()}


@pytest.fixture
def people(personas):
    """Alice's three contacts, Bob's two, one unassigned."""
    rows = [("a1", personas.rep_alice), ("a2", personas.rep_alice), ("a3", personas.rep_alice),
            ("b1", personas.rep_bob), ("b2", personas.rep_bob), ("n1", None)]
    made = Contact.objects.bulk_create([Contact(email=f"{name}@example.com", first_name=name.upper(), owner=owner)
                                        for name, owner in rows])
    return {contact.first_name.lower(): contact for contact in made}


def post(client, data, *, htmx=True):
    return client.post(BULK, data, **(HTMX if htmx else {}))


def tags_of(contact) -> set[str]:
    return set(contact.tags.values_list("name", flat=True))


def toast(response) -> str:
    return " ".join(m["message"] for m in json.loads(response["HX-Trigger"])["messages"])


def test_adding_a_tag_to_the_selected_rows_records_an_event_each_published_on_commit(
        client, personas, people, django_capture_on_commit_callbacks):
    Tag.objects.create(name="VIP")
    people["a2"].tags.add(Tag.objects.get(name="VIP"))
    client.force_login(personas.rep_alice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, {"action": "add_tag", "scope": "selected", "bulk_tag": "vip",
                                 "ids": [people["a1"].pk, people["a2"].pk]})
    assert response.status_code == 200
    assert "Tagged 1 contact with “VIP”." in toast(response)  # a2 had it: nothing to add, no event
    assert tags_of(people["a1"]) == {"VIP"} and tags_of(people["a3"]) == set()
    events = Event.objects.filter(type="tag_added")
    assert [(e.contact_id, e.properties, e.source) for e in events] == [(people["a1"].pk, {"tag": "VIP"}, "user")]
    assert len(callbacks) == 1  # published once the transaction committed
    people["a1"].refresh_from_db()
    assert people["a1"].last_activity_at == events[0].occurred_at


def test_a_new_tag_name_creates_the_tag(client, personas, people):
    client.force_login(personas.marketer)
    post(client, {"action": "add_tag", "scope": "selected", "bulk_tag": "  Spring webinar ", "ids": [people["b1"].pk]})
    assert tags_of(people["b1"]) == {"Spring webinar"}


def test_removing_a_tag_removes_it_only_where_it_is(client, personas, people):
    vip = Tag.objects.create(name="vip")
    people["a1"].tags.add(vip)
    people["b1"].tags.add(vip)
    client.force_login(personas.admin)
    response = post(client, {"action": "remove_tag", "scope": "selected", "bulk_tag": "VIP",
                             "ids": [people["a1"].pk, people["a2"].pk]})
    assert "Removed “vip” from 1 contact." in toast(response)
    assert tags_of(people["a1"]) == set() and tags_of(people["b1"]) == {"vip"}
    assert Event.objects.get(type="tag_removed").contact_id == people["a1"].pk

    unknown = post(client, {"action": "remove_tag", "scope": "selected", "bulk_tag": "nope", "ids": [people["a1"].pk]})
    assert unknown.status_code == 422 and "There is no tag “nope”." in unknown.content.decode()


def test_adding_to_a_list_never_resubscribes_and_respects_double_opt_in(client, personas, people):
    newsletter = ContactList.objects.create(name="Newsletter")
    gone = Subscription.objects.create(contact=people["a2"], list=newsletter, status="unsubscribed",
                                       changed_at="2026-01-01T00:00Z")
    client.force_login(personas.admin)
    response = post(client, {"action": "add_to_list", "scope": "selected", "bulk_list": newsletter.pk,
                             "ids": [people["a1"].pk, people["a2"].pk]})
    assert "Added 1 contact to the list “Newsletter”." in toast(response)
    assert Subscription.objects.get(contact=people["a1"], list=newsletter).status == "subscribed"
    gone.refresh_from_db()
    assert gone.status == "unsubscribed"
    event = Event.objects.get(type="list_subscribed")
    assert (event.contact_id, event.channel, event.properties["list_id"]) == (people["a1"].pk, "email", newsletter.pk)

    confirmed = ContactList.objects.create(name="Beta", double_opt_in=True)
    post(client, {"action": "add_to_list", "scope": "selected", "bulk_list": confirmed.pk, "ids": [people["a3"].pk]})
    assert Subscription.objects.get(contact=people["a3"], list=confirmed).status == "unconfirmed"


def test_setting_the_owner_records_who_owned_them_before(client, personas, people):
    client.force_login(personas.manager)
    response = post(client, {"action": "set_owner", "scope": "selected", "bulk_owner": personas.rep_bob.pk,
                             "ids": [people["a1"].pk, people["n1"].pk]})
    assert "Gave 2 contacts to Bob" in toast(response)
    assert {c.owner_id for c in Contact.objects.filter(pk__in=[people["a1"].pk, people["n1"].pk])} == {
        personas.rep_bob.pk}
    changes = {e.contact_id: e.properties["changes"]["owner_id"] for e in Event.objects.filter(type="field_changed")}
    assert changes == {people["a1"].pk: [personas.rep_alice.pk, personas.rep_bob.pk],
                       people["n1"].pk: [None, personas.rep_bob.pk]}

    client.force_login(personas.admin)  # the manager no longer sees it: Bob is not on their team
    post(client, {"action": "set_owner", "scope": "selected", "bulk_owner": "none", "ids": [people["n1"].pk]})
    people["n1"].refresh_from_db()
    assert people["n1"].owner is None


def test_setting_the_stage_writes_transitions_with_their_direction_worked_out_in_sql(client, personas, people, stages):
    reach, nurture, convert = stages["Reach & Engage"], stages["Nurture & Educate"], stages["Convert & Close"]
    Contact.objects.filter(pk=people["a1"].pk).update(lifecycle_stage=reach)      # → forward
    Contact.objects.filter(pk=people["a2"].pk).update(lifecycle_stage=convert)    # → backward
    Contact.objects.filter(pk=people["n1"].pk).update(lifecycle_stage=nurture)    # already there
    client.force_login(personas.admin)                                            # a3: no stage → entry
    ids = [people[name].pk for name in ("a1", "a2", "a3", "n1")]
    with CaptureQueriesContext(connection) as queries:
        response = post(client, {"action": "set_stage", "scope": "selected", "bulk_stage": nurture.pk, "ids": ids})
    assert "Moved 3 contacts to “Nurture &amp; Educate”." in toast(response).replace("&", "&amp;")
    moves = {t.contact_id: (t.from_stage, t.to_stage, t.direction, t.actor, t.user)
             for t in StageTransition.objects.all()}
    assert moves == {
        people["a1"].pk: (reach, nurture, "forward", "user", personas.admin),
        people["a2"].pk: (convert, nurture, "backward", "user", personas.admin),
        people["a3"].pk: (None, nurture, "entry", "user", personas.admin),
    }
    assert set(Contact.objects.filter(pk__in=ids).values_list("lifecycle_stage", flat=True)) == {nurture.pk}
    events = {e.contact_id: e.properties for e in Event.objects.filter(type="stage_changed")}
    assert events[people["a2"].pk] == {"from": "Convert & Close", "to": "Nurture & Educate", "direction": "backward",
                                       "reason": ""}
    assert len(events) == 3
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT INTO lifecycle_stagetransition" in q["sql"]]
    assert len(inserts) == 1  # one statement for every move


def test_an_action_is_a_fixed_number_of_statements_however_many_contacts(personas):
    made = Contact.objects.bulk_create([Contact(email=f"s{i}@example.com") for i in range(200)])
    Tag.objects.create(name="x")
    few, many = Contact.objects.filter(pk__in=[c.pk for c in made[:3]]), Contact.objects.filter(pk__gte=made[3].pk)
    with CaptureQueriesContext(connection) as small:
        assert actions.contacts_tag(contacts=few, tag_name="x", user=personas.admin) == 3
    with CaptureQueriesContext(connection) as large:
        assert actions.contacts_tag(contacts=many, tag_name="x", user=personas.admin) == 197
    assert len(large.captured_queries) == len(small.captured_queries) <= 6
    assert Event.objects.filter(type="tag_added").count() == 200


def test_deleting_asks_first_then_deletes_with_everything_that_hangs_off_the_contacts(client, personas, people):
    stage = Stage.objects.create(pipeline=Pipeline.objects.create(name="Sales"), name="Open", position=0)
    deal = Deal.objects.create(title="Big one", pipeline=stage.pipeline, stage=stage, contact=people["a1"])
    Note.objects.create(contact=people["a1"], body="Called")
    Event.objects.create(contact=people["a1"], type="page_visited", occurred_at="2026-01-01T00:00Z")
    client.force_login(personas.manager)
    data = {"action": "delete", "scope": "selected", "ids": [people["a1"].pk, people["a2"].pk]}

    ask = post(client, data)
    assert ask.status_code == 200
    assert "Delete 2 contacts?" in ask.content.decode() and 'data-testid="bulk-confirm"' in ask.content.decode()
    assert Contact.objects.filter(pk=people["a1"].pk).exists()

    done = post(client, {**data, "confirmed": "1"})
    assert "Deleted 2 contacts." in toast(done)
    assert not Contact.objects.filter(pk__in=data["ids"]).exists()
    assert not Note.objects.exists() and not Event.objects.filter(contact_id=people["a1"].pk).exists()
    deal.refresh_from_db()
    assert deal.contact is None
    assert Contact.objects.count() == 4


def test_deleting_more_than_a_hundred_needs_their_number_typed(client, personas):
    Contact.objects.bulk_create([Contact(email=f"d{i}@example.com") for i in range(101)])
    client.force_login(personas.admin)
    data = {"action": "delete", "scope": "all", "q": "d", "confirmed": "1"}

    ask = post(client, {"action": "delete", "scope": "all", "q": "d"})
    assert "Type <strong>101</strong> to confirm" in ask.content.decode()
    wrong = post(client, {**data, "confirm_count": "100"})
    assert wrong.status_code == 422 and "Type 101 to delete these 101 contacts." in wrong.content.decode()
    assert Contact.objects.count() == 101
    post(client, {**data, "confirm_count": "101"})
    assert Contact.objects.count() == 0


def test_reps_may_not_delete_and_outsiders_may_do_nothing(client, personas, people):
    client.force_login(personas.rep_alice)
    response = post(client, {"action": "delete", "scope": "selected", "ids": [people["a1"].pk], "confirmed": "1"})
    assert response.status_code == 403 and "Your role may not delete contacts." in response.content.decode()
    assert Contact.objects.filter(pk=people["a1"].pk).exists()
    assert 'value="delete"' not in client.get(reverse("contacts:list")).content.decode()

    client.force_login(personas.outsider)
    response = post(client, {"action": "add_tag", "scope": "all", "bulk_tag": "x"})
    assert response.status_code == 403 and not Tag.objects.exists()


def test_all_matching_means_the_filter_and_only_the_rows_the_user_may_see(client, personas, people):
    Contact.objects.filter(first_name__in=["A1", "B1", "N1"]).update(lead_status="mql")
    client.force_login(personas.rep_alice)
    response = post(client, {"action": "add_tag", "scope": "all", "bulk_tag": "spring", "status": "mql"})
    assert "Tagged 2 contacts" in toast(response)
    assert set(Tag.objects.get(name="spring").contacts.values_list("email", flat=True)) == {
        "a1@example.com", "n1@example.com"}  # not Bob's b1


def test_selected_rows_the_user_may_not_see_are_left_alone(client, personas, people):
    client.force_login(personas.rep_alice)
    response = post(client, {"action": "add_tag", "scope": "selected", "bulk_tag": "x", "ids": [people["b1"].pk]})
    assert response.status_code == 422 and "No contacts to change" in response.content.decode()
    assert tags_of(people["b1"]) == set()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"action": "add_tag", "scope": "selected", "ids": ["1"]}, "tag", "Enter a tag name."),
    ({"action": "add_to_list", "scope": "selected", "ids": ["1"]}, "list", "Choose a list."),
    ({"action": "set_owner", "scope": "selected", "ids": ["1"]}, "owner", "Choose an owner."),
    ({"action": "set_stage", "scope": "selected", "ids": ["1"]}, "stage", "Choose a stage."),
    ({"action": "add_tag", "scope": "selected", "bulk_tag": "x"}, "scope", "Select some contacts first"),
    ({"action": "explode", "scope": "all"}, "action", "Select a valid choice."),
    ({"action": "add_tag", "scope": "all", "bulk_tag": "x", "owner": "somebody"}, None, "Give a user id, me or none."),
])
def test_bad_bulk_input_comes_back_by_its_field(client, personas, people, data, field, message):
    client.force_login(personas.admin)
    response = post(client, data)
    assert response.status_code == 422
    assert message in response.content.decode()
    if field in ("tag", "list", "owner", "stage", "action"):
        assert f'id="bulk-{field}-error"' in response.content.decode()
    assert not Event.objects.exists()
    assert post(client, data, htmx=False).status_code == 400


def test_without_htmx_a_bulk_action_returns_to_the_list_it_came_from(client, personas, people):
    client.force_login(personas.admin)
    response = post(client, {"action": "add_tag", "scope": "all", "bulk_tag": "x", "q": "a", "sort": "email"},
                    htmx=False)
    assert response.status_code == 302 and response["Location"] == f"{reverse('contacts:list')}?q=a&sort=email"


def test_export_from_the_bulk_bar_downloads_the_selection_or_the_filter(client, personas, people):
    client.force_login(personas.admin)
    response = post(client, {"action": "export", "scope": "selected", "q": "a", "ids": [people["a1"].pk]})
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('contacts:export')}?q=a&ids={people['a1'].pk}"
    response = post(client, {"action": "export", "scope": "all", "q": "a"}, htmx=False)
    assert response["Location"] == f"{reverse('contacts:export')}?q=a"


def test_a_job_is_only_visible_to_whoever_started_it(client, personas):
    job = actions.bulk_job_start(action="add_tag", filter_data=QueryDict(""),
                                 params={"tag": "x"}, target="x", total=10, user=personas.admin)
    client.force_login(personas.marketer)
    assert client.get(reverse("contacts:bulk_job", args=[job["id"]])).status_code == 404
    client.force_login(personas.admin)
    response = client.get(reverse("contacts:bulk_job", args=[job["id"]]))
    assert response.status_code == 200 and "0 of 10 contacts done" in response.content.decode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_all_matching_beyond_the_inline_limit_runs_on_the_bulk_queue_with_progress(client, personas, celery_worker):
    count = actions.INLINE_LIMIT + 1
    Contact.objects.bulk_create([Contact(email=f"w{i}@example.com", owner=personas.rep_alice) for i in range(count)])
    Contact.objects.create(email="other@example.com")
    client.force_login(personas.admin)

    response = post(client, {"action": "add_tag", "scope": "all", "bulk_tag": "wave", "q": "w"})
    assert response.status_code == 200
    assert f"Working on {count:,} contacts…" in toast(response)
    job_url = reverse("contacts:bulk_job", args=[response.content.decode().split('id="bulk-job-')[1].split('"')[0]])
    assert f'hx-get="{job_url}"' in response.content.decode()  # the page polls the job

    wait_until(lambda: Tag.objects.filter(name="wave", contacts__isnull=False).count() == count, timeout=60)
    final = wait_until(lambda: (r := client.get(job_url, **HTMX)) and "Tagged" in r.content.decode() and r)
    assert f"Tagged {count:,} contacts with “wave”." in final.content.decode()
    assert json.loads(final["HX-Trigger"])["contacts-changed"] is True
    assert Event.objects.filter(type="tag_added").count() == count
    assert not Contact.objects.get(email="other@example.com").tags.exists()
