"""Reading deals: who may see which, the filters shared by the board, the list and the API, and the facts a
card shows (days in stage, stale, radio silent, next task), computed in SQL.

Every filter is a query parameter:

    pipeline=3   stage=12   status=open|won|lost (repeat for several)
    owner=7 | owner=me | owner=none
    stale=true          open deals longer in their stage than its rotting limit
    radio_silent=true   open deals with no activity for the pipeline's radio-silent days
    value_min=1000&value_max=50000
    close_after=2026-01-01&close_before=2026-04-01   expected close date (before is exclusive)
    contact=42          primary or other contact;  account=9
    q=acme              title, contact name or email, or company contains
"""

from __future__ import annotations

from datetime import datetime

import django_filters
from django.conf import settings
from django.core.validators import RegexValidator
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from contacts.models import Task
from pipelines.models import Deal
from users.models import User
from users.permissions import visible_to
from users.roles import Role

__all__ = ["DealFilterSet", "deal_facts", "deal_owners_for", "deals_visible_to", "radio_silent_q", "stale_q"]


class Days(Func):
    """make_interval(days => n): an interval of a column's number of days."""

    function = "make_interval"
    template = "%(function)s(days => %(expressions)s)"
    output_field = DurationField()


def deals_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The deals this user may see and work on (see users.permissions.visible_to)."""
    return visible_to(Deal.objects.all() if queryset is None else queryset, user)


def deal_owners_for(user) -> QuerySet:
    """The active users `user` may give a deal to: those whose deals `user` may see, so a deal never leaves
    the hands of whoever assigns it (admins and marketers: anyone; managers: themselves and their team;
    reps: themselves, or anyone when REPS_SEE_ALL_DEALS is on). Mirrors users.permissions.visible_to."""
    users = User.objects.filter(is_active=True)
    if not (user and user.is_authenticated):
        return users.none()
    role = user.role
    if role in (Role.ADMIN, Role.MARKETER) or (role is Role.SALES_REP and settings.REPS_SEE_ALL_DEALS):
        return users
    if role is Role.MANAGER:
        return users.filter(Q(pk=user.pk) | Q(team_id=user.team_id)) if user.team_id else users.filter(pk=user.pk)
    if role is Role.SALES_REP:
        return users.filter(pk=user.pk)
    return users.none()


def _ago(days_column: str, now: datetime):
    return ExpressionWrapper(Value(now) - Days(F(days_column)), output_field=DateTimeField())


def stale_q(now: datetime | None = None) -> Q:
    """Open deals that sat in their stage longer than the stage's rotting limit."""
    now = now or timezone.now()
    return Q(status=Deal.Status.OPEN, stage__rotting_days__isnull=False,
             stage_entered_at__lt=_ago("stage__rotting_days", now))


def _last_touched():
    # PostgreSQL's GREATEST skips NULLs: the later of the deal's own activity and its contact's.
    return Greatest("last_activity_at", "contact__last_activity_at", "created_at")


def radio_silent_q(now: datetime | None = None) -> Q:
    """Open deals with no activity (deal change, note, task, email or other event of the contact) for the
    pipeline's radio-silent days."""
    now = now or timezone.now()
    return Q(status=Deal.Status.OPEN) & Q(
        Q(last_activity_at__lt=_ago("pipeline__radio_silent_days", now))
        | Q(last_activity_at__isnull=True)
    ) & Q(Q(contact__isnull=True) | Q(contact__last_activity_at__isnull=True)
          | Q(contact__last_activity_at__lt=_ago("pipeline__radio_silent_days", now)))


def deal_facts(queryset: QuerySet, now: datetime | None = None) -> QuerySet:
    """Annotate what a card or row shows: `is_stale`, `is_radio_silent`, `last_touched_at`, and the next open
    task (`next_task_title`, `next_task_due_at`). Days in stage come from `stage_entered_at`."""
    now = now or timezone.now()
    next_task = Task.objects.filter(deal=OuterRef("pk"), done=False).order_by("due_at", "id")
    return queryset.annotate(
        is_stale=Case(When(stale_q(now), then=Value(True)), default=Value(False), output_field=BooleanField()),
        is_radio_silent=Case(When(radio_silent_q(now), then=Value(True)), default=Value(False),
                             output_field=BooleanField()),
        last_touched_at=_last_touched(),
        next_task_title=Subquery(next_task.values("title")[:1]),
        next_task_due_at=Subquery(next_task.values("due_at")[:1]),
    )


class DealFilterSet(django_filters.FilterSet):
    """The deal filters of the board, the deal list, their bulk actions and the API."""

    q = django_filters.CharFilter(method="search", help_text="Title, contact or company contains.")
    pipeline = django_filters.NumberFilter(field_name="pipeline_id")
    stage = django_filters.NumberFilter(field_name="stage_id")
    # distinct=False: a column of the deal itself, so no row repeats; DISTINCT would make every count and page
    # compare whole rows (with the card facts) for nothing.
    status = django_filters.MultipleChoiceFilter(choices=Deal.Status.choices, help_text="Repeat for several.",
                                                 distinct=False)
    owner = django_filters.CharFilter(method="filter_owner", help_text="A user id, `me` or `none`.",
                                      validators=[RegexValidator(r"^(\d+|me|none)$", "Give a user id, me or none.")])
    stale = django_filters.BooleanFilter(method="filter_stale",
                                         help_text="Open deals in their stage longer than its rotting limit.")
    radio_silent = django_filters.BooleanFilter(method="filter_radio_silent",
                                                help_text="Open deals with no activity for the pipeline's "
                                                          "radio-silent days.")
    value_min = django_filters.NumberFilter(field_name="value", lookup_expr="gte")
    value_max = django_filters.NumberFilter(field_name="value", lookup_expr="lte")
    close_after = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="gte",
                                            help_text="Expected close on or after this date.")
    close_before = django_filters.DateFilter(field_name="expected_close_date", lookup_expr="lt",
                                             help_text="Expected close before this date.")
    contact = django_filters.NumberFilter(method="filter_contact", help_text="The primary or another contact.")
    account = django_filters.NumberFilter(field_name="account_id")

    class Meta:
        model = Deal
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        self.now = timezone.now()

    def search(self, queryset, _name, value):
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(title__icontains=text) | Q(contact__search__contains=text.lower())
            | Q(account__name__icontains=text))

    def filter_owner(self, queryset, _name, value):
        value = value.strip().lower()
        if value == "me":
            user = self.request.user if self.request else None
            return queryset.filter(owner_id=user.pk if user and user.is_authenticated else None)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value))

    def filter_stale(self, queryset, _name, value):
        if value is None:
            return queryset
        return queryset.filter(stale_q(self.now)) if value else queryset.exclude(stale_q(self.now))

    def filter_radio_silent(self, queryset, _name, value):
        if value is None:
            return queryset
        rule = radio_silent_q(self.now)
        return queryset.filter(rule) if value else queryset.exclude(rule)

    def filter_contact(self, queryset, _name, value):
        if value is None:
            return queryset
        return queryset.filter(Q(contact_id=value) | Q(other_contacts__id=value)).distinct()

    def is_valid(self) -> bool:
        valid = super().is_valid()
        data = self.form.cleaned_data if valid else {}
        low, high = data.get("value_min"), data.get("value_max")
        if low is not None and high is not None and low > high:
            self.form.add_error("value_max", "The highest value is below the lowest.")
            return False
        return valid
