"""Settings → Custom fields, Tags and Lists: who may use them, forms, confirmations and counts."""

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import catalog
from contacts.models import Contact, ContactList, CustomField, Subscription, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_admin(client, personas):
    client.force_login(personas.admin)
    return client


@pytest.fixture
def catalog_rows(db):
    """One of each: a field, a tag and a list, so every page with a pk has something to show."""
    field = catalog.custom_field_create(key="industry", label="Industry", type="choice", choices=["SaaS", "Retail"])
    tag = catalog.tag_create(name="vip")
    contact_list = catalog.list_create(name="Monthly newsletter")
    return field, tag, contact_list


def page_urls(field, tag, contact_list) -> dict[str, list[str]]:
    """The pages of each area, by the model whose catalog they manage."""
    return {
        "CustomField": [reverse("contacts-settings:fields"), reverse("contacts-settings:field_create"),
                        reverse("contacts-settings:field_edit", args=[field.pk]),
                        reverse("contacts-settings:field_delete", args=[field.pk])],
        "Tag": [reverse("contacts-settings:tags"), reverse("contacts-settings:tag_edit", args=[tag.pk]),
                reverse("contacts-settings:tag_delete", args=[tag.pk]),
                reverse("contacts-settings:tag_merge", args=[tag.pk]) + "?into=vip"],
        "ContactList": [reverse("contacts-settings:lists"), reverse("contacts-settings:list_create"),
                        reverse("contacts-settings:list_edit", args=[contact_list.pk]),
                        reverse("contacts-settings:list_delete", args=[contact_list.pk])],
    }


@pytest.mark.parametrize(("persona", "allowed"), [
    ("admin", {"CustomField", "Tag", "ContactList"}),
    ("manager", {"Tag", "ContactList"}),
    ("marketer", {"Tag", "ContactList"}),
    ("rep_alice", set()),
    ("outsider", set()),
])
def test_who_may_open_which_settings_page(client, personas, catalog_rows, persona, allowed):
    client.force_login(getattr(personas, persona))
    for area, urls in page_urls(*catalog_rows).items():
        for url in urls:
            response = client.get(url)
            expected = (200, 400) if area in allowed else (403,)  # 400: the merge page refuses merging into itself
            assert response.status_code in expected, (persona, url, response.status_code)
            if response.status_code == 403:
                assert "Ask an admin" in response.content.decode()


def test_forbidden_users_cannot_post_either(client, personas, catalog_rows):
    field, tag, contact_list = catalog_rows
    client.force_login(personas.marketer)
    assert client.post(reverse("contacts-settings:field_delete", args=[field.pk])).status_code == 403
    client.force_login(personas.rep_alice)
    assert client.post(reverse("contacts-settings:tag_delete", args=[tag.pk])).status_code == 403
    assert client.post(reverse("contacts-settings:tag_create"), {"new-name": "x"}).status_code == 403
    assert client.post(reverse("contacts-settings:list_delete", args=[contact_list.pk])).status_code == 403
    assert CustomField.objects.exists() and Tag.objects.count() == 1 and ContactList.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("contacts-settings:tags"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- custom fields

def test_the_fields_page_says_what_to_do_when_there_are_none(as_admin):
    response = as_admin.get(reverse("contacts-settings:fields"))
    assert response.status_code == 200
    assert "No custom fields yet" in response.content.decode()
    assert reverse("contacts-settings:field_create") in response.content.decode()


def test_the_fields_page_lists_fields_in_order_in_a_fixed_number_of_queries(as_admin, django_assert_max_num_queries):
    for i in range(3):
        catalog.custom_field_create(key=f"f{i}", label=f"Field {i}", type="number")
    with django_assert_max_num_queries(20) as few:
        as_admin.get(reverse("contacts-settings:fields"))
    for i in range(3, 15):
        catalog.custom_field_create(key=f"f{i}", label=f"Field {i}", type="choice", choices=["A", "B"])

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = as_admin.get(reverse("contacts-settings:fields"))

    html = response.content.decode()
    assert [f"Field {i}" in html for i in range(15)] == [True] * 15
    assert html.index("Field 0") < html.index("Field 14")
    assert "Range index building…" in html  # no worker in this test: the indexes are not there yet


def test_an_admin_adds_a_single_choice_field_with_options_one_per_line(as_admin):
    response = as_admin.post(reverse("contacts-settings:field_create"), {
        "label": "Industry", "key": "", "type": "choice", "choices": "SaaS\r\n\r\n Retail \r\nFinance",
        "help_text": "What they do"})

    field = CustomField.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts-settings:fields") + f"#field-{field.pk}"
    assert (field.key, field.type, field.choices, field.help_text) == ("industry", "choice",
                                                                       ["SaaS", "Retail", "Finance"], "What they do")


def test_field_form_errors_come_back_by_field_with_the_input_kept(as_admin):
    catalog.custom_field_create(key="industry", label="Industry", type="text")

    response = as_admin.post(reverse("contacts-settings:field_create"), {
        "label": "Sector", "key": "industry", "type": "choice", "choices": ""})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="error-key"' in html and "There is already a custom field with the key" in html
    assert 'data-testid="error-choices"' in html and "List at least one option" in html
    assert 'value="Sector"' in html
    assert CustomField.objects.count() == 1

    response = as_admin.post(reverse("contacts-settings:field_create"), {"label": "", "key": "email", "type": "x"})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="error-label"' in html and 'data-testid="error-type"' in html


def test_editing_a_field_in_use_locks_key_and_type_and_refuses_removing_used_options(as_admin, catalog_rows):
    field = catalog_rows[0]
    Contact.objects.create(email="a@example.com", fields={"industry": "Retail"})
    url = reverse("contacts-settings:field_edit", args=[field.pk])

    html = as_admin.get(url).content.decode()
    assert "Locked: 1 contact has a value for this field" in html
    assert html.count(" disabled") >= 2

    # A disabled input is not posted; a crafted one is ignored too.
    response = as_admin.post(url, {"label": "Sector", "key": "sector", "type": "text", "choices": "SaaS"})
    assert response.status_code == 400
    assert "These options are still in use: “Retail” by 1 contact." in response.content.decode()

    response = as_admin.post(url, {"label": "Sector", "choices": "SaaS\nRetail\nMedia", "help_text": ""})
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.key, field.type, field.label, field.choices) == ("industry", "choice", "Sector",
                                                                   ["SaaS", "Retail", "Media"])


def test_deleting_a_field_asks_first_and_says_how_many_values_go(as_admin, catalog_rows):
    field = catalog_rows[0]
    Contact.objects.bulk_create([Contact(email=f"c{i}@example.com", fields={"industry": "SaaS"}) for i in range(2)])
    url = reverse("contacts-settings:field_delete", args=[field.pk])

    html = as_admin.get(url).content.decode()
    assert "2 contacts have a value for it; those values are removed." in html
    assert "Imports, API calls and filters that use the key “industry” stop working." in html
    assert CustomField.objects.exists()

    response = as_admin.post(url, follow=True)

    assert response.redirect_chain[-1][0] == reverse("contacts-settings:fields")
    assert "Deleted the field “Industry”. Its values are being removed" in response.content.decode()
    assert not CustomField.objects.exists()


def test_the_arrows_move_a_field(as_admin):
    a = catalog.custom_field_create(key="a", label="A", type="text")
    b = catalog.custom_field_create(key="b", label="B", type="text")

    response = as_admin.post(reverse("contacts-settings:field_move", args=[b.pk]), {"position": "0"})

    assert response.status_code == 302
    assert list(CustomField.objects.values_list("pk", flat=True)) == [b.pk, a.pk]
    as_admin.post(reverse("contacts-settings:field_move", args=[b.pk]), {"position": "nope"})
    assert list(CustomField.objects.values_list("pk", flat=True)) == [b.pk, a.pk]


# --- tags

@pytest.fixture
def tagged(db):
    """Tags carried by 3, 1 and 0 contacts."""
    tags = [catalog.tag_create(name=name) for name in ("newsletter", "vip", "unused")]
    contacts = Contact.objects.bulk_create([Contact(email=f"c{i}@example.com") for i in range(3)])
    Contact.tags.through.objects.bulk_create(
        [Contact.tags.through(contact_id=c.pk, tag_id=tags[0].pk) for c in contacts]
        + [Contact.tags.through(contact_id=contacts[0].pk, tag_id=tags[1].pk)])
    return tags


def test_the_tags_page_shows_how_many_contacts_carry_each_without_n_plus_1(as_admin, tagged,
                                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        response = as_admin.get(reverse("contacts-settings:tags"))
    rows = {tag.name: tag.contact_count for tag in response.context["page"].object_list}
    assert rows == {"newsletter": 3, "unused": 0, "vip": 1}
    assert f'{reverse("contacts:list")}?tag=newsletter' in response.content.decode()

    Tag.objects.bulk_create([Tag(name=f"extra-{i}") for i in range(30)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        as_admin.get(reverse("contacts-settings:tags"))


def test_the_tags_page_pages_and_searches_and_answers_htmx_with_the_table(as_admin):
    Tag.objects.bulk_create([Tag(name=f"tag-{i:03}") for i in range(60)] + [Tag(name="webinar-attendee")])

    first = as_admin.get(reverse("contacts-settings:tags"))
    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert len(as_admin.get(reverse("contacts-settings:tags") + "?page=2").context["page"].object_list) == 11

    response = as_admin.get(reverse("contacts-settings:tags") + "?q=WEBINAR", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="tag-table">')
    assert "<html" not in html
    assert "webinar-attendee" in html and "tag-001" not in html

    html = as_admin.get(reverse("contacts-settings:tags") + "?q=nothing-like-this").content.decode()
    assert "No tag contains “nothing-like-this”" in html


def test_the_tags_page_says_what_to_do_when_there_are_none(as_admin):
    assert "No tags yet" in as_admin.get(reverse("contacts-settings:tags")).content.decode()


def test_adding_a_tag_and_a_duplicate(as_admin, tagged):
    response = as_admin.post(reverse("contacts-settings:tag_create"), {"new-name": "Trial users"})
    assert response.status_code == 302 and response["Location"].endswith("?q=Trial+users")
    assert Tag.objects.filter(name="Trial users").exists()

    response = as_admin.post(reverse("contacts-settings:tag_create"), {"new-name": "VIP"})
    assert response.status_code == 400
    assert 'data-testid="error-name"' in response.content.decode()
    assert "There is already a tag “vip”" in response.content.decode()


def test_renaming_a_tag(as_admin, tagged):
    vip = tagged[1]
    url = reverse("contacts-settings:tag_edit", args=[vip.pk])
    assert "1 contact carries this tag" in as_admin.get(url).content.decode()

    response = as_admin.post(url, {"name": "newsletter"})
    assert response.status_code == 400 and "To combine the two, merge them." in response.content.decode()

    response = as_admin.post(url, {"name": "Key accounts"}, follow=True)
    assert "Renamed “vip” to “Key accounts”." in response.content.decode()
    vip.refresh_from_db()
    assert vip.name == "Key accounts" and vip.contacts.count() == 1


def test_merging_a_tag_is_confirmed_first(as_admin, tagged):
    newsletter, vip, _unused = tagged
    url = reverse("contacts-settings:tag_merge", args=[vip.pk])

    response = as_admin.get(url, {"into": "NEWSLETTER"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Merge “vip” into “newsletter”?" in html
    assert Tag.objects.filter(pk=vip.pk).exists()

    response = as_admin.get(url, {"into": "no-such-tag"})
    assert response.status_code == 400 and "There is no tag “no-such-tag”." in response.content.decode()

    response = as_admin.post(url, {"into": "newsletter"}, follow=True)
    assert "Merged “vip” into “newsletter”: 0 contacts gained it." in response.content.decode()
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert newsletter.contacts.count() == 3


def test_deleting_a_tag_says_how_many_contacts_carry_it(as_admin, tagged):
    newsletter = tagged[0]
    url = reverse("contacts-settings:tag_delete", args=[newsletter.pk])

    assert "3 contacts carry it and will lose it." in as_admin.get(url).content.decode()
    response = as_admin.post(url, follow=True)

    assert "Deleted the tag “newsletter”; 3 contacts lost it." in response.content.decode()
    assert not Tag.objects.filter(pk=newsletter.pk).exists()
    assert Contact.objects.count() == 3


def test_a_manager_manages_tags(client, personas, tagged):
    client.force_login(personas.manager)
    response = client.post(reverse("contacts-settings:tag_edit", args=[tagged[2].pk]), {"name": "dormant"})
    assert response.status_code == 302
    assert Tag.objects.filter(name="dormant").exists()


# --- lists

@pytest.fixture
def newsletter(db):
    contact_list = catalog.list_create(name="Monthly newsletter", description="Once a month", double_opt_in=True)
    contacts = Contact.objects.bulk_create([Contact(email=f"c{i}@example.com") for i in range(6)])
    statuses = ["subscribed", "subscribed", "subscribed", "unsubscribed", "bounced", "unconfirmed"]
    now = timezone.now()
    Subscription.objects.bulk_create([Subscription(contact=c, list=contact_list, status=s, changed_at=now)
                                      for c, s in zip(contacts, statuses, strict=True)])
    return contact_list


def test_the_lists_page_counts_subscribers_by_status_without_n_plus_1(as_admin, newsletter,
                                                                      django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        response = as_admin.get(reverse("contacts-settings:lists"))
    row = response.context["lists"][0]
    assert row.status_counts == [("subscribed", 3), ("unconfirmed", 1), ("unsubscribed", 1), ("bounced", 1),
                                 ("complained", 0)]
    html = response.content.decode()
    assert "Double opt-in" in html and "Once a month" in html
    assert f"?list={newsletter.pk}&amp;list_status=bounced" in html

    for i in range(10):
        catalog.list_create(name=f"List {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        as_admin.get(reverse("contacts-settings:lists"))


def test_the_lists_page_says_what_to_do_when_there_are_none(as_admin):
    assert "No lists yet" in as_admin.get(reverse("contacts-settings:lists")).content.decode()


def test_creating_and_editing_a_list(as_admin, newsletter):
    response = as_admin.post(reverse("contacts-settings:list_create"), {"name": "monthly NEWSLETTER"})
    assert response.status_code == 400
    assert "There is already a list called" in response.content.decode()

    response = as_admin.post(reverse("contacts-settings:list_create"),
                             {"name": "Webinar invites", "description": "", "double_opt_in": "on"})
    assert response.status_code == 302
    assert ContactList.objects.get(name="Webinar invites").double_opt_in is True

    url = reverse("contacts-settings:list_edit", args=[newsletter.pk])
    assert 'value="Monthly newsletter"' in as_admin.get(url).content.decode()
    as_admin.post(url, {"name": "Newsletter", "description": "Monthly"})
    newsletter.refresh_from_db()
    assert (newsletter.name, newsletter.description, newsletter.double_opt_in) == ("Newsletter", "Monthly", False)
    assert newsletter.subscriptions.count() == 6


def test_deleting_a_list_says_how_many_are_subscribed(as_admin, newsletter):
    url = reverse("contacts-settings:list_delete", args=[newsletter.pk])

    html = as_admin.get(url).content.decode()
    assert "3 contacts are subscribed, out of 6 with a status on it." in html

    response = as_admin.post(url, follow=True)
    assert "Deleted the list “Monthly newsletter”." in response.content.decode()
    assert not ContactList.objects.exists() and not Subscription.objects.exists()
    assert Contact.objects.count() == 6
