"""What the form analytics page shows (docs/forms.md, "Form analytics"), read from the database.

- `forms_totals(form_ids, days=...)`: views and submissions per form for the forms list, in one query.
- `form_days(form, days=...)` reads the period in ONE aggregate query over LeadFormDay and fills in the days
  without a row with zeros.
- `submission_rows(form, submissions, user=...)` turns a page of submissions into what the page shows, in two
  queries whatever the page size (the form's field labels, and which of the contacts the user may open). A contact
  is linked only when the user may open it (users.permissions.visible_to); otherwise it is named without a link
  and its answers are not shown, since they are that contact's details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, LeadForm, LeadFormDay, LeadFormSubmission
from users.permissions import visible_to

__all__ = ["DaySummary", "FormDays", "SubmissionRow", "conversion_rate", "form_days", "forms_totals",
           "submission_rows"]


def conversion_rate(views: int, submissions: int) -> float | None:
    """Submissions per 100 views; None without views. Over 100 is possible: the plain HTML snippet is submitted
    without a counted view."""
    return 100 * submissions / views if views else None


def forms_totals(form_ids, *, days: int, today: date | None = None) -> dict[int, tuple[int, int]]:
    """{form id: (views, submissions)} over the last `days` days, for the forms list: one query for the page."""
    since = (today or timezone.now().date()) - timedelta(days=days - 1)
    rows = (LeadFormDay.objects.filter(form__in=list(form_ids), day__gte=since).order_by().values("form")
            .annotate(views=Sum("views"), submissions=Sum("submissions")))
    return {row["form"]: (row["views"] or 0, row["submissions"] or 0) for row in rows}


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
        return conversion_rate(self.views, self.submissions)

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
