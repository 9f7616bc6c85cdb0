"""Reads for the deal page (and its side panel) and the deal list: one deal with what hangs off it, and a
page of deals, sorted and filtered.

Every read here is a fixed number of queries whatever the number of rows, so neither page's query count
grows with its notes, tasks, history or deals (tests/pipelines/test_deal_list.py asserts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from contacts.models import Event, Note, Task
from contacts.timeline import type_label
from pipelines.models import Deal, DealStageHistory, Stage
from pipelines.selectors import deal_facts, deals_visible_to
from pipelines.templatetags.deals import money

__all__ = [
    "DEAL_SORTS", "DEFAULT_DEAL_SORT", "DealActivity", "DealStay", "StagePathStep", "deal_activity", "deal_for_page",
    "deal_history", "deal_notes", "deal_stage_path", "deal_tasks", "deals_for_list", "days_between",
]

#: How many of the deal's events the page shows (the rest are on its contacts' timelines).
ACTIVITY_SHOWN = 50

#: The list's sorts: name -> ORDER BY. Each ends with the primary key, so equal values keep one order and a
#: page boundary never repeats or skips a row.
DEAL_SORTS = {
    "title": [F("title").asc(), "id"],
    "-title": [F("title").desc(), "-id"],
    "value": ["value", "id"],
    "-value": ["-value", "-id"],
    "close": [F("expected_close_date").asc(nulls_last=True), "id"],
    "-close": [F("expected_close_date").desc(nulls_last=True), "-id"],
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
    "stage": ["pipeline__name", "pipeline_id", "stage__position", "position", "id"],
    "-stage": ["-pipeline__name", "-pipeline_id", "-stage__position", "-position", "-id"],
    "owner": [F("owner__first_name").asc(nulls_last=True), F("owner__last_name").asc(nulls_last=True),
              F("owner__username").asc(nulls_last=True), "id"],
    "-owner": [F("owner__first_name").desc(nulls_last=True), F("owner__last_name").desc(nulls_last=True),
               F("owner__username").desc(nulls_last=True), "-id"],
}
DEFAULT_DEAL_SORT = "-created"


def days_between(start: datetime | None, end: datetime | None = None) -> int | None:
    """Whole days from `start` to `end` (now by default); None without a start."""
    if start is None:
        return None
    return max(0, ((end or timezone.now()) - start).days)


def deal_for_page(user, pk: int) -> Deal:
    """The deal if `user` may see it (else 404), with what the page shows joined in and the card facts
    (is_stale, is_radio_silent, next task) annotated."""
    deals = deals_visible_to(user, Deal.objects.select_related(
        "pipeline", "stage", "owner", "contact", "account", "lost_reason").prefetch_related("other_contacts"))
    deal = get_object_or_404(deal_facts(deals), pk=pk)
    deal.days_in_stage = days_between(deal.stage_entered_at) if deal.status == Deal.Status.OPEN else None
    return deal


def deals_for_list(queryset: QuerySet, *, sort: str = DEFAULT_DEAL_SORT) -> QuerySet:
    """A filtered deal queryset as the list shows it: related rows joined, card facts annotated, sorted."""
    return (deal_facts(queryset.select_related("pipeline", "stage", "owner", "contact", "account"))
            .order_by(*DEAL_SORTS.get(sort, DEAL_SORTS[DEFAULT_DEAL_SORT])))


@dataclass(frozen=True)
class StagePathStep:
    stage: Stage
    current: bool
    visited: bool


def deal_stage_path(deal: Deal) -> list[StagePathStep]:
    """The pipeline's stages in order, the deal's current one and the ones it has been in marked (two queries)."""
    visited = set(DealStageHistory.objects.filter(deal=deal).values_list("stage_id", flat=True))
    return [StagePathStep(stage=stage, current=stage.pk == deal.stage_id, visited=stage.pk in visited)
            for stage in Stage.objects.filter(pipeline_id=deal.pipeline_id).order_by("position")]


@dataclass(frozen=True)
class DealStay:
    """One stay in a stage, as the history table shows it."""

    history: DealStageHistory
    duration: timedelta

    @property
    def days(self) -> int:
        return self.duration.days

    @property
    def hours(self) -> int:
        return int(self.duration.total_seconds() // 3600)


def deal_history(deal: Deal) -> list[DealStay]:
    """Every stay of the deal in a stage, newest first; an open stay lasts until now (one query)."""
    now = timezone.now()
    rows = (DealStageHistory.objects.filter(deal=deal).select_related("stage", "moved_by")
            .order_by("-entered_at", "-id"))
    return [DealStay(history=row, duration=(row.exited_at or now) - row.entered_at) for row in rows]


def deal_notes(deal: Deal) -> list[Note]:
    return list(Note.objects.filter(deal=deal).select_related("author", "contact").order_by("-created_at", "-id"))


@dataclass(frozen=True)
class DealTasks:
    open: list[Task]
    done: list[Task]


def deal_tasks(deal: Deal) -> DealTasks:
    """Open tasks by due time (overdue first), then done ones, newest first (one query)."""
    tasks = list(Task.objects.filter(deal=deal).select_related("assignee").order_by("done", "due_at", "id"))
    done = sorted((t for t in tasks if t.done), key=lambda t: (t.done_at or t.due_at), reverse=True)
    return DealTasks(open=[t for t in tasks if not t.done], done=done)


@dataclass
class DealActivity:
    """One thing that happened to the deal, from its contacts' timelines. An event recorded once per contact
    of the deal (a deal change is) shows once, naming them all."""

    event: Event
    label: str
    summary: str
    details: list[tuple[str, str]]
    contacts: list[str]


def _amount(value, currency) -> str:
    """An event's value and currency (strings, as recorded) as money; as recorded if they are not money."""
    try:
        return money(Decimal(str(value)), str(currency or "USD"))
    except (InvalidOperation, ValueError):
        return f"{value} {currency or ''}".strip()


def _summary(event: Event) -> tuple[str, list[tuple[str, str]]]:
    props = event.properties if isinstance(event.properties, dict) else {}
    details: list[tuple[str, str]] = []
    if event.type == "deal_moved":
        summary = f"{props.get('from', '?')} → {props.get('to', '?')}"
        if props.get("direction") == "backward":
            details.append(("direction", "backward"))
    elif event.type in ("deal_value_changed",):
        summary = f"{_amount(props.get('previous_value'), props.get('previous_currency'))} → " \
                  f"{_amount(props.get('value'), props.get('currency'))}"
    elif event.type == "deal_owner_changed":
        summary = f"{props.get('previous_owner') or 'nobody'} → {props.get('owner') or 'nobody'}"
    elif event.type == "deal_lost":
        summary = f"Reason: {props.get('reason', '—')}"
    elif event.type in ("deal_won", "deal_created"):
        summary = _amount(props["value"], props.get("currency")) if props.get("value") is not None else ""
        if props.get("stage"):
            details.append(("stage", str(props["stage"])))
    elif event.type == "deal_reopened":
        summary = f"Was {props.get('previous_status', '?')}; back in {props.get('stage', '?')}"
    else:
        summary = str(props.get("excerpt") or props.get("title") or "")
    return summary[:300], details


def deal_activity(deal: Deal, *, limit: int = ACTIVITY_SHOWN) -> list[DealActivity]:
    """The newest events about this deal on its contacts' timelines (`properties.deal_id`), newest first.

    Searched among the events of the deal's current contacts, so the (contact, occurred_at) index serves it;
    the events table has no index on properties. Two queries (the other contacts are prefetched by
    deal_for_page).
    """
    contacts = {c.pk: str(c) for c in deal.other_contacts.all()}
    if deal.contact_id:
        contacts[deal.contact_id] = str(deal.contact)
    if not contacts:
        return []
    events = list(Event.objects.filter(contact_id__in=list(contacts), properties__deal_id=deal.pk)
                  .order_by("-occurred_at", "-id")[:limit * 2])
    items: list[DealActivity] = []
    for event in events:
        summary, details = _summary(event)
        name = contacts.get(event.contact_id, "")
        previous = items[-1] if items else None
        # The same change recorded for each contact a moment apart: one line.
        if previous and previous.event.type == event.type and previous.summary == summary \
                and abs((previous.event.occurred_at - event.occurred_at).total_seconds()) < 2 \
                and event.type.startswith("deal_"):
            if name and name not in previous.contacts:
                previous.contacts.append(name)
            continue
        items.append(DealActivity(event=event, label=type_label(event.type), summary=summary, details=details,
                                  contacts=[name] if name else []))
    primary = contacts.get(deal.contact_id)
    for item in items:
        item.contacts.sort(key=lambda name: (name != primary, name.lower()))
    return items[:limit]
