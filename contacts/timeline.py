"""A contact's touchpoint timeline: keyset-paged reads and a readable description of each event.

Event properties come from the internet (tracking, forms, the API), so everything here produces plain
strings for the templates to escape; nothing is marked safe.

    page = contact_timeline(contact, before=cursor, channel="email", type="", limit=25)
    page.entries  -> [TimelineEntry], newest first
    page.next_cursor -> "…" to pass as `before` for the next page, or "" at the end
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from contacts.models import Account, Channel, Contact, Event

__all__ = [
    "FieldChange", "TimelineEntry", "TimelineFilterOptions", "TimelinePage", "channel_label", "contact_timeline",
    "cursor_decode", "cursor_encode",
    "timeline_filter_options", "type_label",
]

PAGE_SIZE = 25
#: How much of one property value a timeline entry shows.
MAX_VALUE = 300


def type_label(type_: str) -> str:
    """The readable name of an event type; custom types get their own name, humanised."""
    return Event.TYPES.get(type_) or type_.replace("_", " ").strip().capitalize() or "Event"


def channel_label(channel: str) -> str:
    if channel in Channel.values:
        return Channel(channel).label
    return channel.replace("_", " ").strip().capitalize()


def cursor_encode(event: Event) -> str:
    return f"{event.occurred_at.isoformat()}~{event.pk}"


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    """(occurred_at, id) from a cursor; ValueError when it is not one of ours."""
    when, _, pk = cursor.rpartition("~")
    occurred_at = parse_datetime(when) if when else None
    if occurred_at is None or occurred_at.tzinfo is None or not pk.isdigit():
        raise ValueError(f"not a timeline cursor: {cursor[:50]!r}")
    return occurred_at, int(pk)


def _text(value) -> str:
    """A property value as short plain text."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        text = ", ".join(_text(item) for item in value) or "—"
    elif isinstance(value, dict):
        text = ", ".join(f"{key}: {_text(item)}" for key, item in value.items()) or "—"
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass
class TimelineEntry:
    """One event as the timeline shows it. Every string is plain text, to be escaped."""

    event: Event
    label: str
    channel: str
    #: One line saying what happened, e.g. "vip" for a tag, the URL of a page visited.
    summary: str = ""
    #: field_changed: what changed, from and to.
    changes: list[FieldChange] = field(default_factory=list)
    #: stage_changed: from and to, and whether the move went backward.
    stage_from: str = ""
    stage_to: str = ""
    backward: bool = False
    #: Anything else worth showing, as (name, value) pairs.
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def cursor(self) -> str:
        return cursor_encode(self.event)


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    #: Pass as `before` to get the next (older) page; "" when there is none.
    next_cursor: str


# Which property is the one-line summary of each known type; other properties become details.
_SUMMARY_KEY = {
    "tag_added": "tag", "tag_removed": "tag", "list_subscribed": "list", "list_unsubscribed": "list",
    "list_status_changed": "list", "consent_recorded": "purpose", "note_added": "excerpt",
    "task_created": "title", "task_done": "title", "form_submitted": "form", "page_visited": "url",
    "email_sent": "subject", "email_opened": "subject", "email_clicked": "url", "deal_created": "title",
    "deal_moved": "title", "deal_won": "title", "deal_lost": "title", "contact_created": "source",
}
# Properties that are ids for our own use, not for people.
_HIDDEN = {"note_id", "task_id", "list_id", "deal_id", "contact_id", "campaign_id", "send_id"}
# field_changed keys that hold ids: shown as names instead.
_ID_FIELDS = {"owner_id": "owner", "account_id": "account"}


def _describe(event: Event, names: dict[str, dict[int, str]]) -> TimelineEntry:
    props = event.properties if isinstance(event.properties, dict) else {"value": event.properties}
    entry = TimelineEntry(event=event, label=type_label(event.type), channel=channel_label(event.channel))
    if event.type == "field_changed":
        changes = props.get("changes")
        if isinstance(changes, dict):
            for key, pair in changes.items():
                old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
                if key in _ID_FIELDS:
                    lookup = names[key]
                    old, new = (lookup.get(v, f"#{v}") if isinstance(v, int) else v for v in (old, new))
                    key = _ID_FIELDS[key]
                entry.changes.append(FieldChange(field=str(key), old=_text(old), new=_text(new)))
        return entry
    if event.type == "stage_changed":
        entry.stage_from = _text(props.get("from")) if props.get("from") else ""
        entry.stage_to = _text(props.get("to"))
        entry.backward = props.get("direction") == "backward"
        if props.get("reason"):
            entry.details.append(("reason", _text(props["reason"])))
        return entry
    summary_key = _SUMMARY_KEY.get(event.type)
    if summary_key and props.get(summary_key) not in (None, ""):
        entry.summary = _text(props[summary_key])
    for key, value in props.items():
        if key != summary_key and key not in _HIDDEN and value not in (None, "", [], {}):
            entry.details.append((str(key).replace("_", " "), _text(value)))
    return entry


def _names(events: list[Event]) -> dict[str, dict[int, str]]:
    """Owner and account names for the ids that field_changed events on this page mention."""
    from users.models import User

    ids: dict[str, set[int]] = {key: set() for key in _ID_FIELDS}
    for event in events:
        changes = event.properties.get("changes") if event.type == "field_changed" and isinstance(
            event.properties, dict) else None
        if isinstance(changes, dict):
            for key in ids.keys() & changes.keys():
                ids[key].update(v for v in changes[key] or () if isinstance(v, int) and not isinstance(v, bool))
    names: dict[str, dict[int, str]] = {key: {} for key in _ID_FIELDS}
    if ids["owner_id"]:
        names["owner_id"] = {user.pk: str(user) for user in User.objects.filter(pk__in=ids["owner_id"])}
    if ids["account_id"]:
        names["account_id"] = dict(Account.objects.filter(pk__in=ids["account_id"]).values_list("pk", "name"))
    return names


def contact_timeline(contact: Contact, *, before: str = "", channel: str = "", type: str = "",
                     limit: int = PAGE_SIZE) -> TimelinePage:
    """The contact's events, newest first, `limit` at a time, optionally of one channel and/or type.

    Keyset-paged on (occurred_at, id), which the (contact, -occurred_at) index serves at any depth.
    `before` is a cursor from a previous page (ValueError when malformed).
    """
    events = Event.objects.filter(contact=contact)
    if channel:
        events = events.filter(channel=channel)
    if type:
        events = events.filter(type=type)
    if before:
        occurred_at, pk = cursor_decode(before)
        events = events.filter(Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, pk__lt=pk))
    rows = list(events.order_by("-occurred_at", "-id")[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    names = _names(rows)
    return TimelinePage(entries=[_describe(event, names) for event in rows],
                        next_cursor=cursor_encode(rows[-1]) if more else "")


@dataclass(frozen=True)
class TimelineFilterOptions:
    #: (value, label) pairs of the channels and types this contact's events have.
    channels: list[tuple[str, str]]
    types: list[tuple[str, str]]


def timeline_filter_options(contact: Contact) -> TimelineFilterOptions:
    """The channels and types that occur on the contact's timeline, for the filter chips (one query)."""
    pairs = set(Event.objects.filter(contact=contact).order_by().values_list("channel", "type").distinct())
    channels = sorted({c for c, _ in pairs if c}, key=channel_label)
    types = sorted({t for _, t in pairs}, key=type_label)
    return TimelineFilterOptions(channels=[(c, channel_label(c)) for c in channels],
                                 types=[(t, type_label(t)) for t in types])
