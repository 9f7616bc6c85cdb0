"""The deal list: who sees which deals, the board's filters, search, sorting with a stable order, pages of 50,
a constant number of queries, and bulk actions (owner, stage, won, lost) that skip what they cannot do."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contact_create
from lifecycle.services import stage_sets_ensure_defaults
from pipelines.models import Deal, DealStageHistory, LostReason
from pipelines.services import deal_create, deal_lost, pipeline_create

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LIST = reverse("pipelines:deal_list")
BULK = reverse("pipelines:deal_bulk")


@pytest.fixture
def sales():
    pipeline = pipeline_create(name="Sales")
    return pipeline, {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def book(personas, sales):
    """Deals of Alice, of Bob, and one nobody owns, in Sales; one of Alice's in the Partners pipeline."""
    pipeline, stages = sales
    partners = pipeline_create(name="Partners")
    return {
        "alpha": deal_create(title="Alpha", pipeline=pipeline, value=Decimal("500"), owner=personas.rep_alice,
                             expected_close_date=date(2027, 3, 1)),
        "beta": deal_create(title="Beta", pipeline=pipeline, stage=stages["Proposal"], value=Decimal("9000"),
                            owner=personas.rep_alice, expected_close_date=date(2027, 1, 15)),
        "bobs": deal_create(title="Bob's", pipeline=pipeline, value=Decimal("100"), owner=personas.rep_bob),
        "free": deal_create(title="Unclaimed", pipeline=pipeline, value=Decimal("700")),
        "partner": deal_create(title="Partner deal", pipeline=partners, owner=personas.rep_alice),
    }


def titles(response) -> list[str]:
    return [deal.title for deal in response.context["deals"]]


def messages_of(response) -> list[str]:
    return [m["message"] for m in json.loads(response.get("HX-Trigger", "{}") or "{}").get("messages", [])]


# --- Who sees what, and the filters ----------------------------------------------------------------

def test_a_rep_sees_their_own_deals_by_default_and_never_another_reps(client, personas, book):
    client.force_login(personas.rep_alice)
    assert sorted(titles(client.get(LIST))) == ["Alpha", "Beta", "Partner deal"]
    everyone = client.get(LIST, {"owner": ""})
    assert sorted(titles(everyone)) == ["Alpha", "Beta", "Partner deal", "Unclaimed"]
    assert "Bob's" not in everyone.content.decode()
    assert titles(client.get(LIST, {"owner": personas.rep_bob.pk})) == []


@pytest.mark.parametrize("who,expected", [
    ("admin", ["Alpha", "Beta", "Bob's", "Partner deal", "Unclaimed"]),
    ("marketer", ["Alpha", "Beta", "Bob's", "Partner deal", "Unclaimed"]),
    ("manager", ["Alpha", "Beta", "Partner deal", "Unclaimed"]),  # Alice is on the manager's team, Bob is not
])
def test_each_role_lists_the_deals_it_may_see(client, personas, book, who, expected):
    client.force_login(getattr(personas, who))
    assert sorted(titles(client.get(LIST))) == expected


def test_a_user_without_a_role_may_not_open_the_list(client, personas, book):
    client.force_login(personas.outsider)
    assert client.get(LIST).status_code == 403
    assert client.post(BULK, {"ids": [book["free"].pk], "action": "won"}).status_code == 403
    assert Deal.objects.get(pk=book["free"].pk).status == "open"


def test_the_boards_filters_apply(client, personas, sales, book):
    pipeline, stages = sales
    deal_lost(deal=book["free"], reason=LostReason.objects.first())
    Deal.objects.filter(pk=book["beta"].pk).update(stage_entered_at=timezone.now() - timedelta(days=40))
    client.force_login(personas.admin)

    assert sorted(titles(client.get(LIST, {"pipeline": pipeline.pk}))) == ["Alpha", "Beta", "Bob's"]
    assert titles(client.get(LIST, {"stage": stages["Proposal"].pk})) == ["Beta"]
    assert titles(client.get(LIST, {"status": "lost"})) == ["Unclaimed"]
    assert len(titles(client.get(LIST, {"status": "any"}))) == 5
    assert titles(client.get(LIST, {"stale": "true"})) == ["Beta"]
    assert sorted(titles(client.get(LIST, {"value_min": "400", "value_max": "9000"}))) == ["Alpha", "Beta"]
    assert titles(client.get(LIST, {"close_after": "2027-02-01"})) == ["Alpha"]
    assert titles(client.get(LIST, {"q": "bob"})) == ["Bob's"]
    assert titles(client.get(LIST, {"owner": "none", "status": "any"})) == ["Unclaimed"]


def test_search_finds_a_deal_by_its_contacts_name(client, personas, sales):
    ada = contact_create(email="ada@acme.com", first_name="Ada", last_name="Lovelace")
    deal_create(title="Renewal", pipeline=sales[0], contact=ada)
    deal_create(title="Other", pipeline=sales[0])
    client.force_login(personas.admin)
    assert titles(client.get(LIST, {"q": "lovelace"})) == ["Renewal"]


def test_a_bad_filter_is_refused_with_its_message(client, personas, book):
    client.force_login(personas.admin)
    response = client.get(LIST, {"value_min": "900", "value_max": "10"})
    assert response.status_code == 400
    assert "The highest value is below the lowest." in response.content.decode()
    assert client.get(LIST, {"value_min": "lots"}, headers={**HTMX, "HX-Target": "deal-results"}).status_code == 422


def test_the_board_link_keeps_the_pipeline_and_the_filters_the_board_has(client, personas, sales):
    client.force_login(personas.rep_alice)
    response = client.get(LIST, {"pipeline": sales[0].pk, "owner": "", "q": "acme", "status": "won"})
    assert response.context["board_url"] == reverse("pipelines:pipeline_board", args=[sales[0].pk]) + "?q=acme&owner="


def test_htmx_gets_only_the_results(client, personas, book):
    client.force_login(personas.admin)
    response = client.get(LIST, {"q": "alpha"}, headers={**HTMX, "HX-Target": "deal-results"})
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="deal-results"')
    assert "Alpha" in html and "<html" not in html


def test_the_empty_states_say_what_to_do_next(client, personas, sales):
    client.force_login(personas.admin)
    empty = client.get(LIST).content.decode()
    assert "No open deals" in empty and "Open the board" in empty
    deal_create(title="Alpha", pipeline=sales[0])
    none_match = client.get(LIST, {"q": "zzz"}).content.decode()
    assert "No deals match" in none_match


# --- Sorting and pages -------------------------------------------------------------------------------

@pytest.mark.parametrize("sort,expected", [
    ("title", ["Alpha", "Beta", "Bob's", "Partner deal", "Unclaimed"]),
    ("-title", ["Unclaimed", "Partner deal", "Bob's", "Beta", "Alpha"]),
    ("value", ["Partner deal", "Bob's", "Alpha", "Unclaimed", "Beta"]),
    ("-value", ["Beta", "Unclaimed", "Alpha", "Bob's", "Partner deal"]),
    ("close", ["Beta", "Alpha", "Bob's", "Unclaimed", "Partner deal"]),  # no date last, then by id
    ("-close", ["Alpha", "Beta", "Partner deal", "Unclaimed", "Bob's"]),
    ("stage", ["Partner deal", "Alpha", "Bob's", "Unclaimed", "Beta"]),  # Partners < Sales; Contact < Proposal
    ("created", ["Alpha", "Beta", "Bob's", "Unclaimed", "Partner deal"]),
    ("owner", ["Alpha", "Beta", "Partner deal", "Bob's", "Unclaimed"]),  # Alice, Alice, Alice, Bob, nobody
])
def test_each_column_sorts_with_a_stable_order(client, personas, book, sort, expected):
    client.force_login(personas.admin)
    response = client.get(LIST, {"sort": sort})
    assert titles(response) == expected


def test_the_sort_links_flip_the_direction_and_keep_the_filter(client, personas, book, sales):
    client.force_login(personas.admin)
    columns = client.get(LIST, {"sort": "value", "pipeline": sales[0].pk}).context["columns"]
    assert columns["value"]["aria_sort"] == "ascending"
    assert "sort=-value" in columns["value"]["url"] and f"pipeline={sales[0].pk}" in columns["value"]["url"]
    assert columns["title"]["aria_sort"] == "none" and "sort=title" in columns["title"]["url"]


def _many(pipeline, count: int, **extra) -> None:
    stage = pipeline.stages.order_by("position").first()
    now = timezone.now()
    Deal.objects.bulk_create(Deal(title=f"Deal {i:03}", pipeline=pipeline, stage=stage, value=Decimal(i % 7),
                                  position=i, stage_entered_at=now, created_at=now, **extra) for i in range(count))


def test_pages_of_fifty_cover_every_deal_once_even_with_equal_values(client, personas, sales):
    _many(sales[0], 120)
    client.force_login(personas.admin)
    seen, page = [], client.get(LIST, {"sort": "value"})
    while True:
        assert len(page.context["deals"]) <= 50
        seen += [deal.pk for deal in page.context["deals"]]
        if not page.context["next_url"]:
            break
        page = client.get(page.context["next_url"])
    assert len(seen) == len(set(seen)) == 120
    values = list(Deal.objects.filter(pk__in=seen).values_list("pk", "value"))
    assert seen == [pk for pk, _ in sorted(values, key=lambda row: (row[1], row[0]))]


def test_the_list_runs_the_same_number_of_queries_for_3_or_60_deals(client, personas, sales):
    ada = contact_create(email="ada@acme.com", first_name="Ada")
    client.force_login(personas.manager)
    _many(sales[0], 3, owner=personas.rep_alice, contact=ada)
    with CaptureQueriesContext(connection) as few:
        assert len(titles(client.get(LIST))) == 3
    _many(sales[0], 57, owner=personas.manager, contact=ada)
    with CaptureQueriesContext(connection) as many:
        assert len(titles(client.get(LIST))) == 50
    assert len(many.captured_queries) == len(few.captured_queries), [q["sql"] for q in many.captured_queries]
    assert len(many.captured_queries) <= 12


# --- Bulk actions ---------------------------------------------------------------------------------------

def bulk(client, ids, action, **params):
    return client.post(BULK, {"ids": [d.pk for d in ids], "action": action, **params},
                       headers={**HTMX, "HX-Target": "deal-results"})


def test_bulk_set_owner_changes_every_selected_deal(client, personas, book):
    client.force_login(personas.manager)
    response = bulk(client, [book["alpha"], book["free"]], "set_owner", bulk_owner=personas.manager.pk)
    assert response.status_code == 200
    assert messages_of(response) == ["Set owner: 2 done."]
    assert set(Deal.objects.filter(owner=personas.manager).values_list("title", flat=True)) == {"Alpha", "Unclaimed"}
    # A manager may not hand a deal to someone outside their team: the choice is refused.
    refused = bulk(client, [book["alpha"]], "set_owner", bulk_owner=personas.rep_bob.pk)
    assert refused.status_code == 422 and Deal.objects.get(pk=book["alpha"].pk).owner == personas.manager


def test_bulk_ignores_deals_the_user_may_not_see(client, personas, book):
    client.force_login(personas.rep_alice)
    response = bulk(client, [book["alpha"], book["bobs"]], "won")
    assert response.status_code == 200
    assert messages_of(response) == ["Mark won: 1 done."]
    assert Deal.objects.get(pk=book["bobs"].pk).status == "open"
    only_hidden = bulk(client, [book["bobs"]], "won")
    assert only_hidden.status_code == 422 and "None of the selected deals" in only_hidden.content.decode()
    assert Deal.objects.get(pk=book["bobs"].pk).status == "open"


def test_bulk_move_keeps_deals_in_their_pipeline_and_reports_the_rest(client, personas, sales, book):
    _pipeline, stages = sales
    client.force_login(personas.rep_alice)
    response = bulk(client, [book["alpha"], book["partner"], book["beta"]], "move_stage",
                    bulk_stage=stages["Proposal"].pk)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("Move to stage: 1 done, 2 skipped")
    assert "“Partner deal”: It is in another pipeline than Proposal" in message
    assert "“Beta”: It is already in Proposal." in message
    assert Deal.objects.get(pk=book["alpha"].pk).stage == stages["Proposal"]
    assert Deal.objects.get(pk=book["partner"].pk).pipeline.name == "Partners"
    assert list(DealStageHistory.objects.filter(deal=book["alpha"]).values_list("stage__name", flat=True)) == [
        "Contact", "Proposal"]
    # Moved to the end of the column: after Beta.
    assert list(Deal.objects.filter(stage=stages["Proposal"], status="open").order_by("position")
                .values_list("title", flat=True)) == ["Beta", "Alpha"]


def test_bulk_won_does_the_open_deals_and_skips_a_closed_one(client, personas, sales, book):
    stage_sets_ensure_defaults()
    ada = contact_create(email="ada@acme.com", first_name="Ada")
    Deal.objects.filter(pk=book["alpha"].pk).update(contact=ada)
    deal_lost(deal=book["beta"], reason=LostReason.objects.first())
    client.force_login(personas.rep_alice)

    response = bulk(client, [book["alpha"], book["beta"], book["partner"]], "won")

    assert response.status_code == 200
    assert messages_of(response) == ["Mark won: 2 done, 1 skipped (“Beta”: This deal is already lost.)"]
    statuses = dict(Deal.objects.values_list("title", "status"))
    assert (statuses["Alpha"], statuses["Beta"], statuses["Partner deal"]) == ("won", "lost", "won")
    assert Contact.objects.get(pk=ada.pk).lifecycle_stage.name == "Support & Grow"


def test_bulk_lost_needs_a_reason(client, personas, book):
    client.force_login(personas.rep_alice)
    refused = bulk(client, [book["alpha"], book["beta"]], "lost")
    assert refused.status_code == 422 and "Choose why the deals were lost." in refused.content.decode()
    assert refused.context["selected"] == {book["alpha"].pk, book["beta"].pk}  # the selection is kept
    assert not Deal.objects.filter(status="lost").exists()
    assert client.post(BULK, {"ids": [book["alpha"].pk], "action": "lost"}).status_code == 400

    price = LostReason.objects.get(name="Price")
    done = bulk(client, [book["alpha"], book["beta"]], "lost", bulk_reason=price.pk)
    assert messages_of(done) == ["Mark lost: 2 done."]
    assert set(Deal.objects.filter(status="lost", lost_reason=price).values_list("title", flat=True)) == {
        "Alpha", "Beta"}


def test_bulk_needs_a_selection_and_an_action(client, personas, book):
    client.force_login(personas.rep_alice)
    nothing = client.post(BULK, {"action": "won"}, headers={**HTMX, "HX-Target": "deal-results"})
    assert nothing.status_code == 422 and "Select some deals first" in nothing.content.decode()
    no_action = bulk(client, [book["alpha"]], "")
    assert no_action.status_code == 422 and "Choose an action." in no_action.content.decode()


def test_roles_that_may_not_change_deals_get_403_from_bulk(client, personas, book):
    client.force_login(personas.marketer)
    assert 'data-testid="bulk-bar"' not in client.get(LIST).content.decode()
    assert bulk(client, [book["alpha"]], "won").status_code == 403
    assert Deal.objects.get(pk=book["alpha"].pk).status == "open"


def test_without_javascript_a_bulk_action_redirects_back_to_the_same_list(client, personas, book, sales):
    client.force_login(personas.rep_alice)
    response = client.post(BULK, {"ids": [book["alpha"].pk], "action": "won", "pipeline": sales[0].pk,
                                  "sort": "value"})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?pipeline={sales[0].pk}&sort=value"
    assert Deal.objects.get(pk=book["alpha"].pk).status == "won"


def test_non_ascii_digits_in_ids_page_and_pipeline_are_ignored_not_a_500(client, personas, sales, book):
    # "²".isdigit() is true but int("²") fails: each was a 500.
    client.force_login(personas.admin)
    response = client.post(BULK, {"ids": ["\u00b2", book["alpha"].pk], "action": "won", "page": "\u00b2"})
    assert response.status_code == 302
    assert Deal.objects.get(pk=book["alpha"].pk).status == "won"
    assert client.post(BULK, {"ids": ["\u00b2"], "action": "won"}).status_code == 400
    assert client.get(LIST, {"pipeline": "\u00b2"}).status_code == 400
