"""Settings → Pipelines and the deal fields tab in a real Chromium, under the strict CSP."""

import re

import pytest
from playwright.sync_api import Page, expect

from contacts.models import CustomField
from pipelines.models import DEFAULT_LOST_REASONS, Deal, LostReason, Pipeline
from pipelines.services import deal_create, pipeline_create
from tests.e2e.conftest import htmx_settled, log_in, real_problems

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]




def stage_names(page: Page) -> list[str]:
    return page.get_by_test_id("stage-name").all_inner_texts()


def test_an_admin_creates_a_pipeline_and_shapes_its_stages_and_rules(live_server, page: Page, personas,
                                                                     console_problems):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "admin", personas.password, "/settings/")
    page.get_by_role("link", name="Pipelines").first.click()
    expect(page.get_by_role("heading", name="Pipelines", level=1)).to_be_visible()
    expect(page.get_by_test_id("pipelines-empty")).to_contain_text("No pipelines yet")

    # A name that is missing comes back with the message by the field.
    page.get_by_role("button", name="Create pipeline").click()
    expect(page.get_by_test_id("error-name")).to_have_text("Give the pipeline a name.")
    page.get_by_label("Pipeline name").fill("Renewals")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/settings/pipelines/\d+/$"))
    pipeline = Pipeline.objects.get()
    assert page.url == f"{live_server.url}/settings/pipelines/{pipeline.pk}/"
    expect(page.locator("#toasts .toast")).to_contain_text("Created the pipeline “Renewals” with the default stages.")
    assert stage_names(page) == ["Contact", "Qualification", "Meeting", "Proposal", "Closing", "Retention"]

    # Edit a stage inline: a bad probability first, then a good one, saved with Enter.
    page.get_by_role("link", name="Edit Meeting").click()
    editing = page.get_by_role("form", name="Edit Meeting")
    expect(editing.get_by_label("Name")).to_be_focused()
    htmx_settled(page)
    editing.get_by_label("Win probability (%)").fill("140")
    editing.get_by_label("Win probability (%)").press("Enter")
    expect(editing.get_by_test_id("error-probability")).to_have_text(
        "Ensure this value is less than or equal to 100.")
    htmx_settled(page)
    editing.get_by_label("Name").fill("Demo")
    editing.get_by_label("Win probability (%)").fill("45")
    editing.get_by_label("Rotting limit (days)").fill("")
    editing.get_by_label("Rotting limit (days)").press("Enter")  # on the field itself, not wherever focus went
    demo = page.locator("[data-testid=stage-row]", has_text="Demo")
    expect(demo.get_by_test_id("stage-facts")).to_contain_text("45% win probability · never stale")
    expect(page.get_by_role("link", name="Edit Demo")).to_be_focused()

    # Esc leaves an inline edit without saving.
    page.keyboard.press("Enter")
    editing = page.get_by_role("form", name="Edit Demo")
    expect(editing.get_by_label("Name")).to_be_focused()
    htmx_settled(page)
    editing.get_by_label("Name").press_sequentially(" again")
    editing.get_by_label("Name").press("Escape")
    expect(page.get_by_role("link", name="Edit Demo")).to_be_visible()
    expect(editing).to_have_count(0)

    # The arrows reorder; the keyboard stays on the pressed button.
    page.get_by_role("button", name="Move Proposal up").click()
    expect(page.get_by_test_id("stage-name").nth(2)).to_have_text("Proposal")
    expect(page.get_by_role("button", name="Move Proposal up")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stage-name").nth(1)).to_have_text("Proposal")
    htmx_settled(page)

    # Add a stage at the end.
    add = page.locator("#stages form[aria-labelledby=stage-add-title]")
    add.get_by_label("Name").fill("Upsell")
    add.get_by_label("Win probability (%)").fill("30")
    add.get_by_label("Rotting limit (days)").fill("45")
    add.get_by_role("button", name="Add stage").click()
    expect(page.get_by_test_id("stage-name").last).to_have_text("Upsell")
    assert stage_names(page) == ["Contact", "Proposal", "Qualification", "Demo", "Closing", "Retention", "Upsell"]
    htmx_settled(page)  # the Add form's name takes the focus when its settle ends

    # The rules: a bad number, then the "won → customer" rule turned off.
    rules = page.get_by_test_id("pipeline-details")
    rules.get_by_label("Radio silent after (days)").fill("0")
    rules.get_by_role("button", name="Save name and rules").click()
    expect(page.get_by_test_id("error-radio_silent_days")).to_contain_text("greater than or equal to 1")
    page.get_by_label("Radio silent after (days)").fill("10")
    page.get_by_label("When a deal is won, make its contact a customer").uncheck()
    page.get_by_role("button", name="Save name and rules").click()
    expect(page.locator("#toasts .toast").last).to_contain_text("Saved “Renewals”.")

    pipeline.refresh_from_db()
    assert (pipeline.radio_silent_days, pipeline.won_makes_customer) == (10, False)
    assert list(pipeline.stages.order_by("position").values_list("name", "probability", "rotting_days"))[3] == \
        ("Demo", 45, None)
    assert real_problems(console_problems) == []


def test_deleting_a_stage_with_deals_asks_where_they_go(live_server, page: Page, personas, console_problems):
    sales = pipeline_create(name="Sales")
    meeting = sales.stages.get(name="Meeting")
    deal = deal_create(title="Acme renewal", pipeline=sales, stage=meeting)
    log_in(page, live_server, "admin", personas.password, f"/settings/pipelines/{sales.pk}/")

    page.get_by_role("link", name="Delete Meeting").click()
    expect(page.get_by_role("heading", name="Delete the stage “Meeting”?")).to_be_visible()
    expect(page.get_by_test_id("delete-consequences")).to_contain_text("1 open deal is in it")
    page.get_by_role("button", name="Move the deals and delete the stage").click()
    expect(page.get_by_test_id("error-move_deals_to")).to_have_text("Choose the stage its deals go to.")
    page.get_by_label("Move its deals to").select_option(label="Proposal")
    page.get_by_role("button", name="Move the deals and delete the stage").click()

    expect(page).to_have_url(f"{live_server.url}/settings/pipelines/{sales.pk}/")
    expect(page.locator("#toasts .toast")).to_contain_text("Its deals are now in “Proposal”.")
    assert "Meeting" not in stage_names(page)
    assert Deal.objects.get(pk=deal.pk).stage.name == "Proposal"
    assert real_problems(console_problems) == []


def test_an_admin_adds_renames_retires_and_reorders_lost_reasons(live_server, page: Page, personas,
                                                                  console_problems):
    # Transactional tests empty the tables, so the list a migration makes is made again here.
    for position, name in enumerate(DEFAULT_LOST_REASONS):
        LostReason.objects.get_or_create(name=name, defaults={"position": position})
    log_in(page, live_server, "admin", personas.password, "/settings/pipelines/")
    reasons = page.get_by_test_id("lost-reasons")

    reasons.get_by_label("Reason", exact=True).fill("Went silent")
    reasons.get_by_role("button", name="Add reason").click()
    expect(reasons.get_by_test_id("reason-name").last).to_have_text("Went silent")

    reasons.get_by_role("link", name="Rename Price").click()
    rename = reasons.get_by_role("form", name="Rename Price").get_by_label("Name")
    expect(rename).to_be_focused()
    htmx_settled(page)  # the "Add reason" swap's settle focuses the Reason box when it ends
    rename.fill("Too expensive")
    rename.press("Enter")
    expect(reasons.get_by_test_id("reason-name").first).to_have_text("Too expensive")

    reasons.get_by_role("button", name="Retire Timing").click()
    timing = reasons.locator("[data-testid=reason-row]", has_text="Timing")
    expect(timing.get_by_test_id("retired-badge")).to_be_visible()
    expect(timing.get_by_role("button", name="Restore Timing")).to_be_focused()

    reasons.get_by_role("button", name="Move Went silent up").click()
    expect(reasons.get_by_test_id("reason-name").nth(5)).to_have_text("Went silent")

    assert list(LostReason.objects.order_by("position").values_list("name", "is_active")) == [
        ("Too expensive", True), ("Chose a competitor", True), ("No budget", True), ("No decision", True),
        ("Timing", False), ("Went silent", True), ("Bad fit", True)]
    assert real_problems(console_problems) == []


def test_an_admin_adds_a_deal_field_on_the_deals_tab(live_server, page: Page, personas, console_problems):
    log_in(page, live_server, "admin", personas.password, "/settings/fields/")
    tabs = page.get_by_test_id("field-objects")
    tabs.get_by_role("link", name="Deals").click()
    expect(page).to_have_url(f"{live_server.url}/settings/fields/?object=deal")
    expect(page.get_by_test_id("empty-state")).to_contain_text("No deal fields yet")

    page.get_by_role("link", name="Add your first deal field").click()
    expect(page.get_by_role("heading", name="New deal field")).to_be_visible()
    page.get_by_label("Label").fill("Contract length")
    page.get_by_label("Type").select_option(label="Number")
    page.get_by_role("button", name="Add field").click()

    field = CustomField.objects.get()
    expect(page).to_have_url(f"{live_server.url}/settings/fields/?object=deal#field-{field.pk}")
    expect(page.get_by_test_id("field-row")).to_contain_text("Contract length")
    expect(tabs.get_by_role("link", name="Deals")).to_have_attribute("aria-current", "page")
    assert (field.object, field.key, field.type) == ("deal", "contract_length", "number")
    assert real_problems(console_problems) == []


def test_a_rep_is_told_who_changes_pipelines(live_server, page: Page, personas, console_problems):
    pipeline_create(name="Sales")
    log_in(page, live_server, "rep_alice", personas.password, "/settings/")

    response = page.goto(f"{live_server.url}/settings/pipelines/")

    assert response.status == 403
    expect(page.get_by_role("heading", name="Only admins can change pipelines")).to_be_visible()
    expect(page.get_by_role("button", name="Create pipeline")).to_have_count(0)
    assert [p for p in real_problems(console_problems) if "status of 403" not in p] == []
