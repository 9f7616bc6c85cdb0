"""Set-based create-or-update of many contacts at once: the API's bulk-upsert and CSV imports.

A batch is a handful of statements whatever its size: one SELECT ... FOR UPDATE of the existing
contacts, one INSERT and one UPDATE over unnest()ed arrays, and one INSERT each for tags, list
subscriptions, stage transitions and timeline events. Items arrive already checked by
contacts.inputs.ContactInput; an item that still fails here (its email given twice in the batch)
gets an error and the rest go on.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.events import publish_on_commit
from contacts.models import Account, Contact, ContactList, Event, ImportJob, Subscription, Tag

__all__ = ["COLUMNS", "UpsertResult", "contacts_upsert", "diff_contact", "merge_fields", "resolve_companies"]

Mode = ImportJob.Mode
#: Columns an upsert may write, besides email and custom fields.
COLUMNS = ("first_name", "last_name", "phone", "title", "account_id", "owner_id", "lead_status", "source",
           "source_detail")
_TEXT_DEFAULTS = {"first_name": "", "last_name": "", "phone": "", "title": "", "source_detail": "",
                  "lead_status": Contact.LeadStatus.NEW}


@dataclass
class UpsertResult:
    index: int
    status: str  # created | updated | unchanged | skipped | error
    id: int | None = None
    email: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)


def diff_contact(old: dict, data: dict) -> dict[str, list]:
    """{field: [old, new]} for what `data` (a cleaned item) changes; custom fields as "fields.<key>"."""
    changes = {}
    for name in ("email", *COLUMNS):
        if name in data and data[name] != old.get(name):
            changes[name] = [old.get(name), data[name]]
    for key, value in data.get("fields", {}).items():
        if value != old.get("fields", {}).get(key):
            changes[f"fields.{key}"] = [old.get("fields", {}).get(key), value]
    return changes


def merge_fields(old: dict, new: dict) -> dict:
    merged = {**old, **new}
    return {key: value for key, value in merged.items() if value is not None}


def resolve_companies(items: Sequence[dict]) -> None:
    """Turn "company" names into account ids: matched case-insensitively, created when missing."""
    names: dict[str, str] = {}
    for item in items:
        if item.get("company"):
            names.setdefault(item["company"].lower(), item["company"])  # the first spelling names a new account
    if not names:
        for item in items:
            if "company" in item:
                item.pop("company")
                item["account_id"] = None
        return
    found = {}
    for pk, name in (Account.objects.annotate(lname=Lower("name")).filter(lname__in=list(names))
                     .order_by("-id").values_list("pk", "lname")):
        found[name] = pk  # the oldest account wins when two share a name
    missing = [Account(name=names[lname]) for lname in names if lname not in found]
    for account in Account.objects.bulk_create(missing):
        found[account.name.lower()] = account.pk
    for item in items:
        if "company" in item:
            company = item.pop("company")
            item["account_id"] = found[company.lower()] if company else None


def _tag_ids(names: set[str]) -> dict[str, int]:
    """Tag ids by lower-cased name, creating the missing tags."""
    if not names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO contacts_tag (name, created_at) SELECT n, now() FROM unnest(%s::text[]) n "
                       "ON CONFLICT DO NOTHING", [sorted(names)])
    return {lname: pk for pk, lname in Tag.objects.annotate(lname=Lower("name"))
            .filter(lname__in=[n.lower() for n in names]).values_list("pk", "lname")}


@transaction.atomic
def contacts_upsert(items: Sequence[dict], *, mode: str = Mode.CREATE_AND_UPDATE, actor: str = "api", user=None,
                    extra_tags: Sequence[str] = (), contact_list: ContactList | None = None,
                    index_offset: int = 0, positions: Sequence[int] | None = None) -> list[UpsertResult]:
    """Create or update contacts matched by email. Returns one result per item, in order.

    `actor` is who is writing (api, import, form, user): it becomes the default `source` of new
    contacts, the events' source and the stage transitions' actor. `extra_tags` and
    `contact_list` apply to every created or updated contact (an import's options).

    A result's `index` is the item's place in the caller's input: `index_offset + i`, or
    `positions[i]` when the caller passes only some of its items (the valid ones of a request).
    """
    now = timezone.now()
    at = list(positions) if positions is not None else [index_offset + i for i in range(len(items))]
    results: list[UpsertResult | None] = [None] * len(items)
    first_seen: dict[str, int] = {}
    batch: list[tuple[int, dict]] = []
    for i, item in enumerate(items):
        email = item["email"]
        if email in first_seen:
            results[i] = UpsertResult(at[i], "error", email=email, errors={
                "email": [f"{email} is also item {first_seen[email]} of this batch; send each contact once."]})
            continue
        first_seen[email] = at[i]
        batch.append((i, dict(item)))
    resolve_companies([item for _i, item in batch])

    existing = {
        row["email"]: row for row in Contact.objects.select_for_update(of=("self",))
        .annotate(lemail=Lower("email")).filter(lemail__in=list(first_seen))
        .values("id", "email", "fields", "lifecycle_stage_id", *COLUMNS)
    }

    to_create: list[tuple[int, dict]] = []
    to_update: list[tuple[int, dict, dict, dict]] = []  # index, item, old row, changes
    for i, item in batch:
        old = existing.get(item["email"])
        if old is None:
            if mode == Mode.UPDATE_ONLY:
                results[i] = UpsertResult(at[i], "skipped", email=item["email"])
            else:
                to_create.append((i, item))
        elif mode == Mode.CREATE_ONLY:
            results[i] = UpsertResult(at[i], "skipped", id=old["id"], email=item["email"])
        else:
            to_update.append((i, item, old, diff_contact(old, item)))

    events: list[Event] = []
    created_ids: dict[int, int] = {}
    if to_create:
        rows = [{"email": item["email"], **_TEXT_DEFAULTS, "account_id": None, "owner_id": None,
                 "source": actor if actor in Contact.Source.values else Contact.Source.API,
                 **{k: v for k, v in item.items() if k in COLUMNS},
                 "fields": json.dumps(merge_fields({}, item.get("fields", {}))),
                 "stage_id": item["stage"].pk if "stage" in item else None} for _i, item in to_create]
        names = ["email", *COLUMNS, "fields", "stage_id"]
        casts = {"account_id": "bigint", "owner_id": "bigint", "stage_id": "bigint", "fields": "text"}
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO contacts_contact (email, {', '.join(COLUMNS)}, fields, lifecycle_stage_id,
                                                  created_at, updated_at, last_activity_at)
                    SELECT email, {', '.join(COLUMNS)}, fields::jsonb, stage_id, %s, %s, %s
                    FROM unnest({', '.join(f'%s::{casts.get(n, "text")}[]' for n in names)})
                         AS v({', '.join(names)})
                    ON CONFLICT DO NOTHING
                    RETURNING id, email""",  # noqa: S608 - column names are constants, values are parameters
                [now, now, now, *[[row[n] for row in rows] for n in names]])
            inserted = {email: pk for pk, email in cursor.fetchall()}
        for i, item in to_create:
            pk = inserted.get(item["email"])
            if pk is None:  # another transaction created it after our SELECT
                results[i] = UpsertResult(at[i], "error", email=item["email"], errors={
                    "email": ["This contact was created by another request at the same moment; send it again."]})
                continue
            created_ids[i] = pk
            results[i] = UpsertResult(at[i], "created", id=pk, email=item["email"])
            events.append(Event(contact_id=pk, type="contact_created", occurred_at=now, source=actor,
                                properties={"source": actor}))

    changed = [(i, item, old, changes) for i, item, old, changes in to_update if changes]
    if changed:
        names = ["id", *COLUMNS, "fields"]
        values = {name: [] for name in names}
        for _i, item, old, _changes in changed:
            final = {**old, **{k: v for k, v in item.items() if k in COLUMNS},
                     "fields": json.dumps(merge_fields(old["fields"], item.get("fields", {})))}
            for name in names:
                values[name].append(final[name])
        casts = {"id": "bigint", "account_id": "bigint", "owner_id": "bigint"}
        with connection.cursor() as cursor:
            cursor.execute(
                # last_activity_at here too (each changed contact gets a field_changed event now), so the
                # UPDATE after the events skips these rows instead of writing them a second time.
                f"""UPDATE contacts_contact c SET {', '.join(f'{n} = v.{n}' for n in COLUMNS)},
                           fields = v.fields::jsonb, updated_at = %s,
                           last_activity_at = GREATEST(c.last_activity_at, %s)
                    FROM unnest({', '.join(f'%s::{casts.get(n, "text")}[]' for n in names)}) AS v({', '.join(names)})
                    WHERE c.id = v.id""",  # noqa: S608 - column names are constants, values are parameters
                [now, now, *[values[n] for n in names]])
        for _i, _item, old, changes in changed:
            events.append(Event(contact_id=old["id"], type="field_changed", occurred_at=now, source=actor,
                                properties={"changes": changes}))
    for i, _item, old, changes in to_update:
        results[i] = UpsertResult(at[i], "updated" if changes else "unchanged", id=old["id"],
                                  email=old["email"])

    # Lifecycle stages: record a transition for every contact whose stage the batch changes.
    stage_moves = [(created_ids[i], None, item["stage"]) for i, item in to_create
                   if i in created_ids and "stage" in item]
    stage_moves += [(old["id"], old["lifecycle_stage_id"], item["stage"]) for _i, item, old, _c in to_update
                    if "stage" in item and item["stage"].pk != old["lifecycle_stage_id"]]
    if stage_moves:
        _record_stage_moves(stage_moves, actor=actor, user=user, when=now, events=events)

    # Tags and the list apply to every contact written (created or updated, changed or not).
    written = {i: r.id for i, r in enumerate(results) if r and r.status in ("created", "updated", "unchanged")}
    tag_names = {name for i in written for name in items[i].get("tags", ())} | set(extra_tags)
    tag_ids = _tag_ids(tag_names)
    links = [(pk, tag_ids[name.lower()]) for i, pk in written.items()
             for name in {*items[i].get("tags", ()), *extra_tags}]
    if links:
        with connection.cursor() as cursor:
            cursor.execute("""INSERT INTO contacts_contact_tags (contact_id, tag_id)
                              SELECT * FROM unnest(%s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING
                              RETURNING contact_id, tag_id""", [[c for c, _t in links], [t for _c, t in links]])
            names_by_id = {pk: name for name, pk in tag_ids.items()}
            tag_label = dict(Tag.objects.filter(pk__in=tag_ids.values()).values_list("pk", "name"))
            for contact_id, tag_id in cursor.fetchall():
                events.append(Event(contact_id=contact_id, type="tag_added", occurred_at=now, source=actor,
                                    properties={"tag": tag_label.get(tag_id, names_by_id.get(tag_id))}))
    if contact_list is not None and written:
        status = (Subscription.Status.UNCONFIRMED if contact_list.double_opt_in
                  else Subscription.Status.SUBSCRIBED)
        ids = list(written.values())
        with connection.cursor() as cursor:
            # Never resubscribe: an existing subscription (unsubscribed, bounced...) is left as it is.
            cursor.execute("""INSERT INTO contacts_subscription (contact_id, list_id, status, changed_at, source)
                              SELECT c, %s, %s, %s, %s FROM unnest(%s::bigint[]) c ON CONFLICT DO NOTHING
                              RETURNING contact_id""", [contact_list.pk, status, now, actor, ids])
            for (contact_id,) in cursor.fetchall():
                events.append(Event(contact_id=contact_id, type="list_subscribed", occurred_at=now, source=actor,
                                    properties={"list": contact_list.name, "status": status}))

    if events:
        event_ids = _insert_events(events)
        touched = list({event.contact_id for event in events})
        with connection.cursor() as cursor:
            # Only rows not already there: a new tuple for every contact (and every index entry with it,
            # the trigram one included) would double the cost of a batch of new contacts.
            cursor.execute("UPDATE contacts_contact SET last_activity_at = %s WHERE id = ANY(%s::bigint[]) "
                           "AND (last_activity_at IS NULL OR last_activity_at < %s)", [now, touched, now])
        publish_on_commit(event_ids)
    return results  # type: ignore[return-value]


def _insert_events(events: Sequence[Event]) -> list[int]:
    """Store the events in one INSERT over unnest()ed arrays; their ids.

    Event.objects.bulk_create binds every value of every row as its own parameter, which costs a
    thousand-contact batch more time than the write itself.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO contacts_event (contact_id, type, channel, properties, occurred_at, source, created_at)
               SELECT c, t, ch, p::jsonb, o, s, %s
               FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[])
                    AS v(c, t, ch, p, o, s)
               RETURNING id""",
            [now, [e.contact_id for e in events], [e.type for e in events], [e.channel for e in events],
             [json.dumps(e.properties) for e in events], [e.occurred_at for e in events],
             [e.source for e in events]])
        return [pk for (pk,) in cursor.fetchall()]


def _record_stage_moves(moves, *, actor, user, when, events) -> None:
    """Stage transitions for (contact id, old stage id, new stage) moves, set-based."""
    from lifecycle.models import LifecycleStage, StageTransition

    old_stages = LifecycleStage.objects.in_bulk({old for _c, old, _s in moves if old})
    transitions = []
    for contact_id, old_id, stage in moves:
        old = old_stages.get(old_id)
        if old is None or old.stage_set_id != stage.stage_set_id:
            direction = StageTransition.Direction.ENTRY
        elif stage.position > old.position:
            direction = StageTransition.Direction.FORWARD
        else:
            direction = StageTransition.Direction.BACKWARD
        actor_value = actor if actor in StageTransition.Actor.values else StageTransition.Actor.API
        transitions.append(StageTransition(contact_id=contact_id, from_stage=old, to_stage=stage, direction=direction,
                                           occurred_at=when, actor=actor_value, user=user))
        events.append(Event(contact_id=contact_id, type="stage_changed", occurred_at=when, source=actor,
                            properties={"from": old.name if old else None, "to": stage.name,
                                        "direction": direction, "reason": ""}))
    StageTransition.objects.bulk_create(transitions)
    with connection.cursor() as cursor:
        cursor.execute("""UPDATE contacts_contact c SET lifecycle_stage_id = v.stage
                          FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, stage) WHERE c.id = v.id""",
                       [[c for c, _o, _s in moves], [s.pk for _c, _o, s in moves]])
