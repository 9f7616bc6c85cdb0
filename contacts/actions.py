"""Bulk actions on many contacts at once: tag, untag, add to a list, set the owner, set the stage, delete.

Each action is set-based: one statement whatever the number of contacts, built around the ids of a
queryset (`... WHERE id IN (SELECT id FROM <the list's filter>)`). The same statement records the
timeline events (`INSERT INTO contacts_event ... SELECT ... RETURNING id`), which are published to the
event spine when the transaction commits; stage changes also write their StageTransition rows, the
direction decided in SQL from the stages' positions.

Up to INLINE_LIMIT contacts run in the request. More ("all 1,000,000 matching") run as a job: a
Celery task on the bulk queue works through the matching ids in batches of BATCH_SIZE, one
transaction each, and keeps its progress in the cache for the page to poll. Every action is
idempotent per batch (tagging twice adds nothing twice), so a batch run again after a crash is safe.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone

from contacts.events import publish_on_commit
from contacts.models import Contact, ContactList, Subscription, Tag

__all__ = [
    "ACTIONS", "BATCH_SIZE", "INLINE_LIMIT", "BulkAction", "bulk_job", "bulk_job_start", "bulk_job_step",
    "contacts_delete", "contacts_owner_set", "contacts_stage_set", "contacts_subscribe", "contacts_tag",
    "contacts_untag",
]

logger = logging.getLogger(__name__)

#: The most contacts an action changes inside the request; more become a background job.
INLINE_LIMIT = 5_000
#: Contacts per transaction in a background job.
BATCH_SIZE = 2_000
#: A job's task hands over to a fresh task after this long, far from Celery's time limits.
JOB_SLICE_SECONDS = 60
#: Event ids per message to the event spine: a million ids do not travel in one message.
PUBLISH_CHUNK = 5_000
JOB_TTL = 24 * 3600


def _ids(contacts: QuerySet) -> tuple[str, tuple]:
    """The SQL (and its parameters) selecting the ids of `contacts`, to use as a subquery."""
    return contacts.order_by().values("pk").query.sql_with_params()


def _run(sql: str, params: Iterable) -> list[int]:
    """Run one statement whose result is the ids of the events it recorded; publish them on commit."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        event_ids = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(event_ids), PUBLISH_CHUNK):
        publish_on_commit(event_ids[start:start + PUBLISH_CHUNK])
    return event_ids


#: Records one event per changed contact and moves their last activity. `changed` is a CTE with contact_id.
_EVENTS = """
events AS (
    INSERT INTO contacts_event (contact_id, type, channel, properties, occurred_at, source, created_at)
    SELECT changed.contact_id, %s, %s, {properties}, %s, %s, %s FROM changed
    RETURNING id, contact_id
){touch}
SELECT id FROM events"""
_TOUCH = """,
touched AS (
    UPDATE contacts_contact c SET last_activity_at = GREATEST(c.last_activity_at, %s)
    FROM events WHERE c.id = events.contact_id
)"""


def _events_sql(properties: str = "%s::jsonb", *, touch: bool = True) -> str:
    return _EVENTS.format(properties=properties, touch=_TOUCH if touch else "")


def _event_params(type_: str, *, channel: str = "", properties: dict | None = None, now, source: str,
                  touch: bool = True) -> list:
    head = [type_, channel] + ([json.dumps(properties)] if properties is not None else [])
    return [*head, now, source, now] + ([now] if touch else [])


def _tag(name: str, *, create: bool) -> Tag | None:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"tag": ["Enter a tag name of at most 100 characters."]})
    tag = Tag.objects.filter(name__iexact=name).first()
    if tag is None and create:
        with connection.cursor() as cursor:  # another request may create it at the same moment
            cursor.execute("INSERT INTO contacts_tag (name, created_at) VALUES (%s, now()) ON CONFLICT DO NOTHING",
                           [name])
        tag = Tag.objects.filter(name__iexact=name).first()
    return tag


@transaction.atomic
def contacts_tag(*, contacts: QuerySet, tag_name: str, user=None, source: str = "user") -> int:
    """Add a tag (created when new) to every contact of `contacts` that lacks it; returns how many got it."""
    tag = _tag(tag_name, create=True)
    ids_sql, ids_params = _ids(contacts)
    now = timezone.now()
    events = _run(f"""
        WITH changed AS (
            INSERT INTO contacts_contact_tags (contact_id, tag_id)
            SELECT ids.id, %s FROM ({ids_sql}) ids(id)
            ON CONFLICT DO NOTHING
            RETURNING contact_id
        ),
        {_events_sql()}""",  # noqa: S608 - the subquery is Django's, values are parameters
        [tag.pk, *ids_params, *_event_params("tag_added", properties={"tag": tag.name}, now=now, source=source)])
    return len(events)


@transaction.atomic
def contacts_untag(*, contacts: QuerySet, tag_name: str, user=None, source: str = "user") -> int:
    """Remove a tag from every contact of `contacts` that has it; returns how many lost it."""
    tag = _tag(tag_name, create=False)
    if tag is None:
        raise ValidationError({"tag": [f"There is no tag “{tag_name.strip()}”."]})
    ids_sql, ids_params = _ids(contacts)
    now = timezone.now()
    events = _run(f"""
        WITH changed AS (
            DELETE FROM contacts_contact_tags link
            WHERE link.tag_id = %s AND link.contact_id IN ({ids_sql})
            RETURNING link.contact_id
        ),
        {_events_sql()}""",  # noqa: S608
        [tag.pk, *ids_params, *_event_params("tag_removed", properties={"tag": tag.name}, now=now, source=source)])
    return len(events)


@transaction.atomic
def contacts_subscribe(*, contacts: QuerySet, contact_list: ContactList, user=None, source: str = "user") -> int:
    """Put every contact of `contacts` on a list; returns how many were added.

    Contacts already on it keep their status: an unsubscribed or bounced contact is never resubscribed
    by a bulk action. A double opt-in list takes new contacts as unconfirmed.
    """
    status = Subscription.Status.UNCONFIRMED if contact_list.double_opt_in else Subscription.Status.SUBSCRIBED
    event_type = "list_subscribed" if status == Subscription.Status.SUBSCRIBED else "list_status_changed"
    ids_sql, ids_params = _ids(contacts)
    now = timezone.now()
    events = _run(f"""
        WITH changed AS (
            INSERT INTO contacts_subscription (contact_id, list_id, status, changed_at, source)
            SELECT ids.id, %s, %s, %s, %s FROM ({ids_sql}) ids(id)
            ON CONFLICT DO NOTHING
            RETURNING contact_id
        ),
        {_events_sql()}""",  # noqa: S608
        [contact_list.pk, status, now, source, *ids_params,
         *_event_params(event_type, channel="email", now=now, source=source, properties={
             "list": contact_list.name, "list_id": contact_list.pk, "status": status, "previous": None})])
    return len(events)


@transaction.atomic
def contacts_owner_set(*, contacts: QuerySet, owner, user=None, source: str = "user") -> int:
    """Give every contact of `contacts` this owner (None: nobody); returns how many changed hands.

    Each change is a field_changed event with {"changes": {"owner_id": [old, new]}}, as contact_update records.
    """
    owner_id = owner.pk if owner is not None else None
    ids_sql, ids_params = _ids(contacts)
    now = timezone.now()
    events = _run(f"""
        WITH old AS (
            SELECT c.id, c.owner_id FROM contacts_contact c
            WHERE c.id IN ({ids_sql}) AND c.owner_id IS DISTINCT FROM %s
            FOR UPDATE OF c
        ),
        changed AS (
            UPDATE contacts_contact c
            SET owner_id = %s, updated_at = %s, last_activity_at = GREATEST(c.last_activity_at, %s)
            FROM old WHERE c.id = old.id
            RETURNING c.id AS contact_id, old.owner_id AS previous
        ),
        {_events_sql("jsonb_build_object('changes', jsonb_build_object('owner_id', "
                     "jsonb_build_array(changed.previous, %s::bigint)))", touch=False)}""",  # noqa: S608
        [*ids_params, owner_id, owner_id, now, now, "field_changed", "", owner_id, now, source, now])
    return len(events)


@transaction.atomic
def contacts_stage_set(*, contacts: QuerySet, stage, user=None, reason: str = "", actor: str = "user") -> int:
    """Move every contact of `contacts` to a lifecycle stage; returns how many moved.

    Like lifecycle.services.contact_stage_set, for many contacts in one statement: a StageTransition per
    move — entry (no stage before, or one of another set), forward or backward by the stages' positions,
    compared in SQL — and a stage_changed event each. Contacts already in the stage are left alone.
    """
    ids_sql, ids_params = _ids(contacts)
    now = timezone.now()
    events = _run(f"""
        WITH old AS (
            SELECT c.id, c.lifecycle_stage_id FROM contacts_contact c
            WHERE c.id IN ({ids_sql}) AND c.lifecycle_stage_id IS DISTINCT FROM %s
            FOR UPDATE OF c
        ),
        moved AS (
            UPDATE contacts_contact c
            SET lifecycle_stage_id = %s, updated_at = %s, last_activity_at = GREATEST(c.last_activity_at, %s)
            FROM old WHERE c.id = old.id
            RETURNING c.id, old.lifecycle_stage_id AS from_id
        ),
        transitions AS (
            INSERT INTO lifecycle_stagetransition
                (contact_id, from_stage_id, to_stage_id, direction, occurred_at, actor, user_id, reason)
            SELECT moved.id, moved.from_id, %s,
                   CASE WHEN f.id IS NULL OR f.stage_set_id <> %s THEN 'entry'
                        WHEN %s > f.position THEN 'forward'
                        ELSE 'backward' END,
                   %s, %s, %s, %s
            FROM moved LEFT JOIN lifecycle_lifecyclestage f ON f.id = moved.from_id
            RETURNING contact_id, from_stage_id, direction
        ),
        changed AS (
            SELECT t.contact_id, t.direction, f.name AS from_name
            FROM transitions t LEFT JOIN lifecycle_lifecyclestage f ON f.id = t.from_stage_id
        ),
        {_events_sql("jsonb_build_object('from', changed.from_name, 'to', %s::text, "
                     "'direction', changed.direction, 'reason', %s::text)", touch=False)}""",  # noqa: S608
        [*ids_params, stage.pk, stage.pk, now, now,
         stage.pk, stage.stage_set_id, stage.position, now, actor, user.pk if user else None, reason,
         "stage_changed", "", stage.name, reason, now, actor, now])
    return len(events)


@transaction.atomic
def contacts_delete(*, contacts: QuerySet, user=None) -> int:
    """Delete every contact of `contacts` with its timeline, notes, tasks, subscriptions and stage history.

    Deals stay, unlinked. Django's collector deletes the dependent rows with one statement per table
    and batch (`DELETE ... WHERE contact_id IN (...)`), so relations added later are covered too.
    """
    deleted = 0
    while True:
        ids = list(contacts.order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            break
        Contact.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    logger.info("contacts deleted in bulk", extra={"count": deleted, "user": getattr(user, "pk", None)})
    return deleted


# --- The actions as the list's bulk bar offers them ----------------------------------------------------

@dataclass(frozen=True)
class BulkAction:
    name: str
    label: str
    permission: str
    #: (contacts, user, params) -> how many contacts changed
    run: Callable[..., int]
    #: "Tagged {count} contacts with “{param}”."
    done: str


def _run_tag(contacts, user, params):
    return contacts_tag(contacts=contacts, tag_name=params["tag"], user=user)


def _run_untag(contacts, user, params):
    return contacts_untag(contacts=contacts, tag_name=params["tag"], user=user)


def _run_subscribe(contacts, user, params):
    return contacts_subscribe(contacts=contacts, contact_list=ContactList.objects.get(pk=params["list"]), user=user)


def _run_owner(contacts, user, params):
    from users.models import User

    owner = User.objects.get(pk=params["owner"]) if params.get("owner") else None
    return contacts_owner_set(contacts=contacts, owner=owner, user=user)


def _run_stage(contacts, user, params):
    from lifecycle.models import LifecycleStage

    return contacts_stage_set(contacts=contacts, stage=LifecycleStage.objects.get(pk=params["stage"]), user=user)


def _run_delete(contacts, user, params):
    return contacts_delete(contacts=contacts, user=user)


ACTIONS = {action.name: action for action in [
    BulkAction("add_tag", "Add tag", "contacts.change_contact", _run_tag, "Tagged {count} with “{target}”."),
    BulkAction("remove_tag", "Remove tag", "contacts.change_contact", _run_untag,
               "Removed “{target}” from {count}."),
    BulkAction("add_to_list", "Add to list", "contacts.change_contact", _run_subscribe,
               "Added {count} to the list “{target}”."),
    BulkAction("set_owner", "Set owner", "contacts.change_contact", _run_owner, "Gave {count} to {target}."),
    BulkAction("set_stage", "Set lifecycle stage", "contacts.change_contact", _run_stage,
               "Moved {count} to “{target}”."),
    BulkAction("delete", "Delete", "contacts.delete_contact", _run_delete, "Deleted {count}."),
]}


# --- Background jobs for "all matching" --------------------------------------------------------------

def _job_key(job_id: str) -> str:
    return f"contacts:bulk-job:{job_id}"


def bulk_job(job_id: str, *, user) -> dict | None:
    """A job's progress as its owner may see it: action, label, target, total, done, changed, state, error."""
    job = cache.get(_job_key(job_id))
    if not job or job["user"] != user.pk:
        return None
    return job


def bulk_job_start(*, action: str, filter_data: QueryDict, params: dict, target: str, total: int, user) -> dict:
    """Queue `action` on every contact matching `filter_data` (as `user` sees them); the task starts on commit."""
    from contacts.tasks import bulk_action_run

    job = {"id": uuid.uuid4().hex, "user": user.pk, "action": action, "label": ACTIONS[action].label,
           "params": params, "target": target, "filter": {key: filter_data.getlist(key) for key in filter_data},
           "total": total, "done": 0, "changed": 0, "after": 0, "state": "queued", "error": ""}
    cache.set(_job_key(job["id"]), job, JOB_TTL)
    transaction.on_commit(lambda: bulk_action_run.delay(job["id"]))
    return job


def bulk_job_step(job_id: str, *, seconds: float = JOB_SLICE_SECONDS) -> bool:
    """Work on a job for up to `seconds`, one transaction per batch. True when the job is finished."""
    from contacts.selectors import contacts_filter
    from users.models import User

    job = cache.get(_job_key(job_id))
    if not job or job["state"] in ("done", "failed"):
        return True
    job["state"] = "running"
    deadline = time.monotonic() + seconds
    try:
        user = User.objects.get(pk=job["user"], is_active=True)
        data = QueryDict(mutable=True)
        for key, values in job["filter"].items():
            data.setlist(key, values)
        filterset = contacts_filter(data, user=user)
        if not filterset.is_valid() or not user.has_perm(ACTIONS[job["action"]].permission):
            raise PermissionError("The filter or your permissions changed since the job was started.")
        matching = filterset.qs
        while True:
            ids = list(matching.filter(pk__gt=job["after"]).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
            if not ids:
                job["state"] = "done"
                break
            with transaction.atomic():
                job["changed"] += ACTIONS[job["action"]].run(Contact.objects.filter(pk__in=ids), user, job["params"])
            job["after"], job["done"] = ids[-1], job["done"] + len(ids)
            cache.set(_job_key(job_id), job, JOB_TTL)
            if time.monotonic() > deadline:
                return False
    except Exception as error:
        logger.exception("bulk job failed", extra={"job": job_id, "action": job["action"]})
        job["state"], job["error"] = "failed", str(error) or error.__class__.__name__
    cache.set(_job_key(job_id), job, JOB_TTL)
    return True
