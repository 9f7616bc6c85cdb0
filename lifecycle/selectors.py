"""Reads for the dashboard, shared by the HTML view and (later) the API."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import dateformat, timezone

from contacts.models import Contact
from pipelines.models import Deal
from users.permissions import visible_to

__all__ = ["DashboardSummary", "dashboard_summary"]


@dataclass(frozen=True)
class DashboardSummary:
    contact_count: int
    open_deal_count: int
    #: (currency, total value of open deals), largest first; deals in different currencies are never added up.
    pipeline_value: list[tuple[str, Decimal]]
    #: {"months": ["2025-01", ...], "labels": ["Jan 2025", ...], "counts": [3, ...]}, oldest first, ready for a chart.
    deals_per_month: dict[str, list]

    @property
    def deals_created_in_period(self) -> int:
        return sum(self.deals_per_month["counts"])


def _month_starts(today: date, months: int) -> list[date]:
    """The first day of each of the last `months` months, oldest first, ending with today's month."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def dashboard_summary(user, *, months: int = 12, now: datetime | None = None) -> DashboardSummary:
    """Counts of the contacts and deals the user may see, and the deals created per month.

    Months are calendar months in the current time zone; months without deals count 0.
    """
    now = timezone.localtime(now)
    deals = visible_to(Deal.objects.all(), user)

    open_by_currency = list(
        deals.filter(status=Deal.Status.OPEN)
        .values("currency")
        .annotate(total=Sum("value"), count=Count("id"))
        .order_by("-total", "currency")
    )

    month_starts = _month_starts(now.date(), months)
    since = timezone.make_aware(datetime.combine(month_starts[0], datetime.min.time()))
    created = {
        timezone.localtime(row["month"]).date(): row["count"]
        for row in deals.filter(created_at__gte=since)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(count=Count("id"))
        .order_by()
    }

    return DashboardSummary(
        contact_count=visible_to(Contact.objects.all(), user).count(),
        open_deal_count=sum(row["count"] for row in open_by_currency),
        pipeline_value=[(row["currency"], row["total"]) for row in open_by_currency],
        deals_per_month={
            "months": [f"{m:%Y-%m}" for m in month_starts],
            "labels": [dateformat.format(m, "M Y") for m in month_starts],
            "counts": [created.get(m, 0) for m in month_starts],
        },
    )
