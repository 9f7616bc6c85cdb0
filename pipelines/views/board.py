"""The pipeline board: one column per stage, drag and drop, "Move to…", quick add, filters in the URL.

    /deals/                                            pipelines:board            the last board seen, or the first
    /deals/pipelines/<pk>/                             pipelines:pipeline_board   the board
    /deals/pipelines/<pk>/stages/<stage>/              pipelines:board_column     a column; ?after= its next cards
    /deals/pipelines/<pk>/stages/<stage>/add/          pipelines:deal_quick_add   POST title, value, currency
    /deals/<pk>/move/                                  pipelines:deal_move        POST stage, and position, after
                                                                                  or before (none: last)

The filters are DealFilterSet's (pipelines.board.BOARD_FILTERS), in the query string of every URL above, so
columns, moves and quick adds re-render with the totals the board shows. Reps see their own deals unless
they choose otherwise (`owner=` is "everyone"). The reads are pipelines.board's; writes call
pipelines.services. Deals the user may not see are a 404; moving needs pipelines.change_deal and adding
pipelines.add_deal (403 without). Bad input answers 400, or 422 to htmx with the re-rendered column(s).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from pipelines import board as board_reads
from pipelines import services
from pipelines.models import Deal, Pipeline, Stage
from pipelines.selectors import DealFilterSet, deal_owners_for, deals_visible_to
from users.permissions import has_role
from users.roles import Role

__all__ = ["MoveForm", "QuickAddForm", "board_column", "deal_move", "deal_quick_add", "index", "pipeline_board",
           "urlpatterns"]

TEMPLATE = "pipelines/board.html"
#: The session key of the board last opened, where /deals/ goes back to.
LAST_BOARD = "pipelines.board"


# --- Reading the request -----------------------------------------------------------------------------

def board_filters(request) -> QueryDict:
    """The board's filter parameters from the query string, without empty values (but an empty `owner`,
    which means everyone). A rep who did not choose an owner sees their own deals."""
    data = QueryDict(mutable=True)
    for key in board_reads.BOARD_FILTERS:
        if key in request.GET:
            value = request.GET.get(key, "").strip()
            if value or key == "owner":
                data[key] = value
    if "owner" not in data and has_role(request.user, Role.SALES_REP):
        data["owner"] = "me"
    return data


def _filtered(request, data: QueryDict) -> DealFilterSet:
    return DealFilterSet(data, queryset=Deal.objects.all(), request=request)


def _error_messages(errors) -> dict[str, str]:
    return {name: " ".join(str(m) for m in messages_) for name, messages_ in errors.items()}


def _forbidden(request) -> HttpResponse:
    return render(request, "pipelines/metrics_forbidden.html", {"title": "Deals"}, status=403)


def _optional_url(name: str, *args) -> str:
    """The URL of a page another part of the app may not have wired yet ("" if not)."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


def _board_url(pipeline_pk: int, query: str = "") -> str:
    url = reverse("pipelines:pipeline_board", args=[pipeline_pk])
    return f"{url}?{query}" if query else url


def _common(request, pipeline: Pipeline, data: QueryDict) -> dict:
    """What the page, its columns and its cards need besides the deals."""
    return {
        "pipeline": pipeline, "filter_query": data.urlencode(), "current": data.dict(),
        "can_move": request.user.has_perm("pipelines.change_deal"),
        "can_add": request.user.has_perm("pipelines.add_deal"),
        "board_url": _board_url(pipeline.pk), "now": timezone.now(),
    }


# --- The board -------------------------------------------------------------------------------------

@login_required
@require_GET
def index(request):
    """The board last opened in this session, else the first pipeline's; an empty state without pipelines."""
    if not request.user.has_perm("pipelines.view_deal"):
        return _forbidden(request)
    pipeline = None
    if last := request.session.get(LAST_BOARD):
        pipeline = Pipeline.objects.filter(pk=last).first()
    pipeline = pipeline or Pipeline.objects.order_by("name").first()
    if pipeline is not None:
        return redirect(_board_url(pipeline.pk, request.GET.urlencode()))
    return render(request, "pipelines/board_empty.html", {
        "title": "Deals", "settings_url": _optional_url("pipelines-settings:pipelines"),
        "is_admin": has_role(request.user, Role.ADMIN)})


def _owner_options(request) -> list[tuple[str, str]]:
    users = deal_owners_for(request.user).exclude(pk=request.user.pk).order_by("first_name", "last_name",
                                                                               "username")
    return [(str(user.pk), user.get_full_name() or user.username) for user in users]


@login_required
@require_GET
def pipeline_board(request, pk: int):
    """A pipeline's board: a column per stage with its totals and first cards, filtered by the URL."""
    if not request.user.has_perm("pipelines.view_deal"):
        return _forbidden(request)
    pipeline = get_object_or_404(Pipeline, pk=pk)
    if request.session.get(LAST_BOARD) != pipeline.pk:
        request.session[LAST_BOARD] = pipeline.pk
    data = board_filters(request)
    filterset = _filtered(request, data)
    context = {
        **_common(request, pipeline, data), "title": f"{pipeline.name} · Deals",
        "pipelines": list(Pipeline.objects.order_by("name")), "owner_options": _owner_options(request),
        "list_url": _optional_url("pipelines:deal_list"), "metrics_url": _optional_url("pipelines:metrics", pk),
        "filter_errors": {}, "board": None,
    }
    if not filterset.is_valid():
        context["filter_errors"] = _error_messages(filterset.errors)
        return render(request, TEMPLATE, context, status=400)
    deals = board_reads.board_deals(pipeline=pipeline, user=request.user, queryset=filterset.qs)
    context["board"] = board_reads.board(pipeline=pipeline, deals=deals)
    context["stages"] = [column.stage for column in context["board"].columns]
    context["filtered"] = any(data.values())
    if request.htmx and request.htmx.target == "board-columns":
        return render(request, f"{TEMPLATE}#columns", context)
    return render(request, TEMPLATE, context)


def _column_context(request, pipeline: Pipeline, stage: Stage, data: QueryDict, deals, **extra) -> dict:
    return {**_common(request, pipeline, data), "column": board_reads.column(stage=stage, deals=deals), **extra}


@login_required
@require_GET
def board_column(request, pk: int, stage_pk: int):
    """One column as the board shows it (to re-render it), or with ?after= its next page of cards."""
    if not request.user.has_perm("pipelines.view_deal"):
        return _forbidden(request)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_pk, pipeline_id=pk)
    pipeline = stage.pipeline
    data = board_filters(request)
    filterset = _filtered(request, data)
    if not filterset.is_valid():
        return HttpResponse(" ".join(_error_messages(filterset.errors).values()), status=400,
                            content_type="text/plain; charset=utf-8")
    deals = board_reads.board_deals(pipeline=pipeline, user=request.user, queryset=filterset.qs)
    if "after" not in request.GET:
        return render(request, "pipelines/_column.html", _column_context(request, pipeline, stage, data, deals))
    try:
        after = board_reads.parse_after(request.GET["after"])
    except ValueError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    cards, has_more = board_reads.column_page(stage=stage, deals=deals, after=after)
    column = board_reads.Column(stage=stage, totals=board_reads.ColumnTotals(), cards=cards, has_more=has_more)
    return render(request, "pipelines/_column_page.html", {**_common(request, pipeline, data), "column": column})


# --- Moving a card ------------------------------------------------------------------------------------

class MoveForm(forms.Form):
    """Where a card goes: a stage, and in it an index (`position`, 0 is the top), or the card it lands just
    after (`after`) or before (`before`), by id, as a drop on a filtered board says it; nothing means last."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.select_related("pipeline"), error_messages={
        "required": "Choose the stage to move the deal to.",
        "invalid_choice": "That stage does not exist any more; reload the board."})
    position = forms.IntegerField(min_value=0, required=False, error_messages={
        "invalid": "A position is a whole number: 0 is the top of the column.",
        "min_value": "A position is 0 or more."})
    after = forms.IntegerField(required=False, error_messages={"invalid": "Give the id of a card."})
    before = forms.IntegerField(required=False, error_messages={"invalid": "Give the id of a card."})

    def clean(self):
        cleaned = super().clean()
        given = [name for name in ("position", "after", "before") if cleaned.get(name) is not None]
        if len(given) > 1:
            raise forms.ValidationError("Give a position, or the card it goes after or before: one of them.")
        return cleaned

    def index(self, deal: Deal) -> int:
        """The index in the target stage for services.deal_move (ValidationError if the neighbour moved)."""
        data, stage = self.cleaned_data, self.cleaned_data["stage"]
        if stage.pipeline_id != deal.pipeline_id:
            return 0  # services.deal_move refuses it, saying why
        if data.get("position") is not None:
            return data["position"]
        for name in ("after", "before"):
            if data.get(name) is not None:
                return board_reads.index_next_to(deal=deal, stage=stage, neighbour_id=data[name],
                                                 after=name == "after")
        return Deal.objects.filter(status=Deal.Status.OPEN, stage=stage).exclude(pk=deal.pk).count()


def _next_url(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def deal_move(request, pk: int):
    """Put a deal in `stage` at `position`, or after/before another card (nothing: last), in one transaction
    (services.deal_move).

    To htmx: the card as it is now (swapped over the card) and both columns' headers (their totals) out of
    band; when refused, 422 with both columns re-rendered from the database, out of band, and the reason as a
    toast. Without htmx: back to the board, or 400.
    """
    deal = get_object_or_404(deals_visible_to(request.user).select_related("stage", "pipeline"), pk=pk)
    if not request.user.has_perm("pipelines.change_deal"):
        return _forbidden(request)
    source, pipeline = deal.stage, deal.pipeline
    form = MoveForm(request.POST)
    target = None
    if form.is_valid():
        target = form.cleaned_data["stage"]
        try:
            deal = services.deal_move(deal=deal, stage=target, position=form.index(deal), by=request.user)
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
    data = board_filters(request)
    filterset = _filtered(request, data)
    filters_ok = filterset.is_valid()
    if form.errors:
        text = " ".join(m for errors in form.errors.values() for m in errors)
        if not request.htmx:
            return render(request, "pipelines/board_move_error.html", {
                "title": "The deal was not moved", "deal": deal, "errors": _error_messages(form.errors),
                "board_url": _board_url(deal.pipeline_id, data.urlencode())}, status=400)
        messages.error(request, f"“{deal.title}” was not moved: {text}")
        stages = [source] + ([target] if target and target.pipeline_id == deal.pipeline_id and target != source
                             else [])
        columns = []
        if filters_ok:
            deals = board_reads.board_deals(pipeline=pipeline, user=request.user, queryset=filterset.qs)
            columns = [board_reads.column(stage=stage, deals=deals) for stage in stages]
        response = render(request, "pipelines/_move_result.html", {
            **_common(request, pipeline, data), "columns": columns}, status=422)
        response["HX-Reswap"] = "none"  # only the columns, out of band: the card they had is gone
        return response
    if request.POST.get("via") == "menu" or not request.htmx:
        messages.success(request, f"Moved “{deal.title}” to {deal.stage.name}.")
    if not request.htmx:
        return redirect(_next_url(request, _board_url(deal.pipeline_id, data.urlencode())))
    headers, cards = [], []
    if filters_ok:  # else the board shows nothing to update
        deals = board_reads.board_deals(pipeline=pipeline, user=request.user, queryset=filterset.qs)
        stages = [source] if source.pk == deal.stage_id else [source, deal.stage]
        totals = board_reads.column_totals(deals, stages)
        headers = [board_reads.Column(stage=stage, totals=totals[stage.pk], cards=[], has_more=False)
                   for stage in stages]
        # Empty when the deal no longer matches the filters (e.g. "stale only"): the card leaves the board.
        cards, _ = board_reads.column_page(stage=deal.stage, deals=deals.filter(pk=deal.pk))
    return render(request, "pipelines/_move_result.html", {
        **_common(request, pipeline, data), "headers": headers, "card": cards[0] if cards else None})


# --- Quick add ---------------------------------------------------------------------------------------

class QuickAddForm(forms.Form):
    title = forms.CharField(max_length=200, error_messages={"required": "Give the deal a title."})
    value = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2, required=False, error_messages={
        "invalid": "Enter the value as a number, like 12500.", "min_value": "A value is 0 or more."})
    currency = forms.CharField(max_length=3, required=False, error_messages={
        "max_length": "Use a three-letter ISO code, such as USD or EUR."})

    def __init__(self, *args, stage: Stage, **kwargs):
        super().__init__(*args, auto_id=f"add-{stage.pk}-%s", **kwargs)


@login_required
@require_POST
def deal_quick_add(request, pk: int, stage_pk: int):
    """A new deal at the end of a column, owned by whoever adds it (services.deal_create)."""
    if not request.user.has_perm("pipelines.add_deal"):
        return _forbidden(request)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=stage_pk, pipeline_id=pk)
    pipeline = stage.pipeline
    form = QuickAddForm(request.POST, stage=stage)
    deal = None
    data = board_filters(request)
    filterset = _filtered(request, data)
    if request.htmx and not filterset.is_valid():  # before the deal is made: the column cannot be shown
        return HttpResponse(" ".join(_error_messages(filterset.errors).values()), status=400,
                            content_type="text/plain; charset=utf-8")
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            deal = services.deal_create(
                title=cleaned["title"], pipeline=pipeline, stage=stage, value=cleaned["value"] or 0,
                currency=cleaned["currency"] or "USD", owner=request.user, by=request.user)
        except ValidationError as error:
            for name, errors in error.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
    if deal is not None:
        messages.success(request, f"Added “{deal.title}” to {stage.name}.")
    if not request.htmx:
        if deal is not None:
            return redirect(_board_url(pipeline.pk, data.urlencode()))
        return render(request, "pipelines/board_quick_add.html", {
            **_common(request, pipeline, data), "title": f"Add a deal to {stage.name}", "stage": stage,
            "add_form": form, "quick_add_column": board_reads.Column(
                stage=stage, totals=board_reads.ColumnTotals(), cards=[], has_more=False)}, status=400)
    deals = board_reads.board_deals(pipeline=pipeline, user=request.user, queryset=filterset.qs)
    context = _column_context(request, pipeline, stage, data, deals, add_open=True,
                              add_form=form if deal is None else None)
    return render(request, "pipelines/_column.html", context, status=200 if deal is not None else 422)


urlpatterns = [
    path("", index, name="board"),
    path("pipelines/<int:pk>/", pipeline_board, name="pipeline_board"),
    path("pipelines/<int:pk>/stages/<int:stage_pk>/", board_column, name="board_column"),
    path("pipelines/<int:pk>/stages/<int:stage_pk>/add/", deal_quick_add, name="deal_quick_add"),
    path("<int:pk>/move/", deal_move, name="deal_move"),
]
