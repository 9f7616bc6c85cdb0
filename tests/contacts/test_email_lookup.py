"""Finding a contact by email, in any case, goes through the lower(email) unique index; the admin's contact
search goes through the contact list's trigram search.

Django's email__iexact compares UPPER(email), which no index serves: at 1m contacts each lookup read the
whole table (0.4–0.7 s) and a form submission's p95 was 1.3 s. The plans are checked with sequential scans
switched off, so a lookup the index cannot serve shows up as a Seq Scan even on a small test table.
"""

import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import tracking
from contacts.leadforms.submit import form_submit
from contacts.models import Contact, LeadForm, LeadFormField
from contacts.services import contact_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_seq_scans():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")


def contact_email_reads(queries) -> list[str]:
    """The statements that compare contacts' email in a way the lower(email) index cannot serve."""
    return [q["sql"] for q in queries if 'UPPER("contacts_contact"."email"' in q["sql"]]


def test_with_email_finds_the_contact_in_any_case():
    ada = contact_create(email="ada@example.com", first_name="Ada")
    contact_create(email="grace@example.com")
    assert list(Contact.objects.with_email("ADA@Example.COM")) == [ada]
    assert not Contact.objects.with_email("ada@example.org").exists()


def test_with_email_reads_the_unique_index(no_seq_scans):
    contact_create(email="ada@example.com")
    plan = Contact.objects.with_email("Ada@Example.com").explain()
    assert "contact_email_ci_unique" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_a_form_submission_and_identify_look_contacts_up_by_the_index(no_seq_scans):
    contact_create(email="ada@example.com")
    form = LeadForm.objects.create(name="Ebook", lead_magnet="Ebook", public_key=secrets.token_hex(16),
                                   min_fill_seconds=0)
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True, position=0)
    with CaptureQueriesContext(connection) as submitted:
        assert form_submit(form, {"email": "ADA@example.com"}, ip="203.0.113.5").status == "ok"
        assert form_submit(form, {"email": "Grace@example.com"}, ip="203.0.113.5").status == "ok"
    with CaptureQueriesContext(connection) as identified:
        assert tracking.visitor_identify(tracking.new_key(), "Ada@Example.com") is not None
    assert contact_email_reads(submitted.captured_queries) == []
    assert contact_email_reads(identified.captured_queries) == []
    assert Contact.objects.count() == 2


def test_the_admin_contact_search_uses_the_contact_lists_search(admin_client, no_seq_scans):
    contact_create(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    contact_create(email="grace@navy.example", first_name="Grace", last_name="Hopper")
    with CaptureQueriesContext(connection) as searched:
        response = admin_client.get("/admin/contacts/contact/", {"q": "LOVEL"})
    assert response.status_code == 200
    assert [c.email for c in response.context["cl"].result_list] == ["ada@example.com"]
    assert not [q["sql"] for q in searched.captured_queries if 'UPPER("contacts_contact"' in q["sql"]]
    by_email = admin_client.get("/admin/contacts/contact/", {"q": "navy.example"})
    assert [c.email for c in by_email.context["cl"].result_list] == ["grace@navy.example"]
