"""The form editor under /forms/ (docs/forms.md): new form, settings, fields, publish, delete.

Admins and marketers edit forms; everyone else gets a 403 page that says who to ask. Forms with errors come back
with status 400 and the messages by their fields. The fields editor posts to /forms/<pk>/fields/: with htmx it
swaps only itself (adding, removing and moving rows happen on the server, nothing is saved until "Save fields"),
and without JavaScript the same post renders the whole page.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from contacts.leadforms import publish
from contacts.leadforms.builder import (
    available_targets,
    leadform_create,
    leadform_delete,
    leadform_fields_set,
    leadform_update,
)
from contacts.leadforms.editor import MAX_FIELDS, FieldRows, LeadFormCreateForm, LeadFormSettingsForm
from contacts.models import LeadForm
from lifecycle.forms import add_service_errors
from users.permissions import may_run_marketing

__all__ = ["form_delete", "form_edit", "form_fields", "form_new", "may_edit"]


#: Who may edit forms (everyone signed in may see them and their analytics).
may_edit = may_run_marketing


def editor_permission(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not may_edit(request.user):
            return render(request, "contacts/leadform_forbidden.html", {"title": "Forms"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


@editor_permission
@require_http_methods(["GET", "POST"])
def form_new(request):
    form = LeadFormCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                leadform = leadform_create(created_by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Form “{leadform.name}” created. Add your allowed domains, then publish it.")
                return redirect("leadforms:edit", leadform.pk)
        status = 400
    return render(request, "contacts/leadform_new.html", {"title": "New form", "form": form}, status=status)


def _edit_page(request, leadform: LeadForm, *, settings_form=None, rows: FieldRows | None = None,
               fields_errors=None, status: int = 200):
    return render(request, "contacts/leadform_edit.html", {
        "title": leadform.name, "leadform": leadform,
        "form": settings_form or LeadFormSettingsForm(form=leadform),
        **_fields_context(leadform, rows or FieldRows.from_form(leadform), fields_errors),
        **_publish_context(leadform)}, status=status)


def _fields_context(leadform: LeadForm, rows: FieldRows, errors=None, saved: bool = False) -> dict:
    return {"leadform": leadform, "rows": [(i, f"field-{i}", row) for i, row in enumerate(rows.rows)],
            "focus": rows.focus, "targets": available_targets(),
            "fields_errors": errors or [], "fields_saved": saved, "can_add": len(rows.rows) < MAX_FIELDS}


def _publish_context(leadform: LeadForm) -> dict:
    return {"hosted_url": publish.hosted_url(leadform), "embed_snippet": publish.embed_snippet(leadform),
            "html_snippet": publish.html_snippet(leadform), "has_domains": bool(leadform.allowed_domains.strip())}


@editor_permission
@require_http_methods(["GET", "POST"])
def form_edit(request, pk: int):
    leadform = get_object_or_404(LeadForm.objects.select_related("lifecycle_stage", "pipeline", "deal_owner"), pk=pk)
    if request.method == "GET":
        return _edit_page(request, leadform)
    settings_form = LeadFormSettingsForm(request.POST, form=leadform)
    if settings_form.is_valid():
        try:
            leadform_update(form=LeadForm.objects.get(pk=leadform.pk), **settings_form.values())
        except ValidationError as exc:
            add_service_errors(settings_form, exc)
        else:
            messages.success(request, "Form settings saved.")
            return redirect("leadforms:edit", leadform.pk)
    return _edit_page(request, leadform, settings_form=settings_form, status=400)


@editor_permission
@require_POST
def form_fields(request, pk: int):
    """The fields editor: "op" is add, remove:i, up:i, down:i (re-render, unsaved) or save."""
    leadform = get_object_or_404(LeadForm, pk=pk)
    rows = FieldRows.from_post(request.POST)
    op = request.POST.get("op", "")
    errors, saved, status = [], False, 200
    if op == "save":
        try:
            leadform_fields_set(form=leadform, rows=rows.as_builder_rows())
        except ValidationError as exc:
            errors, status = exc.message_dict.get("fields", exc.messages), 400
        else:
            saved = True
            if not request.htmx:
                messages.success(request, "Fields saved.")
                return redirect("leadforms:edit", leadform.pk)
    elif not rows.apply(op):
        errors, status = ["That change is not possible. Reload the page and try again."], 400
    if request.htmx:
        return render(request, "contacts/leadform_edit.html#fields-editor", {
            **_fields_context(leadform, rows, errors, saved), **_publish_context(leadform), "oob": saved},
            status=status)
    return _edit_page(request, leadform, rows=rows, fields_errors=errors, status=status)


@editor_permission
@require_http_methods(["GET", "POST"])
def form_delete(request, pk: int):
    leadform = get_object_or_404(LeadForm.objects.annotate(submission_count=Count("submissions")), pk=pk)
    if request.method == "POST":
        name = leadform.name
        leadform_delete(form=leadform)
        messages.success(request, f"Form “{name}” deleted.")
        return redirect("leadforms:list")
    count = leadform.submission_count
    consequences = [
        f"Its hosted page, embed and HTML snippet stop working: {publish.hosted_url(leadform)} will be “not found”.",
        f"Its {count} submission record{'' if count == 1 else 's'} and its daily views are deleted.",
        "The contacts it created, their events, tags, lists and deals stay.",
    ]
    return render(request, "contacts/leadform_delete.html", {
        "title": f"Delete {leadform.name}", "leadform": leadform, "consequences": consequences,
        "action": reverse("leadforms:delete", args=[leadform.pk])})
