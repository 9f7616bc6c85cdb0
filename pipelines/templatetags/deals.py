"""Template tags for deals: money with its currency, and the pipeline board's card.

    {% load deals %}
    {{ deal.value|money:deal.currency }}     $12,500 · €1,200.50 · "–" for no value
    {{ deal.owner|initials }}                AL
    {% deal_card deal %}                     a board card (context: pipeline, can_move, now)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, get_currency_symbol
from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

__all__ = ["deal_card", "initials", "money"]

register = template.Library()


@lru_cache(maxsize=512)
def _currency_style(currency: str) -> tuple[str, int]:
    """The en_US symbol of a currency ("$", "€", "CHF") and its number of decimals."""
    return get_currency_symbol(currency, locale="en_US"), get_currency_precision(currency)


@register.filter
def money(value, currency: str = "USD") -> str:
    """An amount in its currency, en_US conventions as babel's format_currency writes them; whole amounts
    without cents ("$100,000"). Written out here because a board formats hundreds of amounts."""
    if value is None or value == "":
        return "–"
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    symbol, digits = _currency_style((currency or "USD").upper())
    if amount == amount.to_integral_value():
        digits = 0
    return f"{'-' if amount < 0 else ''}{symbol}{abs(amount):,.{digits}f}"


@register.filter
def initials(user) -> str:
    """A user's initials for an avatar; "–" for nobody."""
    if user is None:
        return "–"
    return user.initials


# --- The board's card -----------------------------------------------------------------------------------
# A board draws up to 50 cards per column, 300 or more in all. Through a template, each card costs about a
# millisecond of variable lookups; built here it costs a twentieth of that, which keeps a full board within
# its server-time budget. The markup is the card's one definition (templates/pipelines/_card.html uses it).

_PK = 987654321


@lru_cache(maxsize=8)
def _url_pattern(name: str) -> str | None:
    """The URL of `name` for any deal id, as a format string (reverse() once, not per card)."""
    try:
        return reverse(name, args=[_PK]).replace(str(_PK), "{}")
    except NoReverseMatch:
        return None


def _days_label(days: int | None) -> str:
    if days is None:
        return ""
    text = "New in stage" if days <= 0 else f"{days} day{'s' if days != 1 else ''} in stage"
    return f'<span class="badge text-bg-light border" data-badge="days">{text}</span>'


def card_html(deal, *, can_move: bool, now: datetime, radio_silent_days: int | None = None) -> str:
    """A deal's card on the board: title (a link to the deal page that opens the side panel), value, contact
    and company, days in stage, the stale and radio-silent badges, the next open task, the owner's avatar, and
    the "Move to…" menu for those who may move it. `deal` comes from pipelines.board (deal_facts, days_in_stage).
    """
    pk = deal.pk
    detail = _url_pattern("pipelines:deal_detail")
    move = _url_pattern("pipelines:deal_move")
    title = escape(deal.title)
    parts = [
        f'<li class="board-card" id="deal-{pk}" data-deal="{pk}" data-position="{deal.position}" '
        f'data-stage="{deal.stage_id}" data-move-url="{move.format(pk) if move else ""}" data-testid="card">',
    ]
    if detail:
        url = detail.format(pk)
        parts.append(f'<a class="board-card-title" href="{url}" hx-get="{url}" hx-target="#deal-panel" '
                     f'hx-swap="innerHTML" hx-push-url="false" data-panel-link>{title}</a>')
    else:
        parts.append(f'<span class="board-card-title" data-panel-link tabindex="0">{title}</span>')
    parts.append(f'<div class="board-card-value">{escape(money(deal.value, deal.currency))}</div>')
    contact, account = deal.contact, deal.account
    if contact or account:
        who = " · ".join(escape(str(part)) for part in (contact, account.name if account else None) if part)
        parts.append(f'<div class="board-card-who small text-truncate">{who}</div>')
    badges = [_days_label(getattr(deal, "days_in_stage", None))]
    if getattr(deal, "is_stale", False):
        badges.append('<span class="badge text-bg-warning" data-badge="stale" '
                      'title="Longer in this stage than its rotting limit">Stale</span>')
    if getattr(deal, "is_radio_silent", False):
        quiet = f"No activity for {radio_silent_days} days" if radio_silent_days else "No recent activity"
        badges.append(f'<span class="badge text-bg-secondary" data-badge="radio-silent" title="{quiet}">'
                      f'Radio silent</span>')
    parts.append(f'<div class="board-card-badges">{"".join(badges)}</div>')
    task_title, due = getattr(deal, "next_task_title", None), getattr(deal, "next_task_due_at", None)
    if task_title:
        overdue = bool(due and due < now)
        when = ""
        if due:
            local = localtime(due)
            when = (f' · <time datetime="{local.isoformat()}">{"overdue, " if overdue else ""}'
                    f'{local.day} {local:%b}</time>')
        parts.append(f'<div class="board-card-task small{" text-danger" if overdue else ""}">'
                     f'<span class="visually-hidden">Next task: </span><span aria-hidden="true">☐ </span>'
                     f'{escape(task_title)}{when}</div>')
    owner = deal.owner
    if owner is not None:
        name = escape(owner.get_full_name() or owner.username)
        avatar = (f'<span class="avatar board-avatar" title="{name}" aria-hidden="true">{escape(owner.initials)}'
                  f'</span><span class="visually-hidden">Owner: {name}</span>')
    else:
        avatar = ('<span class="avatar board-avatar board-avatar-none" title="Unassigned" aria-hidden="true">?'
                  '</span><span class="visually-hidden">Unassigned</span>')
    menu = ""
    if can_move:
        menu = ('<div class="dropdown" data-no-drag><button type="button" class="btn btn-sm btn-link '
                'board-card-move dropdown-toggle" data-bs-toggle="dropdown" aria-expanded="false" '
                # Fixed, so the board's horizontal scroll box does not clip the menu.
                """data-bs-popper-config='{"strategy": "fixed"}' """
                f'data-move-toggle>Move to…<span class="visually-hidden"> {title}</span></button>'
                '<div class="dropdown-menu dropdown-menu-end" data-move-menu></div></div>')
    parts.append(f'<div class="board-card-foot">{avatar}{menu}</div></li>')
    return "".join(parts)


@register.simple_tag(takes_context=True)
def deal_card(context, deal) -> SafeString:
    """{% deal_card deal %}: the board card of `deal`, with can_move, now and pipeline from the context."""
    pipeline = context.get("pipeline")
    return mark_safe(card_html(  # noqa: S308 - every value in it is escaped above
        deal, can_move=bool(context.get("can_move")), now=context["now"],
        radio_silent_days=getattr(pipeline, "radio_silent_days", None)))
