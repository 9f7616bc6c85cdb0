"""Writes on pipelines and deals. Each deal change records a timeline event for its contact."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from contacts.services import event_record
from pipelines.models import DEFAULT_STAGES, Deal, DealStageHistory, LostReason, Pipeline, Stage

__all__ = ["deal_create", "deal_lost", "deal_move", "deal_won", "pipeline_create"]


@transaction.atomic
def pipeline_create(*, name: str, stages: list[tuple[str, int, int | None]] | None = None) -> Pipeline:
    """A pipeline with its ordered stages: (name, win probability %, rotting limit in days)."""
    pipeline = Pipeline(name=name)
    pipeline.full_clean()
    pipeline.save()
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=stage_name, position=index, probability=probability, rotting_days=rotting)
        for index, (stage_name, probability, rotting) in enumerate(stages or DEFAULT_STAGES)
    )
    return pipeline


def _deal_event(deal: Deal, type: str, **properties) -> None:
    if deal.contact_id:
        event_record(contact=deal.contact, type=type, channel="crm", source="user",
                     properties={"deal_id": deal.pk, "deal": deal.title, **properties})


@transaction.atomic
def deal_create(*, title: str, pipeline: Pipeline, stage: Stage | None = None, value: Decimal = Decimal("0"),
                currency: str = "USD", contact=None, account=None, owner=None, expected_close_date: date | None = None,
                by=None) -> Deal:
    """A new open deal at the end of its stage (the pipeline's first stage by default)."""
    stage = stage or pipeline.stages.order_by("position").first()
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": ["Choose a stage of this pipeline."]})
    position = Deal.objects.filter(stage=stage, status=Deal.Status.OPEN).count()
    deal = Deal(title=title.strip(), pipeline=pipeline, stage=stage, value=value, currency=currency.upper(),
                contact=contact, account=account, owner=owner, expected_close_date=expected_close_date,
                position=position, last_activity_at=timezone.now())
    deal.full_clean()
    deal.save()
    DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=deal.created_at, moved_by=by)
    _deal_event(deal, "deal_created", stage=stage.name, value=str(deal.value), currency=deal.currency)
    return deal


@transaction.atomic
def deal_move(*, deal: Deal, stage: Stage, position: int = 0, by=None) -> Deal:
    """Put an open deal at `position` in `stage` (its own or another of the pipeline), in one transaction.

    A change of stage closes the current stay in the stage history and opens the next; a move back is
    recorded like any other. The other cards of both columns keep a gapless order.
    """
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage", "contact").get(pk=deal.pk)
    if deal.status != Deal.Status.OPEN:
        raise ValidationError({"status": ["Only open deals move between stages; reopen it first."]})
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": ["That stage belongs to another pipeline."]})
    if position < 0:
        raise ValidationError({"position": ["A position is 0 or more."]})
    now = timezone.now()
    previous = deal.stage
    open_deals = Deal.objects.filter(status=Deal.Status.OPEN).exclude(pk=deal.pk)
    # Close the gap the card leaves, then open one where it lands.
    open_deals.filter(stage=previous, position__gt=deal.position).update(position=F("position") - 1)
    position = min(position, open_deals.filter(stage=stage).count())
    open_deals.filter(stage=stage, position__gte=position).update(position=F("position") + 1)
    deal.stage, deal.position, deal.last_activity_at = stage, position, now
    deal.save(update_fields=["stage", "position", "last_activity_at"])
    if stage.pk != previous.pk:
        DealStageHistory.objects.filter(deal=deal, exited_at__isnull=True).update(exited_at=now)
        DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=now, moved_by=by)
        _deal_event(deal, "deal_moved", **{"from": previous.name, "to": stage.name,
                                           "direction": "forward" if stage.position > previous.position
                                           else "backward"})
    return deal


def _close(deal: Deal, status: str, now) -> Deal:
    locked = Deal.objects.select_for_update(of=("self",)).select_related("stage", "contact").get(pk=deal.pk)
    if locked.status != Deal.Status.OPEN:
        raise ValidationError({"status": [f"This deal is already {locked.get_status_display().lower()}."]})
    Deal.objects.filter(status=Deal.Status.OPEN, stage=locked.stage, position__gt=locked.position).update(
        position=F("position") - 1)
    DealStageHistory.objects.filter(deal=locked, exited_at__isnull=True).update(exited_at=now)
    locked.status, locked.closed_at, locked.last_activity_at = status, now, now
    return locked


@transaction.atomic
def deal_won(*, deal: Deal, by=None) -> Deal:
    """Mark a deal won. Its contact becomes a customer: moved to the active lifecycle's last stage
    (Support & Grow in the default set) unless already there, with the reason recorded.
    """
    from lifecycle.models import LifecycleStage
    from lifecycle.services import contact_stage_set

    now = timezone.now()
    deal = _close(deal, Deal.Status.WON, now)
    deal.save(update_fields=["status", "closed_at", "last_activity_at"])
    _deal_event(deal, "deal_won", value=str(deal.value), currency=deal.currency, stage=deal.stage.name)
    customer = LifecycleStage.objects.filter(stage_set__is_active=True).order_by("-position").first()
    if deal.contact_id and customer is not None:
        contact_stage_set(contact=deal.contact, stage=customer, actor="rule", user=by,
                          reason=f"Won the deal “{deal.title}”")
    return deal


@transaction.atomic
def deal_lost(*, deal: Deal, reason: LostReason, by=None) -> Deal:
    """Mark a deal lost, with a reason from the editable list."""
    if reason is None or not reason.is_active:
        raise ValidationError({"reason": ["Choose why the deal was lost."]})
    now = timezone.now()
    deal = _close(deal, Deal.Status.LOST, now)
    deal.lost_reason = reason
    deal.save(update_fields=["status", "closed_at", "last_activity_at", "lost_reason"])
    _deal_event(deal, "deal_lost", reason=reason.name, value=str(deal.value), currency=deal.currency)
    return deal
