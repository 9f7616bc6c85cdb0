"""Pipeline metrics, the pipeline review and the pipeline size calculator.

    /deals/pipelines/<pk>/metrics/   pipelines:metrics     ?period=month|quarter|year or ?from=&to=, ?owner= or ?team=
    /deals/review/                   pipelines:review      ?pipeline=
    /deals/calculator/               pipelines:calculator  ?target=&period=&reps=&average_deal_size=&close_rate=

The numbers come from pipelines.metrics (the metrics API uses the same selector and the same query form).
Bad input answers 400 with the messages by their fields (422 to htmx, which swaps it in).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from lifecycle.forms import Period
from pipelines.metrics import (
    DEFINITIONS,
    PipelineMetrics,
    calculator_history,
    format_money,
    pipeline_metrics,
    pipeline_review,
    pipeline_size,
    review_teams,
    review_users,
)
from pipelines.models import Pipeline
from users.models import User

__all__ = ["CalculatorForm", "MetricsQueryForm", "calculator", "metrics", "review", "urlpatterns"]

# Far enough for any real report; keeps month series and date arithmetic sane.
EARLIEST, LATEST = date(1970, 1, 1), date(2100, 12, 31)
LONGEST_PERIOD_DAYS = 3700  # about ten years

PRESETS = {"month": "This month", "quarter": "This quarter", "year": "This year"}
DEFAULT_PRESET = "quarter"


def preset_period(preset: str, today: date) -> Period:
    """This month, quarter or year, whole, in the current time zone."""
    if preset == "month":
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
    elif preset == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        following = (first + timedelta(days=95)).replace(day=1)
    else:
        first = today.replace(month=1, day=1)
        following = first.replace(year=first.year + 1)
    return Period(first_day=first, last_day=following - timedelta(days=1))


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d", attrs={"min": EARLIEST.isoformat(), "max": LATEST.isoformat()})


class MetricsQueryForm(forms.Form):
    """The metrics' period and whose deals count, from the query string (the page's and the API's).

    `period` is month, quarter or year (this one, whole); `from` and `to` (dates, both included) give any other
    period and win over `period`. `owner` (a user id) or `team` (a team id) narrows the deals to theirs;
    only people and teams the user reviews may be chosen.
    """

    period = forms.ChoiceField(choices=[*PRESETS.items(), ("custom", "Custom")], required=False,
                               error_messages={"invalid_choice": "Choose month, quarter, year or custom."})
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, error_messages={
        "invalid_choice": "Choose one of the people whose deals you review."})
    team = forms.ModelChoiceField(queryset=User.objects.none(), required=False, error_messages={
        "invalid_choice": "Choose one of your teams."})

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        # "from" is a Python keyword, so these two are added here rather than declared.
        self.fields["from"] = forms.DateField(label="From", required=False, widget=_DateInput(),
                                              error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
        self.fields["to"] = forms.DateField(label="To", required=False, widget=_DateInput(),
                                            error_messages={"invalid": "Enter a date as YYYY-MM-DD."})
        self.fields["owner"].queryset = review_users(user)
        self.fields["team"].queryset = review_teams(user)
        self.order_fields(["period", "from", "to", "owner", "team"])

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("from"), cleaned.get("to")
        for name in ("from", "to"):
            value = cleaned.get(name)
            if value and not EARLIEST <= value <= LATEST:
                self.add_error(name, f"Choose a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        if cleaned.get("owner") and cleaned.get("team"):
            self.add_error("team", "Choose an owner or a team, not both.")
        if self.errors:
            return cleaned
        if first and not last:
            self.add_error("to", "Choose the last day too.")
        elif last and not first:
            self.add_error("from", "Choose the first day too.")
        elif first and last and first > last:
            self.add_error("to", "The last day cannot be before the first day.")
        elif first and last and (last - first).days >= LONGEST_PERIOD_DAYS:
            self.add_error("to", "Choose a period of at most ten years.")
        elif cleaned.get("period") == "custom" and not first:
            self.add_error("from", "Choose the first and the last day of the period.")
        return cleaned

    @property
    def preset(self) -> str | None:
        """month, quarter or year; None for custom dates."""
        data = self.cleaned_data
        if data.get("from"):
            return None
        return data.get("period") or DEFAULT_PRESET

    def chosen_period(self, today: date | None = None) -> Period:
        data = self.cleaned_data
        if self.preset is None:
            return Period(first_day=data["from"], last_day=data["to"])
        return preset_period(self.preset, today or timezone.localdate())

    def owners(self) -> QuerySet | list[int] | None:
        """The owner ids to count, or None for everyone the user may see."""
        if owner := self.cleaned_data.get("owner"):
            return [owner.pk]
        if team := self.cleaned_data.get("team"):
            return User.objects.filter(team=team).values("pk")
        return None

    def query(self, **changes) -> str:
        """The current owner and team choice (and the period, unless changed) as a query string."""
        data = {"owner": self.data.get("owner", ""), "team": self.data.get("team", "")}
        if not changes:
            data.update({key: self.data.get(key, "") for key in ("period", "from", "to")})
        data.update(changes)
        return urlencode({key: value for key, value in data.items() if value})


def _forbidden(request):
    return render(request, "pipelines/metrics_forbidden.html", {"title": "Deals"}, status=403)


def _may_see_deals(request) -> bool:
    return request.user.has_perm("pipelines.view_deal")


# --- Display --------------------------------------------------------------------------------------------------

def _percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio * 100:.1f}%".replace(".0%", "%")


def _days(days: float | None) -> str:
    if days is None:
        return "–"
    text = f"{days:,.1f}".removesuffix(".0")
    return f"{text} day" if text == "1" else f"{text} days"


def metric_cards(m: PipelineMetrics) -> list[dict]:
    """The numbers as cards: label, value, a line of detail, and the definition for the help popover."""
    money = lambda value: format_money(value, m.currency)  # noqa: E731 - a local shorthand
    no_wins = "No deal won in this period: not enough history."
    cards = [
        {"key": "open_deals", "label": "Open deals", "value": f"{m.open_count:,}",
         "detail": f"{money(m.open_value)} in all · {money(m.weighted_open_value)} weighted"},
        {"key": "average_deal_size", "label": "Average deal size", "value": money(m.average_deal_size),
         "detail": f"{m.won_count:,} won for {money(m.won_value)}" if m.won_count else no_wins},
        {"key": "close_ratio", "label": "Close ratio", "value": _percent(m.close_ratio),
         "detail": f"{m.won_count:,} won, {m.lost_count:,} lost" if m.closed_count else "No deal closed in this "
                                                                                       "period."},
        {"key": "sales_cycle", "label": "Sales cycle", "value": _days(m.sales_cycle_median_days),
         "detail": f"median; mean {_days(m.sales_cycle_mean_days)}" if m.won_count else no_wins},
        {"key": "deal_lifetime", "label": "Average deal lifetime", "value": _days(m.deal_lifetime_mean_days),
         "detail": "created to won or lost" if m.closed_count else "No deal closed in this period."},
        {"key": "velocity", "label": "Pipeline velocity",
         "value": f"{money(m.velocity)} / day" if m.velocity is not None else "Not enough history",
         "detail": "money the pipeline brings in per day" if m.velocity is not None else no_wins,
         "muted": m.velocity is None},
    ]
    return [{**card, "help": DEFINITIONS[card["key"]]} for card in cards]


def stage_table(m: PipelineMetrics) -> list[dict]:
    money = lambda value: format_money(value, m.currency)  # noqa: E731 - a local shorthand
    return [{
        "name": s.stage.name, "probability": s.stage.probability, "open_count": s.open_count,
        "open_value": money(s.open_value), "weighted_value": money(s.weighted_value), "entered": s.entered,
        "advanced": s.advanced, "conversion": "–" if s.conversion is None else _percent(s.conversion),
        "is_last": index == len(m.stages) - 1, "stays": s.stays, "average_days": _days(s.average_days),
    } for index, s in enumerate(m.stages)]


# --- Pages ----------------------------------------------------------------------------------------------------

@login_required
@require_GET
def metrics(request, pk: int):
    """A pipeline's numbers for a period, as cards and charts, with each definition in a help popover."""
    if not _may_see_deals(request):
        return _forbidden(request)
    pipeline = get_object_or_404(Pipeline, pk=pk)
    form = MetricsQueryForm(request.GET, user=request.user)
    context = {"title": f"{pipeline.name}: metrics", "pipeline": pipeline, "form": form,
               "pipelines": Pipeline.objects.order_by("name"), "definitions": DEFINITIONS, "presets": PRESETS,
               "section": "metrics"}
    if not form.is_valid():
        return render(request, "pipelines/metrics.html", context, status=400)
    period = form.chosen_period()
    result = pipeline_metrics(pipeline, start=period.start, end=period.end, user=request.user,
                              owners=form.owners())
    money = lambda value: format_money(value, result.currency)  # noqa: E731 - a local shorthand
    context.update({
        "period": period, "preset": form.preset, "m": result, "cards": metric_cards(result),
        "stage_rows": stage_table(result), "owner": form.cleaned_data.get("owner"),
        "has_closes": any(point.won or point.lost for point in result.months),
        "has_stays": any(stage.stays for stage in result.stages),
        "team": form.cleaned_data.get("team"),
        "forecast": {"velocity": money(result.forecast_by_velocity) if result.velocity is not None else None,
                     "weighted": money(result.forecast_weighted), "expected_value": money(result.expected_value)},
        "preset_links": [(key, label, "?" + form.query(period=key)) for key, label in PRESETS.items()],
        "filter_query": form.query(),
    })
    return render(request, "pipelines/metrics.html", context)


class ReviewForm(forms.Form):
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.order_by("name"), required=False,
                                      empty_label="All pipelines",
                                      error_messages={"invalid_choice": "Choose one of the pipelines."})


@login_required
@require_GET
def review(request):
    """Per rep the viewer reviews: open deals, stale, slipping, overdue tasks, and the next steps."""
    if not _may_see_deals(request):
        return _forbidden(request)
    form = ReviewForm(request.GET)
    context = {"title": "Pipeline review", "form": form, "section": "review"}
    if not form.is_valid():
        return render(request, "pipelines/review.html", context, status=400)
    pipeline = form.cleaned_data.get("pipeline")
    result = pipeline_review(request.user, pipeline=pipeline)
    context.update({"review": result, "pipeline": pipeline, "metrics_pipeline": pipeline or Pipeline.objects.order_by(
        "name").first(), "now": timezone.now()})
    return render(request, "pipelines/review.html", context)


class CalculatorForm(forms.Form):
    """The calculator's inputs. A blank average deal size or close rate is taken from the last 12 months."""

    target = forms.DecimalField(label="Target revenue", max_digits=16, decimal_places=2, error_messages={
        "required": "Enter the revenue you aim for.", "invalid": "Enter the target as a number, like 100000."})
    period = forms.ChoiceField(choices=list(PRESETS.items()), initial=DEFAULT_PRESET, required=False,
                               error_messages={"invalid_choice": "Choose this month, quarter or year."})
    reps = forms.IntegerField(label="Number of reps", initial=1, error_messages={
        "required": "Enter how many reps share the work.", "invalid": "Enter a whole number of reps."})
    average_deal_size = forms.DecimalField(label="Average deal size", max_digits=16, decimal_places=2,
                                           required=False,
                                           error_messages={"invalid": "Enter the deal size as a number."})
    close_rate = forms.DecimalField(label="Close rate (%)", max_digits=5, decimal_places=1, required=False,
                                    error_messages={"invalid": "Enter the close rate as a number of percent."})

    def __init__(self, data=None, *, history, **kwargs):
        super().__init__(data, **kwargs)
        self.history = history

    def clean_target(self):
        value = self.cleaned_data["target"]
        if value <= 0:
            raise forms.ValidationError("The target must be more than 0.")
        return value

    def clean_reps(self):
        value = self.cleaned_data["reps"]
        if value < 1:
            raise forms.ValidationError("You need at least one rep.")
        if value > 100_000:
            raise forms.ValidationError("Enter at most 100,000 reps.")
        return value

    def clean_average_deal_size(self):
        value = self.cleaned_data["average_deal_size"]
        if value is None:
            value = self.history.average_deal_size
            if value is None:
                raise forms.ValidationError("Enter an average deal size: no deal was won in the last 12 months "
                                            "to take it from.")
        if value <= 0:
            raise forms.ValidationError("The average deal size must be more than 0.")
        return value

    def clean_close_rate(self):
        value = self.cleaned_data["close_rate"]
        if value is None:
            value = self.history.close_rate
            if value is None:
                raise forms.ValidationError("Enter a close rate: no deal was won in the last 12 months to take it "
                                            "from.")
        if not 0 < value <= 100:
            raise forms.ValidationError("A close rate is more than 0% and at most 100%.")
        return value


CALCULATOR_FIELDS = ("target", "period", "reps", "average_deal_size", "close_rate")


@login_required
@require_GET
def calculator(request):
    """The pipeline size calculator: how many deals and leads a revenue target takes, per rep.

    Opened plainly (or with only ?pipeline=) it pre-fills the average deal size and close rate from the last 12
    months of that pipeline (or all); every change is a what-if, a GET, so it works without JavaScript, and
    htmx swaps the result in as you type.
    """
    if not _may_see_deals(request):
        return _forbidden(request)
    source = ReviewForm(request.GET)
    pipeline = source.cleaned_data.get("pipeline") if source.is_valid() else None
    history = calculator_history(request.user, pipeline=pipeline)
    submitted = any(name in request.GET for name in CALCULATOR_FIELDS)
    initial = {"period": DEFAULT_PRESET, "reps": max(1, review_users(request.user).count()),
               "average_deal_size": history.average_deal_size, "close_rate": history.close_rate}
    form = CalculatorForm(request.GET if submitted else None, history=history, initial=initial)
    size = None
    if submitted and form.is_valid():
        data = form.cleaned_data
        size = pipeline_size(target=data["target"], average_deal_size=data["average_deal_size"],
                             close_rate=data["close_rate"], reps=data["reps"], currency=history.currency)
    context = {
        "title": "Pipeline size calculator", "form": form, "source": source, "pipeline": pipeline, "size": size,
        "history": history, "history_value": format_money(history.average_deal_size, history.currency),
        "period_label": PRESETS.get(form["period"].value() or DEFAULT_PRESET, PRESETS[DEFAULT_PRESET]).lower(),
        "target_display": format_money(size.target, size.currency) if size else "",
        "section": "calculator", "metrics_pipeline": pipeline or Pipeline.objects.order_by("name").first(),
        "oob": bool(request.htmx),
    }
    ok = not form.errors and not source.errors
    status = 200 if ok else (422 if request.htmx else 400)
    template = "pipelines/calculator.html#result" if request.htmx else "pipelines/calculator.html"
    return render(request, template, context, status=status)


urlpatterns = [
    path("pipelines/<int:pk>/metrics/", metrics, name="metrics"),
    path("review/", review, name="review"),
    path("calculator/", calculator, name="calculator"),
]
