"""Forms of the lifecycle pages: the overview's period and the stage settings."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import dateformat, timezone

__all__ = ["OverviewPeriodForm", "Period", "StageForm", "add_service_errors", "days_choice"]

#: The overview's quick choices, in days.
PERIOD_DAYS = (7, 30, 90, 365)
DEFAULT_PERIOD_DAYS = 30
# Far enough for any real report, and keeps `end + 1 day` away from date.max.
EARLIEST, LATEST = date(1970, 1, 1), date(2100, 12, 31)


def days_choice(raw: str | None, choices: tuple[int, ...], default: int = 30) -> int:
    """A report's `?days=`: one of `choices`, else `default`. Matched as text, never parsed as a number, so "abc",
    "²", "-1", " 7" or a 5,000-digit number all mean the default."""
    return {str(days): days for days in choices}.get(raw or "", default)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's ValidationError on the form: by field when the form has that field, else at its top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@dataclass(frozen=True)
class Period:
    """Whole days in the current time zone, first and last day included."""

    first_day: date
    last_day: date
    #: 7, 30, 90 or 365 for a quick choice; None for custom dates.
    days: int | None = None

    @classmethod
    def last(cls, days: int, today: date) -> "Period":
        return cls(first_day=today - timedelta(days=days - 1), last_day=today, days=days)

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first_day, time.min))

    @property
    def end(self) -> datetime:
        """The first moment after the period: the selectors take [start, end)."""
        return timezone.make_aware(datetime.combine(self.last_day + timedelta(days=1), time.min))

    @property
    def dates(self) -> str:
        """"1 Mar 2025 – 31 Mar 2025", or one date for a one-day period."""
        if self.first_day == self.last_day:
            return dateformat.format(self.first_day, "j M Y")
        return f"{dateformat.format(self.first_day, 'j M Y')} – {dateformat.format(self.last_day, 'j M Y')}"

    @property
    def label(self) -> str:
        return f"Last {self.days} days ({self.dates})" if self.days else self.dates


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d", attrs={"min": EARLIEST.isoformat(), "max": LATEST.isoformat()})


class OverviewPeriodForm(forms.Form):
    """The overview's period, from the query string: ?days=90, or ?start=2025-01-01&end=2025-01-31."""

    days = forms.TypedChoiceField(choices=[(d, f"Last {d} days") for d in PERIOD_DAYS], coerce=int,
                                  required=False, empty_value=None)
    start = forms.DateField(label="From", required=False, widget=_DateInput())
    end = forms.DateField(label="To", required=False, widget=_DateInput())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        for name in ("start", "end"):
            value = cleaned.get(name)
            if value and not EARLIEST <= value <= LATEST:
                self.add_error(name, f"Choose a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        if self.errors:
            return cleaned
        if start and not end:
            self.add_error("end", "Choose the last day too.")
        elif end and not start:
            self.add_error("start", "Choose the first day too.")
        elif start and end and start > end:
            self.add_error("end", "The last day cannot be before the first day.")
        return cleaned

    def period(self, today: date | None = None) -> Period:
        """The chosen period; the last 30 days when nothing (valid) was chosen."""
        today = today or timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("start") and data.get("end"):
            return Period(first_day=data["start"], last_day=data["end"])
        return Period.last(data.get("days") or DEFAULT_PERIOD_DAYS, today)


class StageForm(forms.Form):
    """A stage's name and description, for adding and inline editing."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Give the stage a name."
