"""Bulk ingestion: events and contacts through raw COPY (the baseline), and through the API once it exists.

The COPY runs in batches the size of one API request (5,000 events, 1,000 contacts), each
committed on its own, into the real, indexed tables of the data set: that is what the API will
have to do. The rows are rendered before the clock starts, and removed after each round (the
table is vacuumed at the end) so the data set stays as generated. The best of `ROUNDS` rounds
counts: on a shared machine the slowest rounds measure the neighbours, not us.

Events through the API (issue 5): the same rows are POSTed to /api/v1/events/bulk/, 5,000 a
request, from `API_CLIENTS` concurrent clients, like the contacts below; each round's events are
deleted and the contacts' last_activity_at put back afterwards.

Contacts through the API (issue 3): the same rows are POSTed to /api/v1/contacts/bulk-upsert/,
1,000 a request, to the gunicorn the bench starts (bench.server), from `API_CLIENTS` concurrent
keep-alive connections; first as new contacts (creates), then again with a changed title (updates).
Request bodies are encoded before the clock starts. Each round deletes what it created.
"""

import http.client
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlparse

from django.db import connection
from django.urls import Resolver404, resolve
from psycopg import sql

from bench import vocab
from bench.copyload import NULL, esc, model_columns
from bench.scenarios import Context, Goal, Result
from contacts.models import Contact, Event

__all__ = ["api_exists", "contacts_bulk", "copy_rounds", "events_ingest", "ingest_contacts", "ingest_events",
           "post_bodies"]

ROUNDS = 3
EVENTS_PER_REQUEST = 5_000
CONTACTS_PER_REQUEST = 1_000
#: Concurrent clients posting bulk requests: enough to keep gunicorn's workers and PostgreSQL busy on 2 cores.
API_CLIENTS = 4
BULK_UPSERT_PATH = "/api/v1/contacts/bulk-upsert/"
EVENTS_BULK_PATH = "/api/v1/events/bulk/"
EVENT_KINDS = [("page_visited", "website", 50), ("email_opened", "email", 25), ("email_clicked", "email", 10),
               ("form_submitted", "form", 5), ("app_login", "website", 10)]


def api_exists(path: str) -> bool:
    """True when `path` resolves to a view of its own: not the API's catch-all 404, and not a
    detail route that took the last segment for an id."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return not match.kwargs and "not-found" not in (match.url_name or "")


def slot_status(path: str, *, issue: str) -> str:
    """The status of a scenario whose API half is measured only once that API exists."""
    if not api_exists(path):
        return f"not built yet (issue {issue})"
    return f"API exists: its measurement is to be added by issue {issue}"


def ingest_events(*, contacts: int, count: int, seed: int) -> list[dict]:
    """`count` new events for existing contacts, as an integrator would send them (with an id each)."""
    rng = random.Random(f"{seed}:ingest-events")
    run = uuid.uuid4().hex[:12]
    now = datetime.now(UTC).isoformat()
    kinds = [(t, c) for t, c, w in EVENT_KINDS for _ in range(w)]
    rows = []
    for k in range(count):
        type_, channel = rng.choice(kinds)
        if channel == "website":
            properties = {"url": f"https://www.site.example/{rng.choice(vocab.PAGE_TOPICS)}"}
        elif channel == "email":
            properties = {"campaign": "Newsletter", "campaign_id": rng.randint(1, 30)}
        else:
            properties = {"form": rng.choice(vocab.FORMS)[0]}
        rows.append({"id": f"bench-{run}-{k}", "contact": rng.randint(1, contacts), "type": type_,
                     "channel": channel, "properties": properties, "occurred_at": now, "source": "api"})
    return rows


def ingest_contacts(*, count: int, seed: int, accounts: int, owners: list[int]) -> list[dict]:
    rng = random.Random(f"{seed}:ingest-contacts")
    run = uuid.uuid4().hex[:12]
    rows = []
    for k in range(count):
        first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
        rows.append({"email": f"{first}.{last}.{run}{k}@bulk.example", "first_name": first.title(),
                     "last_name": last.title(), "title": rng.choice(vocab.TITLES)[0],
                     "account": rng.randint(1, accounts) if accounts and rng.random() < 0.8 else None,
                     "owner": rng.choice(owners) if owners and rng.random() < 0.85 else None})
    return rows


def _copy_batches(model, columns: list[str], lines: list[str], batch: int) -> float:
    """COPY `lines` in batches of `batch`, one transaction each. Returns the seconds it took."""
    columns, suffix = model_columns(model, columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    chunks = ["".join(line + suffix + "\n" for line in lines[i:i + batch]) for i in range(0, len(lines), batch)]
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    for chunk in chunks:
        with raw.transaction(), raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write(chunk)
    return time.perf_counter() - started


def copy_rounds(model, columns: list[str], lines: list[str], batch: int) -> list[float]:
    """Seconds of each of ROUNDS rounds of `_copy_batches`; what a round adds is deleted after it."""
    table = model._meta.db_table
    connection.ensure_connection()
    raw = connection.connection
    last_id = raw.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))).fetchone()[0]
    seconds = []
    try:
        for _ in range(ROUNDS):
            seconds.append(_copy_batches(model, columns, lines, batch))
            raw.execute(sql.SQL("DELETE FROM {} WHERE id > %s").format(sql.Identifier(table)), [last_id])
    finally:
        raw.execute(sql.SQL("DELETE FROM {} WHERE id > %s").format(sql.Identifier(table)), [last_id])
        raw.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    return seconds


def _count(ctx: Context, *, per_contact: float, low: int, high: int) -> int:
    return int(min(high, max(low, ctx.dataset.contacts * per_contact)))


def events_ingest(ctx: Context) -> list[Result]:
    """Issue 5's bulk endpoint against COPY of the same rows into contacts_event."""
    count = _count(ctx, per_contact=2, low=20_000, high=50_000)
    rows = ingest_events(contacts=ctx.dataset.contacts, count=count, seed=ctx.dataset.seed)
    lines = [f"{r['contact']}\t{r['type']}\t{r['channel']}\t{esc(json.dumps(r['properties']))}\t{r['occurred_at']}\t"
             f"{r['source']}\t{r['id']}\t{r['occurred_at']}" for r in rows]
    rounds = copy_rounds(Event, ["contact_id", "type", "channel", "properties", "occurred_at", "source", "client_id",
                                 "created_at"], lines, EVENTS_PER_REQUEST)
    seconds = min(rounds)
    result = Result(
        name="events_ingest", title="Event bulk ingestion (POST /api/v1/events/bulk/)", unit="events/s",
        baseline=count / seconds, baseline_label="raw COPY", goal=Goal(">=", 20_000, "events/s"), issue="5",
        notes=f"{count:,} events, {EVENTS_PER_REQUEST:,} per request/COPY, best of {ROUNDS}",
        details={"events": count, "batch": EVENTS_PER_REQUEST, "copy_seconds": [round(s, 3) for s in rounds]})
    if not api_exists(EVENTS_BULK_PATH):
        result.status = slot_status(EVENTS_BULK_PATH, issue="5")
        return [result]
    api = _events_api_rounds(ctx, rows)
    result.figure = count / min(api["seconds"])
    result.notes += f"; {API_CLIENTS} concurrent clients; each event with an id; one Celery message a request"
    result.details |= {"api_clients": API_CLIENTS, "api_seconds": [round(s, 3) for s in api["seconds"]],
                       "catch_up_seconds": api["catch_up_seconds"], "catch_up_moved": api["catch_up_moved"]}
    # The contacts' last_activity_at is moved by the worker after commit (batches this size touch
    # thousands of contacts): its time is measured too, and shown added to the request's.
    both = min(a + c for a, c in zip(api["seconds"], api["catch_up_seconds"], strict=True))
    result.notes += (f"; then the worker's last-activity consumer moves {max(api['catch_up_moved']):,} contacts "
                     f"in {min(api['catch_up_seconds']):.2f} s: {count / both:,.0f} events/s counting both in turn")
    result.details |= {"with_consumer_events_per_second": round(count / both)}
    if api["error"]:
        result.status = "error"
        result.notes += f"; {api['error']}"[:300]
    return [result]


def _events_api_rounds(ctx: Context, rows: list[dict]) -> dict:
    """ROUNDS rounds of POSTing `rows` to the bulk endpoint; after each, the data set is put back as it was.

    What a round changes is undone before the next: its events (and any event type it registered)
    are deleted, and the contacts' last_activity_at restored, so every round moves them forward again.
    """
    from bench.scenarios.api import api_key
    from bench.server import gunicorn

    bodies = [json.dumps({"events": rows[i:i + EVENTS_PER_REQUEST]}).encode()
              for i in range(0, len(rows), EVENTS_PER_REQUEST)]
    headers = {"Authorization": f"Bearer {api_key(scope='write')}"}
    contact_ids = sorted({row["contact"] for row in rows})
    connection.ensure_connection()
    raw = connection.connection
    last_event = raw.execute("SELECT coalesce(max(id), 0) FROM contacts_event").fetchone()[0]
    last_type = raw.execute("SELECT coalesce(max(id), 0) FROM contacts_eventtype").fetchone()[0]
    activity = raw.execute("SELECT id, last_activity_at FROM contacts_contact WHERE id = ANY(%s)",
                           [contact_ids]).fetchall()
    measured: dict = {"seconds": [], "error": "", "catch_up_seconds": [], "catch_up_moved": []}

    def clean_up():
        with raw.transaction():
            raw.execute("DELETE FROM contacts_event WHERE id > %s", [last_event])
            raw.execute("DELETE FROM contacts_eventtype WHERE id > %s", [last_type])
            raw.execute("""UPDATE contacts_contact c SET last_activity_at = v.at
                           FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) WHERE c.id = v.id""",
                        [[pk for pk, _at in activity], [at for _pk, at in activity]])
        # Each round rewrites thousands of contact rows (and their index entries) twice: without a vacuum
        # the next round would pay for the dead rows of this one.
        raw.execute("VACUUM contacts_contact")
        raw.execute("VACUUM contacts_event")

    try:
        with gunicorn(log=ctx.log) as base:
            # Small requests first, one per client, so the workers' imports and connections are not on the clock.
            post_bodies(base, EVENTS_BULK_PATH, [json.dumps({"events": rows[k:k + 1]}).encode()
                                                 for k in range(API_CLIENTS)], headers=headers, clients=API_CLIENTS)
            clean_up()
            for _ in range(ROUNDS):
                run = post_bodies(base, EVENTS_BULK_PATH, bodies, headers=headers, clients=API_CLIENTS)
                measured["error"] = measured["error"] or _check_event_answers(run)
                measured["seconds"].append(run["seconds"])
                _catch_up(raw, last_event, measured)
                clean_up()
    finally:
        clean_up()
        raw.execute("VACUUM (ANALYZE) contacts_event")
        raw.execute("VACUUM (ANALYZE) contacts_contact")
    return measured


def _catch_up(raw, last_event: int, measured: dict) -> None:
    """What the spine's last-activity consumer then does with the round's events, one batch at a time
    (on the worker, after each request): it moves the contacts' last_activity_at, which a request
    leaves to it when the batch touches more than contacts.ingest.TOUCH_IN_REQUEST contacts."""
    from contacts.ingest import last_activity_catch_up

    ids = [pk for (pk,) in raw.execute("SELECT id FROM contacts_event WHERE id > %s ORDER BY id", [last_event])]
    started, moved = time.perf_counter(), 0
    for i in range(0, len(ids), EVENTS_PER_REQUEST):
        moved += last_activity_catch_up(ids[i:i + EVENTS_PER_REQUEST])
    measured["catch_up_seconds"].append(round(time.perf_counter() - started, 3))
    measured["catch_up_moved"].append(moved)


def _check_event_answers(run: dict) -> str:
    """'' when every request answered 200 with every event created, else what went wrong."""
    for code, body in run["answers"]:
        if code != 200 or not isinstance(body, dict):
            return f"HTTP {code}: {str(body)[:200]}"
        counts = body["counts"]
        if counts["created"] != counts["received"]:
            return f"expected every event created, got {counts}; e.g. {body['errors'][:2]}"
    return ""


def post_bodies(base: str, path: str, bodies: list[bytes], *, headers: dict[str, str], clients: int) -> dict:
    """POST every body to `base` + `path` from `clients` keep-alive connections; the seconds and the answers."""
    parsed = urlparse(base)
    pending = list(enumerate(bodies))
    answers: list[tuple[int, dict | str] | None] = [None] * len(bodies)
    lock = threading.Lock()

    def client():
        connection_ = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=300)
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    index, body = pending.pop(0)
                connection_.request("POST", path, body=body, headers={**headers, "Content-Type": "application/json"})
                response = connection_.getresponse()
                raw = response.read()
                try:
                    answers[index] = (response.status, json.loads(raw))
                except ValueError:
                    answers[index] = (response.status, raw[:300].decode(errors="replace"))
        finally:
            connection_.close()

    threads = [threading.Thread(target=client) for _ in range(min(clients, len(bodies)))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"seconds": time.perf_counter() - started, "answers": answers}


def _bulk_bodies(rows: list[dict]) -> list[bytes]:
    return [json.dumps({"contacts": rows[i:i + CONTACTS_PER_REQUEST]}).encode()
            for i in range(0, len(rows), CONTACTS_PER_REQUEST)]


def _check_answers(run: dict, status: str) -> str:
    """'' when every request answered 200 with every item `status`, else what went wrong."""
    for code, body in run["answers"]:
        if code != 200 or not isinstance(body, dict):
            return f"HTTP {code}: {str(body)[:200]}"
        counts = body["counts"]
        if counts[status] != sum(counts.values()):
            errors = [r["errors"] for r in body["results"] if r["status"] == "error"][:2]
            return f"expected every item {status}, got {counts}; e.g. {errors}"
    return ""


def _api_rounds(ctx: Context, rows: list[dict]) -> dict:
    """ROUNDS rounds of creating `rows` through the API, then updating them; each round's rows deleted after."""
    from bench.scenarios.api import api_key
    from bench.server import gunicorn

    creates = _bulk_bodies(rows)
    updates = _bulk_bodies([{**row, "title": f"{row['title']} (updated)"} for row in rows])
    headers = {"Authorization": f"Bearer {api_key(scope='write')}"}
    connection.ensure_connection()
    raw = connection.connection
    last_id = raw.execute("SELECT coalesce(max(id), 0) FROM contacts_contact").fetchone()[0]
    measured: dict = {"create_seconds": [], "update_seconds": [], "error": ""}

    def clean_up():
        raw.execute("DELETE FROM contacts_event WHERE contact_id > %s", [last_id])
        raw.execute("DELETE FROM contacts_contact WHERE id > %s", [last_id])

    try:
        with gunicorn(log=ctx.log) as base:
            # One small request first, so the workers' imports and connections are not on the clock.
            post_bodies(base, BULK_UPSERT_PATH, [json.dumps({"contacts": [rows[0]]}).encode()], headers=headers,
                        clients=1)
            clean_up()
            for _ in range(ROUNDS):
                for phase, bodies, status in (("create", creates, "created"), ("update", updates, "updated")):
                    run = post_bodies(base, BULK_UPSERT_PATH, bodies, headers=headers, clients=API_CLIENTS)
                    measured["error"] = measured["error"] or _check_answers(run, status)
                    measured[f"{phase}_seconds"].append(run["seconds"])
                clean_up()
    finally:
        clean_up()
        raw.execute("VACUUM (ANALYZE) contacts_contact")
        raw.execute("VACUUM (ANALYZE) contacts_event")
    return measured


def contacts_bulk(ctx: Context) -> list[Result]:
    """Issue 3's bulk-upsert endpoint against COPY of the same rows into contacts_contact."""
    count = _count(ctx, per_contact=1, low=10_000, high=20_000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM users_user WHERE username LIKE %s ORDER BY id", ["rep-%"])
        owners = [row[0] for row in cursor.fetchall()]
    rows = ingest_contacts(count=count, seed=ctx.dataset.seed, accounts=ctx.dataset.counts.get("accounts", 0),
                           owners=owners)
    now = datetime.now(UTC).isoformat()
    lines = [f"{r['email']}\t{r['first_name']}\t{r['last_name']}\t\t{esc(r['title'])}\t{now}\t{now}\t{NULL}\t"
             f"{r['account'] or NULL}\t{r['owner'] or NULL}" for r in rows]
    rounds = copy_rounds(Contact, ["email", "first_name", "last_name", "phone", "title", "created_at", "updated_at",
                                   "last_activity_at", "account_id", "owner_id"], lines, CONTACTS_PER_REQUEST)
    seconds = min(rounds)
    baseline = count / seconds
    title = "Contact bulk upsert (POST /api/v1/contacts/bulk-upsert/)"
    details = {"contacts": count, "batch": CONTACTS_PER_REQUEST, "copy_seconds": [round(s, 3) for s in rounds]}
    created = Result(
        name="contacts_bulk", title=f"{title}, new contacts", unit="contacts/s", baseline=baseline,
        baseline_label="raw COPY", goal=Goal(">=", 5_000, "contacts/s"), issue="3",
        notes=f"{count:,} new contacts, {CONTACTS_PER_REQUEST:,} per request/COPY, best of {ROUNDS}",
        details=details)
    updated = Result(
        name="contacts_bulk_update", title=f"{title}, existing contacts", unit="contacts/s", baseline=baseline,
        baseline_label="raw COPY of new rows", goal=Goal(">=", 5_000, "contacts/s"), issue="3",
        notes=f"the same {count:,} contacts again, each with a changed title (one field_changed event each)",
        details=dict(details))
    if not api_exists(BULK_UPSERT_PATH):
        created.status = updated.status = slot_status(BULK_UPSERT_PATH, issue="3")
        return [created]
    api = _api_rounds(ctx, rows)
    for result, phase in ((created, "create"), (updated, "update")):
        result.figure = count / min(api[f"{phase}_seconds"])
        result.notes += f"; {API_CLIENTS} concurrent clients"
        result.details |= {"api_clients": API_CLIENTS, "api_seconds": [round(s, 3) for s in api[f"{phase}_seconds"]]}
        if api["error"]:
            result.status = "error"
            result.notes += f"; {api['error']}"[:300]
    return [created, updated]
