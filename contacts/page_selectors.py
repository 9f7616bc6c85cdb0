"""Reads for the contact page and the task lists: what hangs off one contact, and a user's tasks.

The timeline has its own module, contacts.timeline. Every read here is one query whatever the
number of rows, so the contact page's query count does not grow with its notes, tasks or tags.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Window
from django.utils import timezone

from contacts.models import Consent, Contact, ContactList, CustomField, Note, Subscription, Tag, Task
from pipelines.models import Deal
from pipelines.selectors import deals_visible_to
from users.permissions import visible_to

__all__ = [
    "ContactTasks", "CustomValue", "OverdueTasks", "assignable_users", "contact_consents", "contact_custom_values",
    "contact_deals", "contact_notes", "contact_subscriptions", "contact_tasks", "contacts_for_page",
    "lists_not_joined", "overdue_tasks", "tag_names", "user_open_tasks",
]

#: How many notes the page lists before offering the rest.
NOTES_SHOWN = 20
#: Done tasks listed on the contact page (the newest ones).
DONE_TASKS_SHOWN = 10


def contacts_for_page(user) -> QuerySet[Contact]:
    """The contacts `user` may open, with what the page header shows joined in."""
    return (visible_to(Contact.objects.all(), user)
            .select_related("account", "owner", "lifecycle_stage__stage_set")
            .prefetch_related("tags"))


@dataclass(frozen=True)
class CustomValue:
    field: CustomField
    value: object

    @property
    def key(self) -> str:
        return self.field.key

    @property
    def display(self) -> str:
        """The value as text: "Yes"/"No", options joined by commas, "" when empty."""
        value = self.value
        if value is None or value == "" or value == []:
            return ""
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    @property
    def link(self) -> str:
        """An http(s) URL value, safe to put in href; "" for anything else."""
        if self.field.type == CustomField.Type.URL and isinstance(self.value, str) and \
                self.value.lower().startswith(("http://", "https://")):
            return self.value
        return ""

    @property
    def selected(self) -> list[str]:
        """The chosen options of a choice field, as a list."""
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [] if self.value is None else [str(self.value)]


def contact_custom_values(contact: Contact, definitions: list[CustomField] | None = None) -> list[CustomValue]:
    """Every custom field, in order, with the contact's value (None when unset)."""
    definitions = list(CustomField.objects.for_contacts()) if definitions is None else definitions
    return [CustomValue(field=field, value=(contact.fields or {}).get(field.key)) for field in definitions]


def contact_notes(contact: Contact, *, limit: int | None = NOTES_SHOWN) -> tuple[list[Note], int]:
    """The newest notes with their authors, and how many notes the contact has in all (one query)."""
    notes = (Note.objects.filter(contact=contact).select_related("author")
             .annotate(total=Window(Count("id"))).order_by("-created_at", "-id"))
    rows = list(notes[:limit] if limit else notes)
    return rows, (rows[0].total if rows else 0)


@dataclass(frozen=True)
class ContactTasks:
    open: list[Task]
    done: list[Task]
    done_count: int


def contact_tasks(contact: Contact, *, done_limit: int = DONE_TASKS_SHOWN) -> ContactTasks:
    """Open tasks by due time (overdue first), then the most recently done ones; one query."""
    tasks = list(Task.objects.filter(contact=contact).select_related("assignee").order_by("done", "due_at", "id"))
    open_ = [t for t in tasks if not t.done]
    done = sorted((t for t in tasks if t.done), key=lambda t: (t.done_at or t.due_at), reverse=True)
    return ContactTasks(open=open_, done=done[:done_limit], done_count=len(done))


def contact_subscriptions(contact: Contact) -> list[Subscription]:
    return list(Subscription.objects.filter(contact=contact).select_related("list").order_by("list__name"))


def lists_not_joined(contact: Contact) -> list[ContactList]:
    """Lists the contact has no subscription to (of any status), for "add to list"."""
    return list(ContactList.objects.exclude(subscriptions__contact=contact).order_by("name"))


def contact_consents(contact: Contact) -> list[Consent]:
    return list(Consent.objects.filter(contact=contact).order_by("-occurred_at", "-id"))


def contact_deals(contact: Contact, user) -> list[Deal]:
    """The deals the contact takes part in, as primary or other contact, that `user` may see."""
    deals = Deal.objects.filter(Q(contact=contact) | Q(other_contacts=contact)).distinct()
    return list(deals_visible_to(user, deals).select_related("stage", "pipeline").order_by("-created_at", "-id"))


def tag_names() -> list[str]:
    """Every tag name, for the add-a-tag suggestions."""
    return list(Tag.objects.order_by("name").values_list("name", flat=True))


def assignable_users() -> QuerySet:
    """Users a contact or task can be given to: active ones with a role."""
    from users.models import User

    return User.objects.filter(is_active=True, groups__isnull=False).distinct().order_by(
        "first_name", "last_name", "username")


def user_open_tasks(user) -> QuerySet[Task]:
    """The user's open tasks, soonest due first (so overdue ones lead), with what the list shows."""
    return (Task.objects.filter(assignee=user, done=False)
            .select_related("contact", "deal", "assignee").order_by("due_at", "id"))


@dataclass(frozen=True)
class OverdueTasks:
    count: int
    #: The most overdue ones first.
    top: list[Task]


def overdue_tasks(user, *, now: datetime | None = None, limit: int = 5) -> OverdueTasks:
    """The user's open tasks past their due time: how many, and the `limit` most overdue (one query)."""
    if not (user and user.is_authenticated):
        return OverdueTasks(count=0, top=[])
    rows = list(Task.objects.filter(assignee=user, done=False, due_at__lt=now or timezone.now())
                .select_related("contact").annotate(total=Window(Count("id"))).order_by("due_at", "id")[:limit])
    return OverdueTasks(count=rows[0].total if rows else 0, top=rows)
