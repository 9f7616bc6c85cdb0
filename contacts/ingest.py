"""Event ingestion for integrations: one event, or up to 5,000 in one set-based pass.

    result = events_ingest(items, user=request.user)   # items: the request's JSON objects
    result.created, result.duplicates, result.failed, result.contacts_created, result.errors

A batch is a handful of statements whatever its size:

1. every item is checked in Python (`EventInput`); a bad item gets field errors and the rest go on;
2. one SELECT finds the contacts the items name, by id or by email, among those the user may see;
3. unknown emails become contacts in the same pass (contacts.bulk.contacts_upsert, create-only), when
   the user may add contacts;
4. one INSERT registers the batch's new custom event types (EventType, ON CONFLICT DO NOTHING);
5. one SELECT finds the client ids already stored, and COPY writes the rest, their ids drawn from the
   sequence first (COPY returns none). An item whose `id` (client_id) is already stored, or came earlier
   in the batch, is a duplicate, not an error. A batch that races another request storing the same
   client id falls back to one INSERT ... SELECT FROM unnest(...) ON CONFLICT (client_id) DO NOTHING;
6. one UPDATE moves the contacts' last_activity_at forward (GREATEST semantics), locking the rows in
   id order and skipping rows another transaction holds, so concurrent batches on the same contacts
   neither wait for each other nor deadlock. `last_activity_catch_up`, a spine consumer, re-applies
   the rule after commit: it repairs the skipped rows, and does all of it for batches touching more
   than TOUCH_IN_REQUEST contacts;
7. every stored event (and every contact_created event of step 3) is published in ONE message on commit.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from json.encoder import c_make_encoder, encode_basestring

from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg.errors import UniqueViolation

from contacts.bulk import Mode, contacts_upsert
from contacts.events import one_message, publish_on_commit
from contacts.inputs import valid_email
from contacts.models import Channel, Contact, Event
from users.permissions import visible_to

__all__ = ["MAX_EVENTS", "MAX_FUTURE", "MAX_PROPERTIES_BYTES", "EventInput", "IngestResult", "event_types_register",
           "events_ingest", "last_activity_catch_up"]

#: Events in one bulk request, at most.
MAX_EVENTS = 5_000
#: The size of one event's `properties`, as compact JSON in UTF-8.
MAX_PROPERTIES_BYTES = 32 * 1024
#: How far ahead of the server's clock `occurred_at` may be (clients' clocks drift a little).
MAX_FUTURE = timedelta(minutes=10)
#: A batch touching more contacts than this leaves their last_activity_at to the worker (see _touch_contacts).
TOUCH_IN_REQUEST = 500
MAX_CLIENT_ID = Event._meta.get_field("client_id").max_length
MAX_SOURCE = Event._meta.get_field("source").max_length
DEFAULT_SOURCE = "api"

KNOWN = frozenset({"id", "contact", "email", "type", "channel", "properties", "occurred_at", "source"})
CHANNELS = frozenset(Channel.values)
#: Custom type names: a letter, then letters, digits, spaces and _ . : - (e.g. "trial_started", "Order Completed").
TYPE_PATTERN = re.compile(r"[A-Za-z](?:[A-Za-z0-9_.:\- ]{0,62}[A-Za-z0-9_.:\-])?")
#: A \u0000 escape in JSON text (not an escaped backslash followed by "u0000"): PostgreSQL's jsonb refuses it.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_EPOCH_FLOOR = datetime(1900, 1, 1, tzinfo=UTC)


def _json_encoder():
    """Compact JSON text, no NaN or Infinity. The C encoder is made once here: json.dumps() builds a new one
    per call, a third of what checking an event costs. No cycle check: the input was parsed from JSON."""
    if c_make_encoder is None:  # a Python without the _json accelerator
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
    encoder = c_make_encoder(None, None, encode_basestring, None, ":", ",", False, False, False)
    return lambda value: "".join(encoder(value, 0))


_encode = _json_encoder()

NOT_YOURS = "No contact you may add events to has this email."
MAY_NOT_CREATE = "No contact you may add events to has this email, and you may not create contacts."


@dataclass(slots=True)
class CheckedEvent:
    position: int
    contact_id: int | None
    email: str | None
    type: str
    channel: str
    properties: str  # compact JSON text
    occurred_at: datetime
    source: str
    client_id: str | None


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    duplicates: int = 0
    contacts_created: int = 0
    #: (position, the item's client id or None, {field: [messages]}), in the order of the items.
    errors: list[tuple[int, str | None, dict[str, list[str]]]] = field(default_factory=list)
    #: Ids of the events stored, in the order of the items.
    event_ids: list[int] = field(default_factory=list)
    #: Client ids of the items that were already stored (or sent earlier in the batch).
    duplicate_client_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


def _short(key) -> str:
    key = str(key)
    return key if len(key) <= 64 else key[:61] + "..."


class EventInput:
    """Checks one event item at a time; cheap enough for 5,000 items a request (no serializer per item)."""

    def __init__(self, *, now: datetime):
        self.now = now
        self.latest = now + MAX_FUTURE
        # A batch repeats its emails, types and times: each is checked once.
        self._emails: dict[str, str | None] = {}  # raw -> normalized, or None when not valid
        self._types: dict[str, bool] = dict.fromkeys(Event.TYPES, True)
        self._times: dict[str, tuple[datetime, str]] = {}

    def _email(self, raw: str) -> str | None:
        if raw not in self._emails:
            self._emails[raw] = valid_email(raw)
        return self._emails[raw]

    def clean(self, item, position: int) -> tuple[CheckedEvent | None, dict[str, list[str]]]:
        """(the checked event, {}) or (None, errors by field)."""
        if type(item) is not dict:
            return None, {"non_field_errors": ["Each event must be a JSON object."]}
        errors: dict[str, list[str]] = {}
        if not KNOWN.issuperset(item):
            for key in item.keys() - KNOWN:
                errors[_short(key)] = [f"Unknown field “{_short(key)}”. Send custom data inside \"properties\"."]

        contact_id = email = None
        contact, raw_email = item.get("contact"), item.get("email")
        if contact is not None and raw_email is not None:
            errors["contact"] = ["Send either contact (an id) or email, not both."]
        elif contact is not None:
            if type(contact) is str and contact.isdigit() and len(contact) < 19:
                contact = int(contact)
            if type(contact) is int and 0 < contact < 2**63:
                contact_id = contact
            else:
                errors["contact"] = ["A contact is given by its id, a positive whole number."]
        elif raw_email is not None:
            email = self._email(raw_email) if type(raw_email) is str else None
            if email is None:
                errors["email"] = ["Enter a valid email address."]
        else:
            errors["email"] = ["Say whose event it is: send email, or contact (an id)."]

        type_ = item.get("type")
        if type(type_) is not str or not type_:
            errors["type"] = ["An event type is required, e.g. \"trial_started\"."]
        elif not self._type_ok(type_):
            errors["type"] = ["A type is 1 to 64 characters: a letter, then letters, digits, spaces and _ . : -"]

        channel = item.get("channel") or ""
        if channel and channel not in CHANNELS:
            errors["channel"] = [f"Choose one of: {', '.join(Channel.values)}."]

        properties = item.get("properties")
        text = "{}"
        if properties is not None:
            if type(properties) is not dict:
                errors["properties"] = ["Properties are a JSON object, e.g. {\"plan\": \"pro\"}."]
            else:
                text, problem = _properties_text(properties)
                if problem:
                    errors["properties"] = [problem]

        occurred_at = self.now
        raw_when = item.get("occurred_at")
        if raw_when is not None:
            if type(raw_when) is str:
                if raw_when not in self._times:
                    self._times[raw_when] = self._when(raw_when)
                occurred_at, problem = self._times[raw_when]
            else:
                occurred_at, problem = self._when(raw_when)
            if problem:
                errors["occurred_at"] = [problem]

        source = item.get("source")
        if source is None or source == "":
            source = DEFAULT_SOURCE
        elif type(source) is not str or len(source) > MAX_SOURCE or not source.isprintable():
            errors["source"] = [f"A source is text of at most {MAX_SOURCE} characters, e.g. \"shopify\"."]

        client_id = item.get("id")
        if client_id is not None:
            if type(client_id) is int:
                client_id = str(client_id)
            if (type(client_id) is not str or not client_id or len(client_id) > MAX_CLIENT_ID
                    or not client_id.isprintable()):
                errors["id"] = [f"An id is 1 to {MAX_CLIENT_ID} printable characters, unique per event."]
                client_id = None
        if errors:
            return None, errors
        return CheckedEvent(position, contact_id, email, type_, channel, text, occurred_at, source, client_id), {}

    def _type_ok(self, name: str) -> bool:
        if name not in self._types:
            self._types[name] = TYPE_PATTERN.fullmatch(name) is not None
        return self._types[name]

    def _when(self, raw) -> tuple[datetime, str]:
        problem = "Enter a date and time in ISO 8601, e.g. 2026-11-22T14:05:00Z."
        if type(raw) is not str:
            return self.now, problem
        try:
            when = datetime.fromisoformat(raw)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if when > self.latest:
                return self.now, "This is in the future; send the time the event happened."
            if when < _EPOCH_FLOOR:
                return self.now, "This is too far in the past."
        except (ValueError, OverflowError):
            return self.now, problem
        return when, ""


def _properties_text(properties: dict) -> tuple[str, str]:
    """The properties as compact JSON text, or the reason they cannot be stored."""
    try:
        text = _encode(properties)
        size = len(text) if text.isascii() else len(text.encode())
    except RecursionError:
        return "", "Properties are nested too deeply."
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"), which JSON allows and UTF-8 does not
        return "", "Properties contain text that is not valid Unicode."
    except ValueError:
        return "", "Properties must be plain JSON (no NaN or Infinity)."
    if size > MAX_PROPERTIES_BYTES:
        return "", f"Properties take at most {MAX_PROPERTIES_BYTES // 1024} KiB as JSON; these take {size:,} bytes."
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        return "", "Properties may not contain NUL characters (\\u0000)."
    return text, ""


def _visible_contacts(ids: set[int], emails: set[str], user) -> tuple[set[int], dict[str, int]]:
    """Which of these ids, and which contacts with these emails, the user may see: one SELECT."""
    if not ids and not emails:
        return set(), {}
    # The ids travel as one comma-separated string: quoting a 5,000-item array parameter costs more than the query.
    match = RawSQL("(contacts_contact.id = ANY(string_to_array(%s, ',')::bigint[]) "
                   "OR lower(contacts_contact.email) = ANY(%s::text[]))",
                   (",".join(map(str, ids)), list(emails)), output_field=BooleanField())
    found_ids, by_email = set(), {}
    for pk, email in visible_to(Contact.objects.filter(match), user).values_list("pk", "email"):
        found_ids.add(pk)
        by_email[email.lower()] = pk
    return found_ids & ids, {email: pk for email, pk in by_email.items() if email in emails}


def event_types_register(names: set[str], *, when: datetime | None = None) -> None:
    """Register custom event types on first use: one INSERT, nothing locked for names that exist."""
    names = {name for name in names if name not in Event.TYPES}
    if not names:
        return
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO contacts_eventtype (name, first_seen_at) SELECT unnest(%s::text[]), %s "
                       "ON CONFLICT (name) DO NOTHING", [sorted(names), when or timezone.now()])


def _stored_client_ids(client_ids: list[str]) -> set[str]:
    """Which of these client ids are stored already (one SELECT on the unique index)."""
    if not client_ids:
        return set()
    with connection.cursor() as cursor:
        # One newline-separated string: a client id is printable, so it never holds a newline.
        cursor.execute("SELECT client_id FROM contacts_event WHERE client_id = ANY(string_to_array(%s, E'\\n'))",
                       ["\n".join(client_ids)])
        return {client_id for (client_id,) in cursor.fetchall()}


def _copy(events: Sequence[CheckedEvent], now: datetime) -> list[int]:
    """Store the events with COPY, their ids drawn from the sequence first; the ids, in order.

    Raises psycopg's UniqueViolation when another request stored one of the client ids since
    _stored_client_ids() looked: the caller runs this in a savepoint and falls back to _insert().
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('contacts_event', 'id')) FROM generate_series(1, %s)",
                       [len(events)])
        ids = [pk for (pk,) in cursor.fetchall()]
        with cursor.cursor.copy("COPY contacts_event (id, contact_id, type, channel, properties, occurred_at, source, "
                                "client_id, created_at) FROM STDIN") as copy:
            # Times as ISO text: psycopg writes a str faster than it formats a datetime.
            created_at, iso = now.isoformat(), _iso_cache()
            for pk, e in zip(ids, events, strict=True):
                copy.write_row((pk, e.contact_id, e.type, e.channel, e.properties, iso(e.occurred_at), e.source,
                                e.client_id, created_at))
    return ids


def _insert(events: Sequence[CheckedEvent], now: datetime) -> list[tuple[int, str | None]]:
    """Store the events, skipping client ids already stored; (id, client_id) of each row written.

    The slower path, for a batch that raced another request storing the same client ids.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_event (contact_id, type, channel, properties, occurred_at, source, client_id,
                                           created_at)
               SELECT c, t, ch, p::jsonb, o, s, k, %s
               FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[],
                           %s::text[]) AS v(c, t, ch, p, o, s, k)
               ON CONFLICT (client_id) DO NOTHING
               RETURNING id, client_id""",
            [now, [e.contact_id for e in events], [e.type for e in events], [e.channel for e in events],
             [e.properties for e in events], [e.occurred_at for e in events], [e.source for e in events],
             [e.client_id for e in events]])
        return cursor.fetchall()


def _store(events: list[CheckedEvent], now: datetime, result: "IngestResult") -> list[CheckedEvent]:
    """Store what is not stored yet; the events written. Their ids go to result.event_ids, the rest are duplicates."""
    stored = _stored_client_ids([e.client_id for e in events if e.client_id is not None])
    if stored:
        result.duplicate_client_ids += [e.client_id for e in events if e.client_id in stored]
        events = [e for e in events if e.client_id not in stored]
    if not events:
        return []
    try:
        with transaction.atomic():
            result.event_ids = _copy(events, now)
        return events
    except UniqueViolation:
        pass
    written = _insert(events, now)
    result.event_ids = [pk for pk, _client_id in written]
    inserted = {client_id for _pk, client_id in written if client_id is not None}
    result.duplicate_client_ids += [e.client_id for e in events if e.client_id is not None
                                    and e.client_id not in inserted]
    return [e for e in events if e.client_id is None or e.client_id in inserted]


def _iso_cache():
    """datetime -> ISO 8601 text, remembering the answers: a batch's events share few distinct times."""
    texts: dict[datetime, str] = {}

    def iso(when: datetime) -> str:
        text = texts.get(when)
        if text is None:
            text = texts[when] = when.isoformat()
        return text

    return iso


_TOUCH = """
    WITH v(id, at) AS MATERIALIZED ({source}),
         locked AS MATERIALIZED (
             SELECT c.id FROM contacts_contact c JOIN v ON v.id = c.id
             WHERE c.last_activity_at IS NULL OR c.last_activity_at < v.at
             ORDER BY c.id FOR NO KEY UPDATE OF c {skip_locked})
    UPDATE contacts_contact c SET last_activity_at = v.at
    FROM v JOIN locked USING (id)
    WHERE c.id = v.id AND (c.last_activity_at IS NULL OR c.last_activity_at < v.at)"""


def _touch_contacts(latest: dict[int, datetime]) -> None:
    """Move last_activity_at forward to each contact's newest new event; never back (GREATEST).

    Rows are locked in id order (FOR NO KEY UPDATE: it does not block the foreign key checks of
    other batches' events), and rows another transaction holds are skipped rather than waited
    for: two ingestion batches on the same contacts would otherwise run one after the other,
    and an open transaction on any one contact would stall a whole batch. The skipped rows are
    repaired after commit by `last_activity_catch_up`, the spine consumer that re-applies the rule.

    Only batches touching at most TOUCH_IN_REQUEST contacts do this in the request. Moving a
    contact's last_activity_at rewrites its row and an entry in each of its ~15 indexes (the
    column is indexed for the list's sort, so the update is never HOT): about 60 µs a contact,
    as much as storing the 5,000 events of a full batch. Larger batches leave it all to the
    consumer, on the worker, a moment after commit.
    """
    if not latest:
        return
    ids = sorted(latest)
    iso = _iso_cache()
    with connection.cursor() as cursor:
        cursor.execute(
            _TOUCH.format(source="SELECT * FROM unnest(string_to_array(%s, ',')::bigint[], "
                                 "string_to_array(%s, ',')::timestamptz[])", skip_locked="SKIP LOCKED"),
            # As comma-separated text: psycopg quotes a 5,000-item array parameter item by item, in Python.
            [",".join(map(str, ids)), ",".join([iso(latest[pk]) for pk in ids])])


def last_activity_catch_up(event_ids: list[int]) -> int:
    """Spine consumer: each contact's last_activity_at is at least its newest event among `event_ids`.

    Usually a read that changes nothing (the recording transaction moved it already); it repairs
    the contacts an ingestion batch skipped because another transaction had them locked. Waits
    for such locks (it is a worker, not a request). Idempotent. Returns how many contacts moved.
    """
    if not event_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _TOUCH.format(source="SELECT contact_id, max(occurred_at) FROM contacts_event "
                                 "WHERE id = ANY(string_to_array(%s, ',')::bigint[]) GROUP BY contact_id",
                          skip_locked=""),
            [",".join(map(str, event_ids))])
        return cursor.rowcount


@transaction.atomic
def events_ingest(items: Sequence, *, user, actor: str = "api") -> IngestResult:
    """Check, resolve and store `items` (JSON objects); see the module's docstring.

    The caller has checked that `user` may add events (and that the batch is at most MAX_EVENTS).
    Unknown emails become contacts only when the user has contacts.add_contact.
    """
    now = timezone.now()
    result = IngestResult(received=len(items))
    checker = EventInput(now=now)
    errors: dict[int, tuple[str | None, dict]] = {}
    good: list[CheckedEvent] = []
    for position, item in enumerate(items):
        event, problems = checker.clean(item, position)
        if event is None:
            client_id = item.get("id") if type(item) is dict else None
            errors[position] = (client_id if type(client_id) is str else None, problems)
        else:
            good.append(event)

    ids = {e.contact_id for e in good if e.contact_id is not None}
    emails = {e.email for e in good if e.email is not None}
    found_ids, by_email = _visible_contacts(ids, emails, user)

    with one_message():
        unknown = sorted(emails - by_email.keys())
        refused: dict[str, str] = {}
        if unknown:
            if user.has_perm("contacts.add_contact"):
                for outcome in contacts_upsert([{"email": email} for email in unknown], mode=Mode.CREATE_ONLY,
                                               actor=actor, user=user):
                    email = unknown[outcome.index]
                    if outcome.status == "created":
                        by_email[email] = outcome.id
                        result.contacts_created += 1
                    elif outcome.status == "skipped":  # exists, but not among the contacts the user sees
                        refused[email] = NOT_YOURS
                    else:
                        refused[email] = next(iter(outcome.errors.values()), [NOT_YOURS])[0]
            else:
                refused = dict.fromkeys(unknown, MAY_NOT_CREATE)

        stored: list[CheckedEvent] = []
        seen_client_ids: set[str] = set()
        for event in good:
            if event.contact_id is not None:
                if event.contact_id not in found_ids:
                    errors[event.position] = (event.client_id, {
                        "contact": [f"There is no contact with id {event.contact_id}."]})
                    continue
            elif event.email in refused:
                errors[event.position] = (event.client_id, {"email": [refused[event.email]]})
                continue
            else:
                event.contact_id = by_email[event.email]
            if event.client_id is not None:
                if event.client_id in seen_client_ids:
                    result.duplicate_client_ids.append(event.client_id)
                    continue
                seen_client_ids.add(event.client_id)
            stored.append(event)

        if stored:
            event_types_register({e.type for e in stored}, when=now)
            latest: dict[int, datetime] = {}
            for event in _store(stored, now, result):
                if event.occurred_at > latest.get(event.contact_id, _EPOCH_FLOOR):
                    latest[event.contact_id] = event.occurred_at
            if len(latest) <= TOUCH_IN_REQUEST:
                _touch_contacts(latest)
            publish_on_commit(result.event_ids)

    result.created = len(result.event_ids)
    result.duplicates = len(result.duplicate_client_ids)
    result.errors = [(position, *errors[position]) for position in sorted(errors)]
    return result
