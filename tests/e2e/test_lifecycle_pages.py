"""The lifecycle pages in a real Chromium under the strict CSP: stage settings by keyboard, and the overview."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from contacts.models import Contact
from lifecycle.models import StageSet
from lifecycle.services import contact_stage_set, stage_sets_ensure_defaults
from tests.e2e.conftest import htmx_settled, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def default_stage_sets(db):
    """A transactional test starts from empty tables: put back what the data migration creates."""
    stage_sets_ensure_defaults()



def stage_names(page: Page) -> list[str]:
    card = page.get_by_test_id("stage-set").first
    return card.get_by_test_id("stage-name").all_inner_texts()


def test_an_admin_renames_a_stage_inline_and_reorders_by_keyboard(live_server, page: Page, personas,
                                                                   console_problems):  # noqa: F811
    log_in(page, live_server, "admin", personas.password, "/settings/lifecycle-stages/")
    expect(page.get_by_role("heading", name="Lifecycle stages", level=1)).to_be_visible()
    assert stage_names(page) == ["Reach & Engage", "Nurture & Educate", "Convert & Close", "Support & Grow"]

    # Edit inline: the row becomes a form with the name focused; Enter saves.
    page.get_by_role("link", name="Edit Reach & Engage").click()
    name = page.get_by_label("Name", exact=True).first
    expect(name).to_be_focused()
    expect(name).to_have_value("Reach & Engage")
    htmx_settled(page)
    name.fill("Reach")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("stage-name").first).to_have_text("Reach")
    expect(page.locator("#toasts .toast").filter(has_text="Saved “Reach”.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit Reach", exact=True)).to_be_focused()  # back where it was

    # A blank name is refused by the field, and Esc cancels.
    page.keyboard.press("Enter")
    name = page.get_by_label("Name", exact=True).first
    expect(name).to_have_value("Reach")  # the edit form is in (until then .first is the empty Add field)
    expect(name).to_be_focused()
    htmx_settled(page)
    name.fill("")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Give the stage a name.")).to_be_visible()
    htmx_settled(page)
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stage-name").first).to_have_text("Reach")
    htmx_settled(page)  # the cancelled row focuses its Edit link when the settle ends: wait, or it takes our Enter
    assert StageSet.objects.get(is_active=True).stages.get(position=0).name == "Reach"

    # Reorder with the arrow buttons; focus stays on the moved stage's button, so pressing again moves it on.
    names = page.get_by_test_id("stage-set").first.get_by_test_id("stage-name")
    page.get_by_role("button", name="Move Reach down").focus()
    page.keyboard.press("Enter")
    expect(names).to_have_text(["Nurture & Educate", "Reach", "Convert & Close", "Support & Grow"])
    expect(page.get_by_role("button", name="Move Reach down")).to_be_focused()
    page.keyboard.press("Enter")
    expect(names).to_have_text(["Nurture & Educate", "Convert & Close", "Reach", "Support & Grow"])
    assert list(StageSet.objects.get(is_active=True).stages.order_by("position").values_list("name", flat=True)) == [
        "Nurture & Educate", "Convert & Close", "Reach", "Support & Grow"]

    # Add a stage: it appears at the end and the name field is ready for the next one.
    htmx_settled(page)  # or the moved button takes the focus back when its settle ends, and gets the Enter
    add_name = page.get_by_role("form", name="Add a stage to Customer lifecycle").get_by_label("Name")
    add_name.fill("Advocate")
    add_name.press("Enter")
    expect(page.get_by_test_id("stage-set").first.get_by_test_id("stage-name").last).to_have_text("Advocate")
    expect(page.get_by_role("form", name="Add a stage to Customer lifecycle").get_by_label("Name")).to_be_focused()

    # The blank name's 422 was expected (Chromium logs every 4xx); anything else is a real problem.
    assert [p for p in console_problems if "status of 422" not in p] == []


def test_the_overview_shows_counts_per_stage_and_draws_the_chart(live_server, page: Page, personas,
                                                                console_problems):  # noqa: F811
    stages = {s.name: s for s in StageSet.objects.get(is_active=True).stages.all()}
    now = timezone.now()
    for i in range(3):
        contact = Contact.objects.create(email=f"lead{i}@example.com", owner=personas.rep_alice)
        contact_stage_set(contact=contact, stage=stages["Reach & Engage"], actor="form",
                          occurred_at=now - timedelta(days=20))
        if i < 2:
            contact_stage_set(contact=contact, stage=stages["Convert & Close"], actor="rule",
                              occurred_at=now - timedelta(days=10))
        if i == 0:
            contact_stage_set(contact=contact, stage=stages["Nurture & Educate"], actor="user",
                              user=personas.marketer, occurred_at=now - timedelta(days=2))
    Contact.objects.create(email="fresh@example.com")

    log_in(page, live_server, "rep_alice", personas.password, "/reports/")
    expect(page.get_by_role("heading", name="Lifecycle overview", level=1)).to_be_visible()
    expect(page.get_by_test_id("overview-contacts")).to_have_text("4")
    expect(page.get_by_test_id("overview-forward")).to_have_text("2")
    expect(page.get_by_test_id("overview-backward")).to_have_text("1")
    table = page.get_by_test_id("overview-table")
    expect(table.locator('tr[data-stage="Convert & Close"] [data-col="now"]')).to_have_text("1")
    expect(table.locator('tr[data-stage="Nurture & Educate"] [data-col="backward"]')).to_have_text("1")
    expect(table.locator('tr[data-stage="no stage"] [data-col="now"]')).to_have_text("1")
    page.wait_for_function("() => window.Chart && Chart.getChart('lifecycle-overview-chart')")
    drawn = page.evaluate("() => Chart.getChart('lifecycle-overview-chart').data.datasets.map(d => d.data)")
    assert drawn == [[3, 0, 0, 0], [0, 0, 2, 0], [0, 1, 0, 0]]

    # A shorter period leaves the older moves out; the "now" counts stay.
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.get_by_test_id("overview-forward")).to_have_text("0")
    expect(page.get_by_test_id("overview-backward")).to_have_text("1")
    expect(table.locator('tr[data-stage="Convert & Close"] [data-col="now"]')).to_have_text("1")

    # A custom period with the last day before the first is explained, not a crash.
    page.get_by_label("From", exact=True).fill("2025-03-10")
    page.get_by_label("To", exact=True).fill("2025-03-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The last day cannot be before the first day.")).to_be_visible()

    page.goto(live_server.url + "/reports/")
    page.wait_for_timeout(800)  # let the bars grow in, so the screenshot shows them
    page.screenshot(path="/tmp/lifecycle-overview.png", full_page=True)
    # The bad period's 400 was expected (Chromium logs every 4xx); anything else is a real problem.
    assert [p for p in console_problems if "status of 400" not in p] == []
