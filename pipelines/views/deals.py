"""The deal page (/deals/<id>/) and, for htmx requests to the same URL, the deal's side panel; the deal
list (/deals/list/, in deal_list.py) with its bulk actions.

The page and the panel show the same sections: the header (stage path, days in stage, stale and radio
silent badges, the stage changer, won / lost / reopen / delete), the fields edited inline (deal_fields.py),
tasks, notes and the timeline (stage history and the deal's events on its contacts' timelines). Each write
calls one service and answers an htmx request with its section re-rendered and a `deal-changed` event
(HX-Trigger, with the deal's id) so the timeline, or a board behind the panel, can follow; without
JavaScript it redirects back to the page, or shows the page with the error (400).

Only deals in deals_visible_to(user) open: others are a 404. Changes need pipelines.change_deal, deleting
pipelines.delete_deal, notes and tasks contacts.add_note / add_task (403 without).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.models import Contact, CustomField, Task
from contacts.services import note_add, task_complete, task_create
from contacts.views.page_common import TaskForm, error_messages
from pipelines import services
from pipelines.models import Deal, LostReason, Stage
from pipelines.page_selectors import deal_activity, deal_history, deal_notes, deal_stage_path, deal_tasks
from pipelines.views import deal_fields, deal_list
from pipelines.views.deal_common import board_url, deal_changed, in_panel, money, page_deal, with_status

__all__ = ["deal_detail", "header_context", "render_page", "urlpatterns"]

TEMPLATE = "pipelines/deal_detail.html"


# --- Context of each section -------------------------------------------------------------------------

def header_context(request, deal: Deal, *, lost_open: bool = False, lost_error: str = "", reason: str = "",
                   action_error: str = "") -> dict:
    """The header: title, status, value, stage path and the actions. `lost_open` shows the lost form."""
    path_steps = deal_stage_path(deal)
    return {
        "deal": deal, "value_display": money(deal.value, deal.currency), "stage_path": path_steps,
        "heading": "h2" if in_panel(request, deal) else "h1",
        "lost_open": lost_open, "lost_error": lost_error, "lost_reason_id": reason, "action_error": action_error,
        "lost_reasons": list(LostReason.objects.filter(is_active=True)) if lost_open else [],
        "can_change": request.user.has_perm("pipelines.change_deal"),
        "can_delete": request.user.has_perm("pipelines.delete_deal"),
    }


def notes_context(deal: Deal, *, note_error: str = "", note_body: str = "") -> dict:
    return {"notes": deal_notes(deal), "note_error": note_error, "note_body": note_body}


def tasks_context(deal: Deal, user, *, form: TaskForm | None = None) -> dict:
    return {"tasks": deal_tasks(deal), "now": timezone.now(),
            "task_form": form or TaskForm(initial=TaskForm.initial_for(user), auto_id="deal_task_%s")}


def timeline_context(deal: Deal) -> dict:
    return {"history": deal_history(deal), "activity": deal_activity(deal)}


def _body_context(request, deal: Deal, *, editing=None, field_errors=(), overrides: dict | None = None) -> dict:
    fields = deal_fields.inline_fields(deal, request.user, list(CustomField.objects.for_deals()))
    if editing is not None:
        editing.editing = True
        fields = [editing if f.name == editing.name else f for f in fields]
    return {
        "title": deal.title,
        **header_context(request, deal),
        "detail_fields": [f for f in fields if f.group == "details"],
        "bant_fields": [f for f in fields if f.group == "bant"],
        "custom_fields": [f for f in fields if f.group == "custom"],
        "field_errors": list(field_errors),
        "board_url": board_url(deal),
        **notes_context(deal),
        **tasks_context(deal, request.user),
        **timeline_context(deal),
        **(overrides or {}),
    }


def render_page(request, deal: Deal, *, editing=None, field_errors=(), status: int = 200,
                overrides: dict | None = None) -> HttpResponse:
    """The whole deal page. `editing` is a field shown as its form (inline editing without JavaScript);
    `overrides` replace parts of the context, e.g. a section with its form errors."""
    context = _body_context(request, deal, editing=editing, field_errors=field_errors, overrides=overrides)
    return render(request, TEMPLATE, context, status=status)


# --- The page and the panel -------------------------------------------------------------------------

@login_required
@require_GET
def deal_detail(request, pk: int):
    """The deal page; an htmx request gets the side panel (its own close button and a link to this page)."""
    deal = page_deal(request, pk)
    if request.htmx:
        return render(request, "pipelines/_deal_panel.html", {**_body_context(request, deal), "panel": True})
    return render_page(request, deal)


@login_required
@require_GET
def deal_panel_close(request):
    """Closing the side panel: its container is emptied (no script needed on the board)."""
    return HttpResponse("")


# --- The header: stage, won, lost, reopen ----------------------------------------------------------

def _header(request, pk: int, *, ok: bool, changed: bool = True, **kwargs) -> HttpResponse:
    """The header after an action, re-read; the page (with the error, 400) or a redirect without htmx."""
    deal = page_deal(request, pk)
    context = header_context(request, deal, **kwargs)
    if not request.htmx:
        if not ok:
            return render_page(request, deal, status=400, overrides=context)
        return redirect(reverse("pipelines:deal_detail", args=[pk]))
    response = render(request, "pipelines/_deal_header.html", context, status=with_status(request, ok))
    return deal_changed(response, deal) if ok and changed else response


@login_required
@require_GET
def deal_header(request, pk: int):
    """The header as it is: what Cancel and Escape bring back from the lost form."""
    if not request.htmx:
        return redirect(reverse("pipelines:deal_detail", args=[pk]))
    return _header(request, pk, ok=True, changed=False)


@login_required
@require_POST
def deal_stage(request, pk: int):
    """Move the deal to another stage of its pipeline, at the end of that column."""
    deal = page_deal(request, pk, perm="pipelines.change_deal")
    stage_id = request.POST.get("stage", "")
    stage = (Stage.objects.filter(pk=stage_id, pipeline_id=deal.pipeline_id).first()
             if stage_id.isascii() and stage_id.isdigit() else None)
    if stage is None:
        return _header(request, pk, ok=False, action_error="Choose a stage of this pipeline.")
    if stage.pk == deal.stage_id:
        messages.info(request, f"“{deal.title}” is already in {stage.name}.")
        return _header(request, pk, ok=True, changed=False)
    try:
        last = Deal.objects.filter(status=Deal.Status.OPEN, stage=stage).exclude(pk=deal.pk).count()
        services.deal_move(deal=deal, stage=stage, position=last, by=request.user)
    except ValidationError as error:
        return _header(request, pk, ok=False, action_error=" ".join(error.messages))
    messages.success(request, f"Moved “{deal.title}” to {stage.name}.")
    return _header(request, pk, ok=True)


def _won_message(deal: Deal, stage_before: int | None) -> str:
    text = f"Won “{deal.title}”."
    if not deal.contact_id:
        return text + " It has no contact to make a customer."
    contact = Contact.objects.select_related("lifecycle_stage").get(pk=deal.contact_id)
    stage = contact.lifecycle_stage
    if stage is not None and stage.pk != stage_before:
        return text + f" {contact} is now a customer: lifecycle stage {stage.name}."
    if not deal.pipeline.won_makes_customer:
        return text + f" The {deal.pipeline} pipeline does not change contacts' lifecycle stages on a win."
    return text + (f" {contact} was already in {stage.name}." if stage else "")


@login_required
@require_POST
def deal_won(request, pk: int):
    deal = page_deal(request, pk, perm="pipelines.change_deal")
    stage_before = deal.contact.lifecycle_stage_id if deal.contact_id else None
    try:
        won = services.deal_won(deal=deal, by=request.user)
    except ValidationError as error:
        return _header(request, pk, ok=False, action_error=" ".join(error.messages))
    messages.success(request, _won_message(won, stage_before))
    return _header(request, pk, ok=True)


@login_required
@require_http_methods(["GET", "POST"])
def deal_lost(request, pk: int):
    """GET: the lost form (a reason from the active list, required). POST: mark the deal lost."""
    deal = page_deal(request, pk, perm="pipelines.change_deal")
    if request.method == "GET":
        if not request.htmx:
            return render_page(request, deal, overrides=header_context(request, deal, lost_open=True))
        return _header(request, pk, ok=True, changed=False, lost_open=True)
    reason_id = request.POST.get("reason", "").strip()
    reason = (LostReason.objects.filter(pk=reason_id, is_active=True).first()
              if reason_id.isascii() and reason_id.isdigit() else None)
    try:
        services.deal_lost(deal=deal, reason=reason, by=request.user)
    except ValidationError as error:
        messages_ = error_messages(error)
        return _header(request, pk, ok=False, lost_open="reason" in messages_, reason=reason_id,
                       lost_error=" ".join(messages_.get("reason", [])),
                       action_error=" ".join(m for k, ms in messages_.items() if k != "reason" for m in ms))
    messages.success(request, f"Marked “{deal.title}” lost: {reason.name}.")
    return _header(request, pk, ok=True)


@login_required
@require_POST
def deal_reopen(request, pk: int):
    deal = page_deal(request, pk, perm="pipelines.change_deal")
    try:
        services.deal_reopen(deal=deal, by=request.user)
    except ValidationError as error:
        return _header(request, pk, ok=False, action_error=" ".join(error.messages))
    messages.success(request, f"Reopened “{deal.title}” in {deal.stage.name}.")
    return _header(request, pk, ok=True)


@login_required
@require_http_methods(["GET", "POST"])
def deal_delete(request, pk: int):
    """Ask first; deleting removes the deal, its tasks and its stage history for good."""
    deal = page_deal(request, pk, perm="pipelines.delete_deal")
    if request.method == "POST":
        back = board_url(deal)
        services.deal_delete(deal=deal)
        messages.success(request, f"Deleted the deal “{deal.title}”.")
        return redirect(back)
    tasks = deal.tasks.aggregate(all=Count("id"), open=Count("id", filter=Q(done=False)))
    counts = {"tasks": tasks["all"], "open_tasks": tasks["open"], "notes": deal.notes.count(),
              "stays": deal.stage_history.count()}
    return render(request, "pipelines/deal_delete.html",
                  {"title": f"Delete {deal.title}", "deal": deal, "counts": counts,
                   "value_display": money(deal.value, deal.currency)})


# --- Notes, tasks, timeline ------------------------------------------------------------------------

def _section(request, pk: int, template: str, context: dict, *, error: str | bool = "", anchor: str,
             changed: bool = True) -> HttpResponse:
    """A section after a write, re-read; the page (with the error, 400) or a redirect without htmx."""
    deal = page_deal(request, pk)
    if not request.htmx:
        if error:
            return render_page(request, deal, status=400, overrides=context)
        return redirect(reverse("pipelines:deal_detail", args=[pk]) + f"#{anchor}")
    response = render(request, template, {"deal": deal, **context}, status=with_status(request, not error))
    return deal_changed(response, deal) if changed and not error else response


@login_required
@require_POST
def deal_note_add(request, pk: int):
    """A note on the deal, kept on its primary contact's timeline (a note belongs to a contact)."""
    deal = page_deal(request, pk, perm="contacts.add_note")
    body = request.POST.get("body", "")
    error = ""
    if deal.contact is None:
        error = "A note is kept on a contact's timeline: set the deal's primary contact first."
    elif not body.strip():
        error = "Write the note first."
    elif "\x00" in body:
        error = "Remove the NUL character (\\u0000): it cannot be saved."
    else:
        try:
            note_add(contact=deal.contact, author=request.user, body=body, deal=deal)
        except ValidationError as exc:
            error = " ".join(m for ms in error_messages(exc).values() for m in ms)
    context = notes_context(deal, note_error=error, note_body=body if error else "")
    return _section(request, pk, "pipelines/_deal_notes.html", context, error=error, anchor="deal-notes")


@login_required
@require_POST
def deal_task_add(request, pk: int):
    """A task on the deal (and on its primary contact's list, if it has one)."""
    deal = page_deal(request, pk, perm="contacts.add_task")
    form = TaskForm(request.POST, auto_id="deal_task_%s")
    ok = form.is_valid()
    if ok:
        try:
            task = task_create(contact=deal.contact, deal=deal, created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            ok = False
            for field, errors in error_messages(exc).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Added the task “{task.title}”.")
    context = tasks_context(deal, request.user, form=None if ok else form)
    return _section(request, pk, "pipelines/_deal_tasks.html", context, error=not ok, anchor="deal-tasks")


@login_required
@require_POST
def deal_task_done(request, pk: int, task_pk: int):
    """Tick one of the deal's tasks off (done=on), or open it again."""
    deal = page_deal(request, pk, perm="contacts.change_task")
    task = get_object_or_404(Task, pk=task_pk, deal=deal)
    done = request.POST.get("done") in ("on", "1", "true")
    task = task_complete(task=task, user=request.user, done=done)
    messages.success(request, f"Done: {task.title}." if done else f"Opened again: {task.title}.")
    return _section(request, pk, "pipelines/_deal_tasks.html", tasks_context(deal, request.user),
                    anchor="deal-tasks")


@login_required
@require_GET
def deal_timeline(request, pk: int):
    """The timeline section (stage history and events), reloaded after each change."""
    deal = page_deal(request, pk)
    if not request.htmx:
        return redirect(reverse("pipelines:deal_detail", args=[pk]) + "#deal-timeline")
    return render(request, "pipelines/_deal_timeline.html", {"deal": deal, **timeline_context(deal)})


urlpatterns = [
    *deal_list.urlpatterns,
    path("panel/close/", deal_panel_close, name="deal_panel_close"),
    path("<int:pk>/", deal_detail, name="deal_detail"),
    path("<int:pk>/header/", deal_header, name="deal_header"),
    path("<int:pk>/stage/", deal_stage, name="deal_stage"),
    path("<int:pk>/won/", deal_won, name="deal_won"),
    path("<int:pk>/lost/", deal_lost, name="deal_lost"),
    path("<int:pk>/reopen/", deal_reopen, name="deal_reopen"),
    path("<int:pk>/delete/", deal_delete, name="deal_delete"),
    path("<int:pk>/notes/add/", deal_note_add, name="deal_note_add"),
    path("<int:pk>/tasks/add/", deal_task_add, name="deal_task_add"),
    path("<int:pk>/tasks/<int:task_pk>/done/", deal_task_done, name="deal_task_done"),
    path("<int:pk>/timeline/", deal_timeline, name="deal_timeline"),
    *deal_fields.urlpatterns,
]
