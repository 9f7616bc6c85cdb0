"""Reads for the dashboard and the customer lifecycle, shared by the HTML views and the API."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import dateformat, timezone

from contacts.models import Contact
from contacts.page_selectors import OverdueTasks, overdue_tasks
from lifecycle.models import LifecycleStage, StageSet, StageTransition
from pipelines.models import Deal
from users.permissions import visible_to

__all__ = [
    "DashboardSummary",
    "LifecycleOverview",
    "StageMove",
    "StageOverviewRow",
    "StagePath",
    "StagePathStep",
    "StageUsage",
    "active_stages",
    "contact_stage_path",
    "dashboard_summary",
    "lifecycle_overview",
    "stage_sets_with_stages",
    "stage_usage",
    "stages_with_contact_counts",
]


@dataclass(frozen=True)
class DashboardSummary:
    contact_count: int
    open_deal_count: int
    #: (currency, total value of open deals), largest first; deals in different currencies are never added up.
    pipeline_value: list[tuple[str, Decimal]]
    #: {"months": ["2025-01", ...], "labels": ["Jan 2025", ...], "counts": [3, ...]}, oldest first, ready for a chart.
    deals_per_month: dict[str, list]
    #: The user's own open tasks past their due time: how many, and the five most overdue.
    overdue_tasks: OverdueTasks = field(default_factory=lambda: OverdueTasks(count=0, top=[]))

    @property
    def deals_created_in_period(self) -> int:
        return sum(self.deals_per_month["counts"])


def _month_starts(today: date, months: int) -> list[date]:
    """The first day of each of the last `months` months, oldest first, ending with today's month."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def dashboard_summary(user, *, months: int = 12, now: datetime | None = None) -> DashboardSummary:
    """Counts of the contacts and deals the user may see, the deals created per month, and the user's
    overdue tasks.

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
        overdue_tasks=overdue_tasks(user, now=now),
    )


# --- The customer lifecycle ----------------------------------------------------------------------

def active_stages() -> tuple[StageSet | None, list[LifecycleStage]]:
    """The active stage set and its stages in order: one query (two when the set has no stages)."""
    stages = list(LifecycleStage.objects.filter(stage_set__is_active=True).select_related("stage_set")
                  .order_by("position", "id"))
    stage_set = stages[0].stage_set if stages else StageSet.objects.filter(is_active=True).first()
    return stage_set, stages


def stages_with_contact_counts() -> QuerySet[LifecycleStage]:
    """Stages in order, each with `contact_count`: how many contacts are in it now."""
    return LifecycleStage.objects.annotate(contact_count=Count("contacts")).order_by("position", "id")


def stage_sets_with_stages() -> list[StageSet]:
    """Every stage set, the active one first, with its stages (from stages_with_contact_counts) prefetched."""
    return list(StageSet.objects.order_by("-is_active", "name")
                .prefetch_related(Prefetch("stages", queryset=stages_with_contact_counts())))


@dataclass(frozen=True)
class StageUsage:
    """What keeps a stage from being deleted."""

    contacts: int
    moves: int

    @property
    def in_use(self) -> bool:
        return bool(self.contacts or self.moves)


def stage_usage(stage: LifecycleStage) -> StageUsage:
    """How many contacts are in the stage now, and how many recorded moves come from or go into it."""
    return StageUsage(
        contacts=Contact.objects.filter(lifecycle_stage=stage).count(),
        moves=StageTransition.objects.filter(Q(to_stage=stage) | Q(from_stage=stage)).count(),
    )


@dataclass(frozen=True)
class StageOverviewRow:
    stage: LifecycleStage
    #: Contacts in this stage now.
    now: int
    #: Moves into this stage in the period, by direction.
    entered: int
    forward_in: int
    backward_in: int

    @property
    def moves_in(self) -> int:
        return self.entered + self.forward_in + self.backward_in


@dataclass(frozen=True)
class LifecycleOverview:
    """Where the contacts a user may see stand, and how they moved in [start, end)."""

    stage_set: StageSet | None
    start: datetime
    end: datetime
    rows: list[StageOverviewRow]
    #: Contacts never put in a stage.
    no_stage: int
    #: Contacts still in a stage of a set that is no longer active (until their next move).
    other_set: int

    @property
    def in_set(self) -> int:
        return sum(row.now for row in self.rows)

    @property
    def contact_count(self) -> int:
        return self.in_set + self.no_stage + self.other_set

    @property
    def entered(self) -> int:
        return sum(row.entered for row in self.rows)

    @property
    def forward(self) -> int:
        return sum(row.forward_in for row in self.rows)

    @property
    def backward(self) -> int:
        return sum(row.backward_in for row in self.rows)

    @property
    def chart(self) -> dict[str, list]:
        """Per stage, in order: the labels and each series, ready for json_script and Chart.js."""
        return {
            "labels": [row.stage.name for row in self.rows],
            "now": [row.now for row in self.rows],
            "entered": [row.entered for row in self.rows],
            "forward": [row.forward_in for row in self.rows],
            "backward": [row.backward_in for row in self.rows],
        }


def lifecycle_overview(user, start: datetime, end: datetime) -> LifecycleOverview:
    """Counts per stage of the active set: contacts in it now, and moves into it in [start, end).

    Set-based: one GROUP BY over the user's contacts and one over the period's transitions, whatever
    the number of stages. Moves count transitions (a contact who moved twice counts twice); a move
    belongs to the stage it went *into*. Only contacts the user may see count (users.permissions).
    """
    stage_set, stages = active_stages()
    stage_ids = {stage.pk for stage in stages}

    now_by_stage = dict(
        visible_to(Contact.objects.all(), user)
        .order_by()
        .values_list("lifecycle_stage")
        .annotate(count=Count("*"))
    )
    moves: dict[tuple[int, str], int] = {}
    if stage_ids:
        transitions = StageTransition.objects.filter(
            to_stage__in=stage_ids, occurred_at__gte=start, occurred_at__lt=end)
        moves = {
            (stage_id, direction): count
            for stage_id, direction, count in visible_to(transitions, user, owner_field="contact__owner")
            .order_by()
            .values_list("to_stage", "direction")
            .annotate(count=Count("*"))
        }

    Direction = StageTransition.Direction  # noqa: N806 - an enum, read as one
    rows = [
        StageOverviewRow(
            stage=stage,
            now=now_by_stage.get(stage.pk, 0),
            entered=moves.get((stage.pk, Direction.ENTRY), 0),
            forward_in=moves.get((stage.pk, Direction.FORWARD), 0),
            backward_in=moves.get((stage.pk, Direction.BACKWARD), 0),
        )
        for stage in stages
    ]
    return LifecycleOverview(
        stage_set=stage_set, start=start, end=end, rows=rows,
        no_stage=now_by_stage.get(None, 0),
        other_set=sum(count for stage_id, count in now_by_stage.items()
                      if stage_id is not None and stage_id not in stage_ids),
    )


@dataclass(frozen=True)
class StageMove:
    """One recorded move of a contact, for display."""

    from_stage: LifecycleStage | None
    to_stage: LifecycleStage
    direction: str
    when: datetime
    actor: str
    actor_label: str
    user: object | None
    reason: str

    @property
    def is_backward(self) -> bool:
        return self.direction == StageTransition.Direction.BACKWARD

    @property
    def is_forward(self) -> bool:
        return self.direction == StageTransition.Direction.FORWARD

    @property
    def is_entry(self) -> bool:
        return self.direction == StageTransition.Direction.ENTRY


@dataclass(frozen=True)
class StagePathStep:
    stage: LifecycleStage
    visited: bool
    current: bool


@dataclass(frozen=True)
class StagePath:
    """A contact's path through the stages: the active set's steps and the moves, newest first."""

    stage_set: StageSet | None
    steps: list[StagePathStep]
    current: LifecycleStage | None
    moves: list[StageMove]
    move_count: int

    @property
    def current_in_other_set(self) -> bool:
        return self.current is not None and not any(step.current for step in self.steps)

    @property
    def earlier_move_count(self) -> int:
        """Moves older than the ones listed."""
        return self.move_count - len(self.moves)

    @property
    def since(self) -> datetime | None:
        """When the contact entered their current stage."""
        if self.current is not None and self.moves and self.moves[0].to_stage.pk == self.current.pk:
            return self.moves[0].when
        return None


def contact_stage_path(contact: Contact, *, limit: int = 20) -> StagePath:
    """The stages of the active set (which the contact visited, which they are in) and their newest moves.

    Three queries at most: the active set's stages, the newest `limit` moves, and, only when there
    are more moves than that, the stages ever entered and the number of moves.
    """
    stage_set, stages = active_stages()
    transitions = list(
        contact.stage_transitions.select_related("from_stage", "to_stage__stage_set", "user")
        .order_by("-occurred_at", "-id")[:limit])
    if len(transitions) < limit:
        visited = {t.to_stage_id for t in transitions}
        move_count = len(transitions)
    else:
        counts = dict(contact.stage_transitions.order_by().values_list("to_stage").annotate(count=Count("*")))
        visited, move_count = set(counts), sum(counts.values())

    current_id = contact.lifecycle_stage_id
    current = next((s for s in stages if s.pk == current_id), None)
    if current is None and current_id is not None:
        current = next((t.to_stage for t in transitions if t.to_stage_id == current_id), None)
        if current is None:
            current = LifecycleStage.objects.select_related("stage_set").get(pk=current_id)
    if current is not None:
        visited.add(current.pk)

    return StagePath(
        stage_set=stage_set,
        steps=[StagePathStep(stage=s, visited=s.pk in visited, current=s.pk == current_id) for s in stages],
        current=current,
        moves=[
            StageMove(from_stage=t.from_stage, to_stage=t.to_stage, direction=t.direction, when=t.occurred_at,
                      actor=t.actor, actor_label=t.get_actor_display(), user=t.user, reason=t.reason)
            for t in transitions
        ],
        move_count=move_count,
    )
