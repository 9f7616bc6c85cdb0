"""Lead form submissions (contacts.leadforms.submit): what an accepted one does, and what a refused one does not."""

import secrets

import pytest
from django.core.cache import cache

from contacts.leadforms.submit import form_submit
from contacts.models import (
    Consent,
    Contact,
    ContactList,
    Event,
    LeadForm,
    LeadFormDay,
    LeadFormField,
    LeadFormSubmission,
    OptInRequest,
    Subscription,
    Tag,
)

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def make_form(**options) -> LeadForm:
    form = LeadForm.objects.create(name="Ebook", lead_magnet="Pricing ebook", public_key=secrets.token_hex(16),
                                   min_fill_seconds=0, **options)
    LeadFormField.objects.create(form=form, target="email", label="Email", required=True, position=0)
    LeadFormField.objects.create(form=form, target="first_name", label="First name", position=1)
    return form


def counts() -> tuple[int, int, int]:
    return Contact.objects.count(), Event.objects.count(), LeadFormSubmission.objects.count()


def test_creates_contact_submission_tags_lists_and_event(django_capture_on_commit_callbacks):
    form = make_form()
    form.tags.add(Tag.objects.create(name="ebook"))
    plain = ContactList.objects.create(name="News")
    double = ContactList.objects.create(name="Weekly", double_opt_in=True)
    form.lists.add(plain, double)
    with django_capture_on_commit_callbacks() as callbacks:
        result = form_submit(form, {"email": "Ada@Example.com", "first_name": "Ada"}, ip="203.0.113.5")
    assert result.status == "ok", result.errors
    contact = Contact.objects.with_email("ada@example.com").get()
    assert contact.first_name == "Ada" and contact.source == "form"
    assert list(contact.tags.values_list("name", flat=True)) == ["ebook"]
    assert Subscription.objects.get(contact=contact, list=plain).status == "subscribed"
    assert Subscription.objects.get(contact=contact, list=double).status == "unconfirmed"
    event = Event.objects.get(contact=contact, type="form_submitted")
    assert event.properties["form_id"] == form.pk and event.properties["lead_magnet"] == "Pricing ebook"
    assert event.channel == "form"  # a touchpoint on the form channel (DOMAIN.md §2)
    assert OptInRequest.objects.get(contact=contact).lists.get() == double
    assert callbacks  # published (and the email task queued) only on commit
    assert LeadFormDay.objects.get(form=form).submissions == 1


def test_update_keeps_existing_values_over_blanks():
    form = make_form()
    form_submit(form, {"email": "bob@example.com", "first_name": "Bob"}, ip="203.0.113.5")
    result = form_submit(form, {"email": "bob@example.com", "first_name": ""}, ip="203.0.113.6")
    assert result.status == "ok"
    assert Contact.objects.get(email="bob@example.com").first_name == "Bob"
    assert LeadFormSubmission.objects.filter(form=form).count() == 2


@pytest.mark.parametrize("data,options", [
    ({"email": "x@example.com", "lc_hp": "bot"}, {}),
    ({"email": "x@example.com", "first_name": "see https://spam.example"}, {"reject_links": True}),
    ({"email": "x@mailinator.com"}, {"blocked_email_domains": "mailinator.com"}),
])
def test_spam_creates_nothing(data, options):
    form = make_form(**options)
    before = counts()
    result = form_submit(form, data, ip="203.0.113.5")
    assert result.status in ("spam", "invalid")
    assert counts() == before
    assert LeadFormDay.objects.get(form=form).rejected == 1


def test_min_fill_time_and_rate_limit_create_nothing():
    form = make_form()
    form.min_fill_seconds, form.rate_per_ip = 5, 2  # every attempt counts
    before = counts()
    assert form_submit(form, {"email": "a@example.com"}, ip="1.2.3.4", started_at=100.0, now_ts=102.0).status == "spam"
    assert counts() == before
    assert form_submit(form, {"email": "a@example.com"}, ip="1.2.3.4", started_at=100.0, now_ts=200.0).status == "ok"
    assert form_submit(form, {"email": "b@example.com"}, ip="1.2.3.4").status == "rate_limited"
    assert not Contact.objects.filter(email="b@example.com").exists()


def test_field_errors_consent_and_no_email_field():
    form = make_form(consent_text="I agree to emails.")
    result = form_submit(form, {"email": "not-an-email"}, ip="1.2.3.4")
    assert result.status == "invalid" and set(result.errors) == {"email", "consent"}
    result = form_submit(form, {"email": "c@example.com", "consent": "yes"}, ip="1.2.3.4")
    assert result.status == "ok"
    consent = Consent.objects.get(contact__email="c@example.com")
    assert consent.wording == "I agree to emails." and consent.ip_address == "1.2.3.4"
    form.fields.filter(target="email").delete()
    assert form_submit(form, {"email": "d@example.com"}, ip="1.2.3.4").status == "closed"


def test_same_answer_for_known_and_unknown_emails():
    form = make_form()
    Contact.objects.create(email="known@example.com")
    known = form_submit(form, {"email": "known@example.com"}, ip="1.2.3.4")
    unknown = form_submit(form, {"email": "new@example.com"}, ip="1.2.3.5")
    assert (known.status, known.errors) == (unknown.status, unknown.errors) == ("ok", {})


def test_stage_only_forward_deal_in_first_stage_and_custom_fields():
    from contacts.catalog import custom_field_create
    from lifecycle.services import contact_stage_set, stage_sets_ensure_defaults
    from pipelines.models import Deal
    from pipelines.services import pipeline_create

    stages = list(stage_sets_ensure_defaults().stages.order_by("position"))
    pipeline = pipeline_create(name="Inbound", stages=[("New", 10, None), ("Qualified", 50, None)])
    custom_field_create(key="employees", label="Employees", type="number")
    form = make_form(lifecycle_stage=stages[1], pipeline=pipeline)
    LeadFormField.objects.create(form=form, target="fields.employees", label="Employees", position=2)
    assert form_submit(form, {"email": "e@example.com", "fields.employees": "many"}, ip="1.2.3.4").errors
    result = form_submit(form, {"email": "e@example.com", "first_name": "Eve", "fields.employees": "12"},
                         ip="1.2.3.4")
    assert result.status == "ok", result.errors
    contact = Contact.objects.get(email="e@example.com")
    assert contact.lifecycle_stage == stages[1] and contact.fields["employees"] == 12
    deal = Deal.objects.get(contact=contact)
    assert deal.stage.name == "New" and deal.title == "Pricing ebook: Eve"
    contact_stage_set(contact=contact, stage=stages[-1], actor="user")
    assert form_submit(form, {"email": "e@example.com"}, ip="1.2.3.5").status == "ok"
    contact.refresh_from_db()
    assert contact.lifecycle_stage == stages[-1]  # never moved back
