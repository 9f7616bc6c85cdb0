"""Custom fields on deals: the contacts' mechanism with `object="deal"`.

Definitions through contacts.catalog, values in Deal.fields, range indexes on the deals table, the
Contacts | Deals switch of Settings → Custom fields, and `object` in /api/v1/fields/.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse

from contacts import catalog
from contacts.models import Contact, CustomField
from pipelines.models import Deal
from pipelines.services import deal_create, deal_update, pipeline_create
from tests.api_base import assert_error, bearer_client
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db

DEAL = CustomField.Object.DEAL


def deal_field(key="tier", label="Tier", type="choice", choices=("Gold", "Silver"), **kw) -> CustomField:
    return catalog.custom_field_create(key=key, label=label, type=type, choices=list(choices), object=DEAL, **kw)


@pytest.fixture
def pipeline():
    return pipeline_create(name="Sales")


def index_definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


# --- definitions

def test_a_deal_field_may_share_a_contact_fields_key_but_not_another_deal_fields():
    contact_field = catalog.custom_field_create(key="tier", label="Tier", type="text")

    field = deal_field()

    assert (field.object, field.key) == ("deal", "tier")
    assert contact_field.object == "contact"
    with pytest.raises(ValidationError) as excinfo:
        deal_field(label="Tier again")
    assert excinfo.value.message_dict["key"] == ["There is already a deal custom field with the key “tier”."]
    assert CustomField.objects.for_deals().count() == 1


@pytest.mark.parametrize("key", ["value", "stage", "need", "expected_close_date", "stale", "weighted_value"])
def test_a_deal_fields_key_cannot_be_a_built_in_deal_name(key):
    with pytest.raises(ValidationError) as excinfo:
        deal_field(key=key, type="text", choices=())

    assert excinfo.value.message_dict["key"] == [f"“{key}” is a built-in deal field; choose another key."]


def test_a_built_in_deal_name_is_fine_for_a_contact_field_and_the_other_way_round():
    assert catalog.custom_field_create(key="need", label="Need", type="text").object == "contact"
    assert deal_field(key="email", label="Email", type="text", choices=()).object == "deal"


def test_each_object_keeps_its_own_order():
    contact_a = catalog.custom_field_create(key="a", label="A", type="text")
    contact_b = catalog.custom_field_create(key="b", label="B", type="text")
    x = deal_field(key="x", label="X", type="text", choices=())
    y = deal_field(key="y", label="Y", type="text", choices=())
    z = deal_field(key="z", label="Z", type="text", choices=())

    catalog.custom_field_move(field=z, position=0)

    assert list(CustomField.objects.for_deals().values_list("key", flat=True)) == ["z", "x", "y"]
    assert list(CustomField.objects.for_contacts().values_list("key", flat=True)) == ["a", "b"]
    catalog.custom_field_reorder(field_ids=[y.pk, x.pk], object=DEAL)
    assert list(CustomField.objects.for_deals().values_list("key", flat=True)) == ["y", "x", "z"]
    contact_a.refresh_from_db()
    contact_b.refresh_from_db()
    assert (contact_a.position, contact_b.position) == (1, 2)  # untouched


# --- values

def test_deal_values_are_checked_by_type_on_create_and_update(pipeline):
    deal_field(key="seats", label="Seats", type="number", choices=())
    deal_field(key="renewal", label="Renewal", type="date", choices=())
    catalog.custom_field_create(key="industry", label="Industry", type="text")  # a contact field only

    deal = deal_create(title="Acme", pipeline=pipeline, fields={"seats": "40", "renewal": "2027-03-01"})
    assert deal.fields == {"seats": 40, "renewal": "2027-03-01"}

    with pytest.raises(ValidationError) as excinfo:
        deal_update(deal=deal, fields={"seats": "lots"})
    assert excinfo.value.message_dict["fields"][0].startswith("seats: ")
    with pytest.raises(ValidationError) as excinfo:
        deal_update(deal=deal, fields={"industry": "SaaS"})
    assert "industry" in excinfo.value.message_dict["fields"][0]
    deal.refresh_from_db()
    assert deal.fields == {"seats": 40, "renewal": "2027-03-01"}

    deal_update(deal=deal, fields={"seats": 45, "renewal": None})
    deal.refresh_from_db()
    assert deal.fields == {"seats": 45}


def test_removing_an_option_deals_use_is_refused_with_how_many(pipeline):
    field = deal_field()
    deal_create(title="One", pipeline=pipeline, fields={"tier": "Gold"})
    Contact.objects.create(email="a@example.com", fields={"tier": "Silver"})  # a contact's value is not the deal's

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_update(field=field, choices=["Silver"])
    assert excinfo.value.message_dict["choices"] == [
        "These options are still in use: “Gold” by 1 deal. Change those deals' values first, or keep the options."]

    catalog.custom_field_update(field=field, choices=["Gold", "Bronze"])
    field.refresh_from_db()
    assert field.choices == ["Gold", "Bronze"]


def test_key_and_type_lock_once_a_deal_has_a_value_not_a_contact(pipeline):
    field = deal_field(key="seats", label="Seats", type="number", choices=())
    Contact.objects.create(email="a@example.com", fields={"seats": 3})

    catalog.custom_field_update(field=field, key="licences")  # no deal has a value yet
    deal_create(title="One", pipeline=pipeline, fields={"licences": 5})

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_update(field=field, key="seats", type="text")
    errors = excinfo.value.message_dict
    assert errors["key"][0].startswith("The key cannot change: 1 deal has a value for it.")
    assert errors["type"][0].startswith("The type cannot change: 1 deal has a value for it.")
    field.refresh_from_db()
    assert (field.key, field.type, catalog.custom_field_usage(field)) == ("licences", "number", 1)


def test_deleting_a_deal_field_removes_its_values_from_deals_only(pipeline, django_capture_on_commit_callbacks,
                                                                  django_assert_max_num_queries):
    field = deal_field()
    keep = deal_field(key="region", label="Region", choices=["EMEA"])
    deals = [deal_create(title=f"D{i}", pipeline=pipeline, fields={"tier": "Gold", "region": "EMEA"})
             for i in range(3)]
    catalog.custom_field_create(key="tier", label="Tier", type="text")
    contact = Contact.objects.create(email="a@example.com", fields={"tier": "Platinum"})

    with django_capture_on_commit_callbacks() as callbacks:
        catalog.custom_field_delete(field=field)
    assert not CustomField.objects.filter(pk=field.pk).exists()
    assert len(callbacks) == 2  # remove the values, drop the range index (if any)
    # The key is free for deals again only once the values are gone.
    with pytest.raises(ValidationError) as excinfo:
        deal_field()
    assert "Deals still hold values of a deleted field “tier”" in excinfo.value.message_dict["key"][0]

    with django_assert_max_num_queries(4) as captured:
        assert catalog.custom_field_values_remove(key="tier", object=DEAL) == 3
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and '"pipelines_deal"' in updates[0] and '"fields" - ' in updates[0]
    assert [Deal.objects.get(pk=d.pk).fields for d in deals] == [{"region": "EMEA"}] * 3
    contact.refresh_from_db()
    assert contact.fields == {"tier": "Platinum"}  # the contact field of the same key keeps its values
    assert CustomField.objects.filter(pk=keep.pk).exists()
    assert deal_field().object == "deal"


def test_values_stay_while_a_deal_field_with_the_key_exists_again(pipeline):
    deal_field()
    deal_create(title="One", pipeline=pipeline, fields={"tier": "Gold"})

    assert catalog.custom_field_values_remove(key="tier", object=DEAL) == 0
    assert Deal.objects.filter(fields__has_key="tier").count() == 1


# --- range indexes on the deals table

def test_range_index_tasks_are_queued_for_deal_number_money_and_date_fields(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        deal_field()
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        deal_field(key="arr", label="ARR", type="money", choices=())
    assert len(callbacks) == 1


@pytest.mark.django_db(transaction=True)
def test_index_sync_builds_a_deal_fields_range_index_on_the_deals_table():
    CustomField.objects.create(object=DEAL, key="renewal", label="Renewal date", type="date")
    CustomField.objects.create(key="renewal", label="Renewal date", type="text")  # a contact field: no index

    assert catalog.custom_field_index_sync(key="renewal", object=DEAL) == "created"
    assert catalog.custom_field_index_sync(key="renewal") == "unchanged"

    definition = index_definition("deal_cf_renewal")
    assert "ON public.pipelines_deal" in definition and "((fields -> 'renewal'::text))" in definition
    assert catalog.custom_field_index_states(DEAL) == {"renewal": True}
    assert catalog.custom_field_index_states() == {}
    assert index_definition("contact_cf_renewal") is None

    CustomField.objects.filter(object=DEAL).delete()
    assert catalog.custom_field_index_sync(key="renewal", object=DEAL) == "dropped"
    assert index_definition("deal_cf_renewal") is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_builds_a_deal_range_index_that_filters_use_and_drops_it_with_the_field(celery_worker):
    pipeline = pipeline_create(name="Sales")
    with transaction.atomic():  # the task is published when this commits, deals and all
        field = deal_field(key="arr", label="ARR", type="money", choices=())
        stage = pipeline.stages.first()
        Deal.objects.bulk_create([Deal(title=f"D{i}", pipeline=pipeline, stage=stage, position=i,
                                       fields={"arr": i * 1000}) for i in range(200)])

    wait_until(lambda: catalog.custom_field_index_states(DEAL).get("arr"))  # built, and valid
    definition = index_definition("deal_cf_arr")
    assert "ON public.pipelines_deal" in definition and "((fields -> 'arr'::text))" in definition
    assert catalog.custom_field_index_states() == {}
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            plan = Deal.objects.filter(fields__arr__gt=150_000).explain()
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "deal_cf_arr" in plan, plan
    assert Deal.objects.filter(fields__arr__gt=150_000).count() == 49

    catalog.custom_field_delete(field=field)

    wait_until(lambda: index_definition("deal_cf_arr") is None)
    wait_until(lambda: not Deal.objects.filter(fields__has_key="arr").exists())
    assert Deal.objects.count() == 200


# --- Settings → Custom fields, the Deals tab

@pytest.fixture
def as_admin(client, personas):
    client.force_login(personas.admin)
    return client


def test_the_fields_page_switches_between_contact_and_deal_fields(as_admin, django_assert_max_num_queries):
    catalog.custom_field_create(key="industry", label="Industry", type="text")
    deal_field(key="arr", label="Annual recurring revenue", type="money", choices=())
    deal_field(key="tier", label="Tier")

    contacts_page = as_admin.get(reverse("contacts-settings:fields")).content.decode()
    with django_assert_max_num_queries(8):
        response = as_admin.get(reverse("contacts-settings:fields") + "?object=deal")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Industry" in contacts_page and "Tier" not in contacts_page
    assert "Industry" not in html and "Annual recurring revenue" in html and "Tier" in html
    assert '<a class="nav-link active" href="/settings/fields/?object=deal" aria-current="page">Deals</a>' in html
    assert '<a class="nav-link" href="/settings/fields/">Contacts</a>' in html
    assert reverse("contacts-settings:field_create") + "?object=deal" in html
    assert "Range index building…" in html  # no worker ran here


def test_the_deals_tab_says_what_to_do_when_there_are_none(as_admin):
    catalog.custom_field_create(key="industry", label="Industry", type="text")

    html = as_admin.get(reverse("contacts-settings:fields") + "?object=deal").content.decode()

    assert "No deal fields yet" in html and "Add your first deal field" in html


def test_an_admin_adds_edits_and_deletes_a_deal_field_through_the_pages(as_admin, pipeline):
    catalog.custom_field_create(key="tier", label="Tier", type="text")  # a contact field with the same key
    url = reverse("contacts-settings:field_create") + "?object=deal"

    form = as_admin.get(url)
    assert form.status_code == 200 and "New deal field" in form.content.decode()
    response = as_admin.post(url, {"label": "Tier", "key": "", "type": "choice", "choices": "Gold\nSilver"})

    field = CustomField.objects.for_deals().get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts-settings:fields") + f"?object=deal#field-{field.pk}"
    assert (field.key, field.choices) == ("tier", ["Gold", "Silver"])

    duplicate = as_admin.post(url, {"label": "Tier", "key": "tier", "type": "text"})
    assert duplicate.status_code == 400
    assert "There is already a deal custom field with the key “tier”." in duplicate.content.decode()

    deal_create(title="One", pipeline=pipeline, fields={"tier": "Gold"})
    edit = as_admin.get(reverse("contacts-settings:field_edit", args=[field.pk])).content.decode()
    assert "Locked: 1 deal has a value for this field" in edit

    confirm = as_admin.get(reverse("contacts-settings:field_delete", args=[field.pk])).content.decode()
    assert "1 deal has a value for it; that value is removed." in confirm
    deleted = as_admin.post(reverse("contacts-settings:field_delete", args=[field.pk]), follow=True)
    assert deleted.redirect_chain[-1][0] == reverse("contacts-settings:fields") + "?object=deal"
    assert "Its values are being removed from the deals in the background." in deleted.content.decode()
    assert CustomField.objects.for_contacts().filter(key="tier").exists()


def test_the_arrows_move_a_deal_field_and_come_back_to_the_deals_tab(as_admin):
    deal_field(key="a", label="A", type="text", choices=())
    b = deal_field(key="b", label="B", type="text", choices=())

    response = as_admin.post(reverse("contacts-settings:field_move", args=[b.pk]), {"position": "0"})

    assert response["Location"] == reverse("contacts-settings:fields") + f"?object=deal#field-{b.pk}"
    assert list(CustomField.objects.for_deals().values_list("key", flat=True)) == ["b", "a"]


@pytest.mark.parametrize("persona", ["manager", "marketer", "rep_alice"])
def test_only_admins_manage_deal_fields(client, personas, persona):
    client.force_login(getattr(personas, persona))

    assert client.get(reverse("contacts-settings:fields") + "?object=deal").status_code == 403
    response = client.post(reverse("contacts-settings:field_create") + "?object=deal",
                           {"label": "Tier", "type": "text"})
    assert response.status_code == 403
    assert not CustomField.objects.exists()


# --- /api/v1/fields/

def test_the_api_creates_a_deal_field_and_filters_by_object(personas):
    client = bearer_client(personas.admin)
    catalog.custom_field_create(key="tier", label="Tier", type="text")

    created = client.post(reverse("contacts-api:field-list"),
                          {"object": "deal", "key": "tier", "label": "Tier", "type": "choice", "choices": ["Gold"]},
                          format="json")

    assert created.status_code == 201, created.content
    assert (created.json()["object"], created.json()["key"]) == ("deal", "tier")
    everything = client.get(reverse("contacts-api:field-list")).json()["results"]
    assert [(row["object"], row["key"]) for row in everything] == [("contact", "tier"), ("deal", "tier")]
    deals_only = client.get(reverse("contacts-api:field-list"), {"object": "deal"}).json()["results"]
    assert [row["id"] for row in deals_only] == [created.json()["id"]]
    contacts_only = client.get(reverse("contacts-api:field-list"), {"object": "contact"}).json()["results"]
    assert [row["object"] for row in contacts_only] == ["contact"]


def test_the_api_defaults_to_contact_fields_and_refuses_an_unknown_or_changed_object(personas):
    client = bearer_client(personas.admin)

    created = client.post(reverse("contacts-api:field-list"), {"label": "Seats", "type": "number"}, format="json")
    assert created.json()["object"] == "contact"

    bad = client.post(reverse("contacts-api:field-list"), {"label": "X", "object": "account"}, format="json")
    assert_error(bad, 400, "invalid", fields=("object",))
    bad_filter = client.get(reverse("contacts-api:field-list"), {"object": "account"})
    assert_error(bad_filter, 400, "invalid", fields=("object",))
    moved = client.patch(reverse("contacts-api:field-detail", args=[created.json()["id"]]), {"object": "deal"},
                         format="json")
    assert_error(moved, 400, "invalid", fields=("object",))
    assert CustomField.objects.get().object == "contact"
