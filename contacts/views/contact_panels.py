"""The contact page's panels: tags, lists, notes, tasks and the timeline.

Each write calls one service and answers an htmx request with its panel re-rendered (and an
HX-Trigger that reloads the timeline); without JavaScript it redirects back to the page. A refused
input comes back as the panel with the message: 422 for htmx, the whole page with 400 otherwise.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.inputs import ContactInput
from contacts.models import ContactList, Note, Subscription
from contacts.services import contact_tag, contact_untag, list_subscription_set, note_add, note_delete, task_create
from contacts.views.page_common import (
    TaskForm,
    contact_changed,
    error_messages,
    lists_context,
    notes_context,
    page_contact,
    tags_context,
    tasks_context,
    timeline_context,
    with_status,
)

__all__ = ["list_subscription", "note_create", "note_remove", "notes", "tag_add", "tag_remove", "task_add",
           "timeline", "urlpatterns"]


def _panel(request, pk: int, template: str, context: dict, *, error: str | bool = "", anchor: str,
           changed: bool = True):
    """The panel after a write: re-read (so it shows what was saved), or the page for a no-JS request."""
    if not request.htmx:
        if error:
            from contacts.views.contact_page import render_page

            return render_page(request, page_contact(request, pk), status=400, overrides=context)
        return redirect(reverse("contacts:detail", args=[pk]) + f"#{anchor}")
    response = render(request, template, {"contact": page_contact(request, pk), **context},
                      status=with_status(request, not error))
    return contact_changed(response) if changed and not error else response


# --- Tags ----------------------------------------------------------------------------------------

@login_required
@require_POST
def tag_add(request, pk: int):
    """Tag the contact; a name that is not a tag yet becomes one."""
    contact = page_contact(request, pk, perm="contacts.change_contact")
    name = request.POST.get("name", "").strip()
    error = ""
    if not name:
        error = "Type a tag name, or pick one from the suggestions."
    else:
        cleaned, errors = ContactInput(create_missing_tags=True).clean({"tags": [name]}, partial=True)
        error = " ".join(errors.get("tags", []))
        if not error and not contact_tag(contact=contact, names=cleaned["tags"], source="user"):
            messages.info(request, f"{contact} already has the tag “{cleaned['tags'][0]}”.")
    fresh = page_contact(request, pk)
    context = tags_context(fresh, tag_error=error, tag_value=name if error else "", focus="add")
    return _panel(request, pk, "contacts/_page_tags.html", context, error=error, anchor="tags")


@login_required
@require_POST
def tag_remove(request, pk: int):
    contact = page_contact(request, pk, perm="contacts.change_contact")
    name = request.POST.get("name", "")
    removed = contact_untag(contact=contact, names=[name], source="user")
    if removed:
        messages.success(request, f"Removed the tag “{removed[0].name}”.")
    context = tags_context(page_contact(request, pk), focus="add")
    return _panel(request, pk, "contacts/_page_tags.html", context, anchor="tags", changed=bool(removed))


# --- Lists ---------------------------------------------------------------------------------------

@login_required
@require_POST
def list_subscription(request, pk: int):
    """Subscribe the contact to a list, or set their status on one (e.g. unsubscribed)."""
    contact = page_contact(request, pk, perm="contacts.change_contact")
    error, changed = "", False
    list_id = request.POST.get("list", "")
    contact_list = ContactList.objects.filter(pk=list_id).first() if list_id.isascii() and list_id.isdigit() else None
    status = request.POST.get("status", "")
    if contact_list is None:
        error = "Choose a list."
    else:
        if (status == Subscription.Status.SUBSCRIBED and contact_list.double_opt_in
                and not contact.subscriptions.filter(list=contact_list, status=status).exists()):
            status = Subscription.Status.UNCONFIRMED  # a double opt-in list: the person confirms, not the user
        try:
            changed = list_subscription_set(contact=contact, contact_list=contact_list,
                                            status=status, source="user") is not None
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if changed:
                messages.success(request, f"{contact} is now {status} on “{contact_list}”.")
    return _panel(request, pk, "contacts/_page_lists.html", lists_context(contact, list_error=error),
                  error=error, anchor="lists", changed=changed)


# --- Notes ---------------------------------------------------------------------------------------

@login_required
@require_GET
def notes(request, pk: int):
    """The notes panel; ?all=1 lists every note instead of the newest ones."""
    contact = page_contact(request, pk)
    show_all = request.GET.get("all") == "1"
    if not request.htmx:
        return redirect(reverse("contacts:detail", args=[pk]) + ("?notes=all" if show_all else "") + "#notes")
    return render(request, "contacts/_page_notes.html", {"contact": contact,
                                                          **notes_context(contact, show_all=show_all)})


@login_required
@require_POST
def note_create(request, pk: int):
    contact = page_contact(request, pk, perm="contacts.add_note")
    body = request.POST.get("body", "")
    error = ""
    if not body.strip():
        error = "Write the note first."
    else:
        try:
            note_add(contact=contact, author=request.user, body=body)
        except ValidationError as exc:
            error = " ".join(message for messages in error_messages(exc).values() for message in messages)
    context = notes_context(contact, note_error=error, note_body=body if error else "")
    return _panel(request, pk, "contacts/_page_notes.html", context, error=error, anchor="notes")


@login_required
@require_http_methods(["GET", "POST"])
def note_remove(request, pk: int, note_pk: int):
    """Delete one of your own notes, after confirming (the page asks with hx-confirm; this is the no-JS page)."""
    contact = page_contact(request, pk)
    note = get_object_or_404(Note.objects.select_related("author"), pk=note_pk, contact=contact)
    if note.author_id != request.user.pk:
        raise PermissionDenied("Only the author can delete a note.")
    if request.method == "GET":
        return render(request, "contacts/contact_detail_note_delete.html",
                      {"title": "Delete note", "contact": contact, "note": note})
    note_delete(note=note, user=request.user)
    messages.success(request, "Note deleted.")
    return _panel(request, pk, "contacts/_page_notes.html", notes_context(contact), anchor="notes",
                  changed=False)


# --- Tasks ---------------------------------------------------------------------------------------

@login_required
@require_POST
def task_add(request, pk: int):
    contact = page_contact(request, pk, perm="contacts.add_task")
    form = TaskForm(request.POST, auto_id="task_%s")
    ok = form.is_valid()
    if ok:
        try:
            task = task_create(contact=contact, created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            ok = False
            for field, errors in error_messages(exc).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Added the task “{task.title}”.")
    context = tasks_context(contact, request.user, form=None if ok else form)
    return _panel(request, pk, "contacts/_page_tasks.html", context, error=not ok, anchor="tasks")


# --- Timeline ------------------------------------------------------------------------------------

@login_required
@require_GET
def timeline(request, pk: int):
    """A page of the timeline (its items and the "load more" marker); ?before= continues, ?channel=/?type= filter."""
    contact = page_contact(request, pk)
    params = {name: request.GET.get(name, "").strip() for name in ("before", "channel", "type")}
    if not request.htmx:
        query = urlencode({name: value for name, value in params.items() if value})
        return redirect(reverse("contacts:detail", args=[pk]) + (f"?{query}" if query else "") + "#timeline")
    try:
        context = timeline_context(contact, **params)
    except ValueError:
        return HttpResponseBadRequest("That is not a timeline position.")
    return render(request, "contacts/_page_timeline_items.html", {"contact": contact, **context})


urlpatterns = [
    path("<int:pk>/tags/", tag_add, name="contact_tag_add"),
    path("<int:pk>/tags/remove/", tag_remove, name="contact_tag_remove"),
    path("<int:pk>/lists/", list_subscription, name="contact_list_subscription"),
    path("<int:pk>/notes/", notes, name="contact_notes"),
    path("<int:pk>/notes/add/", note_create, name="contact_note_add"),
    path("<int:pk>/notes/<int:note_pk>/delete/", note_remove, name="contact_note_delete"),
    path("<int:pk>/tasks/add/", task_add, name="contact_task_add"),
    path("<int:pk>/timeline/", timeline, name="contact_timeline"),
]
