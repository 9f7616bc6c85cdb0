"""CSV import: rows/s and peak memory of the import task, next to raw COPY of the same rows.

A CSV of 100k rows (10k at SCALE=10k, 2,000 at tiny) is written to MEDIA_ROOT with 11 columns, four
of them custom fields (industry, headcount, region, annual revenue, as the generator defines them),
owners given by username, a company per row (about one per 20 rows, created as accounts), a tag
column, and 1% bad rows (a malformed email or a headcount that is not a number). The import runs
in this process exactly as the worker runs it: `contacts.tasks.import_contacts(job_id)` streams the
file in batches of 1,000 through ContactInput and contacts_upsert, one transaction a batch.

It runs twice: the first run is timed (rows/s, the figure); the second runs under tracemalloc for
the peak of Python memory allocated during the import (tracemalloc slows Python down, so it is not
timed). The growth of the process's maxrss during the first run is reported too; it is a
high-water mark of the whole process, so 0 means the import stayed under an earlier peak.

Baselines from the same run: COPY of the same rows into contacts_contact in 1,000-row transactions
(best of 3; the figure's baseline), and parsing the file with csv.reader alone (in the notes).
Everything the scenario adds (contacts with their events, tags and accounts, the job, the file,
custom fields it had to create) is deleted afterwards and the tables vacuumed.
"""

import csv
import json
import random
import resource
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection

from bench import vocab
from bench.copyload import esc
from bench.scenarios import Context, Result
from bench.scenarios.ingest import copy_rounds
from contacts.models import Account, Contact, CustomField, ImportJob, Tag

__all__ = ["contacts_import"]

HEADER = ["Email", "First name", "Last name", "Company", "Job title", "Owner", "Tags", "Industry",
          "Employee headcount", "Region", "Annual revenue"]
#: (key, label, type, choices): the generator's definitions (bench/tables.py), created when missing.
FIELDS = [("industry", "Industry", CustomField.Type.CHOICE, [name for name, _w in vocab.INDUSTRIES]),
          ("headcount", "Employee headcount", CustomField.Type.NUMBER, []),
          ("region", "Region", CustomField.Type.CHOICE, [name for name, _w in vocab.REGIONS]),
          ("annual_revenue", "Annual revenue", CustomField.Type.MONEY, [])]
DOMAIN = "import-bench.example"
MiB = 2**20


def _row_count(contacts: int) -> int:
    return min(100_000, max(2_000, contacts))


def _rows(count: int, *, seed: int, run: str, owners: list[str]):
    """The file's rows, the same for the same seed (the emails carry the run id)."""
    rng = random.Random(f"{seed}:csv-import")
    companies = [f"{rng.choice(vocab.COMPANY_WORDS).title()} {rng.choice(vocab.COMPANY_SUFFIXES)[0]} {j}"
                 for j in range(max(1, count // 20))]
    tags = ["newsletter", "webinar-attendee", "ebook-download", "trial", ""]
    for k in range(count):
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        headcount = min(200_000, int(rng.paretovariate(1.1) * 8))
        revenue = round(headcount * rng.lognormvariate(11.5, 0.6), -3)
        email = f"{first}.{last}.{k}@{run}.{DOMAIN}"
        if k % 100 == 99:  # 1% bad rows, half of each kind
            email = email.replace("@", " at ") if k % 200 == 199 else email
            headcount = "about fifty" if k % 200 == 99 else headcount
        yield [email, first.title(), last.title(), rng.choice(companies), rng.choice(vocab.TITLES)[0],
               rng.choice(owners) if owners and rng.random() < 0.85 else "", rng.choice(tags),
               rng.choice(vocab.INDUSTRIES)[0], headcount, rng.choice(vocab.REGIONS)[0], revenue]


def _copy_line(row: list, now: str) -> str:
    fields = {"industry": row[7], "headcount": row[8], "region": row[9], "annual_revenue": row[10]}
    return (f"{esc(row[0])}\t{esc(row[1])}\t{esc(row[2])}\t\t{esc(row[4])}\t{esc(json.dumps(fields))}\t"
            f"{now}\t{now}")


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _run_import(name: str, *, user_id: int | None, traced: bool) -> dict:
    from contacts.imports import mapping_suggest
    from contacts.tasks import import_contacts

    mapping = mapping_suggest(HEADER)
    missing = [header for header, target in mapping.items() if not target]
    if missing:
        raise RuntimeError(f"columns not matched automatically: {', '.join(missing)}")
    job = ImportJob.objects.create(file=name, filename=Path(name).name, created_by_id=user_id,
                                   status=ImportJob.Status.QUEUED, mapping=mapping, tags=["bench-import"])
    rss_before = _maxrss_mib()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    import_contacts(job.pk)
    seconds = time.perf_counter() - started
    peak = 0
    if traced:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    job.refresh_from_db()
    if job.status != ImportJob.Status.DONE:
        raise RuntimeError(f"the import ended {job.status}: {job.error}")
    return {"seconds": seconds, "peak_bytes": peak, "maxrss_growth_mib": _maxrss_mib() - rss_before,
            "job": job.pk, "rows": job.processed_rows, "created": job.created_count, "failed": job.failed_count}


def _delete_run(run: str, before: dict[str, int]) -> None:
    """Remove what an import added, in chunks the ORM cascades through (events, tags, subscriptions)."""
    ids = list(Contact.objects.filter(email__endswith=f"@{run}.{DOMAIN}").values_list("pk", flat=True))
    for start in range(0, len(ids), 5_000):
        Contact.objects.filter(pk__in=ids[start:start + 5_000]).delete()
    Account.objects.filter(pk__gt=before["account"]).delete()
    Tag.objects.filter(pk__gt=before["tag"]).delete()
    ImportJob.objects.filter(pk__gt=before["job"]).delete()
    with connection.cursor() as cursor:  # so the next run meets the tables as generated, not their dead rows
        for table in ("contacts_contact", "contacts_event", "contacts_contact_tags", "contacts_account",
                      "contacts_tag", "contacts_importrowerror", "contacts_importjob"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")  # noqa: S608 - constant table names


def contacts_import(ctx: Context) -> list[Result]:
    count = _row_count(ctx.dataset.contacts)
    run = uuid.uuid4().hex[:10]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, username FROM users_user WHERE username LIKE %s ORDER BY id", ["rep-%"])
        reps = cursor.fetchall()
        cursor.execute("SELECT id FROM users_user WHERE username = %s", ["bench-admin"])
        admin = cursor.fetchone()
    created_fields = []
    for position, (key, label, kind, choices) in enumerate(FIELDS, start=100):
        _field, created = CustomField.objects.get_or_create(
            key=key, defaults={"label": label, "type": kind, "choices": choices, "position": position})
        if created:
            created_fields.append(key)
    before = {"account": Account.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
              "tag": Tag.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
              "job": ImportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0}

    name = f"imports/bench/{run}.csv"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = lambda: _rows(count, seed=ctx.dataset.seed, run=run, owners=[u for _i, u in reps])  # noqa: E731
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows())
    file_mib = path.stat().st_size / MiB
    ctx.log(f"  {count:,} rows, {file_mib:,.1f} MiB")
    try:
        started = time.perf_counter()
        with path.open(newline="", encoding="utf-8") as handle:
            parsed = sum(1 for _row in csv.reader(handle)) - 1
        parse_seconds = time.perf_counter() - started

        now = datetime.now(UTC).isoformat()
        lines = [_copy_line(row, now) for row in rows()]
        copy_seconds = min(copy_rounds(Contact, ["email", "first_name", "last_name", "phone", "title", "fields",
                                                 "created_at", "updated_at"], lines, 1_000))
        del lines
        _delete_run(run, before)  # vacuums after the COPY rounds too

        timed = _run_import(name, user_id=admin[0] if admin else None, traced=False)
        ctx.log(f"  import: {timed['seconds']:.1f} s, {timed['created']:,} created, {timed['failed']:,} failed")
        _delete_run(run, before)
        traced = _run_import(name, user_id=admin[0] if admin else None, traced=True)
        ctx.log(f"  under tracemalloc: {traced['seconds']:.1f} s, peak {traced['peak_bytes'] / MiB:,.1f} MiB")
    finally:
        _delete_run(run, before)
        CustomField.objects.filter(key__in=created_fields).delete()
        path.unlink(missing_ok=True)

    peak_mib = traced["peak_bytes"] / MiB
    return [Result(
        name="contacts_import", title="CSV import (contacts.tasks.import_contacts, in-process)", unit="rows/s",
        figure=count / timed["seconds"], baseline=count / copy_seconds, baseline_label="raw COPY of the same rows",
        issue="3",
        notes=(f"{count:,} rows × {len(HEADER)} columns (4 custom fields), 1% bad; peak Python memory "
               f"{peak_mib:,.1f} MiB (tracemalloc, 2nd run), maxrss +{timed['maxrss_growth_mib']:,.0f} MiB; "
               f"csv parsing alone {parsed / parse_seconds:,.0f} rows/s"),
        details={"rows": count, "seconds": round(timed["seconds"], 2), "created": timed["created"],
                 "failed": timed["failed"], "copy_seconds": round(copy_seconds, 3),
                 "csv_parse_rows_per_second": round(parsed / parse_seconds),
                 "peak_python_mib_tracemalloc": round(peak_mib, 1),
                 "traced_run_seconds": round(traced["seconds"], 2),
                 "maxrss_growth_mib": round(timed["maxrss_growth_mib"], 1),
                 "file_mib": round(file_mib, 1)})]
