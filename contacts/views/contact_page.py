"""The contact page (/contacts/<id>/): header with the stage path, fields edited inline, tags, lists,
notes, tasks, consents, deals and the timeline; the stage changer and deleting a contact.

Only contacts the user may see (users.permissions.visible_to) open; others are a 404. Changes need
contacts.change_contact (403 without). The panels' own views are in contact_fields, contact_panels
and my_tasks; this module's `urlpatterns` carries all of them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import page_selectors as pages
from contacts.accounts import account_suggestion_for
from contacts.inputs import ContactInput
from contacts.models import CustomField
from contacts.services import contact_delete
from contacts.views import contact_fields, contact_panels, my_tasks
from contacts.views.page_common import (
    contact_changed,
    lists_context,
    notes_context,
    page_contact,
    tags_context,
    tasks_context,
    timeline_context,
    timeline_filters_context,
    with_status,
)
from lifecycle.selectors import contact_stage_path
from lifecycle.services import contact_stage_set

__all__ = ["contact_delete_confirm", "contact_detail", "contact_stage", "render_page", "urlpatterns"]

TEMPLATE = "contacts/contact_detail.html"


def _stage_context(contact, *, stage_error: str = "", reason: str = "") -> dict:
    return {"stage_path": contact_stage_path(contact), "stage_error": stage_error,
            "stage_reason": reason}


def render_page(request, contact, *, editing=None, field_errors=(), status: int = 200,
                overrides: dict | None = None):
    """The whole contact page. `editing` is a field shown as its form (no-JavaScript inline editing);
    `overrides` replace parts of the context, e.g. a panel with its form errors."""
    definitions = list(CustomField.objects.for_contacts())
    fields = contact_fields.inline_fields(contact, definitions)
    if editing is not None:
        editing.editing = True
        fields = [editing if f.name == editing.name else f for f in fields]
    timeline_args = {name: request.GET.get(name, "") for name in ("channel", "type")}
    try:
        timeline = timeline_context(contact, before=request.GET.get("before", ""), **timeline_args)
    except ValueError:
        timeline = timeline_context(contact, **timeline_args)
    context = {
        "title": str(contact),
        "contact": contact,
        "built_in_fields": fields[:len(contact_fields.BUILT_IN)],
        "custom_fields": fields[len(contact_fields.BUILT_IN):],
        "editing": editing,
        "field_errors": list(field_errors),
        "account_suggestion": account_suggestion_for(contact, request.user),
        "consents": pages.contact_consents(contact),
        "deals": pages.contact_deals(contact, request.user),
        **_stage_context(contact),
        **tags_context(contact),
        **lists_context(contact),
        **notes_context(contact, show_all=request.GET.get("notes") == "all"),
        **tasks_context(contact, request.user),
        **timeline,
        **timeline_filters_context(contact),
        **(overrides or {}),
    }
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_GET
def contact_detail(request, pk: int):
    return render_page(request, page_contact(request, pk))


@login_required
@require_POST
def contact_stage(request, pk: int):
    """Move the contact to another lifecycle stage of the active set, with an optional reason."""
    contact = page_contact(request, pk, perm="contacts.change_contact")
    reason = request.POST.get("reason", "").strip()
    cleaned, errors = ContactInput().clean({"stage": request.POST.get("stage", "")}, partial=True)
    error = " ".join(errors.get("stage", []))
    if not error:
        if len(reason) > 300:
            error = "Keep the reason under 300 characters."
        else:
            try:
                moved = contact_stage_set(contact=contact, stage=cleaned["stage"], actor="user", user=request.user,
                                          reason=reason)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                if moved is None:
                    messages.info(request, f"{contact} is already in {cleaned['stage'].name}.")
                else:
                    messages.success(request, f"Moved {contact} to {cleaned['stage'].name}.")
    if not request.htmx:
        if error:
            return render_page(request, contact, status=400,
                               overrides=_stage_context(contact, stage_error=error, reason=reason))
        return redirect(reverse("contacts:detail", args=[pk]) + "#stage")
    contact = page_contact(request, pk)
    context = _stage_context(contact, stage_error=error, reason=reason if error else "")
    response = render(request, "contacts/_page_stage.html", {"contact": contact, **context},
                      status=with_status(request, not error))
    return response if error else contact_changed(response)


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete_confirm(request, pk: int):
    """Ask first; deleting removes the contact's timeline, notes, tasks and subscriptions for good."""
    contact = page_contact(request, pk, perm="contacts.delete_contact")
    if request.method == "POST":
        name = str(contact)
        contact_delete(contact=contact, user=request.user)
        messages.success(request, f"Deleted {name}.")
        return redirect("contacts:list")
    counts = {"events": contact.events.count(), "notes": contact.notes.count(), "tasks": contact.tasks.count()}
    return render(request, "contacts/contact_detail_delete.html",
                  {"title": f"Delete {contact}", "contact": contact, "counts": counts})


urlpatterns = [
    *my_tasks.urlpatterns,
    path("<int:pk>/", contact_detail, name="detail"),
    path("<int:pk>/stage/", contact_stage, name="contact_stage"),
    path("<int:pk>/delete/", contact_delete_confirm, name="contact_delete"),
    *contact_fields.urlpatterns,
    *contact_panels.urlpatterns,
]
