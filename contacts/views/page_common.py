"""What the contact page's views share: finding the contact, permission checks, and each panel's context.

A panel's context is built by one function here, used both by the full page and by the htmx view
that swaps that panel after a change, so the two can never disagree.
"""

import json
from datetime import timedelta

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contacts import page_selectors as pages
from contacts.models import Contact, Task
from contacts.timeline import contact_timeline, timeline_filter_options

__all__ = [
    "CONTACT_CHANGED", "TaskForm", "contact_changed", "error_messages", "lists_context", "notes_context",
    "page_contact", "require_perm", "tags_context", "tasks_context", "timeline_context",
    "timeline_filters_context", "with_status",
]

#: The htmx event a write on the contact fires (HX-Trigger), so the timeline reloads.
CONTACT_CHANGED = "contact-changed"


def require_perm(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def page_contact(request, pk: int, *, perm: str | None = None) -> Contact:
    """The contact if the user may see it (else 404), after checking `perm` (else 403)."""
    contact = get_object_or_404(pages.contacts_for_page(request.user), pk=pk)
    if perm:
        require_perm(request, perm)
    return contact


def contact_changed(response: HttpResponse) -> HttpResponse:
    """Tell the page the contact changed. JSON, because HtmxMessagesMiddleware merges messages into it."""
    trigger = json.loads(response.get("HX-Trigger", "{}") or "{}")
    trigger[CONTACT_CHANGED] = True
    response["HX-Trigger"] = json.dumps(trigger)
    return response


def with_status(request, ok: bool) -> int:
    """200, or the status a form with errors comes back with: 422 for htmx (swapped in), 400 otherwise."""
    if ok:
        return 200
    return 422 if request.htmx else 400


def error_messages(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {field: list(messages) for field, messages in error.message_dict.items()}
    return {"__all__": list(error.messages)}


# --- Panels --------------------------------------------------------------------------------------

def tags_context(contact: Contact, *, tag_error: str = "", tag_value: str = "", focus: str = "") -> dict:
    return {"tags": sorted(contact.tags.all(), key=lambda t: t.name.lower()),
            "all_tag_names": pages.tag_names(), "tag_error": tag_error, "tag_value": tag_value,
            "tags_focus": focus}


def lists_context(contact: Contact, *, list_error: str = "") -> dict:
    return {"subscriptions": pages.contact_subscriptions(contact),
            "other_lists": pages.lists_not_joined(contact), "list_error": list_error}


def notes_context(contact: Contact, *, show_all: bool = False, note_error: str = "", note_body: str = "") -> dict:
    notes, total = pages.contact_notes(contact, limit=None if show_all else pages.NOTES_SHOWN)
    return {"notes": notes, "note_count": total, "note_error": note_error,
            "note_body": note_body}


class TaskForm(forms.Form):
    kind = forms.ChoiceField(choices=Task.Kind.choices, initial=Task.Kind.TODO,
                             widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    title = forms.CharField(label="Task", max_length=200, widget=forms.TextInput(
        attrs={"class": "form-control form-control-sm", "placeholder": "e.g. Call about the proposal",
               "autocomplete": "off"}))
    due_at = forms.DateTimeField(label="Due", widget=forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "form-control form-control-sm"}, format="%Y-%m-%dT%H:%M"))
    assignee = forms.ModelChoiceField(queryset=pages.assignable_users(), required=False, empty_label="Nobody",
                                      widget=forms.Select(attrs={"class": "form-select form-select-sm"}))

    @staticmethod
    def initial_for(user) -> dict:
        """A new task is the user's, due at 9:00 tomorrow."""
        tomorrow = timezone.localtime() + timedelta(days=1)
        return {"assignee": user.pk, "due_at": tomorrow.replace(hour=9, minute=0, second=0, microsecond=0),
                "kind": Task.Kind.TODO}


def tasks_context(contact: Contact, user, *, form: TaskForm | None = None) -> dict:
    return {"tasks": pages.contact_tasks(contact), "now": timezone.now(),
            "task_form": form or TaskForm(initial=TaskForm.initial_for(user), auto_id="task_%s")}


def timeline_context(contact: Contact, *, before: str = "", channel: str = "", type: str = "") -> dict:
    """The first (or a later) page of the timeline with the filters applied; ValueError on a bad cursor."""
    page = contact_timeline(contact, before=before, channel=channel, type=type)
    return {"timeline": page, "timeline_before": before, "timeline_channel": channel, "timeline_type": type}


def timeline_filters_context(contact: Contact) -> dict:
    return {"timeline_options": timeline_filter_options(contact)}
