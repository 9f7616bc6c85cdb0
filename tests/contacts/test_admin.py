"""The read-only admin's pagers: exact counts for small lists, the planner's estimate (no COUNT(*)) for big ones."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts import selectors
from contacts.services import contact_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_contacts():
    return [contact_create(email=f"person{i}@example.com") for i in range(3)]


def counts(queries) -> list[str]:
    return [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


def test_a_small_list_is_counted_exactly(admin_client, three_contacts):
    response = admin_client.get("/admin/contacts/contact/")
    assert response.status_code == 200
    changelist = response.context["cl"]
    assert changelist.result_count == 3
    assert len(changelist.result_list) == 3


def test_a_big_list_takes_the_planners_estimate_and_still_shows_a_whole_page(admin_client, three_contacts,
                                                                                monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 0)  # every list is "big"
    with CaptureQueriesContext(connection) as listed:
        response = admin_client.get("/admin/contacts/contact/")
    assert response.status_code == 200
    assert counts(listed.captured_queries) == []
    # However short the estimate on this small table, the page shows every row it holds.
    assert sorted(c.email for c in response.context["cl"].result_list) == [c.email for c in three_contacts]


def test_a_page_past_a_short_estimate_is_still_served_with_its_search(admin_client, three_contacts, monkeypatch):
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 0)
    monkeypatch.setattr(selectors, "_estimate", lambda queryset: 2)  # below the truth: 2 pages of 1, not 3
    monkeypatch.setattr("contacts.admin.ContactAdmin.list_per_page", 1)
    response = admin_client.get("/admin/contacts/contact/", {"p": 3, "q": "person"})
    assert response.status_code == 200  # not a redirect to page 1 with the search dropped
    assert [c.email for c in response.context["cl"].result_list] == ["person0@example.com"]  # the oldest


def test_a_count_that_takes_too_long_never_offers_to_show_every_row(admin_client, three_contacts, monkeypatch):
    monkeypatch.setattr(selectors, "_count_within", lambda queryset, **_: None)  # timed out
    response = admin_client.get("/admin/contacts/contact/")
    changelist = response.context["cl"]
    assert changelist.result_count > selectors.EXACT_COUNT_LIMIT
    assert changelist.multi_page and not changelist.can_show_all
    assert len(changelist.result_list) == 3
