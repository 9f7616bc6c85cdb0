"""Writes on the customer lifecycle: stage sets, their stages, and moving contacts between stages."""

import logging
from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from contacts.models import Contact
from contacts.services import event_record
from lifecycle.defaults import ensure_default_stage_sets
from lifecycle.models import LifecycleStage, StageSet, StageTransition
from lifecycle.selectors import stage_usage
from users.permissions import has_role
from users.roles import Role

__all__ = [
    "contact_stage_set",
    "stage_create",
    "stage_delete",
    "stage_reorder",
    "stage_set_activate",
    "stage_sets_ensure_defaults",
    "stage_update",
]

logger = logging.getLogger(__name__)

@transaction.atomic
def stage_sets_ensure_defaults() -> StageSet:
    """Create the default stage sets that are missing; return the active one."""
    return ensure_default_stage_sets(StageSet, LifecycleStage)


@transaction.atomic
def contact_stage_set(*, contact: Contact, stage: LifecycleStage, actor: str, user=None, reason: str = "",
                      occurred_at: datetime | None = None) -> StageTransition | None:
    """Move a contact to a lifecycle stage, forward or backward, and record the move.

    Returns the transition, or None when the contact is already in that stage.
    """
    locked = Contact.objects.select_for_update(of=("self",)).select_related("lifecycle_stage").get(pk=contact.pk)
    current = locked.lifecycle_stage
    if current is not None and current.pk == stage.pk:
        return None
    if current is None or current.stage_set_id != stage.stage_set_id:
        direction = StageTransition.Direction.ENTRY
    elif stage.position > current.position:
        direction = StageTransition.Direction.FORWARD
    else:
        direction = StageTransition.Direction.BACKWARD
    transition = StageTransition(
        contact=locked, from_stage=current, to_stage=stage, direction=direction, actor=actor, user=user,
        reason=reason, occurred_at=occurred_at or timezone.now())
    transition.full_clean()
    transition.save()
    Contact.objects.filter(pk=locked.pk).update(lifecycle_stage=stage)
    contact.lifecycle_stage = stage
    event_record(contact=locked, type="stage_changed", occurred_at=transition.occurred_at, source=actor,
                 properties={"from": current.name if current else None, "to": stage.name,
                             "direction": direction, "reason": reason})
    return transition


# --- Stage sets and stages, for admins -----------------------------------------------------------
#
# Positions inside a set are kept as 0, 1, 2, ... by these services. The (stage_set, position) unique
# constraint is DEFERRABLE INITIALLY DEFERRED, so a transaction may permute positions freely and is
# checked once, at commit. Each service locks the stage set row first, so two admins editing the same
# set take turns instead of interleaving their renumbering.


def _require_admin(user, action: str) -> None:
    if not has_role(user, Role.ADMIN):
        raise PermissionDenied(f"Only admins may {action}.")


def _lock(stage_set_id: int) -> tuple[StageSet, list[LifecycleStage]]:
    """Lock the set; return it, fresh, with its stages in order."""
    stage_set = StageSet.objects.select_for_update().get(pk=stage_set_id)
    stages = list(LifecycleStage.objects.filter(stage_set=stage_set).order_by("position", "id"))
    return stage_set, stages


def _check_name(stage: LifecycleStage, stages: Sequence[LifecycleStage]) -> None:
    """Names are unique in a set, compared ignoring case and surrounding spaces."""
    taken = {other.name.strip().casefold() for other in stages if other.pk != stage.pk}
    if stage.name.strip().casefold() in taken:
        raise ValidationError({"name": f"There is already a stage called “{stage.name}” in {stage.stage_set}."})


def _renumber(stages: Sequence[LifecycleStage]) -> None:
    """Store positions 0..n-1 in the given order, in one UPDATE."""
    changed = []
    for index, stage in enumerate(stages):
        if stage.position != index:
            stage.position = index
            changed.append(stage)
    if changed:
        LifecycleStage.objects.bulk_update(changed, ["position"])


def _clamp(position: int | None, size: int) -> int:
    return size if position is None else max(0, min(int(position), size))


@transaction.atomic
def stage_create(*, stage_set: StageSet, name: str, by, description: str = "",
                 position: int | None = None) -> LifecycleStage:
    """Add a stage to a set, at the end or at `position` (0 is first); later stages move down one."""
    _require_admin(by, "add lifecycle stages")
    stage_set, stages = _lock(stage_set.pk)
    stage = LifecycleStage(stage_set=stage_set, name=(name or "").strip(), description=(description or "").strip(),
                           position=len(stages))
    _check_name(stage, stages)
    stage.full_clean(exclude=["position"])
    stage.save()
    stages.insert(_clamp(position, len(stages)), stage)
    _renumber(stages)
    logger.info("lifecycle stage created", extra={"stage_id": stage.pk, "stage_set_id": stage_set.pk, "by": by.pk})
    return stage


@transaction.atomic
def stage_update(*, stage: LifecycleStage, by, name: str | None = None, description: str | None = None,
                 position: int | None = None) -> LifecycleStage:
    """Rename a stage, change its description, or move it to `position` (0 is first) within its set.

    Moving a stage changes the direction of future moves only: recorded transitions keep theirs.
    """
    _require_admin(by, "change lifecycle stages")
    _stage_set, stages = _lock(stage.stage_set_id)
    current = next((s for s in stages if s.pk == stage.pk), None)
    if current is None:
        raise ValidationError("This stage no longer exists.")
    if name is not None:
        current.name = name.strip()
    if description is not None:
        current.description = description.strip()
    _check_name(current, stages)
    current.full_clean(exclude=["position"])
    current.save(update_fields=["name", "description"])
    if position is not None:
        stages.remove(current)
        stages.insert(_clamp(position, len(stages)), current)
        _renumber(stages)
    stage.name, stage.description, stage.position = current.name, current.description, current.position
    return stage


@transaction.atomic
def stage_reorder(*, stage_set: StageSet, stage_ids: Sequence[int], by) -> list[LifecycleStage]:
    """Put the set's stages in the given order. `stage_ids` must list each stage of the set exactly once."""
    _require_admin(by, "reorder lifecycle stages")
    stage_set, stages = _lock(stage_set.pk)
    try:
        wanted = [int(pk) for pk in stage_ids]
    except (TypeError, ValueError):
        raise ValidationError({"stages": "List the stages by their ids."}) from None
    by_id = {s.pk: s for s in stages}
    if len(wanted) != len(set(wanted)) or set(wanted) != set(by_id):
        raise ValidationError({"stages": f"List each of the {len(stages)} stages of {stage_set} exactly once."})
    ordered = [by_id[pk] for pk in wanted]
    _renumber(ordered)
    return ordered


@transaction.atomic
def stage_delete(*, stage: LifecycleStage, by) -> None:
    """Delete a stage nobody is in and no recorded move refers to; later stages move up one.

    A stage that is part of any contact's history stays: the transitions are the journey data.
    """
    _require_admin(by, "delete lifecycle stages")
    stage_set, stages = _lock(stage.stage_set_id)
    usage = stage_usage(stage)
    if usage.in_use:
        reasons = []
        if usage.contacts:
            reasons.append(f"{usage.contacts} contact{'s are' if usage.contacts != 1 else ' is'} in it")
        if usage.moves:
            reasons.append(f"{usage.moves} recorded move{'s refer' if usage.moves != 1 else ' refers'} to it")
        raise ValidationError(
            f"“{stage.name}” cannot be deleted: {' and '.join(reasons)}. "
            "Stages that are part of a contact's history are kept; rename it instead.", code="in_use")
    if stage_set.is_active and len(stages) == 1:
        raise ValidationError(f"“{stage.name}” is the only stage of the active set, which needs at least one.",
                              code="last_stage")
    deleted_pk = stage.pk
    try:
        stage.delete()
    except ProtectedError:
        # A contact moved into it after the counts above; the foreign key keeps the history safe.
        raise ValidationError(f"“{stage.name}” cannot be deleted: it is in use.", code="in_use") from None
    _renumber([s for s in stages if s.pk != deleted_pk])
    logger.info("lifecycle stage deleted", extra={"stage_name": stage.name, "by": by.pk})


@transaction.atomic
def stage_set_activate(*, stage_set: StageSet, by) -> StageSet:
    """Make `stage_set` the active set.

    Contacts keep the stage they are in (of the old set); their next move into a stage of the new set
    is recorded as an entry (see contact_stage_set). Nothing about past transitions changes.
    """
    _require_admin(by, "switch the lifecycle stage set")
    # Lock every set, in a fixed order: two admins switching at once then take turns instead of both
    # clearing the old flag and colliding on the one-active constraint.
    sets = {s.pk: s for s in StageSet.objects.select_for_update().order_by("pk")}
    target = sets.get(stage_set.pk)
    if target is None:
        raise ValidationError("This stage set no longer exists.")
    if target.is_active:
        return target
    if not target.stages.exists():
        raise ValidationError(f"“{target}” has no stages yet; add one before making it active.", code="empty")
    StageSet.objects.filter(is_active=True).update(is_active=False)
    StageSet.objects.filter(pk=target.pk).update(is_active=True)
    stage_set.is_active = target.is_active = True
    logger.info("lifecycle stage set activated", extra={"stage_set_id": target.pk, "by": by.pk})
    return target
