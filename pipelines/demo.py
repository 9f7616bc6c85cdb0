"""Demo pipelines for `seed_demo`: "Sales" with the default stages and "Partnerships" with its own, and about
200 deals walked through them over the past year.

Each deal is simulated stay by stay: it sits in a stage for a while (usually within the stage's rotting limit,
sometimes far past it), then moves on, steps back, is won or lost (with a reason from the editable list), and
a few closed deals are reopened and carry on. What the services would have written is bulk-created and
backdated to match: the deals (created, stage entered, closed and last activity times), their stage history
(exactly one open stay per open deal, none for closed ones), positions in order per open column, the timeline
events of their contacts, and for deals won in a pipeline whose rule says so, the contact's move to the last
lifecycle stage. Some open deals are stale, some slip past their expected close date, and some have no primary
contact and nobody touched them for weeks: those are radio silent, with an overdue follow-up task.

Tasks and notes on the deals that have a contact come afterwards from `contacts.demo.seed_followups`.
Deterministic for a given `rng`, and does nothing for a pipeline that already exists.
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from contacts.models import Account, Contact, Event, Task
from lifecycle.models import LifecycleStage, StageTransition
from pipelines.models import DEFAULT_LOST_REASONS, DEFAULT_STAGES, Deal, DealStageHistory, LostReason, Pipeline, Stage
from pipelines.services import POSITION_GAP, lost_reason_create, pipeline_create, pipeline_update

__all__ = ["PIPELINES", "seed"]


@dataclass(frozen=True)
class DemoPipeline:
    name: str
    stages: list[tuple[str, int, int | None]]
    share: float  # of the demo's deals
    won_makes_customer: bool
    radio_silent_days: int
    #: (product, lowest value, highest value) in USD
    products: list[tuple[str, int, int]]
    #: currency -> weight
    currencies: dict[str, int]


PIPELINES = [
    DemoPipeline(
        "Sales", DEFAULT_STAGES, 0.7, True, 14,
        [("Starter plan", 1_500, 6_000), ("Growth plan", 6_000, 24_000), ("Enterprise plan", 25_000, 120_000),
         ("Onboarding package", 2_000, 8_000), ("Annual renewal", 5_000, 40_000)],
        {"USD": 92, "EUR": 6, "GBP": 2}),
    DemoPipeline(
        # Partners are not customers: winning a partnership leaves the contact's lifecycle stage alone.
        "Partnerships", [("Sourced", 10, 30), ("Intro call", 25, 14), ("Due diligence", 45, 30), ("Terms", 70, 21),
                         ("Signing", 90, 14)], 0.3, False, 21,
        [("Reseller agreement", 10_000, 80_000), ("Referral partnership", 3_000, 15_000),
         ("Integration partnership", 8_000, 50_000), ("Co-marketing campaign", 2_000, 12_000)],
        {"USD": 85, "EUR": 15}),
]
#: Deals for the default 300 contacts; fewer contacts get fewer (2 for every 3, at least MIN_DEALS).
MAX_DEALS = 200
MIN_DEALS = 30
AUTHORITY = ["CFO signs; we talk to the Head of Marketing", "The founder decides alone", "Procurement, then the CTO",
             "Buying committee of three", "VP Sales, budget owner"]
NEED = ["Leads fall through the cracks between marketing and sales", "Replace spreadsheets for the pipeline",
        "Automate onboarding emails", "One view of every customer touchpoint", "Score leads before sales calls"]
TIMELINE = ["This quarter", "Before the renewal of their current CRM", "Next quarter", "By the trade show",
            "No fixed date"]
SILENT_TASKS = ["Chase {deal}: no answer for weeks", "Call the account about {deal}", "Find a new contact for {deal}"]


@dataclass
class _Step:
    """Something that happened to a deal: the timeline event it writes (type, when, properties)."""

    type: str
    at: datetime
    properties: dict


@dataclass
class _Plan:
    """One demo deal before it is saved: its stays in the stage history and the events on its timeline."""

    created: datetime
    status: str = Deal.Status.OPEN
    closed: datetime | None = None
    reason: LostReason | None = None
    #: (stage, entered, exited or None)
    stays: list[tuple[Stage, datetime, datetime | None]] = field(default_factory=list)
    steps: list[_Step] = field(default_factory=list)
    deal: Deal | None = None
    others: list[Contact] = field(default_factory=list)


def _between(rng, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.randint(0, max(0, int((end - start).total_seconds()))))


def _walk(rng, stages: list[Stage], created: datetime, now: datetime, reasons: list[LostReason]) -> _Plan:
    """A deal's life from `created` until now: stay, then move on, step back, win or lose; maybe reopen once."""
    plan = _Plan(created=created)
    last = len(stages) - 1
    index = 0 if rng.random() < 0.85 else 1  # some arrive qualified and skip the first stage
    entered = created
    reopened = False
    plan.steps.append(_Step("deal_created", created, {"stage": stages[index].name}))
    while True:
        stage = stages[index]
        limit = stage.rotting_days or 30
        # Most deals move within the rotting limit; one in five stalls well past it (stale, if still there now).
        days = limit * (rng.uniform(0.15, 0.9) if rng.random() < 0.8 else rng.uniform(1.3, 4.0))
        leaves = entered + timedelta(days=days, minutes=rng.randint(0, 600))
        if leaves >= now:
            plan.stays.append((stage, entered, None))
            return plan
        plan.stays.append((stage, entered, leaves))
        roll = rng.random()
        won = stage.probability / 100 * 0.6 if index >= last - 1 else 0.0
        lost = 0.12 if index < last - 1 else 0.1
        if roll < won + lost or index == last:
            plan.status = Deal.Status.WON if roll < won or (index == last and roll >= won + lost) else Deal.Status.LOST
            plan.closed = leaves
            if plan.status == Deal.Status.WON:
                plan.steps.append(_Step("deal_won", leaves, {"stage": stage.name}))
            else:
                plan.reason = rng.choices(reasons, weights=[len(reasons) - i + 2 for i in range(len(reasons))])[0]
                plan.steps.append(_Step("deal_lost", leaves, {"reason": plan.reason.name}))
            back = leaves + timedelta(days=rng.randint(10, 75))
            if reopened or rng.random() >= 0.07 or back >= now:
                return plan
            # Reopened: a new stay in the same stage, or one back, after a gap with no stay at all.
            reopened = True
            index = index if rng.random() < 0.5 else max(0, index - 1)
            plan.steps.append(_Step("deal_reopened", back, {"previous_status": plan.status,
                                                            "stage": stages[index].name}))
            plan.status, plan.closed, plan.reason = Deal.Status.OPEN, None, None
            entered = back
            continue
        target = index - 1 if index > 0 and roll < won + lost + 0.1 else index + 1
        plan.steps.append(_Step("deal_moved", leaves, {"from": stage.name, "to": stages[target].name,
                                                       "direction": "forward" if target > index else "backward"}))
        index, entered = target, leaves


def _value(rng, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low, high + 1, 250))


def _deal(rng, spec: DemoPipeline, pipeline: Pipeline, plan: _Plan, contact: Contact | None,
          account: Account | None, owner, now: datetime) -> Deal:
    product, low, high = rng.choice(spec.products)
    value = _value(rng, low, high)
    stage, entered, _exited = plan.stays[-1]
    who = account.name if account else contact.full_name
    today = timezone.localdate(now)
    if plan.closed:
        expected = timezone.localdate(plan.closed) + timedelta(days=rng.randint(-14, 21))
        last_activity = plan.closed
    else:
        slipping = rng.random() < 0.25
        expected = (today - timedelta(days=rng.randint(1, 45)) if slipping
                    else max(today + timedelta(days=rng.randint(3, 20)),
                             timezone.localdate(plan.created) + timedelta(days=rng.randint(30, 120))))
        # A contact's deals get touched after their last move; a deal with no contact often did not.
        last_activity = _between(rng, entered, now) if contact and rng.random() < 0.7 else entered
    deal = Deal(title=f"{who} – {product}", pipeline=pipeline, stage=stage, value=value,
                currency=rng.choices(list(spec.currencies), weights=list(spec.currencies.values()))[0],
                contact=contact, account=account, owner=owner, status=plan.status, lost_reason=plan.reason,
                expected_close_date=expected, stage_entered_at=entered, closed_at=plan.closed,
                last_activity_at=last_activity)
    if stage.position >= 1 and rng.random() < 0.6:
        deal.budget = (value * Decimal(rng.choice(["0.8", "1", "1.2", "1.5"]))).quantize(Decimal("1"))
        deal.authority, deal.need, deal.timeline = rng.choice(AUTHORITY), rng.choice(NEED), rng.choice(TIMELINE)
    elif rng.random() < 0.2:
        deal.need = rng.choice(NEED)
    return deal


def _seed_pipeline(rng, spec: DemoPipeline, count: int, *, contacts: list[Contact], accounts: list[Account],
                   reps: list, reasons: list[LostReason], now: datetime) -> tuple[Pipeline, list[_Plan]]:
    pipeline = pipeline_create(name=spec.name, stages=spec.stages)
    pipeline = pipeline_update(pipeline=pipeline, won_makes_customer=spec.won_makes_customer,
                               radio_silent_days=spec.radio_silent_days)
    stages = list(pipeline.stages.order_by("position"))
    created_times = [contact.created_at for contact in contacts]
    by_account: dict[int, list[Contact]] = {}
    for contact in contacts:
        if contact.account_id:
            by_account.setdefault(contact.account_id, []).append(contact)

    # Business grows: more deals were created lately than a year ago.
    plans = [_walk(rng, stages, now - timedelta(days=1 + 359 * rng.random() ** 1.5), now, reasons)
             for _ in range(count)]
    # Radio silent: open deals nobody touched since their last move, long ago, and with no contact whose own
    # activity would count. A few other deals have no primary contact either (account-only).
    quiet_since = now - timedelta(days=spec.radio_silent_days + 3)
    quiet = [p for p in plans if p.status == Deal.Status.OPEN and p.stays[-1][1] < quiet_since]
    silent = {id(p) for p in rng.sample(quiet, k=min(len(quiet), max(2, count // 20)))}
    for plan in plans:
        known = contacts[:bisect_right(created_times, plan.created)]
        account_only = id(plan) in silent or not known or rng.random() < 0.03
        contact = None if account_only and accounts else rng.choice(known or contacts)
        account = contact.account if contact else rng.choice(accounts)
        owner = None if rng.random() < 0.06 else (contact.owner if contact and contact.owner else rng.choice(reps))
        plan.deal = _deal(rng, spec, pipeline, plan, contact, account, owner, now)
        if id(plan) in silent:
            plan.deal.last_activity_at = plan.stays[-1][1]
        colleagues = [c for c in by_account.get(account.pk if account else 0, [])
                      if c != contact and c.created_at <= plan.created]
        if colleagues and rng.random() < 0.3:
            plan.others = rng.sample(colleagues, k=min(len(colleagues), rng.randint(1, 2)))
    # Each open column is ordered as the cards arrived in it, POSITION_GAP apart as after a renumbering.
    open_plans = sorted((p for p in plans if p.status == Deal.Status.OPEN),
                        key=lambda p: (p.deal.stage.position, p.deal.stage_entered_at))
    column, position = None, 0
    for plan in open_plans:
        position = position + 1 if plan.deal.stage_id == column else 0
        column, plan.deal.position = plan.deal.stage_id, position * POSITION_GAP
    return pipeline, plans


def _save(plans: list[_Plan]) -> list[Event]:
    """Create the deals, their other contacts and stage history; return their timeline events."""
    deals = [plan.deal for plan in plans]
    Deal.objects.bulk_create(deals, batch_size=1000)
    for plan in plans:
        plan.deal.created_at = plan.created  # auto_now_add ignored it on insert
    Deal.objects.bulk_update(deals, ["created_at"], batch_size=1000)
    Deal.other_contacts.through.objects.bulk_create(
        [Deal.other_contacts.through(deal_id=plan.deal.pk, contact_id=other.pk) for plan in plans
         for other in plan.others], batch_size=2000)
    DealStageHistory.objects.bulk_create(
        [DealStageHistory(deal=plan.deal, stage=stage, entered_at=entered, exited_at=exited, moved_by=plan.deal.owner)
         for plan in plans for stage, entered, exited in plan.stays], batch_size=2000)
    events = []
    for plan in plans:
        deal = plan.deal
        about = {"deal_id": deal.pk, "deal": deal.title}
        money = {"value": str(deal.value), "currency": deal.currency}
        for contact in ([deal.contact] if deal.contact else []) + plan.others:
            for step in plan.steps:
                extra = money if step.type in ("deal_created", "deal_won", "deal_lost") else {}
                events.append(Event(contact=contact, type=step.type, channel="crm", occurred_at=step.at,
                                    source="demo", properties={**about, **step.properties, **extra}))
    return events


def _silent_tasks(rng, plans: list[_Plan], now: datetime) -> list[Task]:
    """A follow-up set at the last touch of each deal with no contact, now mostly overdue."""
    tasks = []
    for plan in plans:
        deal = plan.deal
        if deal.contact_id or deal.status != Deal.Status.OPEN:
            continue
        assignee = deal.owner
        task = Task(kind=Task.Kind.CALL, title=rng.choice(SILENT_TASKS).format(deal=deal.title), deal=deal,
                    assignee=assignee, created_by=assignee,
                    due_at=deal.last_activity_at + timedelta(days=rng.randint(2, 10), hours=rng.randint(1, 8)))
        task._demo_created = deal.last_activity_at
        tasks.append(task)
    Task.objects.bulk_create(tasks)
    for task in tasks:
        task.created_at = task._demo_created
    Task.objects.bulk_update(tasks, ["created_at"])
    return tasks


def _won_makes_customers(plans: list[_Plan], events: list[Event]) -> int:
    """What deal_won's rule does: the contact of a won deal moves to the last lifecycle stage, with the reason.

    Only when the win is the contact's newest lifecycle news (no later move of the demo journeys), so each
    contact's history still reads in order and ends in its current stage.
    """
    customer = LifecycleStage.objects.filter(stage_set__is_active=True).order_by("-position").first()
    won = sorted((p for p in plans if p.status == Deal.Status.WON and p.deal.contact_id
                  and p.deal.pipeline.won_makes_customer), key=lambda p: p.closed)
    if customer is None or not won:
        return 0
    contacts = {c.pk: c for c in Contact.objects.filter(pk__in={p.deal.contact_id for p in won})
                .select_related("lifecycle_stage")}
    latest = dict(StageTransition.objects.filter(contact__in=list(contacts)).values("contact")
                  .annotate(at=Max("occurred_at")).values_list("contact", "at"))
    transitions, moved = [], []
    for plan in won:
        contact = contacts[plan.deal.contact_id]
        current = contact.lifecycle_stage
        if current == customer or (latest.get(contact.pk) and latest[contact.pk] >= plan.closed):
            continue
        direction = (StageTransition.Direction.ENTRY if current is None or current.stage_set_id != customer.stage_set_id
                     else StageTransition.Direction.FORWARD if customer.position > current.position
                     else StageTransition.Direction.BACKWARD)
        reason = f"Won the deal “{plan.deal.title}”"
        transitions.append(StageTransition(contact=contact, from_stage=current, to_stage=customer, direction=direction,
                                           occurred_at=plan.closed, actor=StageTransition.Actor.RULE, reason=reason))
        events.append(Event(contact=contact, type="stage_changed", occurred_at=plan.closed, source="demo",
                            properties={"from": current.name if current else None, "to": customer.name,
                                        "direction": direction, "reason": reason}))
        contact.lifecycle_stage = customer
        latest[contact.pk] = plan.closed
        moved.append(contact)
    StageTransition.objects.bulk_create(transitions)
    Contact.objects.bulk_update(moved, ["lifecycle_stage"])
    return len(moved)


def seed(*, rng, context: dict) -> str:
    todo = [spec for spec in PIPELINES if not Pipeline.objects.filter(name=spec.name).exists()]
    if not todo:
        return "deals: already there"
    contacts = list(context["contacts_qs"].select_related("account", "owner").order_by("created_at", "pk"))
    if not contacts:
        return "deals: no demo contacts to sell to"
    accounts = sorted({c.account for c in contacts if c.account}, key=lambda a: a.pk)
    if not LostReason.objects.filter(is_active=True).exists():
        for name in DEFAULT_LOST_REASONS:
            lost_reason_create(name=name)
    reasons = list(LostReason.objects.filter(is_active=True))
    total = min(MAX_DEALS, max(MIN_DEALS, context.get("contacts", len(contacts)) * 2 // 3))
    now = timezone.now()
    plans: list[_Plan] = []
    summary = []
    for spec in todo:
        count = round(total * spec.share)
        pipeline, made = _seed_pipeline(rng, spec, count, contacts=contacts, accounts=accounts,
                                        reps=context["reps"], reasons=reasons, now=now)
        plans += made
        statuses = [p.status for p in made]
        summary.append(f"'{pipeline.name}' {len(made)} ({statuses.count('open')} open, {statuses.count('won')} won, "
                       f"{statuses.count('lost')} lost)")
    events = _save(plans)
    tasks = _silent_tasks(rng, plans, now)
    customers = _won_makes_customers(plans, events)
    Event.objects.bulk_create(events, batch_size=2000)
    stays = sum(len(p.stays) for p in plans)
    return (f"deals: {', '.join(summary)}; {stays} stage stays, {len(tasks)} follow-ups on deals without a "
            f"contact, {customers} contacts made customers by a win")
