"""Accounts: the services (domains, hierarchy, delete, linking by email domain) and the pages."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contacts.accounts import (
    account_ancestors,
    account_create,
    account_delete,
    account_link_contacts,
    account_suggestion_for,
    account_update,
    email_domain,
    normalize_domain,
)
from contacts.models import Account, Contact, Event
from pipelines.models import Deal, Pipeline, Stage

pytestmark = pytest.mark.django_db


def contact(email, **extra) -> Contact:
    return Contact.objects.create(email=email, **extra)


@pytest.fixture
def stage():
    pipeline = Pipeline.objects.create(name="Sales")
    return Stage.objects.create(pipeline=pipeline, name="Proposal", position=0, probability=60)


def deal(stage, account, title="Deal", status=Deal.Status.OPEN, **extra) -> Deal:
    return Deal.objects.create(title=title, pipeline=stage.pipeline, stage=stage, account=account, status=status,
                               value=Decimal("1000"), **extra)


# --- Domains ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("acme.com", "acme.com"), ("  ACME.com ", "acme.com"), ("www.acme.com", "acme.com"),
    ("https://www.Acme.com/about?x=1", "acme.com"), ("@acme.com", "acme.com"), ("eu.acme.com", "eu.acme.com"),
    ("", ""),
])
def test_domains_are_stored_without_scheme_www_or_path(given, stored):
    assert normalize_domain(given) == stored
    assert account_create(name="Acme", domain=given).domain == stored


@pytest.mark.parametrize("bad", ["acme", "acme .com", "acme..com", "-acme.com", "acme_corp.com"])
def test_a_domain_that_is_not_one_is_refused_on_its_field(bad):
    with pytest.raises(ValidationError) as error:
        account_create(name="Acme", domain=bad)
    assert "domain" in error.value.error_dict
    assert not Account.objects.exists()


def test_the_email_domain_is_the_part_after_the_last_at():
    assert email_domain("Ada@Acme.COM") == "acme.com"
    assert email_domain("not-an-email") == ""


def test_an_account_needs_a_name_and_a_non_negative_revenue():
    with pytest.raises(ValidationError) as error:
        account_create(name="  ", annual_revenue=Decimal("-1"))
    assert set(error.value.error_dict) == {"name", "annual_revenue"}


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as error:
        account_create(name="Acme", employees=3)
    assert "employees" in error.value.error_dict


# --- The hierarchy -----------------------------------------------------------------------------------

def test_the_ancestors_come_top_first():
    group = account_create(name="Acme Group")
    europe = account_create(name="Acme Europe", parent=group)
    france = account_create(name="Acme France", parent=europe)

    assert [a.name for a in account_ancestors(france)] == ["Acme Group", "Acme Europe"]
    assert account_ancestors(group) == []


def test_a_parent_that_would_make_a_loop_is_refused():
    group = account_create(name="Acme Group")
    europe = account_create(name="Acme Europe", parent=group)
    france = account_create(name="Acme France", parent=europe)

    with pytest.raises(ValidationError) as error:
        account_update(account=group, parent=france)
    assert "sub-accounts" in error.value.message_dict["parent"][0]
    with pytest.raises(ValidationError) as error:
        account_update(account=group, parent=group)
    assert "itself" in error.value.message_dict["parent"][0]
    group.refresh_from_db()
    assert group.parent is None

    # Moving a branch elsewhere is fine.
    other = account_create(name="Other Holding")
    assert account_update(account=europe, parent=other).parent == other


# --- Delete ---------------------------------------------------------------------------------------

def test_deleting_an_account_keeps_its_contacts_deals_and_sub_accounts(stage, django_capture_on_commit_callbacks):
    group = account_create(name="Acme Group")
    acme = account_create(name="Acme", parent=group)
    child = account_create(name="Acme Labs", parent=acme)
    ada = contact("ada@acme.com", account=acme)
    a_deal = deal(stage, acme)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        account_delete(account=acme)

    assert not Account.objects.filter(pk=acme.pk).exists()
    ada.refresh_from_db()
    a_deal.refresh_from_db()
    child.refresh_from_db()
    assert ada.account is None and a_deal.account is None and child.parent is None
    event = Event.objects.get(contact=ada, type="field_changed")
    assert event.properties == {"changes": {"account_id": [acme.pk, None]}}
    assert len(callbacks) == 1
    assert Account.objects.filter(pk=group.pk).exists()


# --- Domain matching ------------------------------------------------------------------------------

def test_linking_by_domain_takes_only_unlinked_contacts_at_exactly_that_domain(django_capture_on_commit_callbacks):
    acme = account_create(name="Acme", domain="acme.com")
    other = account_create(name="Other")
    ada = contact("ada@acme.com")
    bob = contact("BOB@ACME.COM".lower())
    elsewhere = contact("cy@acme.com", account=other)
    for email in ("dee@eu.acme.com", "eve@notacme.com", "fay@acme.com.evil.io", "gus@gmail.com"):
        contact(email)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        linked = account_link_contacts(account=acme)

    assert linked == 2
    assert set(Contact.objects.filter(account=acme).values_list("email", flat=True)) == {ada.email, bob.email}
    elsewhere.refresh_from_db()
    assert elsewhere.account == other
    events = Event.objects.filter(type="field_changed")
    assert sorted(events.values_list("contact_id", flat=True)) == sorted([ada.pk, bob.pk])
    assert events.first().properties == {"changes": {"account_id": [None, acme.pk]}}
    assert len(callbacks) == 1  # one publication for the batch
    ada.refresh_from_db()
    assert ada.last_activity_at == events.first().occurred_at
    assert account_link_contacts(account=acme) == 0


def test_a_rep_links_only_the_contacts_they_can_see(personas):
    acme = account_create(name="Acme", domain="acme.com")
    mine = contact("mine@acme.com", owner=personas.rep_alice)
    unassigned = contact("nobody@acme.com")
    bobs = contact("bobs@acme.com", owner=personas.rep_bob)

    assert account_link_contacts(account=acme, user=personas.rep_alice) == 2

    assert set(Contact.objects.filter(account=acme)) == {mine, unassigned}
    bobs.refresh_from_db()
    assert bobs.account is None


def test_accounts_on_free_mail_domains_never_match():
    gmail = Account.objects.create(name="Google?", domain="gmail.com")
    contact("someone@gmail.com")

    assert account_link_contacts(account=gmail) == 0
    assert account_suggestion_for(Contact.objects.get()) is None


def test_the_suggestion_is_the_account_at_the_contacts_email_domain():
    acme = account_create(name="Acme", domain="acme.com")
    Account.objects.create(name="Acme (later)", domain="acme.com")
    legacy = Account.objects.create(name="Legacy", domain="www.legacy.io")  # stored before domains were normalised

    assert account_suggestion_for(contact("ada@acme.com")) == acme  # the oldest of two
    assert account_suggestion_for(contact("lee@legacy.io")) == legacy
    assert account_suggestion_for(contact("eu@eu.acme.com")) is None
    assert account_suggestion_for(contact("cy@acme.com", account=legacy)) is None  # already has an account


def test_the_suggestion_is_only_an_account_the_user_can_see(personas):
    Account.objects.create(name="Acme", domain="acme.com", owner=personas.rep_bob)
    ada = contact("ada@acme.com")

    assert account_suggestion_for(ada, personas.rep_alice) is None
    assert account_suggestion_for(ada, personas.manager) is None  # Bob is in another team
    assert account_suggestion_for(ada, personas.admin).name == "Acme"


# --- The list page --------------------------------------------------------------------------------

def login(client, user):
    client.force_login(user)
    return client


def test_the_list_counts_contacts_and_open_deals_per_row_without_a_query_per_row(
        client, personas, stage, django_assert_max_num_queries):
    accounts = Account.objects.bulk_create([Account(name=f"Company {i:02}", domain=f"c{i}.com") for i in range(30)])
    Contact.objects.bulk_create([Contact(email=f"p{i}@c0.com", account=accounts[0]) for i in range(3)])
    deal(stage, accounts[0])
    deal(stage, accounts[0], status=Deal.Status.WON)
    deal(stage, accounts[1])
    login(client, personas.admin)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("contacts:account_list"))

    assert response.status_code == 200
    page = response.context["page"]
    assert len(page.object_list) == 25 and page.paginator.count == 30
    first, second = page.object_list[0], page.object_list[1]
    assert (first.name, first.contact_count, first.open_deal_count) == ("Company 00", 3, 1)
    assert (second.contact_count, second.open_deal_count) == (0, 1)
    assert client.get(reverse("contacts:account_list") + "?page=2").context["page"].object_list[0].name == "Company 25"


def test_the_list_searches_names_and_domains_and_filters_by_industry_and_owner(client, personas):
    Account.objects.create(name="Acme Corp", domain="acme.com", industry="SaaS", owner=personas.marketer)
    Account.objects.create(name="Brightwave", domain="bright.io", industry="Media")
    Account.objects.create(name="Cobalt", domain="cobalt-acme.net", industry="SaaS")
    login(client, personas.admin)

    def names(query):
        return [a.name for a in client.get(reverse("contacts:account_list") + query).context["page"]]

    assert names("?q=ACME") == ["Acme Corp", "Cobalt"]
    assert names("?q=bright.io") == ["Brightwave"]
    assert names("?industry=SaaS") == ["Acme Corp", "Cobalt"]
    assert names(f"?owner={personas.marketer.pk}") == ["Acme Corp"]
    assert names("?owner=none&industry=SaaS") == ["Cobalt"]
    assert names("?sort=-name") == ["Cobalt", "Brightwave", "Acme Corp"]
    assert names("?sort=-created") == ["Cobalt", "Brightwave", "Acme Corp"]
    assert names("?q=zzz") == []
    assert b"No account matches these filters" in client.get(reverse("contacts:account_list") + "?q=zzz").content


def test_the_list_answers_htmx_searches_with_the_results_only(client, personas):
    Account.objects.create(name="Acme Corp")
    login(client, personas.admin)

    response = client.get(reverse("contacts:account_list") + "?q=acme", headers={
        "HX-Request": "true", "HX-Target": "account-results"})

    html = response.content.decode()
    assert 'id="account-results"' in html and "Acme Corp" in html and "<html" not in html


def test_an_empty_list_says_what_to_do_next(client, personas):
    response = login(client, personas.rep_alice).get(reverse("contacts:account_list"))
    assert "Add an account" in response.content.decode()
    assert "No accounts yet" in response.content.decode()


def test_reps_see_their_own_and_unassigned_accounts(client, personas):
    Account.objects.create(name="Alice's", owner=personas.rep_alice)
    Account.objects.create(name="Bob's", owner=personas.rep_bob)
    Account.objects.create(name="Nobody's")
    login(client, personas.rep_alice)

    assert [a.name for a in client.get(reverse("contacts:account_list")).context["page"]] == ["Alice's", "Nobody's"]
    bobs = Account.objects.get(name="Bob's")
    assert client.get(reverse("contacts:account_detail", args=[bobs.pk])).status_code == 404


def test_someone_without_a_role_sees_no_accounts(client, personas):
    acme = Account.objects.create(name="Acme")
    login(client, personas.outsider)
    assert client.get(reverse("contacts:account_detail", args=[acme.pk])).status_code == 404
    assert client.get(reverse("contacts:account_create")).status_code == 403


# --- The account page ------------------------------------------------------------------------------

def test_the_account_page_shows_the_hierarchy_contacts_deals_and_unlinked_domain_contacts(
        client, personas, stage, django_assert_max_num_queries):
    group = account_create(name="Acme Group")
    acme = account_create(name="Acme", domain="acme.com", parent=group, industry="SaaS",
                          annual_revenue=Decimal("1250000"))
    account_create(name="Acme Labs", parent=acme)
    Contact.objects.bulk_create([Contact(email=f"p{i}@acme.com", first_name=f"P{i}", account=acme)
                                 for i in range(30)])
    contact("new@acme.com")
    contact("other@acme.com", account=group)
    deal(stage, acme, title="Big renewal")
    deal(stage, acme, title="Lost one", status=Deal.Status.LOST)
    login(client, personas.admin)

    with django_assert_max_num_queries(14):
        response = client.get(reverse("contacts:account_detail", args=[acme.pk]))

    html = response.content.decode()
    assert response.context["summary"].ancestors[0].name == "Acme Group"
    assert "Acme Labs" in html and "Big renewal" in html and "Lost one" in html
    assert len(response.context["contacts_page"].object_list) == 25
    assert response.context["contacts_page"].paginator.count == 30
    assert response.context["summary"].unlinked_count == 1
    assert "1 contact with an @acme.com email isn&#x27;t linked" in html
    assert "1,250,000.00" in html


def test_the_link_them_button_links_the_domain_contacts(client, personas):
    acme = account_create(name="Acme", domain="acme.com")
    contact("ada@acme.com")
    contact("bob@acme.com")
    login(client, personas.rep_alice)

    response = client.post(reverse("contacts:account_link_contacts", args=[acme.pk]), follow=True)

    assert Contact.objects.filter(account=acme).count() == 2
    assert "Linked 2 contacts to “Acme”." in [str(m) for m in response.context["messages"]]
    assert client.get(reverse("contacts:account_detail", args=[acme.pk])).context["summary"].unlinked_count == 0


def test_linking_needs_a_post(client, personas):
    acme = account_create(name="Acme", domain="acme.com")
    login(client, personas.admin)
    assert client.get(reverse("contacts:account_link_contacts", args=[acme.pk])).status_code == 405


# --- The form ---------------------------------------------------------------------------------------

def test_adding_an_account(client, personas):
    login(client, personas.rep_alice)
    assert client.get(reverse("contacts:account_create")).status_code == 200

    response = client.post(reverse("contacts:account_create"), {
        "name": "Acme", "domain": "https://www.acme.com/", "industry": "SaaS", "size": "51-200",
        "annual_revenue": "1000000", "owner": personas.rep_alice.pk})

    acme = Account.objects.get()
    assert response.status_code == 302 and response.url == reverse("contacts:account_detail", args=[acme.pk])
    assert (acme.domain, acme.size, acme.owner) == ("acme.com", "51-200", personas.rep_alice)


def test_field_errors_come_back_by_their_fields(client, personas):
    login(client, personas.admin)

    response = client.post(reverse("contacts:account_create"), {"name": "", "domain": "not a domain",
                                                               "annual_revenue": "-5"})

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "annual_revenue"}
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "is-invalid" in html
    # The service's own checks run once the form's pass.
    response = client.post(reverse("contacts:account_create"), {"name": "Acme", "domain": "not a domain"})
    assert response.status_code == 400 and "domain" in response.context["form"].errors
    assert not Account.objects.exists()


def test_editing_into_a_loop_shows_the_error_on_the_parent_field(client, personas):
    group = account_create(name="Acme Group")
    child = account_create(name="Acme EU", parent=group)
    login(client, personas.manager)

    response = client.post(reverse("contacts:account_edit", args=[group.pk]), {"name": "Acme Group",
                                                                              "parent": f"Acme EU · #{child.pk}"})

    assert response.status_code == 400
    assert "loop" in response.context["form"].errors["parent"][0]
    group.refresh_from_db()
    assert group.parent is None


def test_the_parent_is_picked_by_its_suggestion_or_its_exact_name(client, personas):
    group = account_create(name="Acme Group")
    acme = account_create(name="Acme")
    account_create(name="Twin")
    account_create(name="twin")
    login(client, personas.admin)
    url = reverse("contacts:account_edit", args=[acme.pk])

    assert client.post(url, {"name": "Acme", "parent": "acme group"}).status_code == 302
    acme.refresh_from_db()
    assert acme.parent == group
    page = client.get(url)
    assert page.context["form"].initial["parent"] == f"Acme Group · #{group.pk}"

    for typed, message in [("Nowhere Inc", "There is no account “Nowhere Inc”"),
                           ("Twin", "Several accounts are called “Twin”"), ("Whatever · #999999", "There is no")]:
        response = client.post(url, {"name": "Acme", "parent": typed})
        assert response.status_code == 400
        assert message in response.context["form"].errors["parent"][0]
    assert client.post(url, {"name": "Acme", "parent": ""}).status_code == 302
    acme.refresh_from_db()
    assert acme.parent is None


def test_the_parent_suggestions_match_what_is_typed_among_visible_accounts(client, personas):
    mine = Account.objects.create(name="Acme Group", owner=personas.rep_alice)
    Account.objects.create(name="Acme Hidden", owner=personas.rep_bob)
    Account.objects.create(name="Brightwave")
    login(client, personas.rep_alice)

    response = client.get(reverse("contacts:account_options"), {"parent": "ACME"})

    assert response.content.decode().strip() == f'<option value="Acme Group · #{mine.pk}"></option>'
    assert "Brightwave" in client.get(reverse("contacts:account_options")).content.decode()


def test_add_a_sub_account_starts_with_the_parent_filled_in(client, personas):
    group = account_create(name="Acme Group")
    login(client, personas.manager)

    page = client.get(reverse("contacts:account_create"), {"parent": group.pk})

    assert page.context["form"].initial["parent"] == f"Acme Group · #{group.pk}"
    client.post(reverse("contacts:account_create"), {"name": "Acme EU", "parent": f"Acme Group · #{group.pk}"})
    assert Account.objects.get(name="Acme EU").parent == group


def test_editing_saves_and_returns_to_the_account(client, personas):
    acme = account_create(name="Acme", owner=personas.rep_alice)
    login(client, personas.rep_alice)
    page = client.get(reverse("contacts:account_edit", args=[acme.pk]))
    assert page.context["form"].initial["name"] == "Acme"

    response = client.post(reverse("contacts:account_edit", args=[acme.pk]), {
        "name": "Acme Inc", "industry": "Robots", "owner": personas.rep_alice.pk}, follow=True)

    acme.refresh_from_db()
    assert (acme.name, acme.industry) == ("Acme Inc", "Robots")
    assert "Saved “Acme Inc”." in [str(m) for m in response.context["messages"]]


# --- Delete page ------------------------------------------------------------------------------------

def test_reps_cannot_delete_accounts(client, personas):
    acme = account_create(name="Acme")
    login(client, personas.rep_alice)

    assert client.get(reverse("contacts:account_delete", args=[acme.pk])).status_code == 403
    assert client.post(reverse("contacts:account_delete", args=[acme.pk])).status_code == 403
    assert Account.objects.filter(pk=acme.pk).exists()


def test_deleting_asks_first_then_deletes(client, personas, stage):
    acme = account_create(name="Acme")
    contact("ada@acme.com", account=acme)
    deal(stage, acme)
    login(client, personas.manager)

    page = client.get(reverse("contacts:account_delete", args=[acme.pk]))
    assert page.status_code == 200
    assert "1 contact stays, without an account" in page.content.decode()
    assert Account.objects.filter(pk=acme.pk).exists()

    response = client.post(reverse("contacts:account_delete", args=[acme.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("contacts:account_list")
    assert not Account.objects.exists()
    assert Contact.objects.count() == 1 and Deal.objects.count() == 1


# --- The contact page's "Link to <account>?" button ----------------------------------------------------

def test_the_link_button_links_the_contact_through_the_contact_service(client, personas):
    acme = account_create(name="Acme", domain="acme.com")
    ada = contact("ada@acme.com")
    login(client, personas.rep_alice)

    response = client.post(reverse("contacts:contact_link_account", args=[ada.pk, acme.pk]),
                           headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Linked to" in response.content.decode()
    ada.refresh_from_db()
    assert ada.account == acme
    event = Event.objects.get(contact=ada, type="field_changed")
    assert event.properties["changes"] == {"account_id": [None, acme.pk]}


def test_the_link_button_returns_to_a_safe_next_page_only(client, personas):
    acme = account_create(name="Acme", domain="acme.com")
    ada = contact("ada@acme.com")
    login(client, personas.admin)
    url = reverse("contacts:contact_link_account", args=[ada.pk, acme.pk])

    assert client.post(url, {"next": "/contacts/accounts/"}).url == "/contacts/accounts/"
    assert not client.post(url, {"next": "https://evil.example/"}).url.startswith("https://evil")


def test_the_link_button_needs_contacts_and_accounts_the_user_can_see(client, personas):
    acme = account_create(name="Acme", domain="acme.com")
    bobs = contact("bob@acme.com", owner=personas.rep_bob)
    login(client, personas.rep_alice)

    assert client.post(reverse("contacts:contact_link_account", args=[bobs.pk, acme.pk])).status_code == 404
    assert client.post(reverse("contacts:contact_link_account", args=[bobs.pk, 999999])).status_code == 404
    login(client, personas.outsider)
    assert client.post(reverse("contacts:contact_link_account", args=[bobs.pk, acme.pk])).status_code == 403
    bobs.refresh_from_db()
    assert bobs.account is None
