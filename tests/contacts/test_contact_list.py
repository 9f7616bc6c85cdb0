"""The contact list: every filter, sorting, keyset pages both ways, counts, scoping per persona, bad input,
empty states, the "Add a contact" form, and a fixed number of queries whatever the page shows."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts import selectors
from contacts.models import Account, Contact, ContactList, CustomField, Event, Subscription, Tag
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "contact-results"}


def emails(response) -> list[str]:
    """The emails of the rows shown, in order (from the HTML: htmx fragments carry no test context)."""
    assert response.status_code == 200, response.content.decode()[:2000]
    return re.findall(r'class="[^"]*contact-email">([^<]+)<', response.content.decode())


@pytest.fixture
def stages():
    return {s.name: s for s in stage_sets_ensure_defaults().stages.all()}


@pytest.fixture
def book(personas, stages):
    """A small, varied address book: owners, stages, statuses, tags, a list, custom fields, dates."""
    acme = Account.objects.create(name="Acme Rockets", domain="acme.com")
    CustomField.objects.create(key="industry", label="Industry", type=CustomField.Type.CHOICE,
                               choices=["SaaS", "Retail"])
    CustomField.objects.create(key="headcount", label="Employee headcount", type=CustomField.Type.NUMBER)
    now = timezone.now()
    rows = {
        "ada@acme.com": {"first_name": "Ada", "last_name": "Lovelace", "account": acme, "owner": personas.rep_alice,
                         "lifecycle_stage": stages["Reach & Engage"], "lead_status": "mql",
                         "fields": {"industry": "SaaS", "headcount": 120}},
        "grace@navy.mil": {"first_name": "Grace", "last_name": "Hopper", "owner": personas.rep_bob,
                           "lifecycle_stage": stages["Convert & Close"], "lead_status": "sql",
                           "fields": {"industry": "Retail", "headcount": 8}},
        "alan@example.com": {"first_name": "Alan", "last_name": "Turing", "owner": None, "lead_status": "new"},
        "katherine@nasa.gov": {"first_name": "Katherine", "last_name": "Johnson", "owner": personas.manager,
                               "lifecycle_stage": stages["Reach & Engage"], "lead_status": "customer",
                               "fields": {"headcount": 5000}},
    }
    contacts = {}
    for offset, (email, values) in enumerate(rows.items()):
        contact = Contact.objects.create(email=email, **values)
        Contact.objects.filter(pk=contact.pk).update(created_at=now - timedelta(days=10 * offset))
        contacts[email.split("@")[0]] = contact
    vip, trial = Tag.objects.create(name="VIP"), Tag.objects.create(name="trial")
    contacts["ada"].tags.add(vip, trial)
    contacts["grace"].tags.add(vip)
    newsletter = ContactList.objects.create(name="Newsletter")
    Subscription.objects.create(contact=contacts["ada"], list=newsletter, status="subscribed", changed_at=now)
    Subscription.objects.create(contact=contacts["alan"], list=newsletter, status="unsubscribed", changed_at=now)
    contacts["newsletter"] = newsletter
    return contacts


@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas.admin)
    return client


def test_the_list_shows_each_contacts_company_stage_status_owner_tags_and_activity(admin_client, book):
    Contact.objects.filter(pk=book["ada"].pk).update(last_activity_at=timezone.now() - timedelta(hours=3))
    response = admin_client.get(LIST)
    html = response.content.decode()
    row = html[html.index(f'data-contact="{book["ada"].pk}"'):]
    row = row[:row.index("</tr>")]
    assert f'href="{reverse("contacts:detail", args=[book["ada"].pk])}"' in row
    for text in ("Ada Lovelace", "ada@acme.com", "Acme Rockets", "Reach &amp; Engage", "MQL", "Alice", "VIP",
                 "trial", "3\xa0hours ago"):
        assert text in row, text
    assert 'aria-label="Select Ada Lovelace"' in row


def test_the_default_order_is_newest_first(admin_client, book):
    assert emails(admin_client.get(LIST)) == ["ada@acme.com", "grace@navy.mil", "alan@example.com",
                                              "katherine@nasa.gov"]


@pytest.mark.parametrize(("query", "expected"), [
    ({"q": "lovelace"}, ["ada@acme.com"]),
    ({"q": "NAVY.MIL"}, ["grace@navy.mil"]),
    ({"q": "rockets"}, ["ada@acme.com"]),  # the company's name
    ({"q": "  "}, ["ada@acme.com", "grace@navy.mil", "alan@example.com", "katherine@nasa.gov"]),
    ({"tag": "vip"}, ["ada@acme.com", "grace@navy.mil"]),
    ({"tag": ["VIP", "trial"]}, ["ada@acme.com"]),  # every tag given
    ({"tag": "nobody-has-this"}, []),
    ({"status": "sql"}, ["grace@navy.mil"]),
    ({"stage": "none"}, ["alan@example.com"]),
    ({"owner": "none"}, ["alan@example.com"]),
    ({"field.industry": "SaaS"}, ["ada@acme.com"]),
    ({"field.headcount__gte": "100"}, ["ada@acme.com", "katherine@nasa.gov"]),
    ({"field.headcount__lt": "100"}, ["grace@navy.mil"]),
    ({"field.industry__isnull": "true"}, ["alan@example.com", "katherine@nasa.gov"]),
    ({"cf_key": "industry", "cf_op": "isnull", "cf_value": ""}, ["alan@example.com", "katherine@nasa.gov"]),
])
def test_each_filter_narrows_the_list(admin_client, book, query, expected):
    response = admin_client.get(LIST, query, **HTMX)  # htmx: the "Add filter" row answers in place too
    assert emails(response) == expected


def test_the_stage_owner_list_and_created_filters_take_ids_me_and_dates(admin_client, book, personas, stages):
    assert emails(admin_client.get(LIST, {"stage": stages["Reach & Engage"].pk})) == [
        "ada@acme.com", "katherine@nasa.gov"]
    assert emails(admin_client.get(LIST, {"owner": personas.rep_bob.pk})) == ["grace@navy.mil"]
    assert emails(admin_client.get(LIST, {"list": book["newsletter"].pk})) == ["ada@acme.com"]
    assert emails(admin_client.get(LIST, {"list": book["newsletter"].pk, "list_status": "unsubscribed"})) == [
        "alan@example.com"]
    today = timezone.localdate()
    assert emails(admin_client.get(LIST, {"created_after": today - timedelta(days=15)})) == [
        "ada@acme.com", "grace@navy.mil"]
    assert emails(admin_client.get(LIST, {"created_before": today - timedelta(days=15)})) == [
        "alan@example.com", "katherine@nasa.gov"]

    admin_client.force_login(personas.rep_alice)
    assert emails(admin_client.get(LIST, {"owner": "me"})) == ["ada@acme.com"]


def test_active_filters_show_as_chips_that_remove_themselves(admin_client, book):
    response = admin_client.get(LIST, {"q": "a", "tag": ["VIP", "trial"], "field.headcount__gte": "100"})
    chips = {chip["label"]: chip["url"] for chip in response.context["chips"]}
    assert set(chips) == {"Search: a", "Tag: VIP", "Tag: trial", "Employee headcount is at least 100"}
    assert emails(admin_client.get(chips["Tag: trial"])) == ["ada@acme.com"]
    assert "trial" not in chips["Tag: trial"] and "VIP" in chips["Tag: trial"]
    assert "headcount" not in chips["Employee headcount is at least 100"]


def test_the_add_filter_row_without_javascript_goes_to_the_url_it_stands_for(admin_client, book):
    response = admin_client.get(LIST, {"q": "a", "cf_key": "headcount", "cf_op": "gt", "cf_value": "100"})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?q=a&field.headcount__gt=100"

    htmx = admin_client.get(LIST, {"cf_key": "headcount", "cf_op": "gt", "cf_value": "100"}, **HTMX)
    assert htmx["HX-Push-Url"] == f"{LIST}?field.headcount__gt=100"
    assert emails(htmx) == ["ada@acme.com", "katherine@nasa.gov"]


@pytest.mark.parametrize(("query", "message"), [
    ({"owner": "somebody"}, "Give a user id, me or none."),
    ({"created_after": "yesterday"}, "Enter a valid date."),
    ({"status": "hot"}, "Select a valid choice."),
    ({"field.nope": "1"}, "There is no custom field “nope”."),
    ({"field.industry__gt": "SaaS"}, "Unsupported comparison “gt”"),
    ({"field.headcount": "many"}, "number"),
    ({"cf_key": "headcount", "cf_op": "gt", "cf_value": ""}, "Enter a value to filter by."),
])
def test_bad_filter_input_is_a_visible_error_not_a_crash(admin_client, book, query, message):
    response = admin_client.get(LIST, query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'data-testid="filter-errors"' in response.content.decode()
    assert admin_client.get(LIST, query, **HTMX).status_code == 422


BY_LAST_NAME = ["grace@navy.mil", "katherine@nasa.gov", "ada@acme.com", "alan@example.com"]


@pytest.mark.parametrize(("sort", "expected"), [
    ("name", BY_LAST_NAME),
    ("-name", BY_LAST_NAME[::-1]),
    ("email", ["ada@acme.com", "alan@example.com", "grace@navy.mil", "katherine@nasa.gov"]),
    ("-email", ["katherine@nasa.gov", "grace@navy.mil", "alan@example.com", "ada@acme.com"]),
    ("created", ["katherine@nasa.gov", "alan@example.com", "grace@navy.mil", "ada@acme.com"]),
    ("nonsense", ["ada@acme.com", "grace@navy.mil", "alan@example.com", "katherine@nasa.gov"]),
])
def test_columns_sort_both_ways(admin_client, book, sort, expected):
    assert emails(admin_client.get(LIST, {"sort": sort})) == expected


def test_sorting_by_last_activity_puts_contacts_never_active_last(admin_client, book):
    now = timezone.now()
    Contact.objects.filter(pk=book["grace"].pk).update(last_activity_at=now - timedelta(days=1))
    Contact.objects.filter(pk=book["alan"].pk).update(last_activity_at=now)
    recent_first = emails(admin_client.get(LIST, {"sort": "-last_activity"}))
    assert recent_first[:2] == ["alan@example.com", "grace@navy.mil"]
    assert set(recent_first[2:]) == {"ada@acme.com", "katherine@nasa.gov"}
    assert emails(admin_client.get(LIST, {"sort": "last_activity"})) == recent_first[::-1]


def test_the_sort_links_toggle_and_say_which_way_they_sort(admin_client, book):
    columns = {c["name"]: c for c in admin_client.get(LIST, {"sort": "name"}).context["columns"]}
    assert columns["name"]["aria_sort"] == "ascending" and "sort=-name" in columns["name"]["url"]
    assert columns["created"]["aria_sort"] == "none" and "sort=-created" not in columns["created"]["url"]
    html = admin_client.get(LIST).content.decode()
    assert 'aria-sort="descending"><a class="sort-link"' in html  # created, the default


def _walk(client, query, *, direction="next_url"):
    pages, url = [], None
    response = client.get(LIST, query)
    while True:
        pages.append(emails(response))
        url = response.context[direction]
        if not url:
            return pages, response
        response = client.get(url)


@pytest.mark.parametrize("sort", ["-created", "created", "name", "-email", "-last_activity", "last_activity"])
def test_keyset_pages_go_forward_and_back_without_gaps_or_repeats(admin_client, personas, sort):
    now = timezone.now()
    contacts = Contact.objects.bulk_create([
        Contact(email=f"p{i:03}@example.com", first_name="P", last_name=f"L{i % 7}",
                last_activity_at=None if i % 3 == 0 else now - timedelta(minutes=i % 40))
        for i in range(120)])
    # Equal created_at values in bulk: the id decides, as the keyset's tie-breaker.
    Contact.objects.filter(pk__in=[c.pk for c in contacts[:60]]).update(created_at=now - timedelta(days=1))
    expected = [c.email for c in Contact.objects.order_by(*selectors._Sort.get(sort).order(
        selectors._Sort.get(sort).descending))]

    with CaptureQueriesContext(connection) as queries:
        pages, last = _walk(admin_client, {"sort": sort})
    assert [len(page) for page in pages] == [50, 50, 20]
    assert [email for page in pages for email in page] == expected
    assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)

    back, first = [], last
    while first.context["previous_url"]:
        first = admin_client.get(first.context["previous_url"])
        back.insert(0, emails(first))
    assert back == pages[:-1]
    assert first.context["page"].first and not first.context["first_url"]


def test_a_broken_cursor_shows_the_first_page_with_a_warning(admin_client, book):
    response = admin_client.get(LIST, {"cursor": "not-a-cursor"})
    assert emails(response) == emails(admin_client.get(LIST))
    assert "This page link is broken" in response.content.decode()
    other_sort = selectors.cursor_for("email", ["a@example.com", 1], before=False)
    assert "another sort order" in admin_client.get(LIST, {"cursor": other_sort}).content.decode()


def test_small_results_are_counted_exactly_and_big_ones_estimated(admin_client, personas, monkeypatch):
    Contact.objects.bulk_create([Contact(email=f"n{i}@example.com") for i in range(60)])
    assert admin_client.get(LIST).context["count"].label == "60 contacts"
    assert admin_client.get(LIST, {"q": "n1"}).context["count"].label == "11 contacts"  # n1, n10..n19

    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 10)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    count = admin_client.get(LIST).context["count"]
    assert not count.exact and count.label.startswith(("about", "more than"))
    response = admin_client.get(reverse("contacts:count"))
    assert ">60 contacts</span>" in response.content.decode()
    assert "Count exactly" in admin_client.get(LIST).content.decode()


def test_a_count_that_would_take_too_long_gives_way_to_more_than_a_page(personas):
    Contact.objects.bulk_create([Contact(email=f"slow{i}@example.com") for i in range(20)])
    slow = Contact.objects.extra(where=["pg_sleep(0.01) IS NOT NULL"])  # 10 ms a row: 200 ms to count
    assert selectors._count_within(slow, limit=100, milliseconds=30) is None
    with connection.cursor() as cursor:  # the usual statement timeout is back
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
    assert selectors._count_within(Contact.objects.all(), limit=100, milliseconds=1000) == 20
    assert selectors._count_within(Contact.objects.all(), limit=10, milliseconds=1000) == 11


@pytest.mark.parametrize(("persona", "expected"), [
    ("admin", {"ada", "grace", "alan", "katherine"}),
    ("marketer", {"ada", "grace", "alan", "katherine"}),
    ("manager", {"ada", "alan", "katherine"}),  # their team (Alice), themselves, and unassigned
    ("rep_alice", {"ada", "alan"}),
    ("rep_bob", {"grace", "alan"}),
])
def test_each_persona_sees_only_the_contacts_they_may(client, personas, book, persona, expected):
    client.force_login(getattr(personas, persona))
    assert {email.split("@")[0] for email in emails(client.get(LIST))} == expected


def test_someone_without_a_role_cannot_open_the_list(client, personas, book):
    client.force_login(personas.outsider)
    response = client.get(LIST)
    assert response.status_code == 403
    assert "Ask an admin" in response.content.decode()
    assert client.get(reverse("contacts:export")).status_code == 403


def test_the_page_answers_htmx_with_the_results_only_and_reflects_the_controls_when_asked(admin_client, book):
    from_the_search_box = admin_client.get(LIST, {"q": "ada"}, HTTP_X_FILTER_CONTROL="1", **HTMX).content.decode()
    assert from_the_search_box.startswith('\n<section id="contact-results"') or \
        from_the_search_box.lstrip().startswith('<section id="contact-results"')
    assert "<html" not in from_the_search_box and 'hx-swap-oob' not in from_the_search_box
    from_a_chip = admin_client.get(LIST, {"q": "ada"}, **HTMX).content.decode()
    assert 'id="contact-filter-controls" class="contact-filter-controls" hx-swap-oob="true"' in from_a_chip
    assert 'value="ada"' in from_a_chip  # the search box, swapped out of band too


def test_no_contacts_at_all_says_how_to_get_some(admin_client, personas):
    html = admin_client.get(LIST).content.decode()
    assert 'data-testid="no-contacts"' in html
    assert f'href="{reverse("contacts:create")}"' in html
    assert f'href="{reverse("contacts:import_upload")}"' in html


def test_no_matches_offers_to_clear_the_filters(admin_client, book):
    html = admin_client.get(LIST, {"q": "zebra"}).content.decode()
    assert 'data-testid="no-matches"' in html and "Clear filters" in html
    assert 'data-testid="no-contacts"' not in html


def test_the_page_takes_a_fixed_number_of_queries_whatever_it_shows(client, personas, stages):
    """select_related and prefetch_related: 60 contacts cost what 3 do (no query per row)."""
    acme = Account.objects.create(name="Acme")
    tags = [Tag.objects.create(name=f"t{i}") for i in range(3)]

    def add(n, offset):
        made = Contact.objects.bulk_create([
            Contact(email=f"q{offset + i}@example.com", account=acme, owner=personas.rep_alice,
                    lifecycle_stage=stages["Reach & Engage"]) for i in range(n)])
        Contact.tags.through.objects.bulk_create([Contact.tags.through(contact_id=c.pk, tag_id=t.pk)
                                                  for c in made for t in tags])

    client.force_login(personas.manager)
    add(3, 0)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST, {"tag": "t1"}).status_code == 200
    add(57, 3)
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST, {"tag": "t1"})
    assert len(emails(response)) == 50
    # The only difference: 3 contacts fit one page and count themselves; 60 ask the planner for an estimate,
    # then count within a time limit (a savepoint, the limit set and put back around the COUNT).
    sqls = [q["sql"] for q in many.captured_queries]
    assert len(sqls) == len(few.captured_queries) + 6
    assert sum(sql.startswith("EXPLAIN") or "COUNT(*)" in sql or "statement_timeout" in sql for sql in sqls) == 4
    assert len(sqls) <= 22, sqls


# --- Add a contact ------------------------------------------------------------------------------------

def test_adding_a_contact_saves_it_through_the_contact_service(client, personas, stages):
    client.force_login(personas.rep_alice)
    assert client.get(reverse("contacts:create")).status_code == 200
    response = client.post(reverse("contacts:create"), {
        "email": " Ada@Example.com ", "first_name": "Ada", "last_name": "Lovelace", "company": "Acme",
        "owner": personas.rep_alice.pk, "stage": stages["Nurture & Educate"].pk, "tags": "vip, new one"})
    contact = Contact.objects.get(email="ada@example.com")
    assert response.status_code == 302 and response["Location"] == reverse("contacts:detail", args=[contact.pk])
    assert (contact.first_name, contact.account.name, contact.owner) == ("Ada", "Acme", personas.rep_alice)
    assert contact.lifecycle_stage == stages["Nurture & Educate"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["new one", "vip"]
    assert StageTransition.objects.filter(contact=contact, direction="entry").count() == 1
    assert Event.objects.filter(contact=contact, type="contact_created").exists()


def test_adding_a_contact_shows_errors_by_their_fields(client, personas, book):
    client.force_login(personas.rep_alice)
    response = client.post(reverse("contacts:create"), {"email": "not an email", "first_name": "x" * 101})
    assert response.status_code == 400
    form = response.context["form"]
    assert "not a valid email" in " ".join(form.errors["email"])
    assert form.errors["first_name"]
    assert 'aria-invalid="true"' in response.content.decode()

    taken = client.post(reverse("contacts:create"), {"email": "ADA@acme.com"})
    assert taken.status_code == 400 and "already exists" in " ".join(taken.context["form"].errors["email"])


def test_someone_without_a_role_cannot_add_contacts(client, personas):
    client.force_login(personas.outsider)
    assert client.post(reverse("contacts:create"), {"email": "x@example.com"}).status_code == 403
    assert not Contact.objects.exists()
