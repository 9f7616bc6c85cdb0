"""The lifecycle overview: contacts per stage now, and moves into each stage in a period (/reports/)."""

import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from lifecycle.forms import OverviewPeriodForm, Period
from lifecycle.models import StageSet
from lifecycle.selectors import lifecycle_overview
from lifecycle.services import contact_stage_set, stage_create, stage_set_activate

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)


@pytest.fixture
def stages():
    return {s.name: s for s in StageSet.objects.get(is_active=True).stages.all()}


def move(contact, stage, when):
    return contact_stage_set(contact=contact, stage=stage, actor="api", occurred_at=when)


@pytest.fixture
def journeys(personas, stages):
    """Alice's, Bob's and unassigned contacts moving in and around March 2025."""
    reach, nurture, convert, grow = (stages[n] for n in
                                     ["Reach & Engage", "Nurture & Educate", "Convert & Close", "Support & Grow"])
    alice = Contact.objects.create(email="alice-lead@example.com", owner=personas.rep_alice)
    bob = Contact.objects.create(email="bob-lead@example.com", owner=personas.rep_bob)
    nobody = Contact.objects.create(email="unassigned@example.com")
    Contact.objects.create(email="no-stage@example.com", owner=personas.rep_alice)

    move(alice, reach, datetime(2025, 2, 28, 23, 59, tzinfo=UTC))  # before the period
    move(alice, convert, START)                                     # forward, on the first instant
    move(alice, nurture, datetime(2025, 3, 10, tzinfo=UTC))          # backward
    move(bob, reach, datetime(2025, 3, 5, tzinfo=UTC))               # entry
    move(bob, grow, datetime(2025, 3, 20, tzinfo=UTC))               # forward
    move(nobody, reach, datetime(2025, 3, 31, 23, 59, tzinfo=UTC))   # entry, last minute
    move(nobody, nurture, END)                                       # after the period (end is excluded)
    return {"alice": alice, "bob": bob, "nobody": nobody}


def by_stage(overview) -> dict[str, tuple[int, int, int, int]]:
    return {row.stage.name: (row.now, row.entered, row.forward_in, row.backward_in) for row in overview.rows}


def test_it_counts_contacts_now_and_moves_into_each_stage_in_the_period(personas, journeys):
    overview = lifecycle_overview(personas.admin, START, END)

    assert overview.stage_set.name == "Customer lifecycle"
    assert by_stage(overview) == {
        # now, entered, forward in, backward in
        "Reach & Engage": (0, 2, 0, 0),
        "Nurture & Educate": (2, 0, 0, 1),
        "Convert & Close": (0, 0, 1, 0),
        "Support & Grow": (1, 0, 1, 0),
    }
    assert (overview.no_stage, overview.other_set, overview.contact_count) == (1, 0, 4)
    assert (overview.entered, overview.forward, overview.backward) == (2, 2, 1)


def test_a_rep_counts_only_their_own_and_unassigned_contacts(personas, journeys):
    overview = lifecycle_overview(personas.rep_alice, START, END)

    assert by_stage(overview) == {
        "Reach & Engage": (0, 1, 0, 0),
        "Nurture & Educate": (2, 0, 0, 1),
        "Convert & Close": (0, 0, 1, 0),
        "Support & Grow": (0, 0, 0, 0),
    }
    assert (overview.no_stage, overview.contact_count) == (1, 3)


def test_a_user_without_a_role_counts_nothing(personas, journeys):
    overview = lifecycle_overview(personas.outsider, START, END)

    assert overview.contact_count == 0
    assert set(by_stage(overview).values()) == {(0, 0, 0, 0)}


def test_after_a_switch_contacts_still_in_the_old_set_count_as_in_another_set(personas, journeys):
    kotler = StageSet.objects.get(name="Kotler's 5 A's")
    stage_set_activate(stage_set=kotler, by=personas.admin)
    move(journeys["bob"], kotler.stages.get(name="Act"), datetime(2025, 3, 25, tzinfo=UTC))

    overview = lifecycle_overview(personas.admin, START, END)

    assert overview.stage_set == kotler
    assert [row.stage.name for row in overview.rows] == ["Awareness", "Appeal", "Ask", "Act", "Advocacy"]
    assert by_stage(overview)["Act"] == (1, 1, 0, 0)  # moving in from another set is an entry
    assert (overview.other_set, overview.no_stage, overview.in_set) == (2, 1, 1)


def test_the_chart_data_follows_the_stage_order(personas, journeys):
    chart = lifecycle_overview(personas.admin, START, END).chart

    assert chart["labels"] == ["Reach & Engage", "Nurture & Educate", "Convert & Close", "Support & Grow"]
    assert chart["entered"] == [2, 0, 0, 0]
    assert chart["forward"] == [0, 0, 1, 1]
    assert chart["backward"] == [0, 1, 0, 0]
    assert chart["now"] == [0, 2, 0, 1]


@pytest.mark.parametrize("persona", ["admin", "rep_alice"])
def test_the_number_of_queries_does_not_grow_with_stages_contacts_or_moves(personas, stages, persona):
    user = getattr(personas, persona)
    user.role  # noqa: B018 - User.role looks the groups up once per instance; leave that out of the count

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            lifecycle_overview(user, START, END)
        return len(queries)

    few = count()
    lifecycle = StageSet.objects.get(is_active=True)
    for i in range(6):
        extra = stage_create(stage_set=lifecycle, name=f"Extra {i}", by=personas.admin)
        contact = Contact.objects.create(email=f"c{i}@example.com", owner=user)
        move(contact, stages["Reach & Engage"], START + timedelta(days=i))
        move(contact, extra, START + timedelta(days=i, hours=1))

    # The active set's stages, and one GROUP BY each for contacts and moves.
    assert count() == few <= 4


# --- The period ---------------------------------------------------------------------------------

TODAY = date(2025, 3, 15)


def period(**data) -> tuple[Period, dict]:
    form = OverviewPeriodForm(data)
    return form.period(today=TODAY), form.errors


def test_the_default_period_is_the_last_30_days_including_today():
    chosen, errors = period()

    assert errors == {}
    assert (chosen.first_day, chosen.last_day, chosen.days) == (date(2025, 2, 14), TODAY, 30)
    assert chosen.label == "Last 30 days (14 Feb 2025 – 15 Mar 2025)"


def test_a_quick_period_and_custom_dates():
    assert period(days="7")[0].first_day == date(2025, 3, 9)
    custom, errors = period(start="2025-01-01", end="2025-01-31")
    assert errors == {}
    assert (custom.first_day, custom.last_day, custom.days, custom.label) == (
        date(2025, 1, 1), date(2025, 1, 31), None, "1 Jan 2025 – 31 Jan 2025")


def test_the_period_runs_from_the_first_midnight_to_the_midnight_after_the_last_day(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    with timezone.override("Europe/Berlin"):
        custom, _ = period(start="2025-03-01", end="2025-03-31")
        berlin = ZoneInfo("Europe/Berlin")
        assert custom.start == datetime(2025, 3, 1, tzinfo=berlin)
        assert custom.end == datetime(2025, 4, 1, tzinfo=berlin)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"start": "2025-02-30", "end": "2025-03-01"}, "start", "Enter a valid date."),
    ({"start": "2025-03-10", "end": "2025-03-01"}, "end", "The last day cannot be before the first day."),
    ({"start": "2025-03-10"}, "end", "Choose the last day too."),
    ({"end": "2025-03-10"}, "start", "Choose the first day too."),
    ({"start": "0001-01-01", "end": "9999-12-31"}, "start", "Choose a date between 1970 and 2100."),
    ({"days": "13"}, "days", "Select a valid choice. 13 is not one of the available choices."),
])
def test_bad_periods_are_form_errors_and_fall_back_to_30_days(data, field, message):
    chosen, errors = period(**data)

    assert errors[field] == [message]
    assert chosen.days == 30


# --- The page ----------------------------------------------------------------------------------

@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas.admin)
    return client


def cells(html: str, stage: str) -> dict[str, str]:
    row = re.search(rf'<tr data-stage="{re.escape(stage)}">(.*?)</tr>', html, re.S).group(1)
    return dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))


def test_the_page_shows_the_table_and_the_chart_data_for_the_chosen_period(admin_client, journeys):
    response = admin_client.get(reverse("lifecycle:reports"), {"start": "2025-03-01", "end": "2025-03-31"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Reports · Lifecycle</title>" in html and "<h1>Lifecycle overview</h1>" in html
    assert cells(html, "Nurture &amp; Educate") == {"now": "2", "entered": "0", "forward": "0", "backward": "1"}
    assert cells(html, "Reach &amp; Engage") == {"now": "0", "entered": "2", "forward": "0", "backward": "0"}
    assert cells(html, "no stage") == {"now": "1"}
    assert 'data-stage="another set"' not in html
    assert 'data-testid="overview-period">1 Mar 2025 – 31 Mar 2025<' in html
    data = json.loads(re.search(r'<script id="lifecycle-overview-data" type="application/json">(.*?)</script>',
                                html, re.S).group(1))
    assert data["backward"] == [0, 1, 0, 0]
    assert "js/lifecycle_overview.js" in html and "chart.umd.min.js" in html
    assert "<script>" not in html  # the CSP allows no inline scripts


def test_the_quick_periods_are_links_with_the_current_one_marked(admin_client, journeys):
    html = admin_client.get(reverse("lifecycle:reports"), {"days": "90"}).content.decode()

    assert re.search(r'class="nav-link active" href="\?days=90" aria-current="page">Last 90 days<', html)
    assert html.count('aria-current="page">Last') == 1


def test_bad_dates_are_a_400_with_the_message_by_the_field_not_a_500(admin_client, journeys):
    response = admin_client.get(reverse("lifecycle:reports"), {"start": "2025-03-10", "end": "yesterday"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="end-errors">Enter a valid date.<' in html
    assert 'value="2025-03-10"' in html  # what the user typed stays
    assert "this shows the last 30 days" in html
    assert 'data-testid="overview-table"' in html


def test_with_no_contacts_the_page_says_what_to_do_next(admin_client):
    html = admin_client.get(reverse("lifecycle:reports")).content.decode()

    assert 'data-testid="overview-empty"' in html
    assert f'href="{reverse("contacts:list")}"' in html
    assert 'data-testid="overview-table"' not in html


def test_the_page_runs_a_fixed_number_of_queries(admin_client, journeys, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert admin_client.get(reverse("lifecycle:reports")).status_code == 200


def test_the_page_counts_only_what_the_user_may_see(client, personas, journeys):
    client.force_login(personas.rep_bob)

    html = client.get(reverse("lifecycle:reports"), {"start": "2025-03-01", "end": "2025-03-31"}).content.decode()

    assert 'data-testid="overview-contacts">2<' in html  # his own and the unassigned one
    assert cells(html, "Support &amp; Grow") == {"now": "1", "entered": "0", "forward": "1", "backward": "0"}
