"""Contact import from a CSV or Excel (.xlsx) file.

The pages (contacts/views/imports.py) walk a person through it:

1. `import_create` checks the upload (type, size, a header row, at least one contact) and stores
   it in a draft `ImportJob`, with a column mapping suggested from the headers (`mapping_suggest`).
2. `import_preview` shows the first rows; the person maps each column to a contact field, a custom
   field (`fields.<key>`) or nothing, and picks the mode, tags and list.
3. `import_start` queues the job; `contacts.tasks.import_contacts` (the `bulk` queue) calls
   `import_run`, which streams the file in batches of 1,000 rows through `ContactInput` and
   `contacts_upsert`, one transaction per batch with the job's counters, so the progress bar moves
   and a crash never counts a row twice.

A bad row becomes an `ImportRowError` (row number, email, reason) and never stops the good ones.
Rows are numbered as a spreadsheet shows them: the header is row 1. Empty cells are left out, so an
import never blanks a field that already has a value.

CSV files are read as UTF-8 (with or without a byte order mark) or UTF-16 with a BOM, falling back
to Windows-1252/Latin-1 with a note; the delimiter (comma, semicolon, tab or bar) is taken from the
header line. They are streamed: memory stays flat whatever the size. Excel files are read whole
through tablib, so a very large one is better saved as CSV first.
"""

import codecs
import csv
import io
import itertools
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time

import tablib
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from contacts.bulk import contacts_upsert
from contacts.inputs import ContactInput
from contacts.models import ContactList, CustomField, ImportJob, ImportRowError
from users.permissions import has_role
from users.roles import Role

__all__ = [
    "BATCH_SIZE", "CONTACT_TARGETS", "EMPTY_FILE", "MAX_FILE_BYTES", "ImportFileError", "Preview", "Sheet",
    "can_import", "import_create", "import_preview", "import_run", "import_start", "mapping_errors", "mapping_suggest",
    "mapping_targets", "open_sheet", "read_preview", "tag_names", "upload_check",
]

logger = logging.getLogger(__name__)

BATCH_SIZE = 1_000
PREVIEW_ROWS = 10
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 200
EXTENSIONS = {".csv", ".txt", ".tsv", ".xlsx"}
FIELD_PREFIX = "fields."
#: A constant for pg_try_advisory_lock(bigint): (this << 32) + job id is the job's lock key.
LOCK_NAMESPACE = 0x1A4B

#: The contact fields a column can fill, in the order the mapping menu lists them.
CONTACT_TARGETS = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "title": "Job title",
    "company": "Company",
    "owner": "Owner (username or email)",
    "stage": "Lifecycle stage",
    "lead_status": "Lead status",
    "source_detail": "Lead magnet",
    "tags": "Tags",
}
#: Header spellings people use for each field, compared without case, spaces, dashes or underscores.
SYNONYMS = {
    "email": ["email", "e-mail", "email address", "e-mail address", "mail", "work email", "business email"],
    "first_name": ["first name", "firstname", "first", "given name", "forename", "prénom", "prenom", "vorname",
                   "nombre"],
    "last_name": ["last name", "lastname", "last", "surname", "family name", "nom", "nachname", "apellido"],
    "phone": ["phone", "phone number", "telephone", "tel", "mobile", "mobile phone", "cell", "work phone"],
    "title": ["title", "job title", "position", "job", "role"],
    "company": ["company", "company name", "organization", "organisation", "organization name", "account",
                "account name", "employer"],
    "owner": ["owner", "contact owner", "owner email", "assigned to", "sales rep", "rep"],
    "stage": ["stage", "lifecycle stage", "lifecycle"],
    "lead_status": ["lead status", "status"],
    "source_detail": ["lead magnet", "source detail", "lead source", "source"],
    "tags": ["tags", "tag", "labels", "label"],
}
EMPTY_FILE = ("The file is empty. Its first row should name the columns, e.g. Email, First name, Last name, and "
              "each row below it is one contact.")
ENCODING_NOTE = ("This file is not UTF-8, so it was read as Latin-1 (Windows-1252). If accented letters look wrong "
                 "below, save it from your spreadsheet as “CSV UTF-8” and upload it again.")


class ImportFileError(Exception):
    """The file cannot be imported. The message says why, and what to do, in the user's words."""


def can_import(user) -> bool:
    """Marketers, managers and admins bring contacts in by file; sales reps add them one at a time."""
    return bool(user and user.is_authenticated and user.has_perm("contacts.add_contact")
                and not has_role(user, Role.SALES_REP))


# --- Mapping columns to fields ---------------------------------------------------------------

def _normalize(text: str) -> str:
    return re.sub(r"[\W_]+", "", str(text).casefold())


_SYNONYMS = {_normalize(spelling): target for target, spellings in SYNONYMS.items() for spelling in spellings}


def mapping_targets(custom_fields: Iterable[CustomField] | None = None) -> list[tuple[str, str]]:
    """(value, label) of everything a column can fill: contact fields, then custom fields as "fields.<key>"."""
    if custom_fields is None:
        custom_fields = CustomField.objects.for_contacts()
    return [*CONTACT_TARGETS.items(),
            *((f"{FIELD_PREFIX}{f.key}", f"{f.label} (custom field)") for f in custom_fields)]


def mapping_suggest(headers: Sequence[str], custom_fields: Iterable[CustomField] | None = None) -> dict[str, str]:
    """{header: target or ""}: headers matched to fields by name, label or a common synonym, each field once."""
    if custom_fields is None:
        custom_fields = CustomField.objects.for_contacts()
    known = dict(_SYNONYMS)
    for custom in custom_fields:
        for spelling in (custom.key, custom.label):
            known.setdefault(_normalize(spelling), f"{FIELD_PREFIX}{custom.key}")
    mapping, taken = {}, set()
    for header in headers:
        target = known.get(_normalize(header), "")
        if target in taken:
            target = ""
        taken.add(target)
        mapping[header] = target
    return mapping


def mapping_errors(mapping: dict[str, str], targets: Iterable[tuple[str, str]] | None = None,
                   ) -> tuple[list[str], dict[str, str]]:
    """What is wrong with a mapping: (general problems, {header: problem with that column})."""
    labels = dict(mapping_targets() if targets is None else targets)
    general, by_header, seen = [], {}, {}
    for header, target in mapping.items():
        if not target:
            continue
        if target not in labels:
            by_header[header] = f"“{target}” is not a contact field or a custom field."
        elif target in seen:
            by_header[header] = f"{labels[target]} is already filled from the column “{seen[target]}”; pick it once."
        else:
            seen[target] = header
    if "email" not in seen:
        general.append("Map a column to Email: contacts are matched by their email address.")
    return general, by_header


def tag_names(value: str | Iterable[str]) -> list[str]:
    """Tag names from "vip, newsletter" or a list: trimmed, without blanks or repeats (ignoring case)."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    names, seen = [], set()
    for part in parts:
        name = str(part).strip()
        if not name or name.lower() in seen:
            continue
        if len(name) > 100:
            raise ValidationError(f"A tag name has at most 100 characters: “{name[:20]}…”.")
        seen.add(name.lower())
        names.append(name)
    return names


# --- Reading CSV and Excel files -------------------------------------------------------------

@dataclass
class Sheet:
    """An open file: its column headers (unique, never blank) and its data rows.

    `rows` yields (row number, cells) for each row with something in it, lazily; a row may have
    fewer or more cells than there are headers.
    """

    kind: str  # "csv" or "xlsx"
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    note: str = ""


@dataclass
class Preview:
    kind: str
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    note: str = ""


def _raw(fileobj):
    """The plain binary file under Django's File wrappers (uploads, FieldFile), rewound."""
    while isinstance(fileobj, File) or (not isinstance(fileobj, io.IOBase) and hasattr(fileobj, "file")):
        fileobj = fileobj.file
    fileobj.seek(0)
    return fileobj


def _decodes(binary, encoding: str) -> bool:
    """True when the whole file decodes as `encoding`; read in chunks, rewound afterwards."""
    decoder = codecs.getincrementaldecoder(encoding)()
    binary.seek(0)
    try:
        while chunk := binary.read(1 << 20):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        binary.seek(0)
    return True


def _encoding(binary) -> tuple[str, str]:
    """(codec, note for the person) for a CSV file. The note is empty unless we had to guess."""
    start = binary.read(1 << 16)
    binary.seek(0)
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", ""
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", ""
    if b"\x00" in start:
        raise ImportFileError("This is not a text file. Upload a CSV (.csv) or an Excel (.xlsx) file.")
    if _decodes(binary, "utf-8"):
        return "utf-8", ""
    return ("cp1252" if _decodes(binary, "cp1252") else "latin-1"), ENCODING_NOTE


def _delimiter(header_line: str) -> str:
    """The delimiter the header line uses most: comma, semicolon (European Excel), tab or bar."""
    counts = {candidate: header_line.count(candidate) for candidate in (",", ";", "\t", "|")}
    best = max(counts, key=lambda candidate: counts[candidate])  # the first wins a tie: the comma
    return best if counts[best] else ","


def _csv_records(binary) -> tuple[Iterator[tuple[int, list[str]]], str, io.TextIOWrapper]:
    encoding, note = _encoding(binary)
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    first = text.readline()
    reader = csv.reader(itertools.chain([first], text), delimiter=_delimiter(first))

    def records():
        number = 0
        try:
            for number, record in enumerate(reader, start=1):  # noqa: B007 - read after the loop on error
                yield number, [cell.strip() for cell in record]
        except csv.Error as error:
            raise ImportFileError(f"Row {number + 1} cannot be read as CSV ({error}). Check the quotes on that "
                                  "row, or save the file again from your spreadsheet.") from None

    return records(), note, text


def _cell_text(value) -> str:
    """An Excel cell as the text a CSV would hold: 42 not 42.0, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == clock_time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_records(binary) -> Iterator[tuple[int, list[str]]]:
    try:
        data = tablib.Dataset().load(binary, format="xlsx", headers=False)
    except Exception as error:  # zip, XML and openpyxl errors alike: the file is not a workbook we can read
        raise ImportFileError("This Excel file cannot be read. Open it in your spreadsheet, save it as .xlsx "
                              "or CSV, and upload it again.") from error
    return ((number, [_cell_text(value) for value in record]) for number, record in enumerate(data, start=1))


def _unique_headers(cells: list[str]) -> list[str]:
    """Headers as the mapping names them: blank ones become "Column 3", repeats get " (2)"."""
    headers, seen = [], set()
    for position, cell in enumerate(cells, start=1):
        name = cell.strip().lstrip("\ufeff") or f"Column {position}"
        unique, n = name, 1
        while unique.lower() in seen:
            n += 1
            unique = f"{name} ({n})"
        seen.add(unique.lower())
        headers.append(unique)
    return headers


@contextmanager
def open_sheet(fileobj) -> Iterator[Sheet]:
    """Open a CSV or .xlsx file (told apart by its content, not its name) as a `Sheet`.

    The header is the first row with something in it. Raises ImportFileError when the file
    cannot be read or has no header.
    """
    binary = _raw(fileobj)
    start = binary.read(8)
    binary.seek(0)
    text = None
    if start.startswith(b"PK\x03\x04"):
        kind, records, note = "xlsx", _xlsx_records(binary), ""
    elif start.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError("This is an old Excel (.xls) file. Save it as .xlsx or CSV in your spreadsheet "
                              "and upload that.")
    else:
        kind = "csv"
        records, note, text = _csv_records(binary)
    try:
        header = next((cells for _number, cells in records if any(cells)), None)
        if header is None:
            raise ImportFileError(EMPTY_FILE)
        if len(header) > MAX_COLUMNS:
            raise ImportFileError(f"The file has {len(header):,} columns; an import takes at most {MAX_COLUMNS}.")
        rows = ((number, cells) for number, cells in records if any(cells))
        yield Sheet(kind=kind, headers=_unique_headers(header), rows=rows, note=note)
    finally:
        if text is not None:
            text.detach()  # leave the caller's file open


def read_preview(fileobj, *, rows: int = PREVIEW_ROWS) -> Preview:
    """The headers and first rows of a file (cells padded or cut to the headers), or ImportFileError."""
    with open_sheet(fileobj) as sheet:
        width = len(sheet.headers)
        first = [(number, (cells + [""] * width)[:width]) for number, cells in itertools.islice(sheet.rows, rows)]
    if not first:
        raise ImportFileError("The file has a header row but no contacts below it.")
    return Preview(kind=sheet.kind, headers=sheet.headers, rows=first, note=sheet.note)


def upload_check(upload) -> Preview:
    """Check an uploaded file before it is stored: its type, its size, a header and at least one row."""
    name = os.path.basename(upload.name or "")
    extension = os.path.splitext(name)[1].lower()
    if extension == ".xls":
        raise ImportFileError("Old Excel (.xls) files cannot be read. Save it as .xlsx or CSV in your "
                              "spreadsheet and upload that.")
    if extension not in EXTENSIONS:
        raise ImportFileError(f"“{name}” is not a CSV or Excel file. Upload a .csv or .xlsx file.")
    if not upload.size:
        raise ImportFileError(EMPTY_FILE)
    if upload.size > MAX_FILE_BYTES:
        raise ImportFileError(f"The file is {upload.size / 2**20:,.1f} MB; the limit is "
                              f"{MAX_FILE_BYTES // 2**20} MB. Split it into smaller files.")
    try:
        return read_preview(upload)
    finally:
        _raw(upload)  # rewound for saving


# --- Services --------------------------------------------------------------------------------

@transaction.atomic
def import_create(*, file, user) -> ImportJob:
    """A draft import of an uploaded file, with a suggested mapping. Raises ImportFileError."""
    preview = upload_check(file)
    job = ImportJob(file=file, filename=os.path.basename(file.name)[:255], created_by=user,
                    mapping=mapping_suggest(preview.headers))
    job.full_clean(exclude=["file"])
    job.save()
    return job


def import_preview(job: ImportJob) -> Preview:
    """The stored file's headers and first rows. Raises ImportFileError (also when the file is gone)."""
    try:
        with job.file.open("rb"):
            return read_preview(job.file)
    except FileNotFoundError:
        raise ImportFileError("The uploaded file is no longer there. Upload it again.") from None


@transaction.atomic
def import_start(*, job: ImportJob, mapping: dict[str, str], mode: str = ImportJob.Mode.CREATE_AND_UPDATE,
                 tags: str | Iterable[str] = (), contact_list: ContactList | None = None) -> ImportJob:
    """Queue a draft import with its mapping and options; the bulk worker runs it after the commit.

    Raises ValidationError for a bad mapping, mode or tag, or when the import has already started
    (a second click on Start queues nothing).
    """
    general, by_header = mapping_errors(mapping)
    if general or by_header:
        raise ValidationError({"mapping": general + [f"{header}: {problem}" for header, problem in by_header.items()]})
    if mode not in ImportJob.Mode.values:
        raise ValidationError({"mode": [f"Choose one of: {', '.join(ImportJob.Mode.values)}."]})
    try:
        names = tag_names(tags)
    except ValidationError as error:
        raise ValidationError({"tags": error.messages}) from None
    queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.DRAFT).update(
        status=ImportJob.Status.QUEUED, mapping={h: t or "" for h, t in mapping.items()}, mode=mode, tags=names,
        list=contact_list)
    if not queued:
        raise ValidationError("This import has already started.")
    from contacts.tasks import import_contacts

    transaction.on_commit(lambda: import_contacts.delay(job.pk))
    job.refresh_from_db()
    return job


def import_run(*, job_id: int) -> ImportJob | None:
    """Run a queued import (the task's body). Returns the job, or None when there is nothing to do.

    Idempotent: the job is claimed with UPDATE ... WHERE status = 'queued' under a Postgres
    advisory lock held for the whole run, so a second delivery of the message does nothing. A job
    left "running" with nobody holding its lock lost its worker: it carries on after the rows
    already counted, which were committed together with their counters.
    """
    with _job_lock(job_id) as locked:
        if not locked:
            logger.info("import %s is being run by another worker", job_id)
            return None
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started_at=timezone.now())
        job = ImportJob.objects.select_related("list", "created_by").filter(pk=job_id).first()
        if job is None or (not claimed and job.status != ImportJob.Status.RUNNING):
            logger.info("import %s: nothing to do (%s)", job_id, job.status if job else "deleted")
            return None
        started = time.perf_counter()
        try:
            _import(job, resume=not claimed)
        except Exception as error:  # the job must end FAILED with a reason, whatever went wrong
            logger.exception("import %s failed", job_id)
            ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.FAILED, finished_at=timezone.now(),
                                                       error=_failure(job_id, error))
        else:
            ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.DONE, finished_at=timezone.now())
        job.refresh_from_db()
        logger.info("import %s %s: %s rows in %.1f s (%s created, %s updated, %s skipped, %s failed)", job_id,
                    job.status, job.processed_rows, time.perf_counter() - started, job.created_count,
                    job.updated_count, job.skipped_count, job.failed_count)
        return job


# --- Running an import ---------------------------------------------------------------------------

@contextmanager
def _job_lock(job_id: int) -> Iterator[bool]:
    """A session-level advisory lock on the job, held while it runs; released if the worker dies."""
    key = (LOCK_NAMESPACE << 32) + job_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:  # the connection is gone, and the lock with it
                logger.warning("import %s: could not release its lock", job_id)


@contextmanager
def _job_sheet(job: ImportJob) -> Iterator[Sheet]:
    try:
        with job.file.open("rb"), open_sheet(job.file) as sheet:
            yield sheet
    except FileNotFoundError:
        raise ImportFileError("The uploaded file is no longer there. Upload it again.") from None


def _failure(job_id: int, error: Exception) -> str:
    """Why an import stopped, for the person who started it."""
    job = ImportJob.objects.only("processed_rows", "total_rows").get(pk=job_id)
    done = f"after {job.processed_rows:,} of {job.total_rows:,} rows" if job.total_rows else "before the first row"
    kept = " The rows before it were imported." if job.processed_rows else ""
    if isinstance(error, ImportFileError):
        return f"The import stopped {done}: {error}{kept}"
    if isinstance(error, SoftTimeLimitExceeded):
        return (f"The import took too long and stopped {done}.{kept} Split the file and import the rest; "
                "contacts already imported are matched by email, not duplicated.")
    return (f"The import stopped {done} because of an unexpected error ({type(error).__name__}: {error}).{kept} "
            "Importing the file again is safe: contacts are matched by email, not duplicated.")


def _columns(job: ImportJob, headers: list[str], targets: dict[str, str]) -> list[tuple[int, str]]:
    """(cell index, target) of each mapped column of the file."""
    columns = [(i, job.mapping[header]) for i, header in enumerate(headers) if job.mapping.get(header)]
    mapped = {target for _i, target in columns}
    if "email" not in mapped:
        raise ImportFileError("no column of the file is mapped to Email (was it renamed?). Start a new import.")
    gone = [target.removeprefix(FIELD_PREFIX) for target in mapped if target not in targets]
    if gone:
        raise ImportFileError(f"the custom field “{gone[0]}” was deleted after the import was set up. "
                              "Start a new import.")
    return columns


def _item(cells: list[str], columns: list[tuple[int, str]]) -> dict:
    """One row as ContactInput input. Empty cells are left out, so they never blank a stored value."""
    item: dict = {}
    for index, target in columns:
        value = cells[index] if index < len(cells) else ""
        if not value:
            continue
        if target.startswith(FIELD_PREFIX):
            item.setdefault("fields", {})[target.removeprefix(FIELD_PREFIX)] = value
        elif target == "tags":
            item["tags"] = value.replace(";", ",")
        else:
            item[target] = value
    return item


def _import(job: ImportJob, *, resume: bool) -> None:
    targets = dict(mapping_targets())
    if job.total_rows is None:
        with _job_sheet(job) as sheet:
            total = sum(1 for _row in sheet.rows)  # a cheap pass first, so the progress bar has its 100%
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
    contact_input = ContactInput(create_missing_tags=True, owner_lookup=True)
    with _job_sheet(job) as sheet:
        columns = _columns(job, sheet.headers, targets)
        header_of = {target: sheet.headers[i] for i, target in columns}
        rows = sheet.rows
        if resume and job.processed_rows:
            logger.info("import %s: resuming after row %s", job.pk, job.processed_rows)
            rows = itertools.islice(rows, job.processed_rows, None)
        while batch := list(itertools.islice(rows, BATCH_SIZE)):
            _import_batch(job, [(number, _item(cells, columns)) for number, cells in batch], contact_input,
                          header_of)


def _reason(errors: dict[str, list[str]], header_of: dict[str, str]) -> str:
    """Errors by field as one line that names the file's columns: `Owner: There is no active user 'zed'.`"""
    parts = []
    for name, messages in errors.items():
        for message in messages:
            if name == "fields":
                key, _sep, rest = message.partition(": ")
                parts.append(f"{header_of.get(FIELD_PREFIX + key, key)}: {rest}")
            else:
                parts.append(f"{header_of.get(name, name)}: {message}")
    return "; ".join(parts)


def _by_unique_email(items: list[dict], numbers: list[int]) -> Iterator[tuple[list[dict], list[int]]]:
    """Split a batch where an email comes again, so a later row updates the contact an earlier row wrote."""
    start, seen = 0, set()
    for i, item in enumerate(items):
        if item["email"] in seen:
            yield items[start:i], numbers[start:i]
            start, seen = i, set()
        seen.add(item["email"])
    if start < len(items):
        yield items[start:], numbers[start:]


def _import_batch(job: ImportJob, batch: list[tuple[int, dict]], contact_input: ContactInput,
                  header_of: dict[str, str]) -> None:
    """Check, write and count one batch in one transaction: rows, errors and counters commit together."""
    contact_input.prepare(item for _number, item in batch)
    good, numbers, errors = [], [], []
    for number, item in batch:
        cleaned, problems = contact_input.clean(item)
        if problems:
            errors.append(ImportRowError(job=job, row_number=number, email=str(item.get("email", ""))[:254],
                                         reason=_reason(problems, header_of)))
        else:
            good.append(cleaned)
            numbers.append(number)
    counts = dict.fromkeys(("created", "updated", "skipped"), 0)
    with transaction.atomic():
        for items, rows in _by_unique_email(good, numbers):
            results = contacts_upsert(items, mode=job.mode, actor="import", user=job.created_by,
                                      extra_tags=job.tags, contact_list=job.list)
            for result, number in zip(results, rows, strict=True):
                if result.status == "error":
                    errors.append(ImportRowError(job=job, row_number=number, email=result.email,
                                                 reason=_reason(result.errors, header_of)))
                else:
                    counts["updated" if result.status == "unchanged" else result.status] += 1
        ImportRowError.objects.bulk_create(errors)
        ImportJob.objects.filter(pk=job.pk).update(
            processed_rows=F("processed_rows") + len(batch), created_count=F("created_count") + counts["created"],
            updated_count=F("updated_count") + counts["updated"], skipped_count=F("skipped_count") + counts["skipped"],
            failed_count=F("failed_count") + len(errors))
