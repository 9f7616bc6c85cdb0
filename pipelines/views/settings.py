"""Settings → pipelines: pipelines, their stages, the lost reasons and the pipeline rules (admins).

Mounted at /settings/ (namespace "pipelines-settings"):

- /settings/pipelines/                the pipelines with their deal counts, a form to add one, and the lost reasons
- /settings/pipelines/<pk>/           one pipeline: its name and rules, and its stages in order

Every write goes through pipelines.services. Every page works without JavaScript; with htmx, editing
swaps one row and adding or moving swaps the list's card. A form with errors comes back as 422 (htmx)
or 400 (a full page) with the messages by their fields. Deleting always asks first. Anyone but an
admin gets a 403 page with nothing to edit.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lifecycle.forms import add_service_errors
from pipelines import services
from pipelines.models import DEFAULT_STAGES, Deal, DealStageHistory, LostReason, Pipeline, Stage
from pipelines.settings_forms import LostReasonForm, PipelineCreateForm, PipelineForm, StageDeleteForm, StageForm
from users.permissions import has_role
from users.roles import Role

__all__ = ["urlpatterns"]

TITLE = "Pipelines"
INDEX_TEMPLATE = "pipelines/settings_pipelines.html"
PIPELINE_TEMPLATE = "pipelines/settings_pipeline.html"


def admin_required(view):
    """Signed in and an admin; anyone else gets a 403 page that says who to ask and offers nothing to edit."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_role(request.user, Role.ADMIN):
            return render(request, "pipelines/settings_forbidden.html", {"title": TITLE}, status=403)
        return view(request, *args, **kwargs)

    return wrapper



def _invalid(request) -> int:
    """The status of a form sent back with its errors: 422 for htmx to swap in, 400 for a full page."""
    return 422 if request.htmx else 400


def _index_url(anchor: str = "") -> str:
    return reverse("pipelines-settings:pipelines") + (f"#{anchor}" if anchor else "")


def _pipeline_url(pipeline_id: int, anchor: str = "") -> str:
    return reverse("pipelines-settings:pipeline", args=[pipeline_id]) + (f"#{anchor}" if anchor else "")


def _count(queryset) -> Coalesce:
    """A correlated COUNT(*) of `queryset` (filtered on an OuterRef and grouped by it), 0 when there are none.

    Counted per row of the page after its ORDER BY, instead of joining deals and stages into one big GROUP BY.
    """
    return Coalesce(Subquery(queryset.order_by().annotate(n=Count("*")).values("n")[:1], output_field=IntegerField()),
                    0)


def _pipelines_with_counts():
    """Pipelines by name with `stage_count`, `open_deal_count` and `deal_count`, in one query."""
    deals = Deal.objects.filter(pipeline_id=OuterRef("pk")).values("pipeline_id")
    return Pipeline.objects.order_by("name", "pk").annotate(
        stage_count=_count(Stage.objects.filter(pipeline_id=OuterRef("pk")).values("pipeline_id")),
        open_deal_count=_count(deals.filter(status=Deal.Status.OPEN)),
        deal_count=_count(deals),
    )


def _reasons_with_counts():
    """Lost reasons in their order with `deal_count`, the lost deals that give it, in one query."""
    lost = Deal.objects.filter(lost_reason_id=OuterRef("pk")).values("lost_reason_id")
    return LostReason.objects.order_by("position", "name", "pk").annotate(deal_count=_count(lost))


def _stages_with_counts(pipeline_id: int):
    """A pipeline's stages in order with `open_deal_count` and `deal_count` (open, won and lost), in one query."""
    return Stage.objects.filter(pipeline_id=pipeline_id).order_by("position").annotate(
        open_deal_count=Count("deals", filter=Q(deals__status=Deal.Status.OPEN)),
        deal_count=Count("deals"),
    )


# --- The pipelines -------------------------------------------------------------------------------

def _index_page(request, *, status: int = 200, create_form=None, reason_form=None):
    return render(request, INDEX_TEMPLATE, {
        "title": TITLE, "pipelines": list(_pipelines_with_counts()),
        "create_form": create_form or PipelineCreateForm(prefix="pipeline"),
        "default_stages": [name for name, _probability, _rotting in DEFAULT_STAGES],
        **_reasons_context(reason_form),
    }, status=status)


@admin_required
@require_GET
def pipelines(request):
    return _index_page(request)


@admin_required
@require_POST
def pipeline_create(request):
    form = PipelineCreateForm(request.POST, prefix="pipeline")
    if form.is_valid():
        try:
            pipeline = services.pipeline_create(name=form.cleaned_data["name"].strip())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Created the pipeline “{pipeline.name}” with the default stages.")
            return redirect(_pipeline_url(pipeline.pk))
    return _index_page(request, status=400, create_form=form)


def _details_form(pipeline: Pipeline, data=None) -> PipelineForm:
    return PipelineForm(data, prefix="details", initial={
        "name": pipeline.name, "won_makes_customer": pipeline.won_makes_customer,
        "radio_silent_days": pipeline.radio_silent_days})


def _stages_card(pipeline: Pipeline, *, add_form: StageForm | None = None, **extra) -> dict:
    stages = list(_stages_with_counts(pipeline.pk))
    return {"pipeline": pipeline, "stages": stages, "last_position": len(stages) - 1,
            "add_form": add_form or StageForm(prefix="new", initial={"probability": 0}), **extra}


def _pipeline_page(request, pipeline: Pipeline, *, status: int = 200, details_form=None, add_form=None):
    return render(request, PIPELINE_TEMPLATE, {
        "title": f"{pipeline.name} · {TITLE}", "details_form": details_form or _details_form(pipeline),
        **_stages_card(pipeline, add_form=add_form),
    }, status=status)


@admin_required
@require_GET
def pipeline(request, pk: int):
    return _pipeline_page(request, get_object_or_404(Pipeline, pk=pk))


@admin_required
@require_POST
def pipeline_edit(request, pk: int):
    """Rename a pipeline or change its rules: the details card's form."""
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = _details_form(pipeline, request.POST)
    if form.is_valid():
        try:
            services.pipeline_update(pipeline=pipeline, **form.cleaned_data)
        except ValidationError as error:
            pipeline.refresh_from_db()
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved “{pipeline.name}”.")
            if not request.htmx:
                return redirect(_pipeline_url(pipeline.pk))
            return render(request, f"{PIPELINE_TEMPLATE}#details", {
                "pipeline": pipeline, "details_form": _details_form(pipeline)})
    if request.htmx:
        return render(request, f"{PIPELINE_TEMPLATE}#details", {"pipeline": pipeline, "details_form": form},
                      status=422)
    return _pipeline_page(request, pipeline, status=400, details_form=form)


@admin_required
@require_http_methods(["GET", "POST"])
def pipeline_delete(request, pk: int):
    pipeline = get_object_or_404(_pipelines_with_counts(), pk=pk)
    error = None
    if request.method == "POST":
        try:
            services.pipeline_delete(pipeline=pipeline)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Deleted the pipeline “{pipeline.name}”.")
            return redirect(_index_url())
    return render(request, "pipelines/settings_pipeline_delete.html", {
        "title": TITLE, "pipeline": pipeline, "error": error,
        "only_pipeline": not Pipeline.objects.exclude(pk=pipeline.pk).exists(),
    }, status=400 if error else 200)


# --- Stages --------------------------------------------------------------------------------------

def _stage(pk: int) -> Stage:
    """One stage as its row shows it (with its deal counts), or 404."""
    return get_object_or_404(Stage.objects.select_related("pipeline").annotate(
        open_deal_count=Count("deals", filter=Q(deals__status=Deal.Status.OPEN)), deal_count=Count("deals")), pk=pk)


def _row_context(stage: Stage, **extra) -> dict:
    return {"stage": stage, "pipeline": stage.pipeline,
            "last_position": Stage.objects.filter(pipeline_id=stage.pipeline_id).count() - 1, **extra}


def _stage_form(stage: Stage, data=None) -> StageForm:
    return StageForm(data, prefix=f"stage{stage.pk}", initial={
        "name": stage.name, "probability": stage.probability, "rotting_days": stage.rotting_days})


@admin_required
@require_POST
def stage_add(request, pk: int):
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = StageForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            stage = services.stage_create(pipeline=pipeline, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added the stage “{stage.name}”.")
            if not request.htmx:
                return redirect(_pipeline_url(pipeline.pk, f"stage-{stage.pk}"))
            return render(request, f"{PIPELINE_TEMPLATE}#stages", _stages_card(pipeline, focus_add=True))
    if not request.htmx:
        return _pipeline_page(request, pipeline, status=400, add_form=form)
    return render(request, f"{PIPELINE_TEMPLATE}#stages", _stages_card(pipeline, add_form=form, focus_add=True),
                  status=422)


@admin_required
@require_GET
def stage_row(request, pk: int):
    """A stage's row as the list shows it: what Cancel brings back."""
    stage = _stage(pk)
    if not request.htmx:
        return redirect(_pipeline_url(stage.pipeline_id, f"stage-{pk}"))
    return render(request, f"{PIPELINE_TEMPLATE}#stage-row", _row_context(stage, focus="edit"))


@admin_required
@require_http_methods(["GET", "POST"])
def stage_edit(request, pk: int):
    stage = _stage(pk)
    form = _stage_form(stage, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.stage_update(stage=stage, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Saved the stage “{stage.name}”.")
                if not request.htmx:
                    return redirect(_pipeline_url(stage.pipeline_id, f"stage-{stage.pk}"))
                return render(request, f"{PIPELINE_TEMPLATE}#stage-row", _row_context(stage, focus="edit"))
        status = _invalid(request)
        stage = _stage(pk)  # the row as stored, not as typed
    if request.htmx:
        return render(request, f"{PIPELINE_TEMPLATE}#stage-edit", _row_context(stage, form=form), status=status)
    return render(request, "pipelines/settings_edit.html", {
        "title": TITLE, "heading": f"Edit the stage “{stage.name}”", "crumb": stage.pipeline.name,
        "crumb_url": _pipeline_url(stage.pipeline_id), "partial": f"{PIPELINE_TEMPLATE}#stage-edit",
        **_row_context(stage, form=form)}, status=status)


def _position(request) -> int | None:
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        return None
    return position if position >= 0 else None


@admin_required
@require_POST
def stage_move(request, pk: int):
    """Move a stage to another position in its pipeline: what the up and down buttons post."""
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    position = _position(request)
    focus = ""
    if position is None:
        messages.error(request, "Choose where to move the stage.")
    else:
        focus = "up" if position < stage.position else "down"
        services.stage_move(stage=stage, position=position)
    if not request.htmx:
        return redirect(_pipeline_url(stage.pipeline_id, f"stage-{stage.pk}"))
    card = _stages_card(stage.pipeline, focus_stage=stage.pk)
    # Keep the keyboard where it was: on the button just pressed, or on the other one at either end.
    moved = next(s for s in card["stages"] if s.pk == stage.pk)
    if (focus, moved.position) in (("up", 0), ("down", card["last_position"])):
        focus = "down" if focus == "up" else "up"
    return render(request, f"{PIPELINE_TEMPLATE}#stages", {**card, "focus": focus})


@admin_required
@require_http_methods(["GET", "POST"])
def stage_delete(request, pk: int):
    stage = _stage(pk)
    past_stays = DealStageHistory.objects.filter(stage=stage).exclude(deal__stage=stage).count()
    needs_target = bool(stage.deal_count or past_stays)
    form = StageDeleteForm(request.POST if request.method == "POST" else None, stage=stage, required=needs_target)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_delete(stage=stage, move_deals_to=form.cleaned_data["move_deals_to"])
        except ValidationError as exc:
            add_service_errors(form, exc)
            error = " ".join(form.non_field_errors())
        else:
            target = form.cleaned_data["move_deals_to"]
            moved = f" Its deals are now in “{target.name}”." if target and stage.deal_count else ""
            messages.success(request, f"Deleted the stage “{stage.name}”.{moved}")
            return redirect(_pipeline_url(stage.pipeline_id))
    return render(request, "pipelines/settings_stage_delete.html", {
        "title": TITLE, "stage": stage, "form": form, "error": error,
        "closed_deal_count": stage.deal_count - stage.open_deal_count, "past_stays": past_stays,
        "needs_target": needs_target,
        "only_stage": not form.fields["move_deals_to"].queryset.exists(),
    }, status=400 if form.errors else 200)


# --- Lost reasons --------------------------------------------------------------------------------

def _reasons_context(add_form: LostReasonForm | None = None, **extra) -> dict:
    reasons = list(_reasons_with_counts())
    for index, reason in enumerate(reasons):
        reason.index = index  # positions may have gaps; the arrows post places in the list
    return {"reasons": reasons, "last_reason_position": len(reasons) - 1,
            "reason_form": add_form or LostReasonForm(prefix="reason"), **extra}


def _reason(pk: int) -> LostReason:
    reason = get_object_or_404(_reasons_with_counts(), pk=pk)
    reason.index = list(LostReason.objects.order_by("position", "name", "pk").values_list("pk", flat=True)).index(pk)
    return reason


def _reason_row(reason: LostReason, **extra) -> dict:
    return {"reason": reason, "last_reason_position": LostReason.objects.count() - 1, **extra}


@admin_required
@require_POST
def lost_reason_add(request):
    form = LostReasonForm(request.POST, prefix="reason")
    if form.is_valid():
        try:
            reason = services.lost_reason_create(name=form.cleaned_data["name"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added the lost reason “{reason.name}”.")
            if not request.htmx:
                return redirect(_index_url(f"reason-{reason.pk}"))
            return render(request, f"{INDEX_TEMPLATE}#reasons", _reasons_context(focus_add=True))
    if not request.htmx:
        return _index_page(request, status=400, reason_form=form)
    return render(request, f"{INDEX_TEMPLATE}#reasons", _reasons_context(form, focus_add=True), status=422)


@admin_required
@require_GET
def lost_reason_row(request, pk: int):
    if not request.htmx:
        return redirect(_index_url(f"reason-{pk}"))
    return render(request, f"{INDEX_TEMPLATE}#reason-row", _reason_row(_reason(pk), focus="edit"))


@admin_required
@require_http_methods(["GET", "POST"])
def lost_reason_edit(request, pk: int):
    reason = _reason(pk)
    form = LostReasonForm(request.POST or None, prefix=f"reason{reason.pk}", initial={"name": reason.name})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            old = reason.name
            try:
                services.lost_reason_update(reason=reason, name=form.cleaned_data["name"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, f"Renamed “{old}” to “{reason.name}”; lost deals keep it under the new "
                                          f"name." if old != reason.name else f"Saved “{reason.name}”.")
                if not request.htmx:
                    return redirect(_index_url(f"reason-{reason.pk}"))
                return render(request, f"{INDEX_TEMPLATE}#reason-row", _reason_row(reason, focus="edit"))
        status = _invalid(request)
        reason = _reason(pk)
    if request.htmx:
        return render(request, f"{INDEX_TEMPLATE}#reason-edit", _reason_row(reason, form=form), status=status)
    return render(request, "pipelines/settings_edit.html", {
        "title": TITLE, "heading": f"Rename the lost reason “{reason.name}”", "crumb": "Lost reasons",
        "crumb_url": _index_url("lost-reasons"), "partial": f"{INDEX_TEMPLATE}#reason-edit",
        **_reason_row(reason, form=form)}, status=status)


@admin_required
@require_POST
def lost_reason_move(request, pk: int):
    reason = _reason(pk)
    position = _position(request)
    focus = ""
    if position is None:
        messages.error(request, "Choose where to move the reason.")
    else:
        focus = "up" if position < reason.index else "down"
        services.lost_reason_move(reason=reason, position=position)
    if not request.htmx:
        return redirect(_index_url(f"reason-{reason.pk}"))
    context = _reasons_context(focus_reason=reason.pk)
    index = next(i for i, r in enumerate(context["reasons"]) if r.pk == reason.pk)
    if (focus, index) in (("up", 0), ("down", context["last_reason_position"])):
        focus = "down" if focus == "up" else "up"
    return render(request, f"{INDEX_TEMPLATE}#reasons", {**context, "focus": focus})


@admin_required
@require_POST
def lost_reason_active(request, pk: int):
    """Retire a lost reason (active=0) or bring it back (active=1)."""
    reason = _reason(pk)
    active = request.POST.get("active") == "1"
    services.lost_reason_update(reason=reason, is_active=active)
    messages.success(request, f"“{reason.name}” is offered again when a deal is lost." if active else
                     f"Retired “{reason.name}”: lost deals keep it, new ones cannot pick it.")
    if not request.htmx:
        return redirect(_index_url(f"reason-{reason.pk}"))
    return render(request, f"{INDEX_TEMPLATE}#reason-row", _reason_row(_reason(pk), focus="active"))


urlpatterns = [
    path("pipelines/", pipelines, name="pipelines"),
    path("pipelines/new/", pipeline_create, name="pipeline_create"),
    path("pipelines/<int:pk>/", pipeline, name="pipeline"),
    path("pipelines/<int:pk>/edit/", pipeline_edit, name="pipeline_edit"),
    path("pipelines/<int:pk>/delete/", pipeline_delete, name="pipeline_delete"),
    path("pipelines/<int:pk>/stages/", stage_add, name="stage_add"),
    path("pipelines/stages/<int:pk>/", stage_row, name="stage_row"),
    path("pipelines/stages/<int:pk>/edit/", stage_edit, name="stage_edit"),
    path("pipelines/stages/<int:pk>/move/", stage_move, name="stage_move"),
    path("pipelines/stages/<int:pk>/delete/", stage_delete, name="stage_delete"),
    path("pipelines/lost-reasons/", lost_reason_add, name="lost_reason_add"),
    path("pipelines/lost-reasons/<int:pk>/", lost_reason_row, name="lost_reason_row"),
    path("pipelines/lost-reasons/<int:pk>/edit/", lost_reason_edit, name="lost_reason_edit"),
    path("pipelines/lost-reasons/<int:pk>/move/", lost_reason_move, name="lost_reason_move"),
    path("pipelines/lost-reasons/<int:pk>/active/", lost_reason_active, name="lost_reason_active"),
]
