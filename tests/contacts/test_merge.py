"""Duplicates: finding likely duplicate contacts, merging two, and the pages that do it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from contacts.merge import canonical_email, contacts_merge, duplicates_find, merge_fields_compare
from contacts.models import (
    Account,
    Consent,
    Contact,
    ContactList,
    CustomField,
    Event,
    Note,
    Subscription,
    Tag,
    Task,
)
from contacts.services import consent_record, contact_create, contact_tag, list_subscription_set, note_add, task_create
from lifecycle.models import LifecycleStage, StageTransition
from lifecycle.services import contact_stage_set
from pipelines.models import Deal, Pipeline, Stage

pytestmark = pytest.mark.django_db
Status = Subscription.Status


def make(email, *, days_ago=0, **extra) -> Contact:
    contact = Contact.objects.create(email=email, **extra)
    if days_ago:
        Contact.objects.filter(pk=contact.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        contact.refresh_from_db()
    return contact


def groups_of(user=None, **kwargs) -> list[tuple[list[str], list[str]]]:
    return [(group.reasons, [c.email for c in group.contacts]) for group in duplicates_find(user=user, **kwargs)]


# --- Finding duplicates ---------------------------------------------------------------------------

@pytest.mark.parametrize(("email", "canonical"), [
    ("Ada.Lovelace@Gmail.com", "adalovelace@gmail.com"),
    ("ada.lovelace+news@googlemail.com", "adalovelace@gmail.com"),
    ("ada.lovelace+news@acme.com", "ada.lovelace+news@acme.com"),
])
def test_the_canonical_email_ignores_dots_and_plus_suffixes_only_for_gmail(email, canonical):
    assert canonical_email(email) == canonical


def test_gmail_addresses_that_differ_by_dots_plus_suffix_or_googlemail_are_one_group():
    make("ada.lovelace@gmail.com", days_ago=3)
    make("adalovelace+crm@gmail.com", days_ago=2)
    make("a.d.a.lovelace@googlemail.com", days_ago=1)
    make("ada.lovelace@acme.com")  # another domain: another mailbox
    make("ada.lovelace+x@acme.com")  # a +suffix elsewhere is not ignored
    make("bob@gmail.com")

    assert groups_of() == [(["email"], ["ada.lovelace@gmail.com", "adalovelace+crm@gmail.com",
                                        "a.d.a.lovelace@googlemail.com"])]
    group = duplicates_find()[0]
    assert group.key == "adalovelace@gmail.com" and group.size == 3 and group.primary.email == "ada.lovelace@gmail.com"


def test_the_same_name_at_the_same_account_is_a_group():
    acme, other = Account.objects.create(name="Acme"), Account.objects.create(name="Other")
    make("ada@acme.com", first_name="Ada", last_name="Lovelace", account=acme, days_ago=2)
    make("a.lovelace@acme.io", first_name="ADA ", last_name="lovelace", account=acme, days_ago=1)
    make("ada@other.com", first_name="Ada", last_name="Lovelace", account=other)  # another company
    make("ada@none.com", first_name="Ada", last_name="Lovelace")  # no company
    make("x@acme.com", first_name="", last_name="Lovelace", account=acme)  # a first name is needed
    make("y@acme.com", first_name="", last_name="Lovelace", account=acme)

    assert groups_of() == [(["name"], ["ada@acme.com", "a.lovelace@acme.io"])]
    assert duplicates_find()[0].key == "ada lovelace"


def test_a_pair_found_by_both_rules_is_listed_once_with_both_reasons():
    acme = Account.objects.create(name="Acme")
    make("ada.l@gmail.com", first_name="Ada", last_name="L", account=acme, days_ago=1)
    make("adal@gmail.com", first_name="Ada", last_name="L", account=acme)

    assert groups_of() == [(["email", "name"], ["ada.l@gmail.com", "adal@gmail.com"])]


def test_groups_come_newest_first_and_the_limit_holds():
    for i in range(5):
        make(f"person.{i}@gmail.com", days_ago=10 - i)
        make(f"person{i}@gmail.com", days_ago=10 - i)

    found = groups_of(limit=3)
    assert [emails[0] for _r, emails in found] == ["person.4@gmail.com", "person.3@gmail.com", "person.2@gmail.com"]


def test_only_contacts_the_user_can_see_are_grouped(personas):
    make("ada.l@gmail.com", owner=personas.rep_bob)
    make("adal@gmail.com", owner=personas.rep_bob)
    make("bo.b@gmail.com")
    make("bob@gmail.com", owner=personas.rep_alice)

    assert groups_of(personas.manager) == [(["email"], ["bo.b@gmail.com", "bob@gmail.com"])]
    assert len(groups_of(personas.admin)) == 2


def test_finding_duplicates_is_a_fixed_number_of_queries(django_assert_num_queries):
    acme = Account.objects.create(name="Acme")
    for i in range(20):
        make(f"p.{i}@gmail.com")
        make(f"p{i}@gmail.com")
        make(f"n{i}a@x.com", first_name=f"N{i}", last_name="Same", account=acme)
        make(f"n{i}b@x.com", first_name=f"N{i}", last_name="Same", account=acme)

    with django_assert_num_queries(3):  # one per rule, one for the contacts shown
        assert len(duplicates_find(limit=100)) == 40


# --- Merging --------------------------------------------------------------------------------------

@pytest.fixture
def stages():
    return list(LifecycleStage.objects.filter(stage_set__is_active=True).order_by("position"))


@pytest.fixture
def deal_stage():
    return Stage.objects.create(pipeline=Pipeline.objects.create(name="Sales"), name="Proposal", position=0)


def test_merging_moves_everything_onto_the_primary_and_deletes_the_duplicate(personas, stages, deal_stage,
                                                                              django_capture_on_commit_callbacks):
    primary = contact_create(email="ada@acme.com", first_name="Ada")
    duplicate = contact_create(email="ada.lovelace@gmail.com", last_name="Lovelace")
    contact_tag(contact=primary, names=["vip"])
    contact_tag(contact=duplicate, names=["vip", "webinar"])
    note_add(contact=duplicate, author=personas.marketer, body="Met at the conference")
    task = task_create(title="Call back", due_at=timezone.now(), contact=duplicate)
    consent_record(contact=duplicate, purpose="email marketing")
    contact_stage_set(contact=duplicate, stage=stages[1], actor="user")
    deal = Deal.objects.create(title="Renewal", pipeline=deal_stage.pipeline, stage=deal_stage, contact=duplicate,
                               value=Decimal("10"))
    duplicate_events = set(Event.objects.filter(contact=duplicate).values_list("pk", flat=True))
    duplicate_id = duplicate.pk

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        merged = contacts_merge(primary=primary, duplicate=duplicate, user=personas.marketer)

    assert merged.pk == primary.pk
    assert not Contact.objects.filter(pk=duplicate_id).exists()
    assert duplicate_events <= set(Event.objects.filter(contact=primary).values_list("pk", flat=True))
    assert Note.objects.get().contact == merged
    assert Task.objects.get(pk=task.pk).contact == merged
    assert Consent.objects.get().contact == merged
    assert StageTransition.objects.filter(contact=merged).count() >= 1
    deal.refresh_from_db()
    assert deal.contact == merged
    assert sorted(merged.tags.values_list("name", flat=True)) == ["vip", "webinar"]
    assert Tag.objects.count() == 2
    # Blanks are filled from the duplicate; the primary's own values stay.
    assert (merged.first_name, merged.last_name, merged.email) == ("Ada", "Lovelace", "ada@acme.com")
    assert merged.lifecycle_stage == stages[1]
    changed = Event.objects.filter(contact=merged, type="field_changed").latest("id")
    assert changed.properties["changes"]["last_name"] == ["", "Lovelace"]
    event = Event.objects.filter(contact=merged, type="contacts_merged").get()
    assert event.properties["merged_email"] == "ada.lovelace@gmail.com"
    assert event.properties["merged_id"] == duplicate_id
    assert event.properties["tags_added"] == ["webinar"]
    assert event.properties["moved"]["notes"] == 1 and event.properties["moved"]["deals"] == 1
    assert event.properties["by"] == "marketer"
    assert callbacks  # the new events are published once the merge commits


def test_the_chosen_fields_come_from_the_duplicate_custom_fields_included():
    CustomField.objects.create(key="industry", label="Industry")
    CustomField.objects.create(key="region", label="Region")
    CustomField.objects.create(key="seats", label="Seats", type=CustomField.Type.NUMBER)
    acme = Account.objects.create(name="Acme")
    primary = make("ada@old.com", first_name="Ada", title="CTO", phone="1",
                   fields={"industry": "SaaS", "region": "EMEA"}, days_ago=5)
    duplicate = make("ada@new.com", first_name="Adeline", title="CEO", account=acme,
                     fields={"industry": "Robots", "seats": 12})

    merged = contacts_merge(primary=primary, duplicate=duplicate, choices={
        "email": "duplicate", "first_name": "duplicate", "title": "primary", "fields.industry": "duplicate"})

    assert merged.email == "ada@new.com"  # the duplicate was deleted first, so its email was free
    assert (merged.first_name, merged.title, merged.phone, merged.account) == ("Adeline", "CTO", "1", acme)
    assert merged.fields == {"industry": "Robots", "region": "EMEA", "seats": 12}
    assert Contact.objects.count() == 1


def test_the_comparison_shows_custom_fields_and_which_side_wins_by_default():
    CustomField.objects.create(key="vip", label="VIP", type=CustomField.Type.BOOLEAN)
    primary = make("a@x.com", first_name="Ada", fields={"vip": True})
    duplicate = make("b@x.com", first_name="Ada", last_name="L", fields={"vip": False})

    compared = {f.name: f for f in merge_fields_compare(primary, duplicate)}

    assert compared["fields.vip"].conflict and compared["fields.vip"].duplicate_display == "No"
    assert compared["email"].conflict and compared["email"].default == "primary"
    assert not compared["first_name"].conflict and compared["first_name"].same
    assert not compared["last_name"].conflict and compared["last_name"].default == "duplicate"


@pytest.mark.parametrize(("ours", "theirs", "kept"), [
    (Status.SUBSCRIBED, Status.UNSUBSCRIBED, Status.UNSUBSCRIBED),
    (Status.UNSUBSCRIBED, Status.SUBSCRIBED, Status.UNSUBSCRIBED),
    (Status.BOUNCED, Status.SUBSCRIBED, Status.BOUNCED),
    (Status.SUBSCRIBED, Status.COMPLAINED, Status.COMPLAINED),
    (Status.UNCONFIRMED, Status.SUBSCRIBED, Status.SUBSCRIBED),
    (None, Status.UNSUBSCRIBED, Status.UNSUBSCRIBED),
    (Status.SUBSCRIBED, None, Status.SUBSCRIBED),
])
def test_on_a_shared_list_the_stronger_status_wins_and_nobody_is_resubscribed(ours, theirs, kept):
    newsletter = ContactList.objects.create(name="Newsletter")
    primary, duplicate = make("a@x.com", days_ago=1), make("b@x.com")
    if ours:
        list_subscription_set(contact=primary, contact_list=newsletter, status=ours)
    if theirs:
        list_subscription_set(contact=duplicate, contact_list=newsletter, status=theirs)

    merged = contacts_merge(primary=primary, duplicate=duplicate)

    assert Subscription.objects.get().contact == merged
    assert Subscription.objects.get().status == kept


def test_lists_only_the_duplicate_was_on_move_over():
    one, two = ContactList.objects.create(name="One"), ContactList.objects.create(name="Two")
    primary, duplicate = make("a@x.com"), make("b@x.com")
    list_subscription_set(contact=primary, contact_list=one, status=Status.SUBSCRIBED)
    list_subscription_set(contact=duplicate, contact_list=two, status=Status.UNSUBSCRIBED)

    contacts_merge(primary=primary, duplicate=duplicate)

    assert dict(Subscription.objects.filter(contact=primary).values_list("list__name", "status")) == {
        "One": Status.SUBSCRIBED, "Two": Status.UNSUBSCRIBED}


def test_the_merged_contact_was_known_since_the_earlier_and_active_until_the_later():
    primary, duplicate = make("a@x.com"), make("b@x.com", days_ago=30)
    Contact.objects.filter(pk=duplicate.pk).update(last_activity_at=timezone.now() + timedelta(hours=1))
    duplicate.refresh_from_db()

    merged = contacts_merge(primary=primary, duplicate=duplicate)

    assert merged.created_at == duplicate.created_at
    assert merged.last_activity_at >= duplicate.last_activity_at


def test_a_contact_cannot_be_merged_into_itself():
    ada = make("a@x.com")
    with pytest.raises(ValidationError, match="cannot be merged into itself"):
        contacts_merge(primary=ada, duplicate=ada)
    assert Contact.objects.filter(pk=ada.pk).exists()


def test_unknown_fields_and_sides_are_refused_and_nothing_changes():
    primary, duplicate = make("a@x.com"), make("b@x.com")
    with pytest.raises(ValidationError) as error:
        contacts_merge(primary=primary, duplicate=duplicate, choices={"shoe_size": "duplicate", "email": "both"})
    assert set(error.value.message_dict) == {"shoe_size", "email"}
    assert Contact.objects.count() == 2


def test_merging_a_contact_that_is_gone_is_refused():
    primary, duplicate = make("a@x.com"), make("b@x.com")
    Contact.objects.filter(pk=duplicate.pk).delete()
    with pytest.raises(ValidationError, match="no longer exists"):
        contacts_merge(primary=primary, duplicate=duplicate)


# --- The pages ------------------------------------------------------------------------------------

def test_the_duplicates_page_lists_groups_with_merge_links(client, personas, django_assert_max_num_queries):
    older = make("ada.l@gmail.com", days_ago=2)
    newer = make("adal@gmail.com")
    client.force_login(personas.marketer)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("contacts:duplicates"))

    html = response.content.decode()
    assert response.status_code == 200
    assert f"{reverse('contacts:merge')}?a={older.pk}&amp;b={newer.pk}" in html
    assert "Same email address" in html


def test_the_duplicates_page_says_when_there_are_none(client, personas):
    client.force_login(personas.admin)
    assert "No likely duplicates" in client.get(reverse("contacts:duplicates")).content.decode()


@pytest.mark.parametrize("persona", ["rep_alice", "outsider"])
def test_merging_needs_the_delete_contact_permission(client, personas, persona):
    primary, duplicate = make("a@x.com"), make("b@x.com")
    client.force_login(getattr(personas, persona))

    assert client.get(reverse("contacts:duplicates")).status_code == 403
    assert client.get(reverse("contacts:merge"), {"a": primary.pk, "b": duplicate.pk}).status_code == 403
    response = client.post(reverse("contacts:merge"), {"a": primary.pk, "b": duplicate.pk, "step": "merge"})
    assert response.status_code == 403
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("persona", ["admin", "manager", "marketer"])
def test_admins_managers_and_marketers_may_merge(client, personas, persona):
    primary, duplicate = make("a@x.com", days_ago=1), make("b@x.com")
    client.force_login(getattr(personas, persona))

    response = client.post(reverse("contacts:merge"), {"a": duplicate.pk, "b": primary.pk, "step": "merge"})

    assert response.status_code == 302
    assert list(Contact.objects.values_list("pk", flat=True)) == [primary.pk]  # the older one is kept


def test_the_merge_page_compares_then_reviews_then_merges(client, personas):
    primary = make("ada@acme.com", first_name="Ada", days_ago=1)
    duplicate = make("ada@gmail.com", first_name="Adeline", phone="+1 555")
    client.force_login(personas.admin)

    page = client.get(reverse("contacts:merge"), {"a": primary.email, "b": duplicate.pk})
    assert page.status_code == 200
    assert (page.context["primary"], page.context["duplicate"]) == (primary, duplicate)
    html = page.content.decode()
    assert 'name="choice-first_name"' in html and 'name="choice-phone"' not in html  # a blank is not a conflict

    choices = {"a": primary.pk, "b": duplicate.pk, "primary": primary.pk, "choice-first_name": "duplicate"}
    review = client.post(reverse("contacts:merge"), {**choices, "step": "review"})
    assert review.status_code == 200
    assert "Adeline" in review.content.decode() and Contact.objects.count() == 2  # nothing changed yet
    assert 'name="choice-first_name" value="duplicate"' in review.content.decode()

    response = client.post(reverse("contacts:merge"), {**choices, "step": "merge"}, follow=True)

    merged = Contact.objects.get()
    assert (merged.pk, merged.first_name, merged.phone) == (primary.pk, "Adeline", "+1 555")
    assert response.redirect_chain[-1][0] == reverse("contacts:detail", args=[primary.pk])
    assert [str(m) for m in response.context["messages"]] == ["Merged ada@gmail.com into Adeline."]


def test_the_other_contact_can_be_kept_instead(client, personas):
    older, newer = make("a@x.com", days_ago=1), make("b@x.com")
    client.force_login(personas.admin)

    page = client.get(reverse("contacts:merge"), {"a": older.pk, "b": newer.pk, "primary": newer.pk})
    assert page.context["primary"] == newer

    client.post(reverse("contacts:merge"), {"a": older.pk, "b": newer.pk, "primary": newer.pk, "step": "merge"})
    assert list(Contact.objects.values_list("pk", flat=True)) == [newer.pk]


def test_bad_merge_requests_get_clear_answers(client, personas):
    ada = make("a@x.com")
    client.force_login(personas.admin)
    url = reverse("contacts:merge")

    same = client.get(url, {"a": ada.pk, "b": ada.email})
    assert same.status_code == 400 and "cannot be merged into itself" in same.content.decode()
    # One contact given (the contact page's "Merge with…"): the form asks for the other, no error yet.
    picking = client.get(url, {"a": ada.pk})
    assert picking.status_code == 200 and f'value="{ada.pk}"' in picking.content.decode()
    assert client.post(url, {"a": ada.pk, "step": "review"}).status_code == 400
    assert client.get(url, {"a": ada.pk, "b": 999999}).status_code == 404
    assert client.get(url, {"a": ada.pk, "b": "nobody@x.com"}).status_code == 404
    assert client.get(url, {"a": ada.pk, "b": "garbage"}).status_code == 404
    assert client.post(url, {"a": ada.pk, "b": ada.pk, "step": "merge"}).status_code == 400
    assert Contact.objects.filter(pk=ada.pk).exists()


def test_contacts_the_user_cannot_see_cannot_be_merged(client, personas):
    theirs = make("a@x.com", owner=personas.rep_bob)  # Bob is not in the manager's team
    mine = make("b@x.com", owner=personas.manager)
    client.force_login(personas.manager)

    response = client.post(reverse("contacts:merge"), {"a": mine.pk, "b": theirs.pk, "step": "merge"})

    assert response.status_code == 404
    assert Contact.objects.count() == 2


def test_merging_keeps_the_duplicates_form_submissions_and_pending_opt_in_on_the_primary():
    from contacts.leadforms.builder import leadform_create
    from contacts.leadforms.optin import confirm_token, opt_in_confirm
    from contacts.models import LeadFormSubmission, OptInRequest

    weekly = ContactList.objects.create(name="Weekly", double_opt_in=True)
    form = leadform_create(name="Ebook")
    primary = contact_create(email="ada@acme.com")
    duplicate = contact_create(email="ada.lovelace@gmail.com")
    submission = LeadFormSubmission.objects.create(form=form, contact=duplicate, data={"email": duplicate.email},
                                                   submitted_at=timezone.now())
    list_subscription_set(contact=duplicate, contact_list=weekly, status=Status.UNCONFIRMED, source="form")
    request = OptInRequest.objects.create(submission=submission, contact=duplicate)
    request.lists.set([weekly])

    merged = contacts_merge(primary=primary, duplicate=duplicate)

    assert LeadFormSubmission.objects.get().contact == merged
    assert OptInRequest.objects.get().contact == merged
    assert opt_in_confirm(confirm_token(request)) is not None
    assert Subscription.objects.get(contact=merged, list=weekly).status == Status.SUBSCRIBED
    assert Event.objects.get(contact=merged, type="contacts_merged").properties["moved"]["form_submissions"] == 1
