"""What the deal page, its side panel and the deal list share: finding the deal, permission checks, the
"deal changed" htmx event, and money as text."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlparse

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from pipelines.models import Deal
from pipelines.page_selectors import deal_for_page
from pipelines.templatetags.deals import money as money_filter

__all__ = ["DEAL_CHANGED", "board_url", "deal_changed", "in_panel", "money", "page_deal", "require_perm",
           "with_status"]

#: The htmx event (HX-Trigger) every write on a deal fires, with {"id": pk}: the deal page reloads its
#: timeline, and a board showing the deal can refresh its card.
DEAL_CHANGED = "deal-changed"


def require_perm(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def page_deal(request, pk: int, *, perm: str | None = None) -> Deal:
    """The deal if the user may see it (else 404, never 403: its existence is not revealed), after checking
    `perm` (else 403)."""
    deal = deal_for_page(request.user, pk)
    if perm:
        require_perm(request, perm)
    return deal


def deal_changed(response: HttpResponse, deal: Deal | int) -> HttpResponse:
    """Tell the page the deal changed. JSON, because HtmxMessagesMiddleware merges messages into it."""
    trigger = json.loads(response.get("HX-Trigger", "{}") or "{}")
    trigger[DEAL_CHANGED] = {"id": deal if isinstance(deal, int) else deal.pk}
    response["HX-Trigger"] = json.dumps(trigger)
    return response


def with_status(request, ok: bool) -> int:
    """200, or the status a form with errors comes back with: 422 for htmx (swapped in), 400 otherwise."""
    if ok:
        return 200
    return 422 if request.htmx else 400


def in_panel(request, deal: Deal) -> bool:
    """Whether an htmx request comes from the side panel (on the board or elsewhere) rather than the deal's
    own page: fragments are the same, only the heading level differs."""
    if not request.htmx:
        return False
    current = urlparse(request.htmx.current_url or "").path
    return current != reverse("pipelines:deal_detail", args=[deal.pk])


def money(value: Decimal | None, currency: str) -> str:
    """An amount with its currency as the board shows it ("$12,500", "€1,200.50"); "" for none."""
    return "" if value is None else money_filter(value, currency)


def board_url(deal: Deal | None = None) -> str:
    """The deal's pipeline board, or the boards' entry page (the board may be wired under either name)."""
    if deal is not None:
        try:
            return reverse("pipelines:pipeline_board", args=[deal.pipeline_id])
        except NoReverseMatch:
            pass
    return reverse("pipelines:board")
