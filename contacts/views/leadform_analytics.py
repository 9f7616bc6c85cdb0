"""Form analytics at /forms/<pk>/analytics/ (docs/forms.md, "Form analytics").

A form's views, submissions, conversion rate and rejected submissions for the last 7, 30 or 90 days (cards, a
chart and the same numbers in a table), and its latest submissions, 25 a page.

- `form_days(form, days=...)` reads the period in ONE aggregate query over LeadFormDay and fills in the days
  without a row with zeros.
- `submission_rows(form, submissions, user=...)` turns a page of submissions into what the page shows, in two queries
  whatever the page size (the form's field labels, and which of the contacts the user may open).

Whoever may see the form list may see this page. A contact is linked only when the user may open it
(users.permissions.visible_to), like the deal page's contacts; otherwise it is named without a link and its
answers are not shown, since they are that contact's details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Sum
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from contacts.leadforms.publish import hosted_url
from contacts.models import Contact, LeadForm, LeadFormDay, LeadFormSubmission
from contacts.views.leadform_editor import may_edit
from users.permissions import visible_to

__all__ = ["DEFAULT_DAYS", "PER_PAGE", "PERIODS", "DaySummary", "FormDays", "SubmissionRow", "form_analytics",
           "form_days", "period_days", "submission_rows"]

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
PER_PAGE = 25


def period_days(raw: str | None) -> int:
    """The period `?days=` asks for; anything but exactly "7", "30" or "90" means the default, 30.

    Matched as text, never parsed as a number, so "abc", "²", "-1", " 7" or a 5,000-digit number all fall back.
    """
    return {str(days): days for days in PERIODS}.get(raw or "", DEFAULT_DAYS)


@dataclass(frozen=True)
class DaySummary:
    day: date
    views: int = 0
    submissions: int = 0
    rejected: int = 0


@dataclass
class FormDays:
    """Every day of a period, oldest first, zero-filled, and the period's totals."""

    start: date
    end: date
    days: list[DaySummary]
    views: int
    submissions: int
    rejected: int

    @property
    def rate(self) -> float | None:
        """Submissions per 100 views; None without views. Over 100 is possible: the plain HTML snippet is
        submitted without a counted view."""
        return 100 * self.submissions / self.views if self.views else None

    def chart(self) -> dict:
        """The chart's data (rendered with json_script): the same numbers as the table."""
        return {"labels": [f"{d.day:%-d %b}" for d in self.days], "days": [d.day.isoformat() for d in self.days],
                "views": [d.views for d in self.days], "submissions": [d.submissions for d in self.days]}


def form_days(form: LeadForm, *, days: int, today: date | None = None) -> FormDays:
    """The last `days` days up to and including `today` (UTC, as LeadFormDay counts them)."""
    end = today or timezone.now().date()
    start = end - timedelta(days=days - 1)
    rows = (LeadFormDay.objects.filter(form=form, day__gte=start, day__lte=end).order_by().values("day")
            .annotate(views=Sum("views"), submissions=Sum("submissions"), rejected=Sum("rejected")))
    counted = {row["day"]: row for row in rows}
    summaries = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        row = counted.get(day, {})
        summaries.append(DaySummary(day, row.get("views") or 0, row.get("submissions") or 0, row.get("rejected") or 0))
    return FormDays(start=start, end=end, days=summaries, views=sum(d.views for d in summaries),
                    submissions=sum(d.submissions for d in summaries), rejected=sum(d.rejected for d in summaries))


@dataclass
class SubmissionRow:
    """One submission as the page shows it. `answers` is None when the user may not open the contact."""

    submission: LeadFormSubmission
    contact_label: str = ""
    contact_url: str = ""
    answers: list[tuple[str, str]] | None = field(default_factory=list)


def _answer(value) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return "" if value is None else str(value)


def submission_rows(form: LeadForm, submissions, *, user) -> list[SubmissionRow]:
    """What the page shows of `submissions` (their contacts selected with them)."""
    submissions = list(submissions)
    if not submissions:
        return []
    fields = list(form.fields.all())
    labels = {f.target: f.label for f in fields} | {"consent": "Consent"}
    order = {f.target: i for i, f in enumerate(fields)} | {"consent": len(fields)}
    contact_ids = {s.contact_id for s in submissions if s.contact_id}
    openable = set(visible_to(Contact.objects.filter(pk__in=contact_ids), user).values_list("pk", flat=True))
    rows = []
    for submission in submissions:
        row = SubmissionRow(submission)
        if submission.contact_id is None:
            # Deleted: the person may have asked to be forgotten, so neither name nor answers are shown.
            row.contact_label, row.answers = "Deleted contact", None
        else:
            row.contact_label = str(submission.contact)
            if submission.contact_id in openable:
                row.contact_url = reverse("contacts:detail", args=[submission.contact_id])
            else:
                row.answers = None
        if row.answers is not None:
            data = submission.data if isinstance(submission.data, dict) else {}
            keys = sorted(data, key=lambda key: (order.get(key, len(order)), str(key)))
            row.answers = [(labels.get(key, str(key)), _answer(data[key])) for key in keys]
        rows.append(row)
    return rows


@login_required
@require_GET
def form_analytics(request, pk: int):
    form = get_object_or_404(LeadForm, pk=pk)
    days = period_days(request.GET.get("days"))
    period = form_days(form, days=days)
    submissions = LeadFormSubmission.objects.filter(form=form).select_related("contact").order_by("-submitted_at",
                                                                                                    "-id")
    page = Paginator(submissions, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "contacts/leadform_analytics.html", {
        "title": f"{form.name}: analytics", "lead_form": form, "days": days, "periods": PERIODS, "period": period,
        "chart": period.chart(), "page": page, "rows": submission_rows(form, page.object_list, user=request.user),
        "hosted_url": hosted_url(form), "may_edit": may_edit(request.user),
    })
