"""Settings → Pipelines (/settings/pipelines/): admins shape pipelines, stages, rules and lost reasons.

Who may open the pages, the lists and their query counts, every form with and without htmx, bad input
(400 for a page, 422 for htmx, the message by its field), and the confirmations before deleting.
"""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from contacts.services import contact_create
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults
from pipelines.models import DEFAULT_STAGES, Deal, DealStageHistory, LostReason, Pipeline, Stage
from pipelines.services import deal_create, deal_lost, deal_move, deal_won, pipeline_create, stage_create

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
NON_ADMINS = ["manager", "marketer", "rep_alice", "outsider"]


@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas.admin)
    return client


@pytest.fixture
def sales():
    return pipeline_create(name="Sales")


def stage_of(pipeline, name) -> Stage:
    return pipeline.stages.get(name=name)


def stage_names(pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("name", flat=True))


def reason_names() -> list[str]:
    return list(LostReason.objects.order_by("position", "name", "pk").values_list("name", flat=True))


def url(name: str, *args) -> str:
    return reverse(f"pipelines-settings:{name}", args=args)


def toast(response) -> str:
    return json.loads(response["HX-Trigger"])["messages"][0]["message"]


# --- who may use the pages ---------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_log_in(client, sales):
    for page in (url("pipelines"), url("pipeline", sales.pk)):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('users:login')}?next={page}"


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_non_admins_get_a_403_page_with_nothing_to_edit(client, personas, sales, persona):
    client.force_login(getattr(personas, persona))

    for page in (url("pipelines"), url("pipeline", sales.pk), url("pipeline_delete", sales.pk),
                 url("stage_delete", stage_of(sales, "Meeting").pk)):
        response = client.get(page)
        assert response.status_code == 403, page
        html = response.content.decode()
        assert "Only admins can change pipelines" in html
        assert "Qualification" not in html
        assert re.findall(r"<form[^>]*>", html) == [
            f'<form method="post" action="{reverse("users:logout")}" class="ms-2">']


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_non_admins_cannot_change_anything_by_posting(client, personas, sales, persona):
    client.force_login(getattr(personas, persona))
    meeting = stage_of(sales, "Meeting")
    reason = LostReason.objects.get(name="Price")
    requests = [
        (url("pipeline_create"), {"pipeline-name": "Mine"}),
        (url("pipeline_edit", sales.pk), {"details-name": "Renamed", "details-radio_silent_days": "3"}),
        (url("pipeline_delete", sales.pk), {}),
        (url("stage_add", sales.pk), {"new-name": "Extra", "new-probability": "5"}),
        (url("stage_edit", meeting.pk), {f"stage{meeting.pk}-name": "Call", f"stage{meeting.pk}-probability": "1"}),
        (url("stage_move", meeting.pk), {"position": "0"}),
        (url("stage_delete", meeting.pk), {}),
        (url("lost_reason_add"), {"reason-name": "Mine"}),
        (url("lost_reason_edit", reason.pk), {f"reason{reason.pk}-name": "Cost"}),
        (url("lost_reason_move", reason.pk), {"position": "3"}),
        (url("lost_reason_active", reason.pk), {"active": "0"}),
    ]
    for target, data in requests:
        assert client.post(target, data).status_code == 403, target
        assert client.post(target, data, headers=HTMX).status_code == 403, target

    assert list(Pipeline.objects.values_list("name", flat=True)) == ["Sales"]
    assert stage_names(sales) == [name for name, _p, _r in DEFAULT_STAGES]
    reason.refresh_from_db()
    assert (reason.name, reason.is_active) == ("Price", True)
    assert not LostReason.objects.filter(name="Mine").exists()


def test_the_settings_index_links_to_pipelines_and_deal_fields(admin_client):
    html = admin_client.get(reverse("users:settings")).content.decode()

    assert f'href="{url("pipelines")}"' in html
    assert f'href="{reverse("contacts-settings:fields")}?object=deal"' in html


# --- the pipelines list ------------------------------------------------------------------------

def test_the_list_shows_each_pipeline_with_its_stages_and_deals(admin_client, sales):
    renewals = pipeline_create(name="Renewals", stages=[("Due", 50, None), ("Signed", 100, None)])
    for title in ("A", "B", "C"):
        deal_create(title=title, pipeline=sales)
    deal_won(deal=deal_create(title="Won", pipeline=sales))

    response = admin_client.get(url("pipelines"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Pipelines · Lifecycle</title>" in html
    rows = re.findall(r'<tr id="pipeline-(\d+)" data-testid="pipeline-row">(.*?)</tr>', html, re.S)
    assert [int(pk) for pk, _row in rows] == [renewals.pk, sales.pk]  # by name
    cells = [re.findall(r'<td class="text-end"[^>]*>([^<]*)</td>', row) for _pk, row in rows]
    assert cells == [["2", "0", "0"], ["6", "3", "4"]]  # stages, open deals, all deals
    assert re.search(r'class="nav-link active" href="/settings/" aria-current="page"', html)


def test_the_list_runs_a_fixed_number_of_queries(admin_client, sales, django_assert_num_queries):
    def load() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url("pipelines")).status_code == 200
        return len(captured)

    few = load()
    for index in range(4):
        pipeline = pipeline_create(name=f"Extra {index}")
        deal_lost(deal=deal_create(title=f"Lost {index}", pipeline=pipeline), reason=LostReason.objects.first())
    LostReason.objects.create(name="Went silent", position=9)

    assert load() == few
    with django_assert_num_queries(few):
        admin_client.get(url("pipelines"))


def test_a_new_pipeline_gets_the_default_stages_and_opens(admin_client):
    response = admin_client.post(url("pipeline_create"), {"pipeline-name": "  Renewals  "})

    pipeline = Pipeline.objects.get()
    assert response.status_code == 302 and response["Location"] == url("pipeline", pipeline.pk)
    assert pipeline.name == "Renewals"
    assert list(pipeline.stages.order_by("position").values_list("name", "probability", "rotting_days")) == \
        DEFAULT_STAGES


@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the pipeline a name."),
    ("Sales", "Pipeline with this Name already exists."),
    ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
])
def test_a_bad_pipeline_name_comes_back_with_the_message_by_the_field(admin_client, sales, name, message):
    response = admin_client.post(url("pipeline_create"), {"pipeline-name": name})

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'data-testid="error-name">[^<]*' + re.escape(message), html), html
    assert 'aria-invalid="true"' in html
    assert Pipeline.objects.count() == 1


# --- one pipeline: its name and rules ----------------------------------------------------------

def test_the_pipeline_page_shows_stages_in_order_and_the_rules(admin_client, sales, django_assert_max_num_queries):
    stage_create(pipeline=sales, name="Nurture", probability=5, rotting_days=None)
    deal_create(title="A", pipeline=sales, stage=stage_of(sales, "Meeting"))

    with django_assert_max_num_queries(6):
        response = admin_client.get(url("pipeline", sales.pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(r'data-testid="stage-name">([^<]+)<', html) == [
        "Contact", "Qualification", "Meeting", "Proposal", "Closing", "Retention", "Nurture"]
    facts = [" ".join(f.split()) for f in re.findall(r'data-testid="stage-facts">(.*?)</div>', html, re.S)]
    assert facts[2] == "40% win probability · stale after 21 days"
    assert facts[-1] == "5% win probability · never stale"
    assert re.findall(r'data-testid="stage-deals">([^<]+)<', html)[2] == "1 open deal"
    assert re.search(r'name="details-won_makes_customer"\s+id="id_details-won_makes_customer" checked', html)
    assert 'value="14"' in html  # radio silent days


def test_the_pipeline_page_runs_the_same_queries_however_many_stages(admin_client, sales,
                                                                     django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        admin_client.get(url("pipeline", sales.pk))
    for index in range(5):
        stage_create(pipeline=sales, name=f"Extra {index}")
        deal_create(title=f"D{index}", pipeline=sales, stage=stage_of(sales, f"Extra {index}"))

    with django_assert_num_queries(len(before)):
        admin_client.get(url("pipeline", sales.pk))


def test_renaming_and_changing_the_rules_with_htmx_swaps_the_card(admin_client, sales):
    response = admin_client.post(url("pipeline_edit", sales.pk), {
        "details-name": "New business", "details-radio_silent_days": "7"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-4" id="pipeline-details"')
    assert toast(response) == "Saved “New business”."
    sales.refresh_from_db()
    # An unticked checkbox sends nothing: the rule is off.
    assert (sales.name, sales.radio_silent_days, sales.won_makes_customer) == ("New business", 7, False)


def test_without_htmx_saving_the_rules_redirects_to_the_page(admin_client, sales):
    sales.won_makes_customer = False
    sales.save()

    response = admin_client.post(url("pipeline_edit", sales.pk), {
        "details-name": "Sales", "details-won_makes_customer": "on", "details-radio_silent_days": "30"})

    assert response.status_code == 302 and response["Location"] == url("pipeline", sales.pk)
    sales.refresh_from_db()
    assert (sales.won_makes_customer, sales.radio_silent_days) == (True, 30)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"details-name": "Sales", "details-radio_silent_days": "0"}, "radio_silent_days",
     "Ensure this value is greater than or equal to 1."),
    ({"details-name": "Sales", "details-radio_silent_days": "soon"}, "radio_silent_days", "Enter a whole number."),
    ({"details-name": "Sales", "details-radio_silent_days": ""}, "radio_silent_days",
     "Say after how many days a deal is radio silent."),
    ({"details-name": "Renewals", "details-radio_silent_days": "5"}, "name",
     "Pipeline with this Name already exists."),
])
def test_bad_rules_come_back_as_422_with_the_message_by_the_field(admin_client, sales, data, field, message):
    pipeline_create(name="Renewals")

    response = admin_client.post(url("pipeline_edit", sales.pk), data, headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(rf'data-testid="error-{field}">[^<]*' + re.escape(message), html), html
    page = admin_client.post(url("pipeline_edit", sales.pk), data)
    assert page.status_code == 400 and message in page.content.decode()
    sales.refresh_from_db()
    assert (sales.name, sales.radio_silent_days) == ("Sales", 14)


# --- deleting a pipeline -----------------------------------------------------------------------

def test_deleting_an_empty_pipeline_asks_first(admin_client, sales):
    spare = pipeline_create(name="Spare")

    page = admin_client.get(url("pipeline_delete", spare.pk))
    assert page.status_code == 200
    assert "Its board and its 6 stages go with it. It has no deals." in page.content.decode()
    assert Pipeline.objects.filter(pk=spare.pk).exists()

    response = admin_client.post(url("pipeline_delete", spare.pk), follow=True)

    assert response.redirect_chain[-1][0] == url("pipelines")
    assert "Deleted the pipeline “Spare”." in response.content.decode()
    assert list(Pipeline.objects.values_list("name", flat=True)) == ["Sales"]
    assert not Stage.objects.filter(pipeline_id=spare.pk).exists()


def test_a_pipeline_with_deals_is_not_deleted_and_says_why(admin_client, sales):
    pipeline_create(name="Spare")
    deal_create(title="A", pipeline=sales)

    page = admin_client.get(url("pipeline_delete", sales.pk))
    html = " ".join(page.content.decode().split())
    assert "This pipeline cannot be deleted while it has deals: 1 deal is in it (1 open)." in html
    assert "Delete pipeline</button>" not in html

    forced = admin_client.post(url("pipeline_delete", sales.pk))

    assert forced.status_code == 400
    assert "1 deal is still in this pipeline. Delete or move them first." in forced.content.decode()
    assert Pipeline.objects.filter(pk=sales.pk).exists()


def test_the_only_pipeline_is_not_deleted(admin_client, sales):
    assert "This is the only pipeline." in admin_client.get(url("pipeline_delete", sales.pk)).content.decode()

    forced = admin_client.post(url("pipeline_delete", sales.pk))

    assert forced.status_code == 400
    assert "This is the only pipeline; create another before deleting it." in forced.content.decode()


# --- stages ------------------------------------------------------------------------------------

def test_editing_a_stage_inline_swaps_the_row_for_a_form_and_back(admin_client, sales):
    meeting = stage_of(sales, "Meeting")
    edit = url("stage_edit", meeting.pk)

    form = admin_client.get(edit, headers=HTMX)
    html = form.content.decode()
    assert form.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<li class="list-group-item stage-row stage-row-editing" id="stage-{meeting.pk}"')
    assert f'name="stage{meeting.pk}-probability"' in html and 'value="40"' in html and 'value="21"' in html

    saved = admin_client.post(edit, {f"stage{meeting.pk}-name": "Demo", f"stage{meeting.pk}-probability": "45",
                                     f"stage{meeting.pk}-rotting_days": ""}, headers=HTMX)

    assert saved.status_code == 200
    html = saved.content.decode()
    assert 'data-testid="stage-name">Demo<' in html and "never stale" in html
    assert re.search(r'autofocus>Edit<span class="visually-hidden"> Demo', html)  # the keyboard goes back to Edit
    assert toast(saved) == "Saved the stage “Demo”."
    meeting.refresh_from_db()
    assert (meeting.name, meeting.probability, meeting.rotting_days, meeting.position) == ("Demo", 45, None, 2)
    cancel = admin_client.get(url("stage_row", meeting.pk), headers=HTMX)
    assert 'data-testid="stage-name">Demo<' in cancel.content.decode()


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"name": "Meeting", "probability": "101"}, "probability", "Ensure this value is less than or equal to 100."),
    ({"name": "Meeting", "probability": "-1"}, "probability", "Ensure this value is greater than or equal to 0."),
    ({"name": "Meeting", "probability": "lots"}, "probability", "Enter a whole number."),
    ({"name": "Meeting", "probability": ""}, "probability", "Give a win probability from 0 to 100."),
    ({"name": "Meeting", "probability": "40", "rotting_days": "-3"}, "rotting_days",
     "Ensure this value is greater than or equal to 0."),
    ({"name": "Proposal", "probability": "40"}, "name", "This pipeline already has a stage called “Proposal”."),
    ({"name": "  ", "probability": "40"}, "name", "Give the stage a name."),
])
def test_a_bad_stage_edit_is_a_422_with_the_message_by_the_field(admin_client, sales, data, field, message):
    meeting = stage_of(sales, "Meeting")

    response = admin_client.post(url("stage_edit", meeting.pk),
                                 {f"stage{meeting.pk}-{name}": value for name, value in data.items()}, headers=HTMX)

    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(rf'data-testid="error-{field}">[^<]*' + re.escape(message), html), html
    assert 'aria-label="Edit Meeting"' in html  # the form is labelled with the stored name, not the typed one
    meeting.refresh_from_db()
    assert (meeting.name, meeting.probability, meeting.rotting_days) == ("Meeting", 40, 21)


def test_without_htmx_editing_a_stage_is_a_page_and_saving_redirects(admin_client, sales):
    meeting = stage_of(sales, "Meeting")
    edit = url("stage_edit", meeting.pk)

    page = admin_client.get(edit)
    assert page.status_code == 200 and "<h1>Edit the stage “Meeting”</h1>" in page.content.decode()
    bad = admin_client.post(edit, {f"stage{meeting.pk}-name": "Demo", f"stage{meeting.pk}-probability": "300"})
    assert bad.status_code == 400 and "Ensure this value is less than or equal to 100." in bad.content.decode()
    good = admin_client.post(edit, {f"stage{meeting.pk}-name": "Demo", f"stage{meeting.pk}-probability": "30"})
    assert good.status_code == 302 and good["Location"] == url("pipeline", sales.pk) + f"#stage-{meeting.pk}"
    assert admin_client.get(url("stage_row", meeting.pk))["Location"] == url("pipeline", sales.pk) + \
        f"#stage-{meeting.pk}"


def test_adding_a_stage_with_htmx_returns_the_card_with_it_last(admin_client, sales):
    response = admin_client.post(url("stage_add", sales.pk), {"new-name": "Onboarding", "new-probability": "100",
                                                              "new-rotting_days": "30"}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-4" id="stages"')
    assert re.findall(r'data-testid="stage-name">([^<]+)<', html)[-1] == "Onboarding"
    assert toast(response) == "Added the stage “Onboarding”."
    added = stage_of(sales, "Onboarding")
    assert (added.position, added.probability, added.rotting_days) == (6, 100, 30)


def test_adding_a_bad_stage_is_a_422_with_htmx_and_a_400_page_without(admin_client, sales):
    bad = admin_client.post(url("stage_add", sales.pk), {"new-name": "Closing", "new-probability": "10"},
                            headers=HTMX)
    assert bad.status_code == 422
    assert "This pipeline already has a stage called “Closing”." in bad.content.decode()
    assert 'value="Closing"' in bad.content.decode()  # what was typed is kept

    page = admin_client.post(url("stage_add", sales.pk), {"new-name": "", "new-probability": "10"})
    assert page.status_code == 400
    assert "Give the stage a name." in page.content.decode() and "<h1>Sales</h1>" in page.content.decode()


def test_the_arrows_move_a_stage_and_keep_the_keyboard_on_the_pressed_button(admin_client, sales):
    qualification = stage_of(sales, "Qualification")

    response = admin_client.post(url("stage_move", qualification.pk), {"position": "0"}, headers=HTMX)

    assert response.status_code == 200
    assert stage_names(sales)[:3] == ["Qualification", "Contact", "Meeting"]
    assert list(sales.stages.order_by("position").values_list("position", flat=True)) == [0, 1, 2, 3, 4, 5]
    html = response.content.decode()
    # Now first, so it has no "up" any more: the keyboard goes to its "down" button.
    assert re.findall(r'aria-label="([^"]+)"[^>]*autofocus', html) == ["Move Qualification down"]
    assert re.search(r'aria-label="Move Qualification up"[^>]*disabled', html)

    down = admin_client.post(url("stage_move", qualification.pk), {"position": "1"})
    assert down.status_code == 302 and down["Location"] == url("pipeline", sales.pk) + f"#stage-{qualification.pk}"
    assert stage_names(sales)[:2] == ["Contact", "Qualification"]


@pytest.mark.parametrize("position", ["", "up", "-1"])
def test_a_move_without_a_good_position_changes_nothing(admin_client, sales, position):
    meeting = stage_of(sales, "Meeting")

    response = admin_client.post(url("stage_move", meeting.pk), {"position": position})

    assert response.status_code == 302
    assert stage_names(sales)[2] == "Meeting"


def test_deleting_a_stage_nobody_used_asks_first_then_closes_the_gap(admin_client, sales):
    meeting = stage_of(sales, "Meeting")

    page = admin_client.get(url("stage_delete", meeting.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert "No deal is or was ever in it." in html and 'name="move_deals_to"' not in html

    response = admin_client.post(url("stage_delete", meeting.pk))

    assert response.status_code == 302 and response["Location"] == url("pipeline", sales.pk)
    assert stage_names(sales) == ["Contact", "Qualification", "Proposal", "Closing", "Retention"]
    assert list(sales.stages.order_by("position").values_list("position", flat=True)) == [0, 1, 2, 3, 4]


def test_deleting_a_stage_with_deals_asks_where_they_go_and_moves_them(admin_client, sales, personas):
    meeting, proposal = stage_of(sales, "Meeting"), stage_of(sales, "Proposal")
    already = deal_create(title="Already there", pipeline=sales, stage=proposal)
    moving = deal_create(title="Moving", pipeline=sales, stage=meeting)
    won = deal_create(title="Won", pipeline=sales, stage=meeting)
    deal_won(deal=won)
    passed = deal_create(title="Passed", pipeline=sales, stage=meeting)
    deal_move(deal=passed, stage=stage_of(sales, "Closing"))

    page = admin_client.get(url("stage_delete", meeting.pk))
    html = page.content.decode()
    assert "1 open deal is in it; it moves to the stage you choose" in html
    assert "1 won or lost deal was closed in it" in html
    assert "Deals passed through it 1 time;" in html
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', html)
    assert [label for _value, label in options] == ["Choose a stage…", "Contact", "Qualification", "Proposal",
                                                    "Closing", "Retention"]

    missing = admin_client.post(url("stage_delete", meeting.pk), {"move_deals_to": ""})
    assert missing.status_code == 400
    assert re.search(r'data-testid="error-move_deals_to">Choose the stage its deals go to.', missing.content.decode())
    other = pipeline_create(name="Other")
    foreign = admin_client.post(url("stage_delete", meeting.pk), {"move_deals_to": str(other.stages.first().pk)})
    assert foreign.status_code == 400 and "Choose another stage of this pipeline." in foreign.content.decode()
    assert Stage.objects.filter(pk=meeting.pk).exists()

    response = admin_client.post(url("stage_delete", meeting.pk), {"move_deals_to": str(proposal.pk)}, follow=True)

    assert "Deleted the stage “Meeting”. Its deals are now in “Proposal”." in response.content.decode()
    assert not Stage.objects.filter(pk=meeting.pk).exists()
    assert list(Deal.objects.filter(stage=proposal, status="open").order_by("position").values_list(
        "title", flat=True)) == ["Already there", "Moving"]
    assert Deal.objects.get(pk=already.pk).position == 0
    assert DealStageHistory.objects.filter(deal=moving, stage=proposal, exited_at__isnull=True).exists()  # recorded
    assert Deal.objects.get(pk=won.pk).stage == proposal
    assert not DealStageHistory.objects.filter(stage_id=meeting.pk).exists()
    assert DealStageHistory.objects.filter(deal=passed, stage=proposal).exists()


def test_the_only_stage_of_a_pipeline_is_not_deleted(admin_client):
    single = pipeline_create(name="Single", stages=[("Only", 50, None)])
    only = single.stages.get()

    page = admin_client.get(url("stage_delete", only.pk))
    assert "This is the only stage of Single" in page.content.decode()
    forced = admin_client.post(url("stage_delete", only.pk))

    assert forced.status_code == 400
    assert "A pipeline needs at least one stage." in forced.content.decode()
    assert single.stages.count() == 1


# --- lost reasons ------------------------------------------------------------------------------

def test_the_lost_reasons_are_listed_in_order_with_how_many_lost_deals_give_each(admin_client, sales):
    price = LostReason.objects.get(name="Price")
    for index in range(2):
        deal_lost(deal=deal_create(title=f"L{index}", pipeline=sales), reason=price)

    html = admin_client.get(url("pipelines")).content.decode()

    rows = re.findall(r'data-testid="reason-name">([^<]+)<', html)
    assert rows == ["Price", "Chose a competitor", "No budget", "No decision", "Timing", "Bad fit"]
    assert "2 lost deals" in html
    assert re.search(r'aria-label="Move Price up"[^>]*disabled', html)
    assert re.search(r'aria-label="Move Bad fit down"[^>]*disabled', html)


def test_adding_a_lost_reason_puts_it_last(admin_client):
    response = admin_client.post(url("lost_reason_add"), {"reason-name": " Went silent "}, headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card mb-4" id="lost-reasons"')
    assert re.findall(r'data-testid="reason-name">([^<]+)<', html)[-1] == "Went silent"
    assert reason_names()[-1] == "Went silent"

    page = admin_client.post(url("lost_reason_add"), {"reason-name": "Ghosted"})
    assert page.status_code == 302 and page["Location"].startswith(url("pipelines") + "#reason-")


@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the reason a name."),
    ("Price", "Lost reason with this Name already exists."),
])
def test_a_bad_lost_reason_comes_back_with_the_message(admin_client, name, message):
    htmx = admin_client.post(url("lost_reason_add"), {"reason-name": name}, headers=HTMX)
    assert htmx.status_code == 422
    assert re.search(r'data-testid="error-name">[^<]*' + re.escape(message), htmx.content.decode())

    page = admin_client.post(url("lost_reason_add"), {"reason-name": name})
    assert page.status_code == 400 and message in page.content.decode()
    assert LostReason.objects.count() == 6


def test_renaming_a_lost_reason_inline_keeps_it_on_lost_deals(admin_client, sales):
    price = LostReason.objects.get(name="Price")
    lost = deal_lost(deal=deal_create(title="L", pipeline=sales), reason=price)
    edit = url("lost_reason_edit", price.pk)

    form = admin_client.get(edit, headers=HTMX)
    assert f'name="reason{price.pk}-name"' in form.content.decode() and 'value="Price"' in form.content.decode()
    bad = admin_client.post(edit, {f"reason{price.pk}-name": "Timing"}, headers=HTMX)
    assert bad.status_code == 422 and "Lost reason with this Name already exists." in bad.content.decode()

    saved = admin_client.post(edit, {f"reason{price.pk}-name": "Too expensive"}, headers=HTMX)

    assert saved.status_code == 200
    assert 'data-testid="reason-name">Too expensive<' in saved.content.decode()
    assert toast(saved) == "Renamed “Price” to “Too expensive”; lost deals keep it under the new name."
    assert Deal.objects.get(pk=lost.pk).lost_reason.name == "Too expensive"
    page = admin_client.get(edit)
    assert page.status_code == 200 and "<h1>Rename the lost reason “Too expensive”</h1>" in page.content.decode()


def test_a_retired_reason_stays_on_lost_deals_but_cannot_be_picked_until_restored(admin_client, sales):
    timing = LostReason.objects.get(name="Timing")

    retired = admin_client.post(url("lost_reason_active", timing.pk), {"active": "0"}, headers=HTMX)

    assert retired.status_code == 200
    assert 'data-testid="retired-badge"' in retired.content.decode() and "Restore" in retired.content.decode()
    assert toast(retired) == "Retired “Timing”: lost deals keep it, new ones cannot pick it."
    with pytest.raises(ValidationError):
        deal_lost(deal=deal_create(title="L", pipeline=sales), reason=LostReason.objects.get(pk=timing.pk))

    restored = admin_client.post(url("lost_reason_active", timing.pk), {"active": "1"})
    assert restored.status_code == 302
    assert LostReason.objects.get(pk=timing.pk).is_active


def test_the_arrows_reorder_the_lost_reasons_with_gapless_positions(admin_client):
    timing = LostReason.objects.get(name="Timing")
    LostReason.objects.filter(name="Bad fit").update(position=40)  # gaps from older edits do not matter

    response = admin_client.post(url("lost_reason_move", timing.pk), {"position": "0"}, headers=HTMX)

    assert response.status_code == 200
    assert reason_names() == ["Timing", "Price", "Chose a competitor", "No budget", "No decision", "Bad fit"]
    assert list(LostReason.objects.order_by("position").values_list("position", flat=True)) == [0, 1, 2, 3, 4, 5]
    assert re.findall(r'aria-label="([^"]+)"[^>]*autofocus', response.content.decode()) == ["Move Timing down"]

    admin_client.post(url("lost_reason_move", timing.pk), {"position": "1"})
    assert reason_names()[:2] == ["Price", "Timing"]


def test_the_lost_reasons_card_says_what_to_do_when_there_are_none(admin_client):
    LostReason.objects.all().delete()

    html = admin_client.get(url("pipelines")).content.decode()

    assert "No lost reasons yet. Add the first one" in html
    assert "No pipelines yet. Create the first one" in html


def test_a_won_deal_follows_the_rule_the_page_sets(admin_client, sales):
    stage_sets_ensure_defaults()
    contact = contact_create(email="a@example.com")
    before = contact.lifecycle_stage_id
    admin_client.post(url("pipeline_edit", sales.pk), {"details-name": "Sales", "details-radio_silent_days": "14"})

    deal_won(deal=deal_create(title="A", pipeline=sales, contact=contact))

    contact.refresh_from_db()
    assert contact.lifecycle_stage_id == before  # the rule is off: the contact was not made a customer
    assert not StageTransition.objects.filter(contact=contact).exists()

    admin_client.post(url("pipeline_edit", sales.pk), {"details-name": "Sales", "details-radio_silent_days": "14",
                                                       "details-won_makes_customer": "on"})
    deal_won(deal=deal_create(title="B", pipeline=sales, contact=contact))
    contact.refresh_from_db()
    assert contact.lifecycle_stage.name == "Support & Grow"
