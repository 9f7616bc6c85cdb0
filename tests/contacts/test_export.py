"""CSV export of the contact list: the current filter (or the selected rows) among the visible contacts,
streamed, with custom field columns, and cells that a spreadsheet would run as formulas made harmless."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Account, Contact, CustomField, Tag

pytestmark = pytest.mark.django_db

EXPORT = reverse("contacts:export")


def read(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # a BOM, so Excel reads accents right
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.fixture
def book(personas):
    CustomField.objects.create(key="industry", label="Industry", type=CustomField.Type.CHOICE, choices=["SaaS"])
    CustomField.objects.create(key="headcount", label="Headcount", type=CustomField.Type.NUMBER)
    CustomField.objects.create(key="regions", label="Regions", type=CustomField.Type.MULTI_CHOICE,
                               choices=["EU", "US"])
    acme = Account.objects.create(name="Acme")
    ada = Contact.objects.create(email="ada@acme.com", first_name="Ada", last_name="Lovelace", account=acme,
                                 owner=personas.rep_alice, lead_status="mql",
                                 fields={"industry": "SaaS", "headcount": -5, "regions": ["EU", "US"]})
    ada.tags.add(Tag.objects.create(name="vip"), Tag.objects.create(name="beta"))
    evil = Contact.objects.create(email="evil@example.com", first_name='=HYPERLINK("http://x.example","y")',
                                  last_name="+1+1", title="@SUM(A1)", phone="-2", source_detail="\tsneaky",
                                  owner=personas.rep_bob, fields={"industry": "=cmd|' /C calc'!A0"})
    Contact.objects.filter(pk=evil.pk).update(created_at=timezone.now() - timedelta(days=1))
    return {"ada": ada, "evil": evil}


def test_the_export_has_every_column_custom_fields_included(client, personas, book):
    client.force_login(personas.admin)
    response = client.get(EXPORT)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = read(response)
    assert list(rows[0]) == ["id", "email", "first_name", "last_name", "phone", "title", "company", "owner", "stage",
                             "lead_status", "source", "source_detail", "tags", "created_at", "last_activity_at",
                             "headcount", "industry", "regions"]  # the fields in their settings order
    ada = rows[0]
    assert ada["email"] == "ada@acme.com" and ada["company"] == "Acme" and ada["owner"] == "rep_alice@example.com"
    assert (ada["tags"], ada["industry"], ada["headcount"], ada["regions"]) == ("beta, vip", "SaaS", "-5", "EU, US")
    assert ada["lead_status"] == "mql" and ada["id"] == str(book["ada"].pk)


def test_cells_that_start_like_a_formula_are_escaped(client, personas, book):
    client.force_login(personas.admin)
    evil = next(row for row in read(client.get(EXPORT)) if row["email"] == "evil@example.com")
    assert evil["first_name"] == '\'=HYPERLINK("http://x.example","y")'
    assert evil["last_name"] == "'+1+1"
    assert evil["title"] == "'@SUM(A1)"
    assert evil["phone"] == "'-2"
    assert evil["source_detail"] == "'\tsneaky"
    assert evil["industry"] == "'=cmd|' /C calc'!A0"


def test_the_export_follows_the_filter_the_sort_and_the_selection(client, personas, book):
    client.force_login(personas.admin)
    assert [r["email"] for r in read(client.get(EXPORT, {"status": "mql"}))] == ["ada@acme.com"]
    assert [r["email"] for r in read(client.get(EXPORT, {"sort": "created"}))] == ["evil@example.com",
                                                                                 "ada@acme.com"]
    assert [r["email"] for r in read(client.get(EXPORT, {"ids": [book["evil"].pk]}))] == ["evil@example.com"]


def test_the_export_holds_only_the_contacts_the_user_may_see(client, personas, book):
    client.force_login(personas.rep_alice)
    assert [r["email"] for r in read(client.get(EXPORT))] == ["ada@acme.com"]
    assert [r["email"] for r in read(client.get(EXPORT, {"ids": [book["evil"].pk]}))] == []


def test_a_bad_filter_gets_the_list_with_its_error_instead_of_a_file(client, personas, book):
    client.force_login(personas.admin)
    response = client.get(EXPORT, {"created_after": "soon"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_the_export_reads_in_chunks_with_a_fixed_number_of_queries(client, personas):
    made = Contact.objects.bulk_create([Contact(email=f"e{i}@example.com") for i in range(2500)])
    tag = Tag.objects.create(name="bulk")
    Contact.tags.through.objects.bulk_create([Contact.tags.through(contact_id=c.pk, tag_id=tag.pk) for c in made])
    client.force_login(personas.admin)
    with CaptureQueriesContext(connection) as queries:
        rows = read(client.get(EXPORT))
    assert len(rows) == 2500 and {row["tags"] for row in rows} == {"bulk"}
    tag_queries = [q for q in queries.captured_queries if 'FROM "contacts_tag"' in q["sql"]]
    assert len(tag_queries) == 2  # one prefetch per chunk of 2,000
