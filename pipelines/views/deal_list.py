"""The deal list (/deals/list/): the board's filters (pipelines.selectors.DealFilterSet, the API's too),
search, sortable columns with a stable order, pages of 50, and bulk actions on the selected rows.

Only deals the user may see are listed, and a bulk action ignores any id outside them. Open deals are listed
unless a status is chosen (status=any lists all); as on the board, a sales rep sees their own deals unless
they choose another owner (an empty `owner=` is everyone they may see). htmx requests get the results fragment
(`deal_list.html#results`); without JavaScript every control is a plain link or form.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from contacts.page_selectors import assignable_users
from pipelines.bulk import ACTIONS, deals_bulk_apply
from pipelines.models import Deal, LostReason, Pipeline, Stage
from pipelines.page_selectors import DEAL_SORTS, DEFAULT_DEAL_SORT, days_between, deals_for_list
from pipelines.selectors import DealFilterSet, deal_owners_for, deals_visible_to
from pipelines.views.deal_common import board_url, money
from users.permissions import has_role
from users.roles import Role

__all__ = ["deal_bulk", "deal_list", "urlpatterns"]

TEMPLATE = "pipelines/deal_list.html"
PER_PAGE = 50
#: Sortable columns: name -> (label, the sort of the first click). A second click reverses it.
SORTABLE = {"title": ("Deal", "title"), "value": ("Value", "-value"), "stage": ("Stage", "stage"),
            "owner": ("Owner", "owner"), "close": ("Expected close", "close"), "created": ("Created", "-created")}
#: The filter parameters the list keeps in its URLs (DealFilterSet's, plus status/owner "any").
FILTER_KEYS = list(DealFilterSet.base_filters)


# --- Reading the query ---------------------------------------------------------------------------------

def _params(query: QueryDict) -> QueryDict:
    """The filter parameters as given, without empty values: what the list's links carry."""
    params = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        values = [value.strip() for value in query.getlist(key) if value.strip()]
        if values:
            params.setlist(key, values if key == "status" else values[-1:])
        elif key == "owner" and key in query:
            params[key] = ""  # as on the board: an empty owner is everyone (a rep's default is their own)
    return params


def _filter_data(params: QueryDict, user) -> QueryDict:
    """What the filter set gets: the defaults applied (open deals; a rep's own deals), "any" removed."""
    data = params.copy()
    statuses = data.getlist("status")
    if not statuses:
        data.setlist("status", [Deal.Status.OPEN])
    elif "any" in statuses:
        data.pop("status")
    if "owner" not in data:
        if has_role(user, Role.SALES_REP):
            data["owner"] = "me"
    elif data["owner"] in ("", "any"):
        data.pop("owner")
    return data


def _sort(query: QueryDict) -> str:
    sort = query.get("sort", "")
    return sort if sort in DEAL_SORTS else DEFAULT_DEAL_SORT


def _list_url(params: QueryDict, *, sort: str = DEFAULT_DEAL_SORT, page: int | None = None) -> str:
    query = params.copy()
    if sort != DEFAULT_DEAL_SORT:
        query["sort"] = sort
    if page and page > 1:
        query["page"] = str(page)
    text = query.urlencode()
    return reverse("pipelines:deal_list") + (f"?{text}" if text else "")


#: The filters the board also has: the "Board" link carries them over.
BOARD_KEYS = ("q", "owner", "stale", "radio_silent", "value_min", "value_max", "close_after", "close_before")


def _board_link(params: QueryDict) -> str:
    """The board of the pipeline the list is filtered on (else the last board seen), with the shared filters."""
    pipeline = params.get("pipeline", "")
    url = reverse("pipelines:pipeline_board", args=[pipeline]) if pipeline.isascii() and pipeline.isdigit() \
        else board_url()
    query = QueryDict(mutable=True)
    for key in BOARD_KEYS:
        if key in params:
            query[key] = params[key]
    return url + (f"?{query.urlencode()}" if query else "")


def _columns(params: QueryDict, sort: str) -> dict[str, dict]:
    columns = {}
    for name, (label, first) in SORTABLE.items():
        active = sort.lstrip("-") == name
        descending = sort.startswith("-")
        target = (name if descending else f"-{name}") if active else first
        columns[name] = {"label": label, "url": _list_url(params, sort=target),
                         "aria_sort": ("descending" if descending else "ascending") if active else "none"}
    return columns


def _options(user) -> dict:
    """What the filter controls and the bulk bar offer (four queries, whatever the number of deals)."""
    stages = list(Stage.objects.select_related("pipeline").order_by("pipeline__name", "pipeline_id", "position"))
    return {
        "pipelines": list(Pipeline.objects.order_by("name")),
        "stages": stages,
        "owners": [(str(owner.pk), str(owner)) for owner in assignable_users()],
        "new_owners": [(str(owner.pk), str(owner)) for owner in deal_owners_for(user)],
        "lost_reasons": list(LostReason.objects.filter(is_active=True)),
        "statuses": [("", "Open"), ("won", "Won"), ("lost", "Lost"), ("any", "Any status")],
    }


# --- The page ----------------------------------------------------------------------------------------

def _context(request, params: QueryDict, *, sort: str, page_number, bulk: dict | None = None,
             selected=()) -> tuple[dict, bool]:
    """Everything the list and its results fragment show; and whether the filter was valid."""
    filterset = DealFilterSet(_filter_data(params, request.user), queryset=deals_visible_to(request.user),
                              request=request)
    valid = filterset.is_valid()
    status = params.getlist("status")
    context = {
        "title": "Deals", "params": params, "sort": sort, "options": _options(request.user),
        "current": {key: params.get(key, "") for key in FILTER_KEYS},
        "current_owner": params.get("owner", "me" if has_role(request.user, Role.SALES_REP) else ""),
        "current_status": status[0] if len(status) == 1 else "",
        "filter_items": [(key, value) for key in params for value in params.getlist(key)],
        "filter_errors": {name: " ".join(errors) for name, errors in filterset.errors.items()},
        "columns": _columns(params, sort), "list_url": reverse("pipelines:deal_list"),
        "list_query": _list_url(params, sort=sort).partition("?")[2],
        "board_url": _board_link(params), "bulk_actions": ACTIONS, "bulk": bulk or {}, "selected": set(selected),
        "can_change": request.user.has_perm("pipelines.change_deal"),
        "is_rep": has_role(request.user, Role.SALES_REP), "page": None,
    }
    if not valid:
        return context, False
    paginator = Paginator(deals_for_list(filterset.qs, sort=sort), PER_PAGE)
    paginator.count = filterset.qs.order_by().count()  # without the card facts' joins and subqueries
    page = paginator.get_page(page_number)
    rows = list(page.object_list)
    for deal in rows:
        deal.value_display = money(deal.value, deal.currency)
        deal.days_in_stage = days_between(deal.stage_entered_at) if deal.status == Deal.Status.OPEN else None
    page.object_list = rows
    context.update({
        "page": page, "deals": rows,
        "previous_url": _list_url(params, sort=sort, page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": _list_url(params, sort=sort, page=page.next_page_number()) if page.has_next() else "",
        "page_number": page.number,
        "filtered": bool(params),
    })
    return context, True


def _render(request, context: dict, *, status: int = 200) -> HttpResponse:
    if request.htmx and request.htmx.target == "deal-results":
        return render(request, f"{TEMPLATE}#results", context, status=status)
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_GET
def deal_list(request):
    if not request.user.has_perm("pipelines.view_deal"):
        raise PermissionDenied("Your account has no role that may see deals. Ask an admin for one.")
    params, sort = _params(request.GET), _sort(request.GET)
    context, valid = _context(request, params, sort=sort, page_number=request.GET.get("page"))
    return _render(request, context, status=200 if valid else (422 if request.htmx else 400))


# --- Bulk actions ------------------------------------------------------------------------------------

class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "Choose an action…"), *ACTIONS.items()],
                               error_messages={"required": "Choose an action.",
                                               "invalid_choice": "Choose an action from the list."})
    bulk_owner = forms.ChoiceField(required=False)
    bulk_stage = forms.ModelChoiceField(queryset=Stage.objects.select_related("pipeline"), required=False,
                                        error_messages={"invalid_choice": "Choose a stage from the list."})
    bulk_reason = forms.ModelChoiceField(queryset=LostReason.objects.filter(is_active=True), required=False,
                                         error_messages={"invalid_choice": "Choose a reason from the list."})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["bulk_owner"].choices = [("", "Choose an owner…"), ("none", "Nobody (unassigned)")] + [
            (str(owner.pk), str(owner)) for owner in deal_owners_for(user)]
        self.ids = sorted({int(pk) for pk in self.data.getlist("ids")
                           if pk.isascii() and pk.isdigit()}) if self.data else []

    def clean(self):
        data = super().clean()
        needs = {"set_owner": ("bulk_owner", "Choose the new owner."),
                 "move_stage": ("bulk_stage", "Choose the stage to move the deals to."),
                 "lost": ("bulk_reason", "Choose why the deals were lost.")}.get(data.get("action"))
        if needs and not data.get(needs[0]):
            self.add_error(needs[0], needs[1])
        if not self.ids:
            self.add_error(None, "Select some deals first: tick the boxes of the rows to change.")
        return data

    def owner(self):
        value = self.cleaned_data["bulk_owner"]
        return None if value == "none" else deal_owners_for(self.user).get(pk=value)


@login_required
@require_POST
def deal_bulk(request):
    """Apply a bulk action to the selected deals (those the user may see), each through its service."""
    params, sort = _params(request.POST), _sort(request.POST)
    page_number = request.POST.get("page")
    form = BulkForm(request.POST, user=request.user)

    def again(status: int):
        context, _valid = _context(request, params, sort=sort, page_number=page_number, bulk={"form": form},
                                   selected=form.ids)
        return _render(request, context, status=status)

    if not request.user.has_perm("pipelines.change_deal"):
        form.add_error(None, "Your role may not change deals.")
        return again(403)
    if not form.is_valid():
        return again(422 if request.htmx else 400)
    deals = list(deals_visible_to(request.user, Deal.objects.filter(pk__in=form.ids))
                 .select_related("stage", "pipeline", "contact", "owner").order_by("pk"))
    if not deals:
        form.add_error(None, "None of the selected deals can be changed any more; reload the list.")
        return again(422 if request.htmx else 400)
    data = form.cleaned_data
    result = deals_bulk_apply(deals=deals, action=data["action"], by=request.user,
                              owner=form.owner() if data["action"] == "set_owner" else None,
                              stage=data["bulk_stage"], reason=data["bulk_reason"])
    (messages.success if result.done and not result.skipped
     else messages.warning)(request, result.message())
    if not request.htmx:
        return redirect(_list_url(params, sort=sort, page=int(page_number) if (page_number or "").isascii()
                                                    and (page_number or "").isdigit() else None))
    context, _valid = _context(request, params, sort=sort, page_number=page_number)
    return _render(request, context)


urlpatterns = [
    path("list/", deal_list, name="deal_list"),
    path("list/bulk/", deal_bulk, name="deal_bulk"),
]
