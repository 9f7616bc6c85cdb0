"""Contact import from CSV and Excel: the file checks, the mapping, the run in batches, the report and the pages.

Most tests run the task's function in the test process; test_a_queued_import_runs_on_the_real_worker runs it on
a real Celery worker.
"""

import csv
import io

import psycopg
import pytest
import tablib
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import imports
from contacts.csvutil import csv_stream, safe_cell
from contacts.models import Contact, ContactList, CustomField, Event, ImportJob, Subscription, Tag
from contacts.tasks import import_contacts
from lifecycle.models import LifecycleStage
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def fields(db):
    return {
        "industry": CustomField.objects.create(key="industry", label="Industry"),
        "headcount": CustomField.objects.create(key="headcount", label="Employee headcount",
                                                type=CustomField.Type.NUMBER),
        "region": CustomField.objects.create(key="region", label="Region", type=CustomField.Type.CHOICE,
                                             choices=["EMEA", "Americas", "APAC"]),
    }


def csv_bytes(rows: list[list], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(content: bytes, name: str = "contacts.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def run_import(user, content: bytes, *, name: str = "contacts.csv", mapping: dict | None = None, **options):
    """Upload, start and run an import the way the pages and the worker do. Returns the finished job."""
    job = imports.import_create(file=upload(content, name), user=user)
    imports.import_start(job=job, mapping=mapping or job.mapping, **options)
    import_contacts(job.pk)
    job.refresh_from_db()
    return job


def errors_of(job) -> list[tuple[int, str, str]]:
    return list(job.row_errors.values_list("row_number", "email", "reason"))


# --- A good file ---------------------------------------------------------------------------------

def test_a_good_file_creates_contacts_with_their_fields_company_owner_stage_and_tags(personas, fields):
    stage = LifecycleStage.objects.filter(stage_set__is_active=True).order_by("position")[1]
    content = csv_bytes([
        ["E-mail", "First Name", "Last Name", "Company Name", "Owner", "Lifecycle stage", "Industry",
         "Employee headcount", "Region", "Tags", "Notes"],
        ["Ada@Example.com", "Ada", "Lovelace", "Analytical Engines", "rep_alice", stage.name, "Computing", "1,200",
         "emea", "vip; newsletter", "ignored"],
        ["grace@example.com", "Grace", "Hopper", "", "rep_bob@example.com", "", "Navy", "", "", "", ""],
    ])

    job = run_import(personas.marketer, content)

    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.processed_rows, job.created_count, job.updated_count, job.skipped_count,
            job.failed_count) == (2, 2, 2, 0, 0, 0)
    assert job.percent == 100 and job.started_at and job.finished_at
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.account.name, ada.owner, ada.lifecycle_stage) == (
        "Ada", "Lovelace", "Analytical Engines", personas.rep_alice, stage)
    assert ada.source == Contact.Source.IMPORT
    assert ada.fields == {"industry": "Computing", "headcount": 1200, "region": "EMEA"}
    assert sorted(ada.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    grace = Contact.objects.get(email="grace@example.com")
    assert (grace.owner, grace.account, grace.fields) == (personas.rep_bob, None, {"industry": "Navy"})
    assert Event.objects.filter(type="contact_created", source="import").count() == 2
    assert ada.stage_transitions.get().actor == "import"


def test_the_mapping_is_suggested_from_headers_labels_and_common_synonyms(fields):
    headers = ["E-mail", "First Name", "SURNAME", "company_name", "Job Title", "Employee Headcount", "industry",
               "Lead magnet", "Favourite colour", "Email (2)"]

    assert imports.mapping_suggest(headers) == {
        "E-mail": "email", "First Name": "first_name", "SURNAME": "last_name", "company_name": "company",
        "Job Title": "title", "Employee Headcount": "fields.headcount", "industry": "fields.industry",
        "Lead magnet": "source_detail", "Favourite colour": "", "Email (2)": "",
    }


def test_a_field_is_suggested_for_one_column_only():
    assert imports.mapping_suggest(["Email", "E-mail address"]) == {"Email": "email", "E-mail address": ""}


# --- Bad rows and bad files --------------------------------------------------------------------------

def test_bad_rows_are_reported_with_their_row_numbers_and_the_good_rows_still_land(personas, fields):
    content = csv_bytes([
        ["Email", "First name", "Employee headcount", "Owner"],
        ["good1@example.com", "One", "10", ""],
        ["not-an-email", "Two", "10", ""],
        ["good3@example.com", "Three", "lots", ""],
        ["good4@example.com", "Four", "", "nobody"],
        ["", "Five", "", ""],
        ["good6@example.com", "Six", "", "rep_alice"],
    ])

    job = run_import(personas.manager, content)

    assert job.status == ImportJob.Status.DONE
    assert (job.processed_rows, job.created_count, job.failed_count) == (6, 2, 4)
    assert set(Contact.objects.values_list("email", flat=True)) == {"good1@example.com", "good6@example.com"}
    assert errors_of(job) == [
        (3, "not-an-email", "Email: “not-an-email” is not a valid email address."),
        (4, "good3@example.com", "Employee headcount: “lots” is not a number."),
        (5, "good4@example.com", "Owner: There is no active user 'nobody'."),
        (6, "", "Email: An email address is required."),
    ]


def test_blank_lines_are_skipped_and_row_numbers_stay_those_of_the_spreadsheet(personas):
    content = b"Email,First name\r\n\r\nfirst@example.com,A\r\n,\r\nbad@,B\r\n"

    job = run_import(personas.admin, content)

    assert (job.total_rows, job.processed_rows, job.created_count, job.failed_count) == (2, 2, 1, 1)
    assert [(row, email) for row, email, _reason in errors_of(job)] == [(5, "bad@")]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "The file is empty"),
    ("blank.csv", b"\r\n , \r\n\r\n", "The file is empty"),
    ("header.csv", b"Email,First name\r\n", "a header row but no contacts below it"),
    ("photo.png", b"\x89PNG\r\n\x1a\n", "is not a CSV or Excel file"),
    ("binary.csv", b"Email\x00\x01\x02\x03", "This is not a text file"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Old Excel (.xls) files cannot be read"),
    ("broken.xlsx", b"PK\x03\x04 this is no workbook", "This Excel file cannot be read"),
])
def test_a_file_that_cannot_be_imported_gets_a_form_error_and_no_import(client, personas, name, content, message):
    client.force_login(personas.marketer)

    response = client.post(reverse("contacts:import_upload"), {"file": upload(content, name)})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    too_big = upload(b"Email\r\n" + b"a" * imports.MAX_FILE_BYTES, "big.csv")

    with pytest.raises(imports.ImportFileError, match="the limit is 50 MB"):
        imports.upload_check(too_big)


def test_an_import_without_an_email_column_cannot_start(client, personas):
    client.force_login(personas.marketer)
    job = imports.import_create(file=upload(csv_bytes([["Mail me", "Name"], ["a@example.com", "A"]])),
                                user=personas.marketer)

    response = client.post(reverse("contacts:import_map", args=[job.pk]),
                           {"column_0": "", "column_1": "first_name", "mode": "create_and_update"})

    assert response.status_code == 400
    assert "Map a column to Email" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT
    with pytest.raises(ValidationError, match="Map a column to Email"):
        imports.import_start(job=job, mapping={"Mail me": "", "Name": "first_name"})


def test_a_field_mapped_from_two_columns_is_an_error_on_the_second(client, personas):
    client.force_login(personas.marketer)
    job = imports.import_create(file=upload(csv_bytes([["Email", "Given", "First"], ["a@example.com", "A", "B"]])),
                                user=personas.marketer)

    response = client.post(reverse("contacts:import_map", args=[job.pk]), {
        "column_0": "email", "column_1": "first_name", "column_2": "first_name", "mode": "create_and_update"})

    assert response.status_code == 400
    assert "First name is already filled from the column “Given”" in response.content.decode()


# --- Formats and encodings ---------------------------------------------------------------------------

def test_an_xlsx_file_imports_like_a_csv(personas, fields):
    book = tablib.Dataset(headers=["Email", "First name", "Phone", "Employee headcount", "Industry"])
    book.append(["xl@example.com", "Excel", 5550100, 250, "Retail"])
    book.append(["bad email", "Oops", None, 3.5, None])

    job = run_import(personas.marketer, book.export("xlsx"), name="contacts.xlsx")

    assert (job.status, job.created_count, job.failed_count) == (ImportJob.Status.DONE, 1, 1)
    contact = Contact.objects.get(email="xl@example.com")
    assert (contact.first_name, contact.phone, contact.fields) == (
        "Excel", "5550100", {"headcount": 250, "industry": "Retail"})
    assert errors_of(job)[0][:2] == (3, "bad email")


def test_a_latin1_file_with_semicolons_is_read_with_a_note(client, personas):
    content = csv_bytes([["Email", "Prénom", "Nom"], ["zoe@example.com", "Zoë", "Müller"]], encoding="latin-1",
                        delimiter=";")
    client.force_login(personas.marketer)

    response = client.post(reverse("contacts:import_upload"), {"file": upload(content)}, follow=True)

    page = response.content.decode()
    assert "read as Latin-1" in page
    assert "Zoë" in page and "Müller" in page
    job = ImportJob.objects.get()
    assert job.mapping == {"Email": "email", "Prénom": "first_name", "Nom": "last_name"}
    imports.import_start(job=job, mapping=job.mapping)
    import_contacts(job.pk)
    assert Contact.objects.values_list("first_name", "last_name").get() == ("Zoë", "Müller")


def test_utf8_with_a_byte_order_mark_and_tabs_needs_no_note():
    content = "\ufeffEmail\tFirst name\r\nmiyu@example.com\t美優\r\n".encode()

    preview = imports.read_preview(io.BytesIO(content))

    assert (preview.headers, preview.rows, preview.note) == (
        ["Email", "First name"], [(2, ["miyu@example.com", "美優"])], "")


def test_blank_and_repeated_headers_get_names_of_their_own():
    preview = imports.read_preview(io.BytesIO(b"Email,,email\r\na@example.com,x,y\r\n"))

    assert preview.headers == ["Email", "Column 2", "email (2)"]


# --- Modes, tags, lists and repeated rows ------------------------------------------------------------

@pytest.fixture
def existing(db):
    return Contact.objects.create(email="known@example.com", first_name="Old", phone="123")


FILE = [["Email", "First name", "Phone"], ["KNOWN@example.com", "New", ""], ["fresh@example.com", "Fresh", "9"]]


def test_update_only_updates_known_contacts_and_skips_new_ones(personas, existing):
    job = run_import(personas.marketer, csv_bytes(FILE), mode=ImportJob.Mode.UPDATE_ONLY)

    assert (job.created_count, job.updated_count, job.skipped_count, job.failed_count) == (0, 1, 1, 0)
    existing.refresh_from_db()
    assert (existing.first_name, existing.phone) == ("New", "123")  # an empty cell never blanks a value
    assert not Contact.objects.filter(email="fresh@example.com").exists()


def test_create_only_creates_new_contacts_and_leaves_known_ones_alone(personas, existing):
    job = run_import(personas.marketer, csv_bytes(FILE), mode=ImportJob.Mode.CREATE_ONLY)

    assert (job.created_count, job.updated_count, job.skipped_count) == (1, 0, 1)
    existing.refresh_from_db()
    assert existing.first_name == "Old"
    assert Contact.objects.get(email="fresh@example.com").phone == "9"


def test_a_known_contact_the_row_does_not_change_counts_as_updated(personas, existing):
    job = run_import(personas.marketer, csv_bytes([["Email", "First name"], ["known@example.com", "Old"]]))

    assert (job.created_count, job.updated_count) == (0, 1)


def test_the_chosen_tags_and_list_go_on_every_imported_contact(personas, existing):
    Tag.objects.create(name="VIP")
    newsletter = ContactList.objects.create(name="Newsletter")

    job = run_import(personas.marketer, csv_bytes(FILE), tags="vip, Webinar 2026, ", contact_list=newsletter)

    assert job.tags == ["vip", "Webinar 2026"]
    for email in ("known@example.com", "fresh@example.com"):
        contact = Contact.objects.get(email=email)
        assert sorted(contact.tags.values_list("name", flat=True)) == ["VIP", "Webinar 2026"]
        assert contact.subscriptions.get().list == newsletter
    assert Subscription.objects.filter(list=newsletter, status="subscribed").count() == 2


def test_the_same_email_twice_in_a_file_creates_the_contact_then_updates_it(personas):
    content = csv_bytes([["Email", "First name"], ["twice@example.com", "First"], ["Twice@Example.com", "Second"]])

    job = run_import(personas.marketer, content)

    assert (job.created_count, job.updated_count, job.failed_count) == (1, 1, 0)
    assert Contact.objects.get().first_name == "Second"


def test_a_large_file_is_imported_in_batches_of_a_thousand(personas, django_assert_max_num_queries):
    rows = [["Email", "First name"]] + [[f"person{i}@example.com", f"P{i}"] for i in range(2_500)]
    job = imports.import_create(file=upload(csv_bytes(rows)), user=personas.marketer)
    imports.import_start(job=job, mapping=job.mapping)

    with django_assert_max_num_queries(45):  # about ten statements a batch of 1,000, none per row
        import_contacts(job.pk)

    job.refresh_from_db()
    assert (job.total_rows, job.created_count) == (2_500, 2_500)
    assert Contact.objects.count() == 2_500


# --- Running safely --------------------------------------------------------------------------------

def test_a_second_delivery_of_the_same_import_does_nothing(personas):
    job = run_import(personas.marketer, csv_bytes(FILE))
    events = Event.objects.count()

    assert import_contacts(job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == (ImportJob.Status.DONE, 2, 2)
    assert Event.objects.count() == events


def test_an_import_another_worker_is_running_is_left_to_it(personas):
    job = imports.import_create(file=upload(csv_bytes(FILE)), user=personas.marketer)
    imports.import_start(job=job, mapping=job.mapping)
    db = connection.settings_dict
    key = (imports.LOCK_NAMESPACE << 32) + job.pk
    params = {"dbname": db["NAME"], "user": db["USER"], "password": db["PASSWORD"], "host": db["HOST"],
              "port": db["PORT"]}
    with psycopg.connect(**{k: v for k, v in params.items() if v}) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [key])

        assert imports.import_run(job_id=job.pk) is None

    job.refresh_from_db()
    assert (job.status, job.processed_rows) == (ImportJob.Status.QUEUED, 0)
    assert not Contact.objects.exists()


def test_an_import_whose_worker_died_carries_on_after_the_rows_it_counted(personas):
    content = csv_bytes([["Email"]] + [[f"r{i}@example.com"] for i in range(2, 7)])
    job = imports.import_create(file=upload(content), user=personas.marketer)
    imports.import_start(job=job, mapping=job.mapping)
    # What a worker leaves behind when it dies after committing its first two rows.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, total_rows=5, processed_rows=2,
                                               created_count=2)

    import_contacts(job.pk)

    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == (ImportJob.Status.DONE, 5, 5)
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["r4@example.com", "r5@example.com",
                                                                       "r6@example.com"]


def test_an_import_whose_file_is_gone_fails_with_a_reason(personas, media):
    job = imports.import_create(file=upload(csv_bytes(FILE)), user=personas.marketer)
    imports.import_start(job=job, mapping=job.mapping)
    job.file.storage.delete(job.file.name)

    import_contacts(job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.error == ("The import stopped before the first row: The uploaded file is no longer there. "
                         "Upload it again.")
    assert job.finished_at is not None


def test_an_import_whose_custom_field_was_deleted_fails_with_a_reason(personas, fields):
    content = csv_bytes([["Email", "Region"], ["a@example.com", "EMEA"]])
    job = imports.import_create(file=upload(content), user=personas.marketer)
    imports.import_start(job=job, mapping=job.mapping)
    fields["region"].delete()

    import_contacts(job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "the custom field “region” was deleted" in job.error
    assert not Contact.objects.exists()


def test_starting_twice_queues_the_import_once(personas, django_capture_on_commit_callbacks):
    job = imports.import_create(file=upload(csv_bytes(FILE)), user=personas.marketer)

    with django_capture_on_commit_callbacks() as callbacks:
        imports.import_start(job=job, mapping=job.mapping)
    with pytest.raises(ValidationError, match="already started"):
        imports.import_start(job=job, mapping=job.mapping)

    assert len(callbacks) == 1
    assert ImportJob.objects.get().status == ImportJob.Status.QUEUED


# --- The report and the failed rows file ---------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("=HYPERLINK(\"http://evil.example\")", "'=HYPERLINK(\"http://evil.example\")"),
    ("+33 1 23 45 67 89", "'+33 1 23 45 67 89"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"),
    ("Ada", "Ada"),
    ("a=b", "a=b"),
    (-5, -5),
    (None, ""),
])
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_escaped(value, expected):
    assert safe_cell(value) == expected


def test_csv_stream_writes_one_line_at_a_time_with_every_cell_escaped():
    lines = list(csv_stream([["Name", "Email"], ["=1+1", "a@example.com"]], bom=True))

    assert lines == ["\ufeff", "Name,Email\r\n", "'=1+1,a@example.com\r\n"]


def test_the_failed_rows_download_lists_every_failed_row_escaped(client, personas):
    content = csv_bytes([["Email", "First name"], ["=cmd|'/C calc'!A0", "Evil"], ["ok@example.com", "Ok"],
                         ["@bad", "Worse"]])
    job = run_import(personas.marketer, content)
    client.force_login(personas.marketer)

    response = client.get(reverse("contacts:import_failed_rows", args=[job.pk]))

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="import-{job.pk}-failed-rows.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Row", "Email", "Reason"]
    assert [(row[0], row[1]) for row in rows[1:]] == [("2", "'=cmd|'/C calc'!A0"), ("4", "'@bad")]


def test_the_report_shows_the_counts_and_the_first_hundred_failed_rows(client, personas):
    rows = [["Email"], ["good@example.com"]] + [[f"bad{i}"] for i in range(120)]
    job = run_import(personas.marketer, csv_bytes(rows))
    client.force_login(personas.marketer)

    response = client.get(reverse("contacts:import_detail", args=[job.pk]))

    page = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert "Import finished" in page and "hx-trigger" not in page
    assert page.count("is not a valid email address") == 100
    assert "Showing the first 100 of 120" in page
    assert "Download failed rows as CSV" in page


def test_the_progress_fragment_polls_while_the_import_runs_and_stops_when_it_ends(client, personas):
    job = imports.import_create(file=upload(csv_bytes(FILE)), user=personas.marketer)
    imports.import_start(job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, total_rows=4, processed_rows=1)
    client.force_login(personas.marketer)
    url = reverse("contacts:import_progress", args=[job.pk])

    running = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert 'data-percent="25"' in running and "1 of 4 rows" in running
    assert "<html" not in running

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED, total_rows=None, processed_rows=0)
    import_contacts(job.pk)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done
    assert "Import finished" in done and 'data-testid="created-count">2<' in done


# --- The pages and who may use them ----------------------------------------------------------------

@pytest.mark.parametrize(("persona", "status"), [
    ("admin", 200), ("manager", 200), ("marketer", 200), ("rep_alice", 403), ("rep_bob", 403), ("outsider", 403)])
def test_marketers_managers_and_admins_may_import_and_others_may_not(client, personas, persona, status):
    client.force_login(getattr(personas, persona))

    assert client.get(reverse("contacts:import_list")).status_code == status
    assert client.get(reverse("contacts:import_upload")).status_code == status
    response = client.post(reverse("contacts:import_upload"), {"file": upload(csv_bytes(FILE))})
    assert response.status_code == (302 if status == 200 else 403)


def test_signed_out_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("contacts:import_list"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("users:login"))


def test_a_manager_does_not_see_the_imports_of_people_outside_their_team(client, personas):
    job = run_import(personas.marketer, csv_bytes(FILE))
    client.force_login(personas.manager)

    assert client.get(reverse("contacts:import_detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("contacts:import_failed_rows", args=[job.pk])).status_code == 404
    assert "No imports yet" in client.get(reverse("contacts:import_list")).content.decode()


def test_the_history_lists_imports_with_their_counts_in_a_constant_number_of_queries(client, personas):
    the_list = ContactList.objects.create(name="Leads")
    run_import(personas.marketer, csv_bytes(FILE), contact_list=the_list)
    client.force_login(personas.admin)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("contacts:import_list"))
    for _ in range(2):
        run_import(personas.marketer, csv_bytes(FILE), contact_list=the_list)
    draft = ImportJob.objects.create(filename="draft.csv", created_by=personas.admin)

    with CaptureQueriesContext(connection) as four:
        response = client.get(reverse("contacts:import_list"))

    assert len(four) == len(one) <= 10
    page = response.content.decode()
    assert page.count('data-testid="import-row"') == 4
    assert "Mapping columns" in page and page.count(">Done<") == 3 and "to the list Leads" in page
    assert reverse("contacts:import_map", args=[draft.pk]) in page


def test_the_history_is_empty_with_a_way_to_start(client, personas):
    client.force_login(personas.marketer)

    page = client.get(reverse("contacts:import_list")).content.decode()

    assert "No imports yet" in page and reverse("contacts:import_upload") in page


def test_upload_preview_map_and_start_through_the_pages(client, personas, fields, django_capture_on_commit_callbacks):
    client.force_login(personas.marketer)
    content = csv_bytes([["Email address", "Name", "Region"], ["pat@example.com", "Pat", "APAC"]])

    response = client.post(reverse("contacts:import_upload"), {"file": upload(content, "leads.csv")})
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("contacts:import_map", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    assert "pat@example.com" in page and "APAC" in page
    assert '<option value="email" selected>' in page and '<option value="fields.region" selected>' in page

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("contacts:import_map", args=[job.pk]), {
            "column_0": "email", "column_1": "first_name", "column_2": "fields.region", "mode": "create_only",
            "tags": "leads", "contact_list": ""})
    assert response["Location"] == reverse("contacts:import_detail", args=[job.pk])
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.mode, job.tags, job.mapping) == (
        ImportJob.Status.QUEUED, "create_only", ["leads"],
        {"Email address": "email", "Name": "first_name", "Region": "fields.region"})
    assert 'hx-trigger="every 1s"' in client.get(response["Location"]).content.decode()
    # A second click on Start, e.g. from the back button, goes to the progress page and queues nothing.
    again = client.post(reverse("contacts:import_map", args=[job.pk]), {"column_0": "email", "mode": "create_only"})
    assert again["Location"] == reverse("contacts:import_detail", args=[job.pk])


# --- On the real worker ----------------------------------------------------------------------------------

@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_queued_import_runs_on_the_real_worker(celery_worker, personas, settings):
    settings.MEDIA_ROOT = imports_media = settings.BASE_DIR / "var" / "media"  # the worker's MEDIA_ROOT
    job = imports.import_create(file=upload(csv_bytes(FILE), "worker-test.csv"), user=personas.marketer)
    try:
        imports.import_start(job=job, mapping=job.mapping, tags=["from the worker"])

        wait_until(lambda: ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DONE).exists(), timeout=30)

        job.refresh_from_db()
        assert (job.total_rows, job.created_count, job.failed_count) == (2, 2, 0)
        assert Contact.objects.filter(tags__name="from the worker").count() == 2
    finally:
        (imports_media / job.file.name).unlink(missing_ok=True)
