"""A contact's tags, timeline and lifecycle stage through the API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Event
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults
from tests.api_base import assert_error, bearer_client
from tests.contacts.api_factories import ContactFactory, EventFactory, TagFactory
from users.models import ApiKey

pytestmark = pytest.mark.django_db


def url(view, contact, **kwargs) -> str:
    return reverse(f"contacts-api:contact-{view}", kwargs={"pk": contact.pk, **kwargs})


@pytest.fixture
def stages():
    return {stage.name: stage for stage in stage_sets_ensure_defaults().stages.all()}


# --- tags -----------------------------------------------------------------------------------------

def test_adding_tags_matches_names_in_any_case_and_records_each_new_one(personas):
    TagFactory(name="VIP")
    TagFactory(name="trial")
    contact = ContactFactory(tags=["VIP"])

    response = bearer_client(personas.rep_alice).post(url("tags", contact), {"tags": ["vip", "Trial"]}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["trial", "VIP"]
    assert list(Event.objects.filter(contact=contact, type="tag_added").values_list("properties__tag", flat=True)) \
        == ["trial"]


@pytest.mark.parametrize("body, field", [
    ({"tags": ["vip", "nope"]}, "tags"), ({"tags": []}, "tags"), ({}, "tags"), ({"tags": "vip"}, "tags"),
    ({"tags": [1]}, "tags"),
])
def test_adding_an_unknown_tag_or_no_list_is_a_400_and_adds_nothing(personas, body, field):
    TagFactory(name="vip")
    contact = ContactFactory()

    assert_error(bearer_client(personas.admin).post(url("tags", contact), body, format="json"), 400, "invalid",
                 fields=(field,))
    assert not contact.tags.exists()


def test_removing_a_tag_records_it_and_a_tag_the_contact_lacks_is_a_404(personas):
    contact = ContactFactory(tags=["VIP", "trial"])
    client = bearer_client(personas.rep_alice)

    assert client.delete(url("untag", contact, name="vip")).status_code == 204
    assert list(contact.tags.values_list("name", flat=True)) == ["trial"]
    assert Event.objects.filter(contact=contact, type="tag_removed").count() == 1
    assert_error(client.delete(url("untag", contact, name="vip")), 404, "not_found")
    assert_error(client.delete(url("untag", contact, name="never heard of it")), 404, "not_found")


def test_a_tag_name_with_spaces_and_slashes_can_be_removed(personas):
    contact = ContactFactory(tags=["Q3 / EMEA"])

    response = bearer_client(personas.admin).delete(url("untag", contact, name="Q3 / EMEA"))

    assert response.status_code == 204
    assert not contact.tags.exists()


@pytest.mark.parametrize("persona, status", [("rep_bob", 404), ("outsider", 403)])
def test_tags_of_a_contact_the_user_may_not_see_or_without_a_role_cannot_change(personas, persona, status):
    TagFactory(name="vip")
    contact = ContactFactory(owner=personas.rep_alice, tags=["old"])
    client = bearer_client(getattr(personas, persona))

    assert_error(client.post(url("tags", contact), {"tags": ["vip"]}, format="json"), status)
    assert_error(client.delete(url("untag", contact, name="old")), status)
    assert sorted(contact.tags.values_list("name", flat=True)) == ["old"]


def test_a_read_key_cannot_change_tags(personas):
    contact = ContactFactory(tags=["old"])
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)

    assert_error(client.delete(url("untag", contact, name="old")), 403, "permission_denied")


# --- timeline ----------------------------------------------------------------------------------------

def test_the_timeline_pages_newest_first_and_filters_by_types_and_channels(personas):
    contact = ContactFactory()
    now = timezone.now()
    visit = EventFactory(contact=contact, type="page_visited", channel="website", occurred_at=now - timedelta(days=3))
    opened = EventFactory(contact=contact, type="email_opened", channel="email", occurred_at=now - timedelta(days=2))
    custom = EventFactory(contact=contact, type="trial_started", channel="website", occurred_at=now - timedelta(days=1))
    tie = EventFactory(contact=contact, type="page_visited", channel="website", occurred_at=custom.occurred_at)
    EventFactory(type="page_visited")  # someone else's
    client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)

    first = client.get(url("timeline", contact), {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    assert [row["id"] for row in first["results"] + second["results"]] == [tie.pk, custom.pk, opened.pk, visit.pk]
    assert second["next"] is None
    assert first["results"][1]["type_label"] == "Trial started"
    assert first["results"][0]["channel_label"] == "Website"

    def ids(**params):
        return [row["id"] for row in client.get(url("timeline", contact), params).json()["results"]]

    assert ids(type=["email_opened", "trial_started"]) == [custom.pk, opened.pk]
    assert ids(channel="email") == [opened.pk]
    assert ids(channel=["email", "website"], type="page_visited") == [tie.pk, visit.pk]


def test_an_unknown_channel_is_a_400(personas):
    response = bearer_client(personas.admin).get(url("timeline", ContactFactory()), {"channel": "carrier-pigeon"})

    assert_error(response, 400, "invalid", fields=("channel",))


def test_the_timeline_of_someone_elses_contact_is_a_404(personas):
    contact = ContactFactory(owner=personas.rep_bob)
    EventFactory(contact=contact)

    assert_error(bearer_client(personas.rep_alice).get(url("timeline", contact)), 404, "not_found")


def test_the_timeline_costs_the_same_queries_for_3_or_30_events(personas):
    contact = ContactFactory()
    client = bearer_client(personas.admin, scope=ApiKey.Scope.READ)
    client.get(url("timeline", contact))
    EventFactory.create_batch(3, contact=contact)
    with CaptureQueriesContext(connection) as few:
        client.get(url("timeline", contact))
    EventFactory.create_batch(27, contact=contact)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(url("timeline", contact)).json()["results"]) == 30
    assert len(many) == len(few)


# --- stage -----------------------------------------------------------------------------------------------

def test_moving_a_contact_back_a_stage_answers_the_transition(personas, stages):
    contact = ContactFactory(lifecycle_stage=stages["Convert & Close"])
    client = bearer_client(personas.rep_alice)

    response = client.post(url("stage", contact), {"stage": "nurture & educate", "reason": "Went quiet"},
                           format="json")

    assert response.status_code == 200, response.content
    transition = response.json()["transition"]
    assert transition["from"] == {"id": stages["Convert & Close"].pk, "name": "Convert & Close"}
    assert transition["to"] == {"id": stages["Nurture & Educate"].pk, "name": "Nurture & Educate"}
    assert (transition["direction"], transition["actor"], transition["reason"]) == ("backward", "api", "Went quiet")
    assert response.json()["contact"]["stage"]["name"] == "Nurture & Educate"
    stored = StageTransition.objects.get(contact=contact)
    assert (stored.user, stored.actor) == (personas.rep_alice, "api")


def test_a_stage_can_be_given_by_id_and_the_same_stage_again_changes_nothing(personas, stages):
    contact = ContactFactory()
    client = bearer_client(personas.admin)
    stage = stages["Reach & Engage"]

    first = client.post(url("stage", contact), {"stage": stage.pk}, format="json").json()
    again = client.post(url("stage", contact), {"stage": str(stage.pk)}, format="json").json()

    assert first["transition"]["direction"] == "entry"
    assert again["transition"] is None
    assert StageTransition.objects.filter(contact=contact).count() == 1


@pytest.mark.parametrize("body, field", [({"stage": "Nirvana"}, "stage"), ({}, "stage"), ({"stage": 999999}, "stage"),
                                         ({"stage": "Reach & Engage", "reason": "x" * 301}, "reason")])
def test_an_unknown_stage_or_an_overlong_reason_is_a_400(personas, stages, body, field):
    contact = ContactFactory()

    assert_error(bearer_client(personas.admin).post(url("stage", contact), body, format="json"), 400, "invalid",
                 fields=(field,))
    assert not StageTransition.objects.filter(contact=contact).exists()


def test_a_stage_move_on_someone_elses_contact_is_a_404(personas, stages):
    contact = ContactFactory(owner=personas.rep_bob)

    response = bearer_client(personas.rep_alice).post(url("stage", contact), {"stage": "Reach & Engage"},
                                                      format="json")

    assert_error(response, 404)
    assert not StageTransition.objects.exists()
