"""Writes on pipelines and deals. Each deal change records a timeline event for its contacts."""

import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone

from contacts.bulk import merge_fields
from contacts.fields import clean_field_values, custom_fields_by_key
from contacts.models import Contact, CustomField
from contacts.services import event_record
from pipelines.models import DEFAULT_STAGES, Deal, DealStageHistory, LostReason, Pipeline, Stage

__all__ = [
    "DEAL_EDITABLE", "deal_create", "deal_delete", "deal_lost", "deal_move", "deal_reopen", "deal_update",
    "deal_won", "lost_reason_create", "lost_reason_move", "lost_reason_update", "pipeline_create", "pipeline_delete",
    "pipeline_stages_set", "pipeline_update", "stage_create", "stage_delete", "stage_move", "stage_update",
]

#: The deal columns deal_update changes (plus `other_contacts` and `fields`).
DEAL_EDITABLE = ("title", "value", "currency", "contact", "account", "owner", "expected_close_date",
                 "budget", "authority", "need", "timeline")


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
    """The event on the timeline of each of the deal's contacts, the primary one and the others."""
    contacts = [deal.contact] if deal.contact_id else []
    if deal.pk:
        contacts += [c for c in deal.other_contacts.all() if c.pk != deal.contact_id]
    for contact in contacts:
        event_record(contact=contact, type=type, channel="crm", source="user",
                     properties={"deal_id": deal.pk, "deal": deal.title, **properties})


def _clean_fields(deal: Deal, values: dict | None) -> None:
    if values is None:
        return
    cleaned, errors = clean_field_values(values, custom_fields_by_key(CustomField.Object.DEAL))
    if errors:
        raise ValidationError({"fields": [f"{key}: {' '.join(messages)}" for key, messages in errors.items()]})
    deal.fields = {key: value for key, value in merge_fields(deal.fields, cleaned).items() if value is not None}


def _check_other_contacts(deal: Deal, others: Iterable[Contact] | None) -> list[Contact] | None:
    if others is None:
        return None
    return [c for c in dict.fromkeys(others) if c.pk != deal.contact_id]


@transaction.atomic
def deal_create(*, title: str, pipeline: Pipeline, stage: Stage | None = None, value: Decimal = Decimal("0"),
                currency: str = "USD", contact=None, account=None, owner=None, expected_close_date: date | None = None,
                other_contacts: Iterable[Contact] = (), fields: dict | None = None, by=None, **bant) -> Deal:
    """A new open deal at the end of its stage (the pipeline's first stage by default).

    `bant` takes budget, authority, need and timeline; `fields` the deal's custom field values by key.
    """
    stage = stage or pipeline.stages.order_by("position").first()
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": ["Choose a stage of this pipeline."]})
    unknown = set(bant) - {"budget", "authority", "need", "timeline"}
    if unknown:
        raise TypeError(f"deal_create() got unexpected arguments: {', '.join(sorted(unknown))}")
    now = timezone.now()
    position = _end_of(stage)
    deal = Deal(title=(title or "").strip(), pipeline=pipeline, stage=stage, value=value,
                currency=(currency or "").upper(), contact=contact, account=account, owner=owner,
                expected_close_date=expected_close_date, position=position, stage_entered_at=now,
                last_activity_at=now, **bant)
    if account is None and contact is not None and contact.account_id:
        deal.account_id = contact.account_id
    _clean_fields(deal, fields)
    deal.full_clean()
    deal.save()
    others = _check_other_contacts(deal, other_contacts)
    if others:
        deal.other_contacts.set(others)
    DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=now, moved_by=by)
    _deal_event(deal, "deal_created", stage=stage.name, value=str(deal.value), currency=deal.currency)
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, by=None, other_contacts: Iterable[Contact] | None = None, fields: dict | None = None,
                **changes) -> Deal:
    """Change a deal's details (see DEAL_EDITABLE). Stage and status change through move, won, lost and reopen.

    A new value or owner is an event on the contacts' timelines ("deal_value_changed", "deal_owner_changed").
    `fields` is merged into the custom field values; a None value clears that field.
    """
    unknown = set(changes) - set(DEAL_EDITABLE)
    if unknown:
        raise TypeError(f"deal_update() got unexpected arguments: {', '.join(sorted(unknown))}")
    deal = Deal.objects.select_for_update(of=("self",)).select_related("contact", "owner", "stage").get(pk=deal.pk)
    before_value, before_currency, before_owner = deal.value, deal.currency, deal.owner
    for name, value in changes.items():
        if name in ("title", "authority", "need", "timeline"):
            value = (value or "").strip()
        elif name == "currency":
            value = (value or "").upper()
        setattr(deal, name, value)
    _clean_fields(deal, fields)
    deal.last_activity_at = timezone.now()
    deal.full_clean()
    deal.save()
    others = _check_other_contacts(deal, other_contacts)
    if others is not None:
        deal.other_contacts.set(others)
    if (deal.value, deal.currency) != (before_value, before_currency):
        _deal_event(deal, "deal_value_changed", value=str(deal.value), currency=deal.currency,
                    previous_value=str(before_value), previous_currency=before_currency)
    if deal.owner_id != (before_owner.pk if before_owner else None):
        _deal_event(deal, "deal_owner_changed", owner=str(deal.owner) if deal.owner else None,
                    previous_owner=str(before_owner) if before_owner else None)
    return deal


@transaction.atomic
def deal_delete(*, deal: Deal) -> None:
    """Delete a deal with its history and tasks; notes stay on the contact."""
    Deal.objects.select_for_update(of=("self",)).get(pk=deal.pk).delete()


# --- Order within a column ------------------------------------------------------------------------
#
# `Deal.position` is a sort key with gaps, not an index: a card dropped between two others takes the
# midpoint of their keys, so a move writes one row however long the column is (renumbering a column of
# 2,000 cards on every drop cost ~40 ms of index writes). Only when two neighbours' keys touch is the
# column renumbered, in one UPDATE. Callers speak in indexes (0 is the top); the keys stay inside.

#: The gap between neighbours' keys after a renumbering, and between a new last card and the one before.
POSITION_GAP = 1 << 16


def _column(stage: Stage, exclude: int | None = None):
    return Deal.objects.filter(status=Deal.Status.OPEN, stage=stage).exclude(pk=exclude)


def _end_of(stage: Stage, exclude: int | None = None) -> int:
    last = _column(stage, exclude).aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + POSITION_GAP


def _renumber(stage: Stage) -> None:
    """Spread the column's keys POSITION_GAP apart again, keeping their order, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pipelines_deal d SET position = o.n * %s FROM ("
            " SELECT id, row_number() OVER (ORDER BY position, id) AS n FROM pipelines_deal"
            " WHERE stage_id = %s AND status = %s) o WHERE d.id = o.id",
            [POSITION_GAP, stage.pk, Deal.Status.OPEN])


def _key_at(stage: Stage, index: int, exclude: int) -> int:
    """The sort key that puts a card at `index` among the column's other open cards."""
    for _attempt in range(2):
        around = list(_column(stage, exclude).order_by("position", "pk")
                      .values_list("position", flat=True)[max(index - 1, 0):index + 1])
        before = around[0] if index > 0 and around else None
        after = around[-1] if (index == 0 and around) or len(around) == 2 else None
        if before is None and after is None:
            return 0
        if before is None:
            return after - POSITION_GAP
        if after is None:
            return before + POSITION_GAP
        if after - before > 1:
            return (before + after) // 2
        _renumber(stage)
    raise RuntimeError("no room between two cards after renumbering")  # cannot happen: the gap is 2**16


@transaction.atomic
def deal_move(*, deal: Deal, stage: Stage, position: int = 0, by=None) -> Deal:
    """Put an open deal at index `position` (0 is the top) in `stage`, its own or another of the pipeline,
    in one transaction.

    A change of stage closes the current stay in the stage history and opens the next; a move back is
    recorded like any other. Only the moved card's row changes (see POSITION_GAP).
    """
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage", "contact").get(pk=deal.pk)
    if deal.status != Deal.Status.OPEN:
        raise ValidationError({"status": ["Only open deals move between stages; reopen it first."]})
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": ["That stage belongs to another pipeline."]})
    if position < 0:
        raise ValidationError({"position": ["A position is 0 or more."]})
    if position > _column(stage, exclude=deal.pk).count():
        raise ValidationError({"position": ["That position is past the end of the stage; "
                                            "send the number of cards in it to put the deal last."]})
    now = timezone.now()
    previous = deal.stage
    deal.stage, deal.position, deal.last_activity_at = stage, _key_at(stage, position, exclude=deal.pk), now
    if stage.pk != previous.pk:
        deal.stage_entered_at = now
    deal.save(update_fields=["stage", "position", "last_activity_at", "stage_entered_at"])
    if stage.pk != previous.pk:
        DealStageHistory.objects.filter(deal=deal, exited_at__isnull=True).update(exited_at=now)
        DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=now, moved_by=by)
        _deal_event(deal, "deal_moved", **{"from": previous.name, "to": stage.name,
                                           "direction": "forward" if stage.position > previous.position
                                           else "backward"})
    return deal


def _close(deal: Deal, status: str, now) -> Deal:
    locked = Deal.objects.select_for_update(of=("self",)).select_related("stage", "contact", "pipeline").get(
        pk=deal.pk)
    if locked.status != Deal.Status.OPEN:
        raise ValidationError({"status": [f"This deal is already {locked.get_status_display().lower()}."]})
    DealStageHistory.objects.filter(deal=locked, exited_at__isnull=True).update(exited_at=now)
    locked.status, locked.closed_at, locked.last_activity_at = status, now, now
    return locked


@transaction.atomic
def deal_won(*, deal: Deal, by=None) -> Deal:
    """Mark a deal won. Its contact becomes a customer: moved to the active lifecycle's last stage
    (Support & Grow in the default set) unless already there or the pipeline's rule is off, with the reason
    recorded.
    """
    from lifecycle.models import LifecycleStage
    from lifecycle.services import contact_stage_set

    now = timezone.now()
    deal = _close(deal, Deal.Status.WON, now)
    deal.save(update_fields=["status", "closed_at", "last_activity_at"])
    _deal_event(deal, "deal_won", value=str(deal.value), currency=deal.currency, stage=deal.stage.name)
    customer = LifecycleStage.objects.filter(stage_set__is_active=True).order_by("-position").first()
    if deal.contact_id and customer is not None and deal.pipeline.won_makes_customer:
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


@transaction.atomic
def deal_reopen(*, deal: Deal, stage: Stage | None = None, by=None) -> Deal:
    """Open a won or lost deal again, last in its stage (or `stage`), with a new stay in the stage history.

    The contact's lifecycle stage is left alone: a reopened deal does not make them a customer any less.
    """
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage", "contact").get(pk=deal.pk)
    if deal.status == Deal.Status.OPEN:
        raise ValidationError({"status": ["This deal is already open."]})
    stage = stage or deal.stage
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": ["That stage belongs to another pipeline."]})
    now = timezone.now()
    previous_status = deal.status
    deal.status, deal.closed_at, deal.lost_reason = Deal.Status.OPEN, None, None
    deal.stage, deal.stage_entered_at, deal.last_activity_at = stage, now, now
    deal.position = _end_of(stage)
    deal.save(update_fields=["status", "closed_at", "lost_reason", "stage", "stage_entered_at", "last_activity_at",
                             "position"])
    DealStageHistory.objects.create(deal=deal, stage=stage, entered_at=now, moved_by=by)
    _deal_event(deal, "deal_reopened", previous_status=previous_status, stage=stage.name)
    return deal


# --- Pipelines, their stages and the lost reasons, for admins --------------------------------------


@transaction.atomic
def pipeline_update(*, pipeline: Pipeline, **changes) -> Pipeline:
    """Rename a pipeline or change its rules (won_makes_customer, radio_silent_days)."""
    unknown = set(changes) - {"name", "won_makes_customer", "radio_silent_days"}
    if unknown:
        raise TypeError(f"pipeline_update() got unexpected arguments: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(pipeline, name, value.strip() if name == "name" else value)
    pipeline.full_clean()
    pipeline.save()
    return pipeline


@transaction.atomic
def pipeline_delete(*, pipeline: Pipeline) -> None:
    """Delete a pipeline that has no deals left; its deals must be moved or deleted first."""
    count = pipeline.deals.count()
    if count:
        raise ValidationError({"pipeline": [f"{count:,} deal{'s are' if count != 1 else ' is'} still in this "
                                            f"pipeline. Delete or move them first."]})
    if Pipeline.objects.count() == 1:
        raise ValidationError({"pipeline": ["This is the only pipeline; create another before deleting it."]})
    pipeline.delete()


def _stage_clean(stage: Stage) -> None:
    try:
        stage.full_clean(exclude=["position"])
    except ValidationError as error:
        messages = error.message_dict
        if "__all__" in messages:  # the pipeline+name unique constraint
            messages.setdefault("name", []).append(f"This pipeline already has a stage called “{stage.name}”.")
            messages.pop("__all__")
        raise ValidationError(messages) from None


@transaction.atomic
def stage_create(*, pipeline: Pipeline, name: str, probability: int = 0, rotting_days: int | None = None,
                 position: int | None = None) -> Stage:
    """A new stage, last in the pipeline or at `position`."""
    last = Stage.objects.select_for_update().filter(pipeline=pipeline).count()
    stage = Stage(pipeline=pipeline, name=(name or "").strip(), probability=probability, rotting_days=rotting_days,
                  position=last)
    _stage_clean(stage)
    stage.save()
    if position is not None and position < last:
        stage_move(stage=stage, position=position)
        stage.refresh_from_db(fields=["position"])
    return stage


@transaction.atomic
def stage_update(*, stage: Stage, **changes) -> Stage:
    """Change a stage's name, win probability or rotting limit."""
    unknown = set(changes) - {"name", "probability", "rotting_days"}
    if unknown:
        raise TypeError(f"stage_update() got unexpected arguments: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(stage, name, value.strip() if name == "name" else value)
    _stage_clean(stage)
    stage.save(update_fields=list(changes))  # never the position: stage_move owns it
    return stage


@transaction.atomic
def stage_move(*, stage: Stage, position: int) -> None:
    """Put a stage at `position` (0 is first); the others keep their order around it."""
    stages = list(Stage.objects.select_for_update().filter(pipeline_id=stage.pipeline_id).order_by("position"))
    ids = [s.pk for s in stages if s.pk != stage.pk]
    ids.insert(max(0, min(position, len(ids))), stage.pk)
    # Two passes under the unique (pipeline, position) constraint: out of the way, then into place.
    offset = len(ids) + 1000
    Stage.objects.filter(pipeline_id=stage.pipeline_id).update(position=F("position") + offset)
    for index, pk in enumerate(ids):
        Stage.objects.filter(pk=pk).update(position=index)


@transaction.atomic
def stage_delete(*, stage: Stage, move_deals_to: Stage | None = None) -> None:
    """Delete a stage. Its deals, open or closed, must go to another stage of the pipeline first.

    A stage that has or had deals needs `move_deals_to`: open deals move there (a recorded move), closed
    ones and the past stays of the stage history are re-pointed to it, so metrics keep counting them.
    """
    pipeline_stages = Stage.objects.select_for_update().filter(pipeline_id=stage.pipeline_id)
    if pipeline_stages.count() == 1:
        raise ValidationError({"stage": ["A pipeline needs at least one stage."]})
    deals = Deal.objects.filter(stage=stage)
    if deals.exists() or DealStageHistory.objects.filter(stage=stage).exists():
        if move_deals_to is None or move_deals_to.pk == stage.pk or move_deals_to.pipeline_id != stage.pipeline_id:
            raise ValidationError({"move_deals_to": [
                f"{deals.count():,} deals are or were in “{stage.name}”. Choose another stage of this pipeline "
                f"to move them to."]})
        for deal in deals.filter(status=Deal.Status.OPEN).order_by("position"):
            deal_move(deal=deal, stage=move_deals_to, position=_column(move_deals_to).count())
        deals.update(stage=move_deals_to)
        DealStageHistory.objects.filter(stage=stage).update(stage=move_deals_to)
    stage.delete()
    for index, pk in enumerate(pipeline_stages.order_by("position").values_list("pk", flat=True)):
        Stage.objects.filter(pk=pk).update(position=index)


@transaction.atomic
def lost_reason_create(*, name: str) -> LostReason:
    reason = LostReason(name=(name or "").strip(),
                        position=(LostReason.objects.aggregate(last=Max("position"))["last"] or 0) + 1)
    reason.full_clean()
    reason.save()
    return reason


@transaction.atomic
def lost_reason_update(*, reason: LostReason, **changes) -> LostReason:
    """Rename a lost reason or retire it (is_active=False): lost deals keep it, new ones cannot pick it."""
    unknown = set(changes) - {"name", "is_active", "position"}
    if unknown:
        raise TypeError(f"lost_reason_update() got unexpected arguments: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(reason, name, value.strip() if name == "name" else value)
    reason.full_clean()
    reason.save()
    return reason


@transaction.atomic
def lost_reason_move(*, reason: LostReason, position: int) -> None:
    """Put a lost reason at `position` (0 is first) in the list; the others keep their order, numbered 0, 1, 2…"""
    ids = list(LostReason.objects.select_for_update().order_by("position", "name", "pk").values_list("pk", flat=True))
    ids.remove(reason.pk)
    ids.insert(max(0, min(position, len(ids))), reason.pk)
    for index, pk in enumerate(ids):
        LostReason.objects.filter(pk=pk).exclude(position=index).update(position=index)


@transaction.atomic
def pipeline_stages_set(*, pipeline: Pipeline, stages: list[dict], move_deals_to: dict[int, int] | None = None) -> None:
    """Make the pipeline's stages exactly `stages`, in that order, in one transaction.

    Each item is {"id", "name", "probability", "rotting_days"}: with an `id` (a stage of this pipeline) it
    changes that stage, leaving out what it does not name; without, it is a new stage and needs a name. Stages
    left out are deleted (stage_delete); one that has or had deals needs `move_deals_to[its id]`, the id of a
    stage that stays, where its deals go. Names may be swapped between stages in one call.
    """
    current = {stage.pk: stage for stage in Stage.objects.select_for_update().filter(pipeline=pipeline)}
    errors: dict[str, list[str]] = {}
    if not stages:
        errors["stages"] = ["A pipeline needs at least one stage."]
    kept: dict[int, str] = {}  # stage id -> its name afterwards
    names: set[str] = set()
    for index, item in enumerate(stages):
        pk = item.get("id")
        if pk is not None and pk not in current:
            errors[f"stages.{index}.id"] = [f"Stage {pk} is not a stage of this pipeline; leave out the id to add "
                                            f"a new stage."]
            continue
        if pk is not None and pk in kept:
            errors[f"stages.{index}.id"] = [f"Stage {pk} is listed twice."]
            continue
        name = (item["name"] if "name" in item else current[pk].name if pk is not None else "").strip()
        if not name:
            errors[f"stages.{index}.name"] = ["Give the stage a name."]
        elif name in names:
            errors[f"stages.{index}.name"] = [f"Two stages are called “{name}”; names are unique in a pipeline."]
        names.add(name)
        if pk is not None:
            kept[pk] = name
    removed = [stage for pk, stage in current.items() if pk not in kept]
    targets = dict(move_deals_to or {})
    for pk in set(targets) - {stage.pk for stage in removed}:
        errors[f"move_deals_to.{pk}"] = [f"Stage {pk} is not a stage of this pipeline being removed."]
    for stage in removed:
        count = Deal.objects.filter(stage=stage).count()
        if not count and not DealStageHistory.objects.filter(stage=stage).exists():
            targets.pop(stage.pk, None)
            continue
        target = targets.get(stage.pk)
        if target is None:
            errors[f"move_deals_to.{stage.pk}"] = [
                f"“{stage.name}” is left out, but {count:,} deal{'s are' if count != 1 else ' is'} in it or passed "
                f"through it. Say which stage they go to: \"move_deals_to\": {{\"{stage.pk}\": <id of a stage you "
                f"keep>}}."]
        elif target not in kept:
            errors[f"move_deals_to.{stage.pk}"] = [
                f"Move the deals of “{stage.name}” to a stage that stays: the id of a stage listed in stages."]
    if errors:
        raise ValidationError(errors)

    # Out of the way first: a stage whose name another stage takes gets a placeholder name until it is
    # renamed or deleted, so swaps and reuses never meet the (pipeline, name) unique constraint.
    for pk, stage in current.items():
        if stage.name in names and kept.get(pk) != stage.name:
            Stage.objects.filter(pk=pk).update(name=f"~{uuid.uuid4().hex}")
    order: list[int] = []
    for item in stages:
        pk = item.get("id")
        attributes = {key: item[key] for key in ("probability", "rotting_days") if key in item}
        if pk is None:
            order.append(stage_create(pipeline=pipeline, name=item["name"], **attributes).pk)
            continue
        stage = current[pk]
        if kept[pk] != stage.name:
            attributes["name"] = kept[pk]
        changed = {key: value for key, value in attributes.items() if getattr(stage, key) != value}
        if changed:
            stage_update(stage=stage, **changed)
        order.append(pk)
    for stage in removed:
        stage_delete(stage=stage, move_deals_to=current[targets[stage.pk]] if stage.pk in targets else None)
    if list(Stage.objects.filter(pipeline=pipeline).order_by("position").values_list("pk", flat=True)) != order:
        Stage.objects.filter(pipeline=pipeline).update(position=F("position") + len(order) + 1000)
        for index, pk in enumerate(order):
            Stage.objects.filter(pk=pk).update(position=index)
