"""The marketer side of lead-capture forms: the builder services (the pages are in test_leadform_editor.py)."""

import pytest
from django.core.exceptions import ValidationError

from contacts.leadforms.builder import leadform_create, leadform_delete, leadform_fields_set, leadform_update
from contacts.models import CustomField, LeadForm, LeadFormField, Tag

pytestmark = pytest.mark.django_db


def make(**values):
    values.setdefault("name", "Pricing ebook")
    return leadform_create(**values)


def test_a_new_form_gets_a_key_and_default_fields():
    form = make()
    assert 20 <= len(form.public_key) <= 32
    assert form.submit_text == "Download"
    assert list(form.fields.values_list("target", "required")) == [("email", True), ("first_name", False)]


def test_it_requires_a_name():
    with pytest.raises(ValidationError) as exc:
        make(name="   ")
    assert "name" in exc.value.message_dict


@pytest.mark.parametrize("url", ["https://evil.example/", "javascript:alert(1)", "//evil.example/x",
                                 "https://example.com.evil.net/", "https://evil.example\\@example.com/",
                                 "https://evil.example\\.example.com/"])
def test_it_refuses_a_redirect_outside_the_allowed_domains(url):
    with pytest.raises(ValidationError) as exc:
        make(redirect_url=url, allowed_domains="example.com")
    assert "redirect_url" in exc.value.message_dict
    assert not LeadForm.objects.exists()


def test_it_accepts_a_redirect_to_an_allowed_subdomain():
    form = make(redirect_url="https://www.example.com/thanks", allowed_domains="example.com\n")
    assert form.redirect_url == "https://www.example.com/thanks"


def test_it_refuses_bad_domain_lines():
    with pytest.raises(ValidationError) as exc:
        make(allowed_domains="example.com\nnot a domain\n<script>")
    assert "allowed_domains" in exc.value.message_dict


def test_it_refuses_nul_chars_and_overlong_names():
    with pytest.raises(ValidationError) as exc:
        make(name="x" * 101)
    assert "name" in exc.value.message_dict
    with pytest.raises(ValidationError):
        make(name="a\x00b")


def test_tags_are_added_by_name_and_created_when_new():
    Tag.objects.create(name="Ebook")
    form = make(tags=["ebook", "Pricing"])
    assert sorted(form.tags.values_list("name", flat=True)) == ["Ebook", "Pricing"]
    assert Tag.objects.count() == 2


def test_fields_need_exactly_one_required_email_and_unique_valid_targets():
    form = make()
    for rows in ([{"target": "first_name", "label": "First"}],
                 [{"target": "email", "label": "Email", "required": False}],
                 [{"target": "email", "label": "Email", "required": True}, {"target": "email", "label": "E2"}],
                 [{"target": "email", "label": "Email", "required": True}, {"target": "fields.nope", "label": "N"}],
                 [{"target": "email", "label": "", "required": True}]):
        with pytest.raises(ValidationError) as exc:
            leadform_fields_set(form=form, rows=rows)
        assert "fields" in exc.value.message_dict
    assert form.fields.count() == 2


def test_fields_may_target_custom_contact_fields_in_order():
    CustomField.objects.create(key="company_size", label="Company size")
    form = make()
    leadform_fields_set(form=form, rows=[{"target": "fields.company_size", "label": "Size"},
                                         {"target": "email", "label": "Email", "required": True}])
    assert list(form.fields.values_list("target", flat=True)) == ["fields.company_size", "email"]


def test_update_and_delete():
    form = make()
    leadform_update(form=form, name="Renamed", is_active=False)
    form.refresh_from_db()
    assert (form.name, form.is_active) == ("Renamed", False)
    leadform_delete(form=form)
    assert not LeadForm.objects.exists() and not LeadFormField.objects.exists()


# --- The list page at /forms/ -----------------------------------------------------------------------

def test_the_list_shows_30_day_totals_from_leadformday_in_one_aggregate(client, personas,
                                                                       django_assert_max_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from contacts.models import LeadFormDay

    today = timezone.now().date()
    forms = [make(name=f"Form {i}") for i in range(5)]
    LeadFormDay.objects.bulk_create([
        LeadFormDay(form=forms[0], day=today, views=100, submissions=25),
        LeadFormDay(form=forms[0], day=today - timedelta(days=29), views=100, submissions=15),
        LeadFormDay(form=forms[0], day=today - timedelta(days=30), views=1000, submissions=1000),  # outside
        LeadFormDay(form=forms[1], day=today, views=10, submissions=1),
    ])
    client.force_login(personas.marketer)
    client.get("/forms/")  # warm session/user caches
    with django_assert_max_num_queries(6):
        response = client.get("/forms/")
    assert response.status_code == 200
    rows = {row["form"].name: row for row in response.context["rows"]}
    assert (rows["Form 0"]["views"], rows["Form 0"]["submissions"], rows["Form 0"]["rate"]) == (200, 40, 20.0)
    assert rows["Form 2"]["rate"] is None
    assert "20.0%" in response.content.decode()


def test_the_list_searches_by_name_and_escapes_hostile_names(client, personas):
    make(name="<script>alert(1)</script>")
    make(name="Webinar")
    client.force_login(personas.rep_alice)
    body = client.get("/forms/", {"q": "script\x00"}).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Webinar" not in body


def test_the_list_has_an_empty_state_and_needs_a_login(client, personas):
    assert client.get("/forms/").status_code == 302
    client.force_login(personas.marketer)
    assert "No forms yet" in client.get("/forms/").content.decode()
