"""Writes on contacts and what hangs off them. Each records its touchpoint Event in the same transaction.

Services take data already checked by contacts.inputs.ContactInput (the API, forms and imports all
use it), so the keyword arguments of contact_create / contact_update are its cleaned keys.
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone

from contacts.bulk import COLUMNS as _COLUMNS
from contacts.bulk import diff_contact, merge_fields, resolve_companies
from contacts.events import publish_on_commit
from contacts.ingest import event_types_register
from contacts.inputs import normalize_email
from contacts.models import Consent, Contact, ContactList, Event, Note, Subscription, Tag, Task

__all__ = [
    "consent_record", "contact_create", "contact_delete", "contact_tag", "contact_untag", "contact_update",
    "event_record", "list_subscription_set", "normalize_email", "note_add", "note_delete", "task_complete",
    "task_create", "task_delete", "task_update",
]

_SUBSCRIPTION_EVENTS = {
    Subscription.Status.SUBSCRIBED: "list_subscribed",
    Subscription.Status.UNSUBSCRIBED: "list_unsubscribed",
}


def event_record(*, contact: Contact, type: str, channel: str = "", properties: dict | None = None,
                 occurred_at: datetime | None = None, source: str = "") -> Event:
    """Store one touchpoint and publish it when the transaction commits."""
    event = Event(contact=contact, type=type, channel=channel, properties=properties or {},
                  occurred_at=occurred_at or timezone.now(), source=source)
    event.full_clean(exclude=["contact"])
    event.save()
    if type not in Event.TYPES:  # a custom type: listed in /api/v1/event-types/ from its first use
        event_types_register({type})
    # PostgreSQL's GREATEST skips NULLs, so a first activity is set and an older one never wins.
    Contact.objects.filter(pk=contact.pk).update(
        last_activity_at=Greatest("last_activity_at", Value(event.occurred_at)))
    publish_on_commit([event.pk])
    return event


def _email_taken(email: str, *, exclude: int | None = None) -> bool:
    return Contact.objects.with_email(email).exclude(pk=exclude).exists()


@transaction.atomic
def contact_create(*, email: str, user=None, actor: str = "user", stage=None, tags: Iterable[str] = (),
                   fields: dict | None = None, **columns) -> Contact:
    """A new contact from cleaned input. ValidationError on "email" when the address is taken."""
    email = normalize_email(email)
    if _email_taken(email):
        raise ValidationError({"email": [f"A contact with the email {email} already exists."]})
    if "company" in columns:
        resolve_companies([columns])
    columns.setdefault("source", actor if actor in Contact.Source.values else Contact.Source.MANUAL)
    contact = Contact(email=email, fields=merge_fields({}, fields or {}), **columns)
    contact.full_clean(exclude=["lifecycle_stage", "owner", "account"])
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:  # created by someone else since the check
        raise ValidationError({"email": [f"A contact with the email {email} already exists."]}) from None
    event_record(contact=contact, type="contact_created", properties={"source": columns["source"]}, source=actor)
    if tags:
        contact_tag(contact=contact, names=tags, source=actor)
    if stage is not None:
        from lifecycle.services import contact_stage_set

        contact_stage_set(contact=contact, stage=stage, actor=_stage_actor(actor), user=user)
    return contact


def _stage_actor(actor: str) -> str:
    from lifecycle.models import StageTransition

    return actor if actor in StageTransition.Actor.values else StageTransition.Actor.USER


@transaction.atomic
def contact_update(*, contact: Contact, user=None, actor: str = "user", stage=None, tags: Iterable[str] | None = None,
                   reason: str = "", **data) -> Contact:
    """Change a contact from cleaned (partial) input; records one field_changed event with the changes.

    `tags`, when given, replaces the contact's tags. Custom `fields` are merged: a None value clears one.
    """
    contact = Contact.objects.select_for_update(of=("self",)).get(pk=contact.pk)
    if "email" in data:
        data["email"] = normalize_email(data["email"])
        if data["email"] != contact.email and _email_taken(data["email"], exclude=contact.pk):
            raise ValidationError({"email": [f"Another contact already has the email {data['email']}."]})
    if "company" in data:
        resolve_companies([data])
    old = {name: getattr(contact, name) for name in ("email", "fields", *_COLUMNS)}
    changes = diff_contact(old, data)
    if changes:
        for name, value in data.items():
            if name == "fields":
                contact.fields = merge_fields(contact.fields, value)
            elif name in ("email", *_COLUMNS):
                setattr(contact, name, value)
        contact.full_clean(exclude=["lifecycle_stage", "owner", "account"], validate_unique=False,
                           validate_constraints=False)
        contact.save()
        event_record(contact=contact, type="field_changed", properties={"changes": _jsonable(changes)}, source=actor)
    if tags is not None:
        wanted = {name.lower() for name in tags}
        current = {tag.name.lower(): tag.name for tag in contact.tags.all()}
        contact_untag(contact=contact, names=[name for lname, name in current.items() if lname not in wanted],
                      source=actor)
        contact_tag(contact=contact, names=tags, source=actor)
    if stage is not None:
        from lifecycle.services import contact_stage_set

        contact_stage_set(contact=contact, stage=stage, actor=_stage_actor(actor), user=user, reason=reason)
    return contact


def _jsonable(changes: dict) -> dict:
    return {key: [value if value is None or isinstance(value, str | int | float | bool | list | dict) else str(value)
                  for value in pair] for key, pair in changes.items()}


@transaction.atomic
def contact_delete(*, contact: Contact, user=None) -> None:
    """Delete a contact with its timeline, notes, tasks and subscriptions. Deals keep existing, unlinked."""
    contact.delete()


@transaction.atomic
def contact_tag(*, contact: Contact, names: Iterable[str], source: str = "manual") -> list[Tag]:
    """Add tags by name (created when new, matched case-insensitively); record each new one."""
    added = []
    for name in {n.strip() for n in names if n.strip()}:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        if not contact.tags.filter(pk=tag.pk).exists():
            contact.tags.add(tag)
            event_record(contact=contact, type="tag_added", properties={"tag": tag.name}, source=source)
            added.append(tag)
    return added


@transaction.atomic
def contact_untag(*, contact: Contact, names: Iterable[str], source: str = "manual") -> list[Tag]:
    """Remove tags by name (case-insensitive); record each one removed. Unknown names are ignored."""
    removed = []
    for name in {n.strip().lower() for n in names if n.strip()}:
        tag = contact.tags.filter(name__iexact=name).first()
        if tag is not None:
            contact.tags.remove(tag)
            event_record(contact=contact, type="tag_removed", properties={"tag": tag.name}, source=source)
            removed.append(tag)
    return removed


@transaction.atomic
def list_subscription_set(*, contact: Contact, contact_list: ContactList, status: str, source: str = "manual",
                          ) -> Subscription | None:
    """Set the contact's status on a list; records the change. Returns None when nothing changed."""
    if status not in Subscription.Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(Subscription.Status.values)}."]})
    now = timezone.now()
    subscription, created = Subscription.objects.select_for_update().get_or_create(
        contact=contact, list=contact_list, defaults={"status": status, "changed_at": now, "source": source})
    if not created:
        if subscription.status == status:
            return None
        previous = subscription.status
        subscription.status, subscription.changed_at, subscription.source = status, now, source
        subscription.save(update_fields=["status", "changed_at", "source"])
    else:
        previous = None
    event_record(contact=contact, type=_SUBSCRIPTION_EVENTS.get(status, "list_status_changed"), channel="email",
                 source=source, properties={"list": contact_list.name, "list_id": contact_list.pk,
                                            "status": status, "previous": previous})
    return subscription


@transaction.atomic
def consent_record(*, contact: Contact, purpose: str, granted: bool = True, source: str = "",
                   ip_address: str | None = None, wording: str = "", occurred_at: datetime | None = None) -> Consent:
    consent = Consent(contact=contact, purpose=purpose.strip(), granted=granted, source=source,
                      ip_address=ip_address or None, wording=wording, occurred_at=occurred_at or timezone.now())
    consent.full_clean()
    consent.save()
    event_record(contact=contact, type="consent_recorded", source=source or "manual",
                 properties={"purpose": consent.purpose, "granted": granted})
    return consent


def _deal_touched(deal) -> dict:
    """A note or task on a deal is activity on it: move its last_activity_at (never back), and name the deal
    in the contact's event so the deal's timeline finds it (properties.deal_id)."""
    if deal is None:
        return {}
    from pipelines.models import Deal

    Deal.objects.filter(pk=deal.pk).update(last_activity_at=Greatest("last_activity_at", Value(timezone.now())))
    return {"deal_id": deal.pk, "deal": deal.title}


@transaction.atomic
def note_add(*, contact: Contact, author, body: str, deal=None) -> Note:
    note = Note(contact=contact, author=author, body=body.strip(), deal=deal)
    note.full_clean()
    note.save()
    event_record(contact=contact, type="note_added", channel="crm", source="user",
                 properties={"note_id": note.pk, "excerpt": note.body[:140],
                             "author": author.get_username() if author else None, **_deal_touched(deal)})
    return note


@transaction.atomic
def note_delete(*, note: Note, user=None) -> None:
    note.delete()


@transaction.atomic
def task_create(*, title: str, due_at: datetime, kind: str = Task.Kind.TODO, assignee=None, contact=None,
                deal=None, description: str = "", created_by=None) -> Task:
    if contact is None and deal is None:
        raise ValidationError({"contact": ["Link the task to a contact or a deal."]})
    task = Task(title=title.strip(), due_at=due_at, kind=kind, assignee=assignee, contact=contact, deal=deal,
                description=description, created_by=created_by)
    task.full_clean()
    task.save()
    deal_properties = _deal_touched(deal)
    if contact is not None:
        event_record(contact=contact, type="task_created", channel="crm", source="user",
                     properties={"task_id": task.pk, "title": task.title, "kind": task.kind, **deal_properties})
    return task


@transaction.atomic
def task_update(*, task: Task, **changes) -> Task:
    """Change a task's title, kind, due time, assignee, description or links."""
    allowed = {"title", "kind", "due_at", "assignee", "contact", "deal", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    for name, value in changes.items():
        setattr(task, name, value)
    if task.contact_id is None and task.deal_id is None:
        raise ValidationError({"contact": ["Link the task to a contact or a deal."]})
    task.full_clean()
    task.save()
    return task


@transaction.atomic
def task_delete(*, task: Task, user) -> None:
    """Delete a task: its creator, its assignee, or an admin or manager. PermissionDenied for anyone else."""
    from users.permissions import has_role
    from users.roles import Role

    mine = user.pk in (task.created_by_id, task.assignee_id)
    if not (mine or has_role(user, Role.ADMIN, Role.MANAGER)):
        raise PermissionDenied("You may delete only tasks you created or that are assigned to you.")
    task.delete()


@transaction.atomic
def task_complete(*, task: Task, user=None, done: bool = True) -> Task:
    """Mark a task done (recorded on the contact's timeline) or open again."""
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.done == done:
        return task
    task.done, task.done_at = done, timezone.now() if done else None
    task.save(update_fields=["done", "done_at"])
    deal_properties = _deal_touched(task.deal) if done and task.deal_id else {}
    if done and task.contact_id:
        event_record(contact=task.contact, type="task_done", channel="crm", source="user",
                     properties={"task_id": task.pk, "title": task.title, "kind": task.kind,
                                 "by": user.get_username() if user else None, **deal_properties})
    return task
