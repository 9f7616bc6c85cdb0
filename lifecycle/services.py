"""Writes on the customer lifecycle: stage sets and moving contacts between stages."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.services import event_record
from lifecycle.defaults import ensure_default_stage_sets
from lifecycle.models import LifecycleStage, StageSet, StageTransition

__all__ = ["contact_stage_set", "stage_sets_ensure_defaults"]

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
