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
