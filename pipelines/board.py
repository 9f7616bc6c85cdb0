"""The pipeline board's reads: one column per stage, with its totals and its first cards.

A first render costs a fixed number of queries whatever the number of stages and deals:

- the stages of the pipeline;
- every column's totals: one GROUP BY stage, currency over the open deals the user may see, filtered;
- every column's first cards: ROW_NUMBER() OVER (PARTITION BY stage ORDER BY position) picks up to
  CARDS_PER_PAGE + 1 deals per stage in a subquery (an index-ordered scan of `deal_board`), and the outer
  query adds what a card shows (selectors.deal_facts, owner, contact, account) to those rows only.

"Load more" pages through one column after the last card shown, by (position, id): `Deal.position` is a
sort key with gaps (services.POSITION_GAP), so a move changes only the moved card's key and a page cursor
stays valid while cards move around it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from pipelines.models import Deal, Pipeline, Stage
from pipelines.selectors import deal_facts, deals_visible_to

__all__ = [
    "BOARD_FILTERS", "CARDS_PER_PAGE", "Board", "Column", "ColumnTotals", "CurrencyTotal", "board", "board_deals",
    "column", "column_page", "column_totals", "index_next_to", "parse_after",
]

#: Cards a column shows at first, and per "Load more".
CARDS_PER_PAGE = 50

#: The DealFilterSet parameters the board offers (pipeline comes from the URL, status is always open).
BOARD_FILTERS = ("q", "owner", "stale", "radio_silent", "value_min", "value_max", "close_after", "close_before")

CENTS = Decimal("0.01")

#: What a card shows (pipelines.templatetags.deals.card_html): nothing else is read for it.
CARD_FIELDS = (
    "title", "pipeline_id", "stage_id", "value", "currency", "position", "status", "stage_entered_at",
    "contact__first_name", "contact__last_name", "contact__email", "account__name",
    "owner__username", "owner__first_name", "owner__last_name",
)


@dataclass(frozen=True)
class CurrencyTotal:
    """The open deals of a column in one currency: how many, their value, and value × the stage's probability."""

    currency: str
    count: int
    value: Decimal
    weighted: Decimal


@dataclass
class ColumnTotals:
    """A column header's numbers. Amounts in different currencies are never added up: one total per currency,
    the one with the most deals first."""

    count: int = 0
    currencies: list[CurrencyTotal] = field(default_factory=list)

    @property
    def main(self) -> CurrencyTotal | None:
        return self.currencies[0] if self.currencies else None

    @property
    def others(self) -> list[CurrencyTotal]:
        return self.currencies[1:]


@dataclass
class Column:
    stage: Stage
    totals: ColumnTotals
    cards: list[Deal]
    has_more: bool

    @property
    def after(self) -> str:
        """The cursor of the next page: the last card's sort key and id, "<position>_<id>"."""
        last = self.cards[-1] if self.cards else None
        return f"{last.position}_{last.pk}" if last else ""


@dataclass
class Board:
    pipeline: Pipeline
    columns: list[Column]

    @property
    def count(self) -> int:
        return sum(c.totals.count for c in self.columns)


def board_deals(*, pipeline: Pipeline, user, queryset: QuerySet | None = None) -> QuerySet:
    """The open deals of the pipeline that the user may see, out of `queryset` (e.g. a DealFilterSet's)."""
    deals = deals_visible_to(user, Deal.objects.all() if queryset is None else queryset)
    return deals.filter(pipeline=pipeline, status=Deal.Status.OPEN)


def column_totals(deals: QuerySet, stages: list[Stage]) -> dict[int, ColumnTotals]:
    """Each stage's count, value and weighted value, in one GROUP BY stage, currency query."""
    probability = {stage.pk: stage.probability for stage in stages}
    if deals.query.distinct:  # a filter that joins to many rows: count each deal once
        deals = Deal.objects.filter(pk__in=deals.values("pk"))
    rows = (deals.filter(stage_id__in=list(probability)).order_by().values("stage_id", "currency")
            .annotate(count=Count("pk"), value=Sum("value")))
    grouped: dict[int, list[CurrencyTotal]] = defaultdict(list)
    for row in rows:
        value = row["value"] or Decimal("0")
        weighted = (value * probability[row["stage_id"]] / 100).quantize(CENTS)
        grouped[row["stage_id"]].append(CurrencyTotal(row["currency"], row["count"], value, weighted))
    totals = {}
    for stage in stages:
        currencies = sorted(grouped.get(stage.pk, []), key=lambda t: (-t.count, -t.value, t.currency))
        totals[stage.pk] = ColumnTotals(count=sum(t.count for t in currencies), currencies=currencies)
    return totals


def _cards(deals: QuerySet, now: datetime) -> QuerySet:
    cards = deal_facts(deals, now).select_related("owner", "contact", "account").only(*CARD_FIELDS)
    return cards.order_by("stage_id", "position", "pk")


def _with_days(cards: list[Deal], now: datetime) -> list[Deal]:
    for deal in cards:
        deal.days_in_stage = (now - deal.stage_entered_at).days if deal.stage_entered_at else None
    return cards


def board(*, pipeline: Pipeline, deals: QuerySet, now: datetime | None = None,
          per_page: int = CARDS_PER_PAGE) -> Board:
    """Every column of the pipeline: its totals and its first `per_page` cards (three queries in all)."""
    now = now or timezone.now()
    stages = list(pipeline.stages.order_by("position"))
    totals = column_totals(deals, stages)
    ranked = (deals.order_by()
              .annotate(row=Window(RowNumber(), partition_by=[F("stage_id")], order_by=[F("position"), F("pk")]))
              .filter(row__lte=per_page + 1).values("pk"))[:(per_page + 1) * len(stages)]
    # The LIMIT changes no result; it tells the planner how few rows come out (else it guesses thousands,
    # and PostgreSQL's JIT compiles the query for longer than it takes to run).
    by_stage: dict[int, list[Deal]] = defaultdict(list)
    for deal in _with_days(list(_cards(Deal.objects.filter(pk__in=ranked), now)), now):
        by_stage[deal.stage_id].append(deal)
    columns = []
    for stage in stages:
        cards = by_stage.get(stage.pk, [])
        columns.append(Column(stage=stage, totals=totals[stage.pk], cards=cards[:per_page],
                              has_more=len(cards) > per_page))
    return Board(pipeline=pipeline, columns=columns)


def parse_after(after: str | None) -> tuple[int, int] | None:
    """A "<position>_<id>" page cursor as (position, id), or None; ValueError if it is not one."""
    after = (after or "").strip()
    if not after:
        return None
    position, _, pk = after.rpartition("_")
    try:
        return int(position), int(pk)
    except ValueError:
        raise ValueError("The page cursor is not valid; reload the board.") from None


def column_page(*, stage: Stage, deals: QuerySet, after: tuple[int, int] | None = None,
                now: datetime | None = None, per_page: int = CARDS_PER_PAGE) -> tuple[list[Deal], bool]:
    """The next `per_page` cards of one column after the (position, id) cursor, and whether more follow."""
    now = now or timezone.now()
    page = deals.filter(stage=stage)
    if after is not None:
        position, pk = after
        page = page.filter(Q(position__gt=position) | Q(position=position, pk__gt=pk))
    cards = _with_days(list(_cards(page, now)[:per_page + 1]), now)
    return cards[:per_page], len(cards) > per_page


def column(*, stage: Stage, deals: QuerySet, now: datetime | None = None,
           per_page: int = CARDS_PER_PAGE) -> Column:
    """One column as on the first render: its totals and first page (two queries)."""
    totals = column_totals(deals, [stage])[stage.pk]
    cards, has_more = column_page(stage=stage, deals=deals, now=now, per_page=per_page)
    return Column(stage=stage, totals=totals, cards=cards, has_more=has_more)


def index_next_to(*, deal: Deal, stage: Stage, neighbour_id: int, after: bool) -> int:
    """The index (0 is the top) that puts `deal` just after (or before) another open card of `stage`, counted
    among all the column's open cards, shown or not: what services.deal_move takes. A drop on a filtered board
    names the card it landed next to, since the board cannot know how many hidden cards sit around it.
    ValidationError if that card is no longer open in that stage."""
    column = Deal.objects.filter(stage=stage, status=Deal.Status.OPEN).exclude(pk=deal.pk)
    neighbour = column.filter(pk=neighbour_id).values("position", "pk").first()
    if neighbour is None:
        raise ValidationError({"position": ["The card it was dropped next to has moved or closed meanwhile."]})
    earlier = column.filter(Q(position__lt=neighbour["position"])
                            | Q(position=neighbour["position"], pk__lt=neighbour["pk"])).count()
    return earlier + 1 if after else earlier
