"""Pipeline metrics, the pipeline review and the pipeline size calculator: the reads behind the reports pages
(pipelines.views.reports) and the metrics API (pipelines.api.metrics), so the page and the API always agree.

Every number counts only the deals the user may see (`deals_visible_to`), optionally only those of some owners.
A period is [start, end): the page and the API give whole days in the current time zone, the last day included.

The metrics (`pipeline_metrics`; the same words are on the page, in each number's help popover):

- **Open deals**, now whatever the period: how many, their total value, and the weighted value
  Σ value × stage probability.
- **Average deal size**: the value of the deals won in the period ÷ how many were won.
- **Sales cycle**: days from created to won, for the deals won in the period; median and mean.
- **Close ratio**: won ÷ (won + lost), for the deals closed in the period.
- **Average deal lifetime**: mean days from created to closed (won or lost), for the deals closed in the period.
- A deal counts by its *current* status and close time: one that was won, reopened and then lost is a lost
  deal, closed when it was lost.
- **Stage-to-stage conversion**, per stage: of the deals that entered the stage in the period, the share that
  afterwards entered any later stage (by position: the next one or beyond, skipping is fine). A deal counts
  once per stage however often it came back, so moving back and forth never double-counts; a move back is not
  a move on; winning a deal without moving it is not entering a stage.
- **Time in stage**, per stage: mean days (exited − entered) of the stays that ended in the period, whether the
  deal moved on, moved back, was won or lost. Every stay counts, a second stay after a move back or a reopen
  too. Stays still open (deals in the stage now) are left out: the board shows how long they have been there.
- **Pipeline velocity** = open deals × close ratio × average deal size ÷ mean sales cycle days, money per day.
  None ("not enough history") without a deal won in the period.
- **Forecast**, side by side: velocity × days in the period, and the weighted value of the open deals whose
  expected close date is in the period.
- **Win rate by month**: won ÷ (won + lost) of the deals closed in each calendar month, for the months of the
  period, and at least the 12 months that end with it.
- **Currency**: values are added as they are. The report names its currency (the one of the most open value);
  when deals use several, `mixed_currencies` says so.

All of it is set-based SQL: five queries whatever the number of deals or stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal

from babel.numbers import format_currency, format_decimal
from django.contrib.postgres.aggregates import ArrayAgg
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Aggregate,
    Avg,
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import dateformat, timezone

from contacts.models import Task
from pipelines.models import Deal, DealStageHistory, Pipeline, Stage
from pipelines.selectors import deal_facts, deals_visible_to, stale_q
from users.models import Team, User
from users.roles import Role

__all__ = [
    "DEFINITIONS", "HistoryRates", "MonthPoint", "PipelineMetrics", "PipelineReview", "PipelineSize", "RepReview",
    "StageMetrics", "calculator_history", "format_money", "pipeline_metrics", "pipeline_review", "pipeline_size",
    "review_teams", "review_users",
]

CENT = Decimal("0.01")

#: What each number means, in the users' words: the page's help popovers and the docs say the same.
DEFINITIONS = {
    "open_deals": "Open deals now, whatever the period: how many, their total value, and their weighted value "
                  "(the sum of each deal's value × its stage's win probability).",
    "average_deal_size": "The total value of the deals won in the period ÷ how many were won.",
    "sales_cycle": "Days from a deal's creation to its win, for the deals won in the period: the median (half "
                   "took less, half longer) and the mean.",
    "close_ratio": "Won ÷ (won + lost), for the deals closed in the period. A deal counts by its current status "
                   "and close date: one won, reopened and then lost counts as lost, on the day it was lost.",
    "deal_lifetime": "The mean days from a deal's creation to its close, won or lost, for the deals closed in "
                     "the period.",
    "velocity": "Open deals × close ratio × average deal size ÷ mean sales cycle in days: the money the "
                "pipeline brings in per day. It needs at least one deal won in the period.",
    "forecast": "Two estimates side by side. By velocity: velocity × the days in the period. Weighted: the "
                "value × stage probability of the open deals expected to close in the period.",
    "conversion": "For each stage: of the deals that entered it in the period, the share that afterwards "
                  "entered any later stage (the next one or further). A deal counts once per stage however "
                  "often it came back; a move back is not a move on; winning a deal without moving it is not "
                  "entering a stage.",
    "time_in_stage": "For each stage: the mean days of the stays that ended in the period (the deal moved on, "
                     "moved back, was won or lost). Every stay counts, also a second one after a move back or a "
                     "reopen. Deals still in the stage are not counted: the board shows their days in stage.",
    "win_rate": "Won ÷ (won + lost) of the deals closed in each calendar month.",
}


def format_money(value: Decimal | None, currency: str) -> str:
    """"$1,234.50" (en_US); whole amounts without cents ("$100,000"); "–" for no value."""
    if value is None:
        return "–"
    if value == value.to_integral_value():
        return format_currency(value, currency, locale="en_US", format="¤#,##0", currency_digits=False)
    return format_currency(value, currency, locale="en_US")


def _number(value: Decimal | int | float, digits: int = 2) -> str:
    return format_decimal(value, format=f"#,##0.{'#' * digits}" if digits else "#,##0", locale="en_US")


class DaysBetween(Func):
    """Fractional days from `start` to `end`: EXTRACT(EPOCH FROM end - start) / 86400."""

    template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0)::double precision"
    arg_joiner = " - "
    output_field = FloatField()

    def __init__(self, end: str, start: str):
        super().__init__(F(end), F(start))


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the median, interpolated between the two middle values."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _weighted():
    return ExpressionWrapper(F("value") * F("stage__probability") / Value(100),
                             output_field=DecimalField(max_digits=24, decimal_places=6))


def _cents(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(CENT)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- Metrics ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StageMetrics:
    stage: Stage
    #: Open deals in the stage now, their value and weighted value.
    open_count: int
    open_value: Decimal
    weighted_value: Decimal
    #: Deals that entered the stage in the period, and how many of them later entered a later stage.
    entered: int
    advanced: int
    #: Stays in the stage that ended in the period, and their mean length in days.
    stays: int
    average_days: float | None

    @property
    def conversion(self) -> float | None:
        """advanced ÷ entered; None when nobody entered (or for the last stage, which has no later one)."""
        return _ratio(self.advanced, self.entered)


@dataclass(frozen=True)
class MonthPoint:
    month: date
    won: int
    lost: int

    @property
    def win_rate(self) -> float | None:
        return _ratio(self.won, self.won + self.lost)

    @property
    def label(self) -> str:
        return dateformat.format(self.month, "M Y")


@dataclass(frozen=True)
class PipelineMetrics:
    """Every number of a pipeline's metrics page and API for [start, end). See the module docstring."""

    pipeline: Pipeline
    start: datetime
    end: datetime
    days: int
    currency: str
    currencies: list[str]
    open_count: int
    open_value: Decimal
    weighted_open_value: Decimal
    won_count: int
    won_value: Decimal
    lost_count: int
    average_deal_size: Decimal | None
    close_ratio: float | None
    sales_cycle_median_days: float | None
    sales_cycle_mean_days: float | None
    deal_lifetime_mean_days: float | None
    #: Money per day; None without a deal won in the period.
    velocity: Decimal | None
    forecast_by_velocity: Decimal | None
    #: Open deals expected to close in the period: how many, their value, and their weighted value.
    expected_count: int
    expected_value: Decimal
    forecast_weighted: Decimal
    stages: list[StageMetrics]
    months: list[MonthPoint] = field(default_factory=list)

    @property
    def mixed_currencies(self) -> bool:
        return len(self.currencies) > 1

    @property
    def closed_count(self) -> int:
        return self.won_count + self.lost_count

    @property
    def is_empty(self) -> bool:
        """Nothing to show: no open deals, nothing closed, and no stage entered or left in the period."""
        return not (self.open_count or self.closed_count
                    or any(s.entered or s.stays for s in self.stages))

    @property
    def chart(self) -> dict:
        """The charts' data for json_script: the funnel, the time in stage and the win rate by month."""
        return {
            "currency": self.currency,
            "stages": [s.stage.name for s in self.stages],
            "open_value": [float(s.open_value) for s in self.stages],
            "weighted_value": [float(s.weighted_value) for s in self.stages],
            "open_count": [s.open_count for s in self.stages],
            "average_days": [None if s.average_days is None else round(s.average_days, 1) for s in self.stages],
            "months": [m.label for m in self.months],
            "win_rate": [None if m.win_rate is None else round(m.win_rate * 100, 1) for m in self.months],
            "won": [m.won for m in self.months],
            "lost": [m.lost for m in self.months],
        }


def _month_starts(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s to `last`'s, at least the 12 that end with `last`'s."""
    end_index = last.year * 12 + last.month - 1
    start_index = min(first.year * 12 + first.month - 1, end_index - 11)
    return [date(i // 12, i % 12 + 1, 1) for i in range(start_index, end_index + 1)]


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _stage_history(deals: QuerySet, start: datetime, end: datetime) -> dict[int, dict]:
    """Per stage id: `entered` (deals that entered it in [start, end), each once), `advanced` (of those, the ones
    that entered a stage of a higher position afterwards), `stays` (stays that ended in [start, end)) and
    `average_days` (their mean length).

    One statement. A window over each deal's stays, in order, gives the highest position it entered after each
    stay; a correlated EXISTS per stay instead took ten times as long at 50,000 stays. Only stays entered or
    ended since `start` are read: an earlier one can be neither in the period nor after an entry in it.
    """
    history, stage = DealStageHistory._meta.db_table, Stage._meta.db_table
    quote = connections[deals.db].ops.quote_name
    try:
        deal_sql, deal_params = deals.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a user who may see no deals
        return {}
    sql = f"""
        WITH stays AS MATERIALIZED (
            SELECT h.stage_id, h.deal_id, h.entered_at, h.exited_at, s.position,
                   MAX(s.position) OVER (PARTITION BY h.deal_id ORDER BY h.entered_at, h.id
                                         ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_position
            FROM {quote(history)} h JOIN {quote(stage)} s ON s.id = h.stage_id
            WHERE h.deal_id IN ({deal_sql}) AND (h.entered_at >= %s OR h.exited_at >= %s)
        ), reached AS (
            SELECT stage_id, deal_id, BOOL_OR(COALESCE(later_position > position, FALSE)) AS advanced
            FROM stays WHERE entered_at >= %s AND entered_at < %s
            GROUP BY stage_id, deal_id
        )
        SELECT stage_id, COUNT(*), COUNT(*) FILTER (WHERE advanced), 0, NULL::double precision
        FROM reached GROUP BY stage_id
        UNION ALL
        SELECT stage_id, 0, 0, COUNT(*), AVG(EXTRACT(EPOCH FROM (exited_at - entered_at)) / 86400.0)::double precision
        FROM stays WHERE exited_at >= %s AND exited_at < %s GROUP BY stage_id
    """  # noqa: S608 - the deals subquery is Django's, table names are quoted, values are parameters
    rows: dict[int, dict] = {}
    with connections[deals.db].cursor() as cursor:
        cursor.execute(sql, (*deal_params, start, start, start, end, start, end))
        for stage_id, entered, advanced, stays, average_days in cursor.fetchall():
            row = rows.setdefault(stage_id, {"entered": 0, "advanced": 0, "stays": 0, "average_days": None})
            row["entered"] += entered
            row["advanced"] += advanced
            row["stays"] += stays
            if average_days is not None:
                row["average_days"] = average_days
    return rows


def pipeline_metrics(pipeline: Pipeline, *, start: datetime, end: datetime, user,
                     owners: QuerySet | list[int] | None = None) -> PipelineMetrics:
    """The pipeline's metrics for [start, end), over the deals `user` may see, of `owners` (user ids) if given.

    Five queries: the stages; open deals by stage and currency; the deals closed in the period; the stage
    history (entries and ended stays) by stage; closes by month.
    """
    deals = deals_visible_to(user, Deal.objects.filter(pipeline=pipeline))
    if owners is not None:
        deals = deals.filter(owner__in=owners)
    first_day, end_day = timezone.localdate(start), timezone.localdate(end)
    stages = list(pipeline.stages.order_by("position"))

    # Open deals now, by stage and currency; and those expected to close in the period.
    expected = Q(expected_close_date__gte=first_day, expected_close_date__lt=end_day)
    open_rows = list(
        deals.filter(status=Deal.Status.OPEN).order_by().values("stage_id", "currency")
        .annotate(count=Count("id"), total=Sum("value"), weighted=Sum(_weighted()),
                  expected_count=Count("id", filter=expected), expected_value=Sum("value", filter=expected),
                  expected_weighted=Sum(_weighted(), filter=expected)))

    # The deals closed in the period, by their current status and close time.
    closed = Q(closed_at__gte=start, closed_at__lt=end)
    won, lost = closed & Q(status=Deal.Status.WON), closed & Q(status=Deal.Status.LOST)
    totals = deals.filter(closed).aggregate(
        won_count=Count("id", filter=won), won_value=Sum("value", filter=won), lost_count=Count("id", filter=lost),
        cycle_mean=Avg(DaysBetween("closed_at", "created_at"), filter=won),
        cycle_median=Median(DaysBetween("closed_at", "created_at"), filter=won),
        lifetime_mean=Avg(DaysBetween("closed_at", "created_at")),
        currencies=ArrayAgg("currency", distinct=True, default=[]),
    )

    history = _stage_history(deals, start, end)

    # Wins and losses per calendar month.
    last_day = end_day - timedelta(days=1)
    month_starts = _month_starts(first_day, max(first_day, last_day))
    by_month: dict[tuple[date, str], int] = {}
    for row in (deals.filter(status__in=[Deal.Status.WON, Deal.Status.LOST],
                             closed_at__gte=_aware(month_starts[0]), closed_at__lt=end)
                .annotate(month=TruncMonth("closed_at")).order_by().values("month", "status")
                .annotate(count=Count("id"))):
        by_month[(timezone.localtime(row["month"]).date(), row["status"])] = row["count"]

    open_by_stage: dict[int, dict] = {}
    value_by_currency: dict[str, Decimal] = {}
    for row in open_rows:
        slot = open_by_stage.setdefault(row["stage_id"], {"count": 0, "value": Decimal(0), "weighted": Decimal(0)})
        slot["count"] += row["count"]
        slot["value"] += row["total"] or 0
        slot["weighted"] += row["weighted"] or 0
        value_by_currency[row["currency"]] = value_by_currency.get(row["currency"], Decimal(0)) + (row["total"] or 0)
    currencies = sorted(set(value_by_currency) | set(totals["currencies"]))
    currency = (max(sorted(value_by_currency), key=lambda c: value_by_currency[c]) if value_by_currency
                else currencies[0] if currencies else "USD")

    stage_rows = []
    for stage in stages:
        now_in = open_by_stage.get(stage.pk, {})
        past = history.get(stage.pk, {})
        stage_rows.append(StageMetrics(
            stage=stage, open_count=now_in.get("count", 0), open_value=_cents(now_in.get("value")),
            weighted_value=_cents(now_in.get("weighted")), entered=past.get("entered", 0),
            advanced=past.get("advanced", 0), stays=past.get("stays", 0), average_days=past.get("average_days")))

    open_count = sum(row["count"] for row in open_rows)
    won_count, lost_count = totals["won_count"], totals["lost_count"]
    won_value = _cents(totals["won_value"])
    average_size = (won_value / won_count).quantize(CENT) if won_count else None
    cycle = totals["cycle_mean"]
    days = max(1, round((end - start).total_seconds() / 86400))
    velocity = forecast = None
    if won_count and cycle:
        # Unrounded until the end, so the forecast is velocity × days without the cents' rounding.
        per_day = (Decimal(open_count) * Decimal(won_count) / Decimal(won_count + lost_count)
                   * (won_value / won_count) / Decimal(repr(cycle)))
        velocity, forecast = per_day.quantize(CENT), (per_day * days).quantize(CENT)

    return PipelineMetrics(
        pipeline=pipeline, start=start, end=end, days=days, currency=currency, currencies=currencies,
        open_count=open_count,
        open_value=_cents(sum((row["total"] or 0 for row in open_rows), Decimal(0))),
        weighted_open_value=_cents(sum((row["weighted"] or 0 for row in open_rows), Decimal(0))),
        won_count=won_count, won_value=won_value, lost_count=lost_count, average_deal_size=average_size,
        close_ratio=_ratio(won_count, won_count + lost_count),
        sales_cycle_median_days=totals["cycle_median"], sales_cycle_mean_days=cycle,
        deal_lifetime_mean_days=totals["lifetime_mean"],
        velocity=velocity, forecast_by_velocity=forecast,
        expected_count=sum(row["expected_count"] for row in open_rows),
        expected_value=_cents(sum((row["expected_value"] or 0 for row in open_rows), Decimal(0))),
        forecast_weighted=_cents(sum((row["expected_weighted"] or 0 for row in open_rows), Decimal(0))),
        stages=stage_rows,
        months=[MonthPoint(month=m, won=by_month.get((m, Deal.Status.WON), 0),
                           lost=by_month.get((m, Deal.Status.LOST), 0)) for m in month_starts],
    )


# --- Who a user reviews -------------------------------------------------------------------------------------

def review_users(user) -> QuerySet[User]:
    """The people whose deals `user` reviews: admins and marketers everyone selling (sales reps and managers,
    and anyone else who owns an open deal), a manager themself and their team, a rep themself."""
    role = user.role if user and user.is_authenticated else None
    people = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if role in (Role.ADMIN, Role.MARKETER):
        sellers = User.groups.through.objects.filter(
            user_id=OuterRef("pk"), group__name__in=[Role.SALES_REP.label, Role.MANAGER.label])
        owners = Deal.objects.filter(owner_id=OuterRef("pk"), status=Deal.Status.OPEN)
        return people.filter(Q(Exists(sellers)) | Q(Exists(owners)))
    if role is Role.MANAGER:
        return people.filter(Q(pk=user.pk) | (Q(team_id=user.team_id) if user.team_id else Q(pk__in=[])))
    if role is Role.SALES_REP:
        return people.filter(pk=user.pk)
    return people.none()


def review_teams(user) -> QuerySet[Team]:
    """The teams whose numbers `user` may filter by: every team for admins and marketers, a manager's own."""
    role = user.role if user and user.is_authenticated else None
    if role in (Role.ADMIN, Role.MARKETER):
        return Team.objects.order_by("name")
    if role is Role.MANAGER and user.team_id:
        return Team.objects.filter(pk=user.team_id)
    return Team.objects.none()


# --- The pipeline review ------------------------------------------------------------------------------------

#: Deals listed per person on the review, those needing attention first.
REVIEW_DEALS_PER_REP = 5


@dataclass
class RepReview:
    """One person's open deals: totals, what is blocked, and the next steps. `rep` None is the unassigned."""

    rep: User | None
    open_count: int = 0
    open_value: Decimal = Decimal(0)
    currencies: list[str] = field(default_factory=list)
    stale_count: int = 0
    #: Open deals whose expected close date has passed.
    slipping_count: int = 0
    #: Open deals without an open task.
    without_next_step: int = 0
    #: Their open tasks past due (any task assigned to them, deal or contact).
    overdue_tasks: int = 0
    #: Up to REVIEW_DEALS_PER_REP open deals, slipping, stale and without a next step first; each annotated with
    #: deal_facts (is_stale, next_task_title, next_task_due_at) and is_slipping.
    deals: list[Deal] = field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.currencies[0] if self.currencies else "USD"

    @property
    def mixed_currencies(self) -> bool:
        return len(self.currencies) > 1

    @property
    def more_deals(self) -> int:
        return self.open_count - len(self.deals)


@dataclass(frozen=True)
class PipelineReview:
    rows: list[RepReview]
    today: date

    @property
    def totals(self) -> dict[str, int]:
        names = ("open_count", "stale_count", "slipping_count", "without_next_step", "overdue_tasks")
        return {name: sum(getattr(row, name) for row in self.rows) for name in names}


def pipeline_review(user, *, pipeline: Pipeline | None = None, now: datetime | None = None) -> PipelineReview:
    """Per person `user` reviews (`review_users`), plus the unassigned deals: their open deals (count, value),
    stale ones, ones slipping past their expected close date, their overdue tasks, and the next step (next open
    task) of the deals that need attention most.

    Four queries whatever the number of people: the people, the deal totals by owner, the overdue tasks by
    assignee, and the top deals of every owner at once (a window function).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    people = list(review_users(user))
    ids = [person.pk for person in people]
    deals = deals_visible_to(user, Deal.objects.filter(status=Deal.Status.OPEN)).filter(
        Q(owner_id__in=ids) | Q(owner__isnull=True))
    if pipeline is not None:
        deals = deals.filter(pipeline=pipeline)
    slipping = Q(expected_close_date__lt=today)
    has_task = Exists(Task.objects.filter(deal_id=OuterRef("pk"), done=False))

    rows = {person.pk: RepReview(rep=person) for person in people}
    for total in (deals.order_by().values("owner_id")
                  .annotate(count=Count("id"), total=Sum("value"), currencies=ArrayAgg("currency", distinct=True),
                            stale=Count("id", filter=stale_q(now)), slipping=Count("id", filter=slipping),
                            no_step=Count("id", filter=~Q(has_task)))):
        row = rows.setdefault(total["owner_id"], RepReview(rep=None))
        row.open_count, row.open_value = total["count"], _cents(total["total"])
        row.currencies, row.stale_count = sorted(total["currencies"]), total["stale"]
        row.slipping_count, row.without_next_step = total["slipping"], total["no_step"]

    for assignee_id, count in (Task.objects.filter(done=False, due_at__lt=now, assignee_id__in=ids)
                               .order_by().values_list("assignee_id").annotate(count=Count("id"))):
        rows[assignee_id].overdue_tasks = count

    ranked = (deal_facts(deals, now).select_related("stage", "pipeline", "contact", "account")
              .annotate(is_slipping=Case(When(slipping, then=Value(True)), default=Value(False),
                                         output_field=BooleanField()),
                        has_next_step=has_task)
              .annotate(rank=Window(RowNumber(), partition_by=[F("owner_id")],
                                    order_by=[F("is_slipping").desc(), F("is_stale").desc(),
                                              F("has_next_step").asc(),
                                              F("expected_close_date").asc(nulls_last=True), F("id").asc()]))
              .filter(rank__lte=REVIEW_DEALS_PER_REP).order_by("owner_id", "rank"))
    for deal in ranked:
        rows[deal.owner_id].deals.append(deal)

    ordered = [rows[pk] for pk in ids]
    if None in rows:
        ordered.append(rows[None])
    return PipelineReview(rows=ordered, today=today)


# --- The pipeline size calculator ------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryRates:
    """What the calculator pre-fills: the average won deal and the close ratio of the last 12 months."""

    since: datetime
    won: int
    lost: int
    average_deal_size: Decimal | None
    #: Percent, one decimal.
    close_rate: Decimal | None
    currency: str


def calculator_history(user, *, pipeline: Pipeline | None = None, now: datetime | None = None) -> HistoryRates:
    """Deals `user` may see (of `pipeline`, or all) closed in the last 12 months: the average value of those won,
    and won ÷ (won + lost) in percent. One query."""
    now = now or timezone.now()
    since = now - timedelta(days=365)
    deals = deals_visible_to(user, Deal.objects.filter(closed_at__gte=since, closed_at__lt=now))
    if pipeline is not None:
        deals = deals.filter(pipeline=pipeline)
    won = Q(status=Deal.Status.WON)
    row = deals.aggregate(won=Count("id", filter=won), lost=Count("id", filter=Q(status=Deal.Status.LOST)),
                          total=Sum("value", filter=won), currencies=ArrayAgg("currency", distinct=True, filter=won,
                                                                              default=[]))
    won_count, lost_count = row["won"], row["lost"]
    return HistoryRates(
        since=since, won=won_count, lost=lost_count,
        average_deal_size=(row["total"] / won_count).quantize(CENT) if won_count else None,
        close_rate=(Decimal(100 * won_count) / (won_count + lost_count)).quantize(Decimal("0.1"))
        if won_count else None,
        currency=sorted(row["currencies"])[0] if row["currencies"] else "USD",
    )


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True)
class PipelineSize:
    """The pipeline a revenue target needs (DOMAIN.md §4), each step rounded up to whole deals and leads:

    closed deals needed = target ÷ average deal size; leads needed = closed deals ÷ close rate;
    per rep = leads ÷ reps.
    """

    target: Decimal
    average_deal_size: Decimal
    #: Percent, above 0 and at most 100.
    close_rate: Decimal
    reps: int
    currency: str = "USD"

    @property
    def exact_deals(self) -> Decimal:
        return self.target / self.average_deal_size

    @property
    def deals(self) -> int:
        return _ceil(self.exact_deals)

    @property
    def exact_leads(self) -> Decimal:
        return Decimal(self.deals) * 100 / self.close_rate

    @property
    def leads(self) -> int:
        return _ceil(self.exact_leads)

    @property
    def exact_per_rep(self) -> Decimal:
        return Decimal(self.leads) / self.reps

    @property
    def per_rep(self) -> int:
        return _ceil(self.exact_per_rep)

    @property
    def steps(self) -> list[str]:
        """The arithmetic in words, e.g. "$100,000 target ÷ $500 average deal size = 200 deals to close."."""

        def result(exact: Decimal, whole: int, unit: str) -> str:
            if exact == whole:
                return f"{_number(whole, 0)} {unit}"
            return f"{_number(exact)}, rounded up to {_number(whole, 0)} {unit}"

        deal_word = "deal" if self.deals == 1 else "deals"
        lead_word = "lead" if self.leads == 1 else "leads"
        return [
            f"{format_money(self.target, self.currency)} target ÷ {format_money(self.average_deal_size, self.currency)}"
            f" average deal size = {result(self.exact_deals, self.deals, deal_word)} to close.",
            f"{_number(self.deals, 0)} {deal_word} ÷ {_number(self.close_rate, 1)}% close rate = "
            f"{result(self.exact_leads, self.leads, lead_word)} needed.",
            f"{_number(self.leads, 0)} {lead_word} ÷ {self.reps} {'rep' if self.reps == 1 else 'reps'} = "
            f"{result(self.exact_per_rep, self.per_rep, 'each' if self.reps > 1 else lead_word)}"
            f"{'' if self.reps > 1 else ' for the one rep'}.",
        ]


def pipeline_size(*, target: Decimal, average_deal_size: Decimal, close_rate: Decimal, reps: int,
                  currency: str = "USD") -> PipelineSize:
    """The calculator's answer. The arguments must be positive and `close_rate` (percent) at most 100."""
    if target <= 0 or average_deal_size <= 0 or not 0 < close_rate <= 100 or reps < 1:
        raise ValueError("pipeline_size needs a positive target, deal size and reps, and a close rate in (0, 100]")
    return PipelineSize(target=target, average_deal_size=average_deal_size, close_rate=close_rate, reps=reps,
                        currency=currency)

