"""/api/v1/tags/, /api/v1/fields/, /api/v1/lists/ and a list's subscriptions."""

import pytest
from django.urls import reverse

from contacts.models import ContactList, CustomField, Event, Subscription, Tag
from tests.api_base import (
    CreateTests,
    DeleteTests,
    ListTests,
    RestrictedReadTests,
    RetrieveTests,
    UpdateTests,
    assert_error,
    bearer_client,
)
from tests.contacts.api_factories import ContactFactory, ContactListFactory, CustomFieldFactory, TagFactory
from users.models import ApiKey

CATALOG_MANAGERS = ("admin", "manager", "marketer")
EVERYONE_WITH_A_ROLE = ("admin", "manager", "marketer", "rep_alice")


@pytest.mark.django_db
class TestTagsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests, RestrictedReadTests):
    list_url_name = "contacts-api:tag-list"
    detail_url_name = "contacts-api:tag-detail"
    factory = TagFactory
    create_payload = {"name": "Webinar 2026"}
    update_payload = {"name": "Renamed"}
    invalid_payloads = [({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "TAKEN"}, "name")]
    readers = EVERYONE_WITH_A_ROLE
    non_readers = ("outsider",)
    writers = CATALOG_MANAGERS
    non_writers = ("rep_alice", "outsider")

    @pytest.fixture(autouse=True)
    def taken(self, db):
        TagFactory(name="taken")

    def test_a_rep_is_told_who_manages_tags(self, personas):
        response = bearer_client(personas.rep_alice).post(self.list_url(), {"name": "x"}, format="json")

        assert assert_error(response, 403, "permission_denied")["message"] == (
            "Only admins, managers and marketers may change tags.")

    def test_the_q_filter_matches_part_of_the_name(self, personas):
        TagFactory(name="Newsletter")
        rows = bearer_client(personas.rep_alice).get(self.list_url(), {"q": "LETTER"}).json()["results"]

        assert [row["name"] for row in rows] == ["Newsletter"]

    def test_deleting_a_tag_removes_it_from_contacts(self, personas):
        contact = ContactFactory(tags=["gone", "kept"])
        tag = Tag.objects.get(name="gone")

        assert bearer_client(personas.marketer).delete(self.detail_url(tag)).status_code == 204
        assert list(contact.tags.values_list("name", flat=True)) == ["kept"]


@pytest.mark.django_db
class TestCustomFieldsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests, RestrictedReadTests):
    list_url_name = "contacts-api:field-list"
    detail_url_name = "contacts-api:field-detail"
    factory = CustomFieldFactory
    create_payload = {"key": "annual_revenue", "label": "Annual revenue", "type": "money"}
    update_payload = {"label": "Yearly revenue", "help_text": "In USD"}
    invalid_payloads = [({"label": ""}, "label"), ({"label": "X", "type": "colour"}, "type"),
                        ({"label": "X", "key": "Bad Key"}, "key"), ({"label": "Email", "key": "email"}, "key"),
                        ({"label": "Tier", "type": "choice", "choices": []}, "choices")]
    readers = EVERYONE_WITH_A_ROLE
    non_readers = ("outsider",)
    writers = ("admin",)
    non_writers = ("manager", "marketer", "rep_alice", "outsider")

    def assert_matches(self, obj, payload):
        obj.refresh_from_db()
        for name, value in payload.items():
            assert getattr(obj, name) == value

    def test_the_key_is_made_from_the_label_when_left_out(self, personas):
        response = bearer_client(personas.admin).post(
            self.list_url(), {"label": "Région", "type": "choice", "choices": ["EMEA", "APAC"]}, format="json")

        assert response.status_code == 201, response.content
        assert (response.json()["key"], response.json()["choices"]) == ("region", ["EMEA", "APAC"])

    def test_the_type_cannot_change_once_a_contact_has_a_value(self, personas):
        field = CustomFieldFactory(key="seats", type=CustomField.Type.NUMBER)
        ContactFactory(fields={"seats": 3})

        response = bearer_client(personas.admin).patch(self.detail_url(field), {"type": "text"}, format="json")

        assert_error(response, 400, "invalid", fields=("type",))
        field.refresh_from_db()
        assert field.type == "number"

    def test_a_field_moves_to_a_position(self, personas):
        first, second, third = (CustomFieldFactory(key=k, position=n) for n, k in enumerate(["a", "b", "c"]))

        response = bearer_client(personas.admin).patch(self.detail_url(third), {"position": 0}, format="json")

        assert response.status_code == 200, response.content
        rows = bearer_client(personas.admin).get(self.list_url()).json()["results"]
        assert [row["key"] for row in rows] == ["c", "a", "b"]

    def test_deleting_a_field_refuses_its_key_at_once_and_clears_the_values_after_commit(
            self, personas, django_capture_on_commit_callbacks):
        field = CustomFieldFactory(key="region")
        client = bearer_client(personas.admin)

        with django_capture_on_commit_callbacks() as callbacks:
            assert client.delete(self.detail_url(field)).status_code == 204
        assert callbacks  # the clean-up of the contacts' values is queued on commit
        response = client.post(reverse("contacts-api:contact-list"),
                               {"email": "a@example.com", "fields": {"region": "EMEA"}}, format="json")
        assert_error(response, 400, "invalid", fields=("fields",))


@pytest.mark.django_db
class TestListsApi(ListTests, RetrieveTests, CreateTests, UpdateTests, DeleteTests, RestrictedReadTests):
    list_url_name = "contacts-api:list-list"
    detail_url_name = "contacts-api:list-detail"
    factory = ContactListFactory
    create_payload = {"name": "Newsletter", "description": "Monthly", "double_opt_in": True}
    update_payload = {"name": "Digest"}
    invalid_payloads = [({"name": ""}, "name"), ({"name": "x" * 101}, "name"), ({"name": "existing"}, "name"),
                        ({"name": "Ok", "double_opt_in": "maybe"}, "double_opt_in")]
    readers = EVERYONE_WITH_A_ROLE
    non_readers = ("outsider",)
    writers = CATALOG_MANAGERS
    non_writers = ("rep_alice", "outsider")

    @pytest.fixture(autouse=True)
    def existing(self, db):
        ContactListFactory(name="Existing")


# --- subscriptions ----------------------------------------------------------------------------------

def subscriptions(contact_list) -> str:
    return reverse("contacts-api:list-subscriptions", kwargs={"pk": contact_list.pk})


@pytest.mark.django_db
def test_subscribing_and_unsubscribing_records_each_change_on_the_timeline(personas):
    newsletter = ContactListFactory(name="Newsletter")
    contact = ContactFactory()
    client = bearer_client(personas.rep_alice)

    subscribed = client.post(subscriptions(newsletter), {"contact": contact.pk, "status": "subscribed"}, format="json")
    again = client.post(subscriptions(newsletter), {"contact": contact.pk, "status": "subscribed"}, format="json")
    unsubscribed = client.post(subscriptions(newsletter), {"contact": contact.pk, "status": "unsubscribed"},
                               format="json")

    assert subscribed.status_code == again.status_code == unsubscribed.status_code == 200
    assert subscribed.json()["contact"]["id"] == contact.pk
    assert (unsubscribed.json()["status"], unsubscribed.json()["source"]) == ("unsubscribed", "api")
    assert Subscription.objects.get(contact=contact, list=newsletter).status == "unsubscribed"
    assert list(Event.objects.filter(contact=contact).order_by("id").values_list("type", flat=True)) == [
        "list_subscribed", "list_unsubscribed"]


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [({"contact": 999999, "status": "subscribed"}, "contact"),
                                         ({"status": "subscribed"}, "contact"), ({"contact": "x"}, "contact"),
                                         ({"contact": None, "status": "maybe"}, "status")])
def test_a_bad_subscription_is_a_400(personas, body, field):
    newsletter = ContactListFactory()

    assert_error(bearer_client(personas.admin).post(subscriptions(newsletter), body, format="json"), 400, "invalid",
                 fields=(field,))
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_a_rep_cannot_subscribe_someone_elses_contact(personas):
    newsletter = ContactListFactory()
    contact = ContactFactory(owner=personas.rep_bob)

    response = bearer_client(personas.rep_alice).post(subscriptions(newsletter),
                                                      {"contact": contact.pk, "status": "subscribed"}, format="json")

    assert_error(response, 400, "invalid", fields=("contact",))
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_an_outsider_can_neither_read_nor_set_subscriptions(personas):
    newsletter = ContactListFactory()
    client = bearer_client(personas.outsider)

    assert_error(client.get(subscriptions(newsletter)), 403, "permission_denied")
    assert_error(client.post(subscriptions(newsletter), {"contact": ContactFactory().pk, "status": "subscribed"},
                             format="json"), 403, "permission_denied")


@pytest.mark.django_db
def test_a_lists_subscriptions_page_by_status_and_show_only_visible_contacts(personas):
    from django.utils import timezone

    newsletter, other = ContactListFactory(), ContactListFactory()
    now = timezone.now()

    def subscribe(contact, status, contact_list=newsletter):
        return Subscription.objects.create(contact=contact, list=contact_list, status=status, changed_at=now)

    mine = subscribe(ContactFactory(owner=personas.rep_alice), "subscribed")
    gone = subscribe(ContactFactory(), "unsubscribed")
    subscribe(ContactFactory(owner=personas.rep_bob), "subscribed")
    subscribe(ContactFactory(), "subscribed", other)
    client = bearer_client(personas.rep_alice, scope=ApiKey.Scope.READ)

    def ids(**params):
        response = client.get(subscriptions(newsletter), params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [gone.pk, mine.pk]
    assert ids(status="subscribed") == [mine.pk]
    assert ids(status=["subscribed", "unsubscribed"], page_size=1) == [gone.pk]
    assert_error(client.get(subscriptions(newsletter), {"status": "maybe"}), 400, "invalid", fields=("status",))


@pytest.mark.django_db
def test_deleting_a_list_keeps_its_contacts(personas):
    newsletter = ContactListFactory()
    contact = ContactFactory()
    Subscription.objects.create(contact=contact, list=newsletter, status="subscribed", changed_at=contact.created_at)

    assert bearer_client(personas.manager).delete(
        reverse("contacts-api:list-detail", kwargs={"pk": newsletter.pk})).status_code == 204
    assert not ContactList.objects.exists() and not Subscription.objects.exists()
    contact.refresh_from_db()
