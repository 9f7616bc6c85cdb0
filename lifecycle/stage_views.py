"""Settings → Lifecycle stages: admins rename, describe, add, reorder and delete stages, and switch sets.

Every page works without JavaScript; with htmx, editing swaps one row and adding or moving swaps one
set's card. A form with errors comes back as 422 (htmx) or 400 (full page) with the messages by the fields.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lifecycle import services
from lifecycle.forms import StageForm, add_service_errors
from lifecycle.models import LifecycleStage, StageSet
from lifecycle.selectors import stage_sets_with_stages, stage_usage, stages_with_contact_counts
from users.permissions import has_role
from users.roles import Role

__all__ = ["stage_add", "stage_delete", "stage_edit", "stage_move", "stage_row", "stage_set_activate",
           "stage_settings"]

TEMPLATE = "lifecycle/stage_settings.html"
TITLE = "Lifecycle stages"


def admin_required(view):
    """Signed in and an admin; anyone else gets a 403 page that explains why and offers nothing to edit."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_role(request.user, Role.ADMIN):
            return render(request, "lifecycle/stage_settings_forbidden.html", {"title": TITLE}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _settings_url(anchor: str = "") -> str:
    return reverse("lifecycle:stage_settings") + (f"#{anchor}" if anchor else "")


def _add_form(stage_set: StageSet, data=None) -> StageForm:
    return StageForm(data, prefix=f"set{stage_set.pk}")


def _stage_set_card(stage_set_id: int, add_form: StageForm | None = None) -> StageSet:
    """One set as its card on the page shows it: stages with counts, and the form that adds one."""
    stage_set = next(s for s in stage_sets_with_stages() if s.pk == stage_set_id)
    stage_set.add_form = add_form or _add_form(stage_set)
    return stage_set


def _stage_row(pk: int) -> LifecycleStage:
    """One stage as its row shows it (with `contact_count`), or 404."""
    return get_object_or_404(stages_with_contact_counts().select_related("stage_set"), pk=pk)


def _row_context(stage: LifecycleStage, **extra) -> dict:
    return {"stage": stage, "stage_set": stage.stage_set,
            "last_position": stage.stage_set.stages.count() - 1, **extra}



def _page(request, *, status: int = 200, forms: dict | None = None):
    """The whole settings page; `forms` maps ("add", set id) to a bound form with errors."""
    forms = forms or {}
    sets = stage_sets_with_stages()
    for stage_set in sets:
        stage_set.add_form = forms.get(("add", stage_set.pk)) or _add_form(stage_set)
    return render(request, TEMPLATE, {"title": TITLE, "stage_sets": sets}, status=status)


@admin_required
@require_GET
def stage_settings(request):
    return _page(request)


@admin_required
@require_http_methods(["GET", "POST"])
def stage_set_activate(request, pk: int):
    stage_set = get_object_or_404(StageSet, pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.stage_set_activate(stage_set=stage_set, by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"“{stage_set}” is now the active stage set.")
            return redirect(_settings_url(f"stage-set-{stage_set.pk}"))
    active = StageSet.objects.filter(is_active=True).first()
    return render(request, "lifecycle/stage_set_activate.html", {
        "title": TITLE, "stage_set": stage_set, "active": active, "error": error,
        "stages": stage_set.stages.order_by("position", "id"),
    }, status=400 if error else 200)


@admin_required
@require_POST
def stage_add(request, pk: int):
    stage_set = get_object_or_404(StageSet, pk=pk)
    form = _add_form(stage_set, request.POST)
    if form.is_valid():
        try:
            stage = services.stage_create(stage_set=stage_set, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added “{stage.name}” to {stage_set}.")
            if not request.htmx:
                return redirect(_settings_url(f"stage-{stage.pk}"))
            return render(request, f"{TEMPLATE}#stage-set", {"stage_set": _stage_set_card(stage_set.pk),
                                                             "focus_add": True})
    if not request.htmx:
        return _page(request, status=400, forms={("add", stage_set.pk): form})
    return render(request, f"{TEMPLATE}#stage-set", {"stage_set": _stage_set_card(stage_set.pk, form),
                                                     "focus_add": True}, status=422)


@admin_required
@require_GET
def stage_row(request, pk: int):
    """A stage's row as the list shows it: what Cancel brings back."""
    if not request.htmx:
        return redirect(_settings_url(f"stage-{pk}"))
    return render(request, f"{TEMPLATE}#stage-row", _row_context(_stage_row(pk), focus="edit"))


@admin_required
@require_http_methods(["GET", "POST"])
def stage_edit(request, pk: int):
    stage = _stage_row(pk)
    form = StageForm(request.POST or None, prefix=f"stage{stage.pk}",
                     initial={"name": stage.name, "description": stage.description})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.stage_update(stage=stage, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved “{stage.name}”.")
                if not request.htmx:
                    return redirect(_settings_url(f"stage-{stage.pk}"))
                return render(request, f"{TEMPLATE}#stage-row", _row_context(stage, focus="edit"))
        status = 422 if request.htmx else 400
    if request.htmx:
        return render(request, f"{TEMPLATE}#stage-edit", _row_context(stage, form=form), status=status)
    return render(request, "lifecycle/stage_edit.html",
                  {"title": TITLE, **_row_context(stage, form=form)}, status=status)


@admin_required
@require_POST
def stage_move(request, pk: int):
    """Move a stage to another position in its set: what the up and down buttons post."""
    stage = get_object_or_404(LifecycleStage, pk=pk)
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        position = -1
    if position < 0:
        messages.error(request, "Choose where to move the stage.")
        focus = ""
    else:
        focus = "up" if position < stage.position else "down"
        services.stage_update(stage=stage, by=request.user, position=position)
    if not request.htmx:
        return redirect(_settings_url(f"stage-{stage.pk}"))
    card = _stage_set_card(stage.stage_set_id)
    # Keep the keyboard where it was: on the button just pressed, or on the other one at either end.
    last_position = len(card.stages.all()) - 1
    if (focus, stage.position) in (("up", 0), ("down", last_position)):
        focus = "down" if focus == "up" else "up"
    return render(request, f"{TEMPLATE}#stage-set", {"stage_set": card, "focus_stage": stage.pk, "focus": focus})


@admin_required
@require_http_methods(["GET", "POST"])
def stage_delete(request, pk: int):
    stage = get_object_or_404(LifecycleStage.objects.select_related("stage_set"), pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.stage_delete(stage=stage, by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted “{stage.name}” from {stage.stage_set}.")
            return redirect(_settings_url(f"stage-set-{stage.stage_set_id}"))
    return render(request, "lifecycle/stage_delete.html", {
        "title": TITLE, "stage": stage, "usage": stage_usage(stage), "error": error,
        "only_stage_of_active_set": stage.stage_set.is_active and stage.stage_set.stages.count() == 1,
    }, status=400 if error else 200)
