"""Custom field values by type, and the one checker of contact input (contacts.inputs.ContactInput)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from contacts.fields import clean_field_value, clean_field_values
from contacts.inputs import ContactInput
from contacts.models import Account, CustomField, Tag

pytestmark = pytest.mark.django_db


def field(type, **kwargs) -> CustomField:
    return CustomField(key=f"f_{type}", label=type, type=type, **kwargs)


@pytest.mark.parametrize(("type", "given", "stored"), [
    ("text", "  Hello ", "Hello"),
    ("number", "1,250", 1250),
    ("number", 12.5, 12.5),
    ("number", "-3", -3),
    ("money", "1000.50", 1000.5),
    ("money", Decimal("19.99"), 19.99),
    ("date", "2026-11-22", "2026-11-22"),
    ("date", "2026-11-22T10:00:00Z", "2026-11-22"),
    ("boolean", "yes", True),
    ("boolean", "0", False),
    ("boolean", False, False),
    ("url", "https://example.com/a?b=1", "https://example.com/a?b=1"),
    ("text", "", None),
    ("number", None, None),
])
def test_values_are_converted_to_what_the_database_compares(type, given, stored):
    assert clean_field_value(field(type), given) == stored


def test_choices_match_any_case_and_store_the_options_spelling():
    choice = field("choice", choices=["SaaS", "Retail"])
    multi = field("multi_choice", choices=["EMEA", "APAC", "Americas"])

    assert clean_field_value(choice, "saas") == "SaaS"
    assert clean_field_value(multi, "emea; apac, EMEA") == ["EMEA", "APAC"]
    assert clean_field_value(multi, ["Americas"]) == ["Americas"]


@pytest.mark.parametrize(("type", "given", "message"), [
    ("number", "twelve", "is not a number"),
    ("number", True, "not true or false"),
    ("number", "NaN", "finite"),
    ("money", "10.505", "2 decimal places"),
    ("date", "22/11/2026", "YYYY-MM-DD"),
    ("boolean", "maybe", "true or false"),
    ("url", "javascript:alert(1)", "valid URL"),
    ("text", {"a": 1}, "Enter text"),
    ("text", "x" * 2001, "under 2000"),
])
def test_a_wrong_type_is_refused_with_a_message_a_person_can_act_on(type, given, message):
    with pytest.raises(ValidationError) as error:
        clean_field_value(field(type), given)
    assert message in " ".join(error.value.messages)


def test_an_unknown_choice_lists_the_options():
    with pytest.raises(ValidationError, match="SaaS, Retail"):
        clean_field_value(field("choice", choices=["SaaS", "Retail"]), "Mining")


def test_unknown_keys_and_bad_values_come_back_per_key_and_the_good_ones_are_cleaned():
    definitions = {"revenue": field("money"), "industry": field("choice", choices=["SaaS"])}

    cleaned, errors = clean_field_values({"revenue": "12", "industry": "Oil", "colour": "red"}, definitions)

    assert cleaned == {"revenue": 12}
    assert set(errors) == {"industry", "colour"}
    assert "Known fields: industry, revenue" in errors["colour"][0]
    assert clean_field_values(["not", "an", "object"], definitions)[1] == {
        "fields": ['Send custom fields as an object, e.g. {"industry": "SaaS"}.']}


@pytest.fixture
def catalog(personas):
    CustomField.objects.create(key="industry", label="Industry", type="choice", choices=["SaaS", "Retail"])
    CustomField.objects.create(key="seats", label="Seats", type="number")
    Tag.objects.create(name="VIP")
    return Account.objects.create(name="Acme")


def test_a_complete_item_is_cleaned_into_the_services_keywords(catalog, personas):
    checker = ContactInput()
    item = {"email": "  Ada@Example.COM ", "first_name": " Ada ", "account": catalog.pk, "owner": personas.rep_alice.pk,
            "stage": "reach & engage", "lead_status": "MQL", "source": "form", "fields": {"industry": "saas",
                                                                                        "seats": "12"},
            "tags": ["vip", "VIP", " "]}
    checker.prepare([item])

    data, errors = checker.clean(item)

    assert errors == {}
    assert data["email"] == "ada@example.com" and data["first_name"] == "Ada"
    assert data["account_id"] == catalog.pk and data["owner_id"] == personas.rep_alice.pk
    assert data["stage"].name == "Reach & Engage" and data["lead_status"] == "mql"
    assert data["fields"] == {"industry": "SaaS", "seats": 12}
    assert data["tags"] == ["VIP"]


@pytest.mark.parametrize(("item", "field_name", "message"), [
    ({"email": "not-an-email"}, "email", "not a valid email"),
    ({}, "email", "required"),
    ({"email": "a@b.co", "colour": "red"}, "colour", "Unknown field"),
    ({"email": "a@b.co", "fields": {"seats": "many"}}, "fields", "seats:"),
    ({"email": "a@b.co", "fields": {"nope": 1}}, "fields", "no custom field"),
    ({"email": "a@b.co", "tags": ["never-made"]}, "tags", "Unknown tag"),
    ({"email": "a@b.co", "tags": "vip"}, None, None),
    ({"email": "a@b.co", "tags": [1, 2]}, "tags", "list of names"),
    ({"email": "a@b.co", "account": 999999}, "account", "no account"),
    ({"email": "a@b.co", "owner": 999999}, "owner", "no active user"),
    ({"email": "a@b.co", "stage": "Heaven"}, "stage", "Reach & Engage"),
    ({"email": "a@b.co", "lead_status": "hot"}, "lead_status", "Choose one of"),
    ({"email": "a@b.co", "first_name": "x" * 101}, "first_name", "under 100"),
    ({"email": "a@b.co", "first_name": 5}, "first_name", "Enter text"),
])
def test_each_bad_input_is_an_error_on_its_field(catalog, item, field_name, message):
    data, errors = ContactInput().clean(item)

    if field_name is None:
        assert errors == {} and data["tags"] == ["VIP"]
    else:
        assert field_name in errors, errors
        assert message in " ".join(errors[field_name])


def test_a_non_object_item_is_refused_and_partial_items_need_no_email(catalog):
    checker = ContactInput()

    assert checker.clean(["x"])[1] == {"non_field_errors": ["Each contact must be a JSON object."]}
    assert checker.clean({"title": "CTO"}, partial=True) == ({"title": "CTO"}, {})


def test_imports_create_missing_tags_and_find_owners_by_username_or_email(catalog, personas):
    checker = ContactInput(create_missing_tags=True, owner_lookup=True)

    by_name, errors = checker.clean({"email": "a@b.co", "owner": "REP_ALICE", "tags": "new one, vip"})
    assert not errors
    by_email, _ = checker.clean({"email": "b@b.co", "owner": personas.rep_alice.email.upper()})

    assert by_name["owner_id"] == personas.rep_alice.pk
    assert by_email["owner_id"] == personas.rep_alice.pk
    assert by_name["tags"] == ["new one", "VIP"]
