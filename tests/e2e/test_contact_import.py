"""A CSV import in a real Chromium, run by a real Celery worker: upload, check the automatic mapping, start,
and watch the progress bar reach the report."""

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from contacts.models import Contact, ImportJob

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 10_000  # ten batches: a few seconds on the worker, so the bar has steps to take


@pytest.fixture
def csp_problems(page: Page) -> list[str]:
    """Console errors, CSP violations and uncaught exceptions seen while the test runs."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}")
            if msg.type == "error" or "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    return problems


@pytest.fixture
def uploaded_files():
    """Removes what the test uploads: the live server and the worker share var/media."""
    before = set((settings.MEDIA_ROOT / "imports").rglob("*")) if (settings.MEDIA_ROOT / "imports").exists() else set()
    yield
    if (settings.MEDIA_ROOT / "imports").exists():
        for path in set((settings.MEDIA_ROOT / "imports").rglob("*")) - before:
            if path.is_file():
                path.unlink()


def test_a_marketer_imports_a_csv_and_watches_the_progress_bar_reach_the_report(
        live_server, page: Page, personas, celery_worker, uploaded_files, csp_problems):
    lines = ["Email address,First Name,Last Name,Company Name"]
    lines += [f"person{i}@example.com,Person,Number {i},Acme" for i in range(ROWS - 1)]
    lines.append("not an email,Broken,Row,Acme")
    page.set_viewport_size({"width": 1280, "height": 900})
    polls = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/progress/") else None)

    page.goto(live_server.url + "/contacts/import/")
    page.get_by_label("Username").fill(personas.marketer.username)
    page.get_by_label("Password").fill(personas.password)
    page.get_by_label("Password").press("Enter")

    expect(page.get_by_role("heading", name="No imports yet")).to_be_visible()
    page.get_by_role("link", name="Start an import").click()
    page.get_by_label("CSV or Excel file").set_input_files(
        {"name": "webinar-leads.csv", "mimeType": "text/csv", "buffer": "\r\n".join(lines).encode()})
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Map columns")).to_be_visible()
    expect(page.get_by_test_id("preview")).to_contain_text("person0@example.com")
    expect(page.get_by_label("Import “Email address” into")).to_have_value("email")
    expect(page.get_by_label("Import “First Name” into")).to_have_value("first_name")
    expect(page.get_by_label("Import “Last Name” into")).to_have_value("last_name")
    expect(page.get_by_label("Import “Company Name” into")).to_have_value("company")
    page.get_by_label("Tags to add").fill("webinar 2026")
    page.get_by_role("button", name="Start import").click()

    expect(page.get_by_role("heading", name="Import of webinar-leads.csv")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Import progress")).to_be_visible()
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible(timeout=60_000)
    assert polls, "the report should arrive through the htmx polling of the progress bar"

    bar = page.get_by_role("progressbar", name="Import progress")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    assert bar.locator(".progress-bar").evaluate("el => el.style.width") == "100%"
    expect(page.get_by_test_id("created-count")).to_have_text(f"{ROWS - 1:,}")
    expect(page.get_by_test_id("failed-count")).to_have_text("1")
    expect(page.get_by_test_id("failed-rows")).to_contain_text(f"{ROWS + 1}")
    expect(page.get_by_test_id("failed-rows")).to_contain_text("is not a valid email address")
    expect(page.get_by_role("link", name="Download failed rows as CSV")).to_be_visible()

    job = ImportJob.objects.get()
    assert (job.status, job.total_rows, job.created_count, job.failed_count) == ("done", ROWS, ROWS - 1, 1)
    assert Contact.objects.filter(tags__name="webinar 2026", account__name="Acme").count() == ROWS - 1
    assert csp_problems == []

    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_test_id("import-row")).to_contain_text("webinar-leads.csv")
