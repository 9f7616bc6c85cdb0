"""Bulk actions on deals (the deal list's bulk bar): set the owner, move to a stage, mark won, mark lost.

Each deal goes through its service (pipelines.services), all of them in one transaction, each in a
savepoint of its own: a deal the service refuses (already closed, in another pipeline) is skipped with the
service's reason and the others are still done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from pipelines import services
from pipelines.models import Deal, LostReason, Stage

__all__ = ["ACTIONS", "BulkResult", "deals_bulk_apply"]

#: name -> label, in the bar's order.
ACTIONS = {"set_owner": "Set owner", "move_stage": "Move to stage", "won": "Mark won", "lost": "Mark lost"}


@dataclass
class BulkResult:
    action: str
    done: list[Deal] = field(default_factory=list)
    #: why -> the deals skipped for that reason
    skipped: dict[str, list[Deal]] = field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return sum(len(deals) for deals in self.skipped.values())

    def message(self) -> str:
        """"Mark won: 2 done, 1 skipped (“Beta”: This deal is already lost.)"."""
        text = f"{ACTIONS[self.action]}: {len(self.done)} done"
        if not self.skipped:
            return text + "."
        reasons = []
        for why, deals in self.skipped.items():
            titles = ", ".join(f"“{deal.title}”" for deal in deals[:3])
            more = f" and {len(deals) - 3} more" if len(deals) > 3 else ""
            reasons.append(f"{titles}{more}: {why}")
        return f"{text}, {self.skipped_count} skipped ({'; '.join(reasons)})"


def _apply(deal: Deal, action: str, *, by, owner, stage: Stage | None, reason: LostReason | None) -> None:
    if action == "set_owner":
        if deal.owner_id == (owner.pk if owner else None):
            raise ValidationError("It already has that owner.")
        services.deal_update(deal=deal, owner=owner, by=by)
    elif action == "move_stage":
        if deal.pipeline_id != stage.pipeline_id:
            raise ValidationError(f"It is in another pipeline than {stage.name}; a deal moves within its own.")
        if deal.stage_id == stage.pk and deal.status == Deal.Status.OPEN:
            raise ValidationError(f"It is already in {stage.name}.")
        last = Deal.objects.filter(status=Deal.Status.OPEN, stage=stage).exclude(pk=deal.pk).count()
        services.deal_move(deal=deal, stage=stage, position=last, by=by)
    elif action == "won":
        services.deal_won(deal=deal, by=by)
    elif action == "lost":
        services.deal_lost(deal=deal, reason=reason, by=by)
    else:  # pragma: no cover - the form offers only ACTIONS
        raise ValueError(f"unknown bulk action {action!r}")


@transaction.atomic
def deals_bulk_apply(*, deals: Iterable[Deal], action: str, by=None, owner=None, stage: Stage | None = None,
                     reason: LostReason | None = None) -> BulkResult:
    """Apply `action` to each deal through its service; refused deals are skipped with the reason.

    `owner` (a user or None for unassigned) goes with set_owner, `stage` with move_stage, `reason` with lost.
    The caller checks who may see the deals (deals_visible_to).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown bulk action {action!r}")
    if action == "move_stage" and stage is None:
        raise ValidationError({"stage": ["Choose the stage to move the deals to."]})
    if action == "lost" and (reason is None or not reason.is_active):
        raise ValidationError({"reason": ["Choose why the deals were lost."]})
    result = BulkResult(action=action)
    for deal in deals:
        try:
            with transaction.atomic():  # a savepoint: a refused deal leaves the others done
                _apply(deal, action, by=by, owner=owner, stage=stage, reason=reason)
        except ValidationError as error:
            result.skipped.setdefault(" ".join(error.messages), []).append(deal)
        else:
            result.done.append(deal)
    return result
