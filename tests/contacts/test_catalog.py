"""contacts.catalog: custom field definitions, tags and lists, and the custom field range indexes."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from contacts import catalog
from contacts.models import Contact, ContactList, CustomField, Subscription, Tag
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def make_field(key="industry", label="Industry", type="choice", choices=("SaaS", "Retail", "Finance"), **kw):
    return catalog.custom_field_create(key=key, label=label, type=type, choices=list(choices), **kw)


# --- creating fields

def test_it_creates_a_choice_field_with_clean_options_at_the_end_of_the_order():
    make_field(key="region", label="Region", choices=["EMEA"])

    field = catalog.custom_field_create(key="industry", label=" Industry ", type="choice",
                                        choices=[" SaaS ", "", "Retail"], help_text=" What they do ")

    assert (field.key, field.label, field.choices, field.help_text) == ("industry", "Industry", ["SaaS", "Retail"],
                                                                        "What they do")
    assert [f.key for f in CustomField.objects.all()] == ["region", "industry"]


def test_it_makes_the_key_from_the_label_when_none_is_given():
    field = catalog.custom_field_create(label="Annual revenue (USD)", type="money")
    assert field.key == "annual_revenue_usd"
    assert catalog.key_from_label("Région") == "region"
    assert catalog.key_from_label("2nd phone") == "f_2nd_phone"


def test_options_of_other_types_are_dropped():
    field = catalog.custom_field_create(key="headcount", label="Employee headcount", type="number", choices=["x"])
    assert field.choices == []


@pytest.mark.parametrize(("key", "message"), [
    ("Industry", "lower-case"),
    ("annual-revenue", "lower-case"),
    ("annual__revenue", "single underscores"),
    ("_hidden", "starting with a letter"),
    ("9lives", "starting with a letter"),
    ("x" * 51, "50 characters"),
    ("email", "built-in contact field"),
    ("first_name", "built-in contact field"),
    ("tags", "built-in contact field"),
    ("stage", "built-in contact field"),
    ("lead_status", "built-in contact field"),
    ("company", "built-in contact field"),
])
def test_a_bad_or_built_in_key_is_refused(key, message):
    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(key=key, label="Something", type="text")
    assert message in errors_of(excinfo)["key"][0]
    assert not CustomField.objects.exists()


def test_a_taken_key_a_missing_label_a_bad_type_and_missing_options_are_refused_by_field():
    make_field()
    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(key="industry", label="Sector", type="text")
    assert "already a custom field" in errors_of(excinfo)["key"][0]

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(key="x", label="  ", type="text")
    assert "label" in errors_of(excinfo)

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(key="mood", label="Mood", type="emoji")
    assert "type" in errors_of(excinfo)

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(key="tier", label="Tier", type="choice", choices=["", "  "])
    assert errors_of(excinfo)["choices"] == ["List at least one option, one per line."]

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_create(key="tier", label="Tier", type="multi_choice", choices=["Gold", "gold"])
    assert "listed twice" in errors_of(excinfo)["choices"][0]
    assert CustomField.objects.count() == 1


# --- changing fields

def test_label_help_and_new_options_can_always_change():
    field = make_field()
    Contact.objects.create(email="a@example.com", fields={"industry": "SaaS"})

    catalog.custom_field_update(field=field, label="Sector", help_text="Their market",
                                choices=["SaaS", "Retail", "Finance", "Media"])

    field.refresh_from_db()
    assert (field.label, field.help_text, field.choices) == ("Sector", "Their market",
                                                             ["SaaS", "Retail", "Finance", "Media"])


def test_removing_an_option_in_use_is_refused_with_how_many_use_it():
    field = make_field()
    Contact.objects.bulk_create([Contact(email=f"r{i}@example.com", fields={"industry": "Retail"}) for i in range(3)])
    Contact.objects.create(email="s@example.com", fields={"industry": "SaaS"})

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_update(field=field, choices=["SaaS", "Finance"])

    assert "“Retail” by 3 contacts" in errors_of(excinfo)["choices"][0]
    field.refresh_from_db()
    assert field.choices == ["SaaS", "Retail", "Finance"]
    # An option nobody uses can go.
    catalog.custom_field_update(field=field, choices=["SaaS", "Retail"])
    field.refresh_from_db()
    assert field.choices == ["SaaS", "Retail"]


def test_removing_a_multiple_choice_option_in_use_is_refused_too():
    field = make_field(key="interests", label="Interests", type="multi_choice", choices=["Email", "SMS", "Ads"])
    Contact.objects.create(email="a@example.com", fields={"interests": ["Email", "SMS"]})

    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_update(field=field, choices=["Email", "Ads"])
    assert "in use: “SMS” by 1 contact." in errors_of(excinfo)["choices"][0]


def test_key_and_type_change_only_while_no_contact_has_a_value():
    field = make_field(key="size", label="Size", type="text", choices=())
    catalog.custom_field_update(field=field, key="headcount", type="number")
    field.refresh_from_db()
    assert (field.key, field.type) == ("headcount", "number")

    Contact.objects.create(email="a@example.com", fields={"headcount": 12})
    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_update(field=field, key="employees", type="text")

    errors = errors_of(excinfo)
    assert errors["key"][0].startswith("The key cannot change: 1 contact has a value for it.")
    assert errors["type"][0].startswith("The type cannot change: 1 contact has a value for it.")
    assert "found by the current key" in errors["key"][0]
    field.refresh_from_db()
    assert (field.key, field.type) == ("headcount", "number")
    # Sending the same key and type is not a change.
    catalog.custom_field_update(field=field, key="headcount", type="number", label="Employees")


def test_switching_to_a_choice_type_needs_options():
    field = make_field(key="tier", label="Tier", type="text", choices=())
    with pytest.raises(ValidationError) as excinfo:
        catalog.custom_field_update(field=field, type="choice")
    assert "choices" in errors_of(excinfo)
    catalog.custom_field_update(field=field, type="choice", choices=["Gold", "Silver"])
    field.refresh_from_db()
    assert field.choices == ["Gold", "Silver"]


# --- deleting and ordering fields

def test_deleting_a_field_removes_the_definition_and_queues_the_removal_of_its_values(
        django_capture_on_commit_callbacks):
    field = make_field()
    Contact.objects.create(email="a@example.com", fields={"industry": "SaaS"})

    with django_capture_on_commit_callbacks() as callbacks:
        catalog.custom_field_delete(field=field)

    assert not CustomField.objects.filter(pk=field.pk).exists()
    assert len(callbacks) == 2  # remove the values, drop the range index (if any)


def test_a_deleted_fields_values_are_removed_from_every_contact_in_one_update(django_assert_max_num_queries):
    keep = make_field(key="region", label="Region", choices=["EMEA"])
    Contact.objects.bulk_create([Contact(email=f"c{i}@example.com", fields={"industry": "SaaS", "region": "EMEA"})
                                 for i in range(5)] + [Contact(email="none@example.com", fields={"region": "EMEA"})])

    with django_assert_max_num_queries(4) as captured:
        cleared = catalog.custom_field_values_remove(key="industry")

    assert cleared == 5
    updates = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "\"fields\" - " in updates[0]
    assert not Contact.objects.filter(fields__has_key="industry").exists()
    assert Contact.objects.filter(fields={"region": "EMEA"}).count() == 6
    assert CustomField.objects.filter(pk=keep.pk).exists()


def test_values_are_kept_when_a_field_with_the_key_exists_again_and_a_key_with_leftover_values_is_refused():
    Contact.objects.create(email="a@example.com", fields={"industry": "SaaS"})

    with pytest.raises(ValidationError) as excinfo:
        make_field()
    assert "still hold values of a deleted field “industry”" in errors_of(excinfo)["key"][0]

    CustomField.objects.create(key="industry", label="Industry", type="text")
    assert catalog.custom_field_values_remove(key="industry") == 0
    assert Contact.objects.filter(fields__has_key="industry").exists()


def test_fields_move_up_and_down():
    a, b, c = (make_field(key=k, label=k.title(), type="text", choices=()) for k in ("alpha", "beta", "gamma"))

    catalog.custom_field_move(field=c, position=0)
    assert list(CustomField.objects.values_list("key", flat=True)) == ["gamma", "alpha", "beta"]
    catalog.custom_field_move(field=c, position=99)
    assert list(CustomField.objects.values_list("key", flat=True)) == ["alpha", "beta", "gamma"]
    catalog.custom_field_reorder(field_ids=[b.pk])
    assert list(CustomField.objects.values_list("key", flat=True)) == ["beta", "alpha", "gamma"]


def test_range_index_tasks_are_queued_on_commit_for_number_money_and_date_fields_only(
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        make_field(key="industry", type="choice")
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        revenue = make_field(key="revenue", label="Revenue", type="money", choices=())
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks() as callbacks:
        catalog.custom_field_update(field=revenue, key="annual_revenue")
    assert len(callbacks) == 2  # drop the old key's index, build the new one
    with django_capture_on_commit_callbacks() as callbacks:
        catalog.custom_field_update(field=revenue, label="ARR")
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        catalog.custom_field_delete(field=revenue)
    assert len(callbacks) == 2  # the values, the index


# --- the range index, built by the real worker

def _index_definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_builds_a_range_index_that_range_filters_use_and_drops_it_with_the_field(celery_worker):
    with transaction.atomic():  # the task is published when this commits, contacts and all
        field = catalog.custom_field_create(key="revenue", label="Annual revenue", type="money")
        Contact.objects.bulk_create([Contact(email=f"c{i}@example.com", fields={"revenue": i * 1000})
                                     for i in range(200)])

    definition = wait_until(lambda: _index_definition("contact_cf_revenue"))
    assert "((fields -> 'revenue'::text))" in definition
    assert catalog.custom_field_index_states() == {"revenue": True}
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            plan = Contact.objects.filter(fields__revenue__gt=150_000).explain()
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "contact_cf_revenue" in plan, plan
    assert Contact.objects.filter(fields__revenue__gt=150_000).count() == 49
    # A fine histogram was collected with the index, so the planner can tell a rare range from a common one.
    with connection.cursor() as cursor:
        cursor.execute("SELECT attstattarget FROM pg_attribute WHERE attrelid = 'contact_cf_revenue'::regclass")
        assert cursor.fetchone()[0] == catalog.INDEX_STATISTICS
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'contact_cf_revenue'")
        assert cursor.fetchone()[0] == 1

    catalog.custom_field_delete(field=field)

    wait_until(lambda: _index_definition("contact_cf_revenue") is None)
    wait_until(lambda: not Contact.objects.filter(fields__has_key="revenue").exists())
    assert catalog.custom_field_index_states() == {}
    assert Contact.objects.count() == 200


@pytest.mark.django_db(transaction=True)
def test_index_sync_rebuilds_an_invalid_index_and_drops_one_whose_field_is_no_longer_a_range_type():
    field = CustomField.objects.create(key="renewal", label="Renewal date", type="date")
    assert catalog.custom_field_index_sync(key="renewal") == "created"
    assert catalog.custom_field_index_sync(key="renewal") == "unchanged"
    # What a build that failed half-way leaves behind.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'contact_cf_renewal'::regclass")
    assert catalog.custom_field_index_states() == {"renewal": False}
    assert catalog.custom_field_index_sync(key="renewal") == "created"
    assert catalog.custom_field_index_states() == {"renewal": True}

    CustomField.objects.filter(pk=field.pk).update(type="text")
    assert catalog.custom_field_index_sync(key="renewal") == "dropped"
    assert _index_definition("contact_cf_renewal") is None
    assert catalog.custom_field_index_sync(key="renewal") == "unchanged"


def test_index_sync_refuses_to_run_inside_a_transaction_or_for_a_bad_key():
    with pytest.raises(RuntimeError):
        catalog.custom_field_index_sync(key="revenue")


@pytest.mark.django_db(transaction=True)
def test_index_sync_refuses_a_key_that_is_not_a_slug():
    with pytest.raises(ValueError):
        catalog.custom_field_index_sync(key="x'); DROP TABLE contacts_contact; --")


# --- tags

def test_tags_are_created_and_renamed_with_case_insensitive_unique_names():
    vip = catalog.tag_create(name=" vip ")
    assert vip.name == "vip"
    with pytest.raises(ValidationError) as excinfo:
        catalog.tag_create(name="VIP")
    assert "already a tag “vip”" in errors_of(excinfo)["name"][0]
    trial = catalog.tag_create(name="trial")
    with pytest.raises(ValidationError) as excinfo:
        catalog.tag_rename(tag=trial, name="Vip")
    assert "merge" in errors_of(excinfo)["name"][0]
    with pytest.raises(ValidationError):
        catalog.tag_rename(tag=trial, name=" ")

    catalog.tag_rename(tag=vip, name="VIP")  # changing only the case is fine

    assert sorted(Tag.objects.values_list("name", flat=True)) == ["VIP", "trial"]


def test_merging_a_tag_moves_its_contacts_without_duplicates_and_deletes_it():
    old, keep = catalog.tag_create(name="webinar"), catalog.tag_create(name="webinar-attendee")
    both = Contact.objects.create(email="both@example.com")
    only_old = Contact.objects.bulk_create([Contact(email=f"old{i}@example.com") for i in range(3)])
    both.tags.add(old, keep)
    for contact in only_old:
        contact.tags.add(old)

    gained = catalog.tag_merge(tag=old, into=keep)

    assert gained == 3
    assert not Tag.objects.filter(pk=old.pk).exists()
    assert keep.contacts.count() == 4
    with pytest.raises(ValidationError):
        catalog.tag_merge(tag=keep, into=keep)


def test_deleting_a_tag_removes_it_from_contacts_but_keeps_them():
    tag = catalog.tag_create(name="churn-risk")
    contact = Contact.objects.create(email="a@example.com")
    contact.tags.add(tag)

    catalog.tag_delete(tag=tag)

    assert not Tag.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert contact.tags.count() == 0


def test_tag_counts_come_in_one_query(django_assert_num_queries):
    tags = [catalog.tag_create(name=f"t{i}") for i in range(3)]
    contacts = Contact.objects.bulk_create([Contact(email=f"c{i}@example.com") for i in range(4)])
    for contact in contacts:
        contact.tags.add(tags[0])
    contacts[0].tags.add(tags[1])

    with django_assert_num_queries(1):
        counts = {tag.name: tag.contact_count for tag in catalog.tags_with_counts()}

    assert counts == {"t0": 4, "t1": 1, "t2": 0}


# --- lists

def test_lists_are_created_updated_and_deleted_with_their_subscriptions():
    newsletter = catalog.list_create(name=" Monthly newsletter ", description="Once a month", double_opt_in=True)
    with pytest.raises(ValidationError) as excinfo:
        catalog.list_create(name="monthly NEWSLETTER")
    assert "already a list" in errors_of(excinfo)["name"][0]
    with pytest.raises(ValidationError):
        catalog.list_create(name="")

    catalog.list_update(contact_list=newsletter, name="Newsletter", double_opt_in=False)
    newsletter.refresh_from_db()
    assert (newsletter.name, newsletter.description, newsletter.double_opt_in) == ("Newsletter", "Once a month", False)

    contact = Contact.objects.create(email="a@example.com")
    Subscription.objects.create(contact=contact, list=newsletter, status="subscribed", changed_at=contact.created_at)
    catalog.list_delete(contact_list=newsletter)
    assert not ContactList.objects.exists() and not Subscription.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_list_counts_by_status_come_in_two_queries_however_many_lists(django_assert_num_queries):
    news, updates = catalog.list_create(name="News"), catalog.list_create(name="Updates")
    contacts = Contact.objects.bulk_create([Contact(email=f"c{i}@example.com") for i in range(5)])
    statuses = ["subscribed", "subscribed", "unsubscribed", "bounced", "unconfirmed"]
    Subscription.objects.bulk_create([Subscription(contact=c, list=news, status=s, changed_at=c.created_at)
                                      for c, s in zip(contacts, statuses, strict=True)])

    for i in range(5):
        catalog.list_create(name=f"Other {i}")

    with django_assert_num_queries(2):
        rows = {row.name: row for row in catalog.lists_with_counts()}

    news_row = rows["News"]
    assert (news_row.subscription_count, news_row.subscribed_count, news_row.unsubscribed_count,
            news_row.bounced_count, news_row.unconfirmed_count, news_row.complained_count) == (5, 2, 1, 1, 1, 0)
    assert rows[updates.name].subscription_count == 0
    assert list(rows) == ["News", "Other 0", "Other 1", "Other 2", "Other 3", "Other 4", "Updates"]
    only = catalog.lists_with_counts([news])
    assert len(only) == 1 and only[0].bounced_count == 1


# --- who manages what

def test_admins_manage_fields_and_admins_managers_and_marketers_manage_tags_and_lists(personas):
    allowed = {
        name: {model.__name__ for model in (CustomField, Tag, ContactList)
               if all(catalog.can_manage(getattr(personas, name), model, action)
                      for action in ("view", "add", "change", "delete"))}
        for name in ("admin", "manager", "marketer", "rep_alice", "outsider")
    }
    assert allowed == {
        "admin": {"CustomField", "Tag", "ContactList"},
        "manager": {"Tag", "ContactList"},
        "marketer": {"Tag", "ContactList"},
        "rep_alice": set(),
        "outsider": set(),
    }
    assert not catalog.can_manage(personas.rep_alice, Tag, "add")


def test_the_index_and_cleanup_tasks_are_routed_to_the_bulk_queue():
    from lifecycle.celery import app

    for task in ("contacts.tasks.custom_field_index_sync", "contacts.tasks.custom_field_values_remove"):
        assert app.amqp.router.route({}, task)["queue"].name == "bulk"
