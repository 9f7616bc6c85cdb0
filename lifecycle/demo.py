"""Demo journeys through the lifecycle stages: mostly forward, some backward (the squiggle)."""

from datetime import timedelta

from django.utils import timezone

from contacts.models import Contact, Event
from lifecycle.models import StageTransition
from lifecycle.services import stage_sets_ensure_defaults


def seed(*, rng, context: dict) -> str:
    contacts = list(context["contacts_qs"].filter(lifecycle_stage__isnull=True))
    if not contacts:
        return "lifecycle journeys: already there"
    stages = list(stage_sets_ensure_defaults().stages.order_by("position"))
    now = timezone.now()
    transitions, events = [], []
    backward = 0
    for contact in contacts:
        when = contact.created_at
        position = 0
        path = [0]
        # Walk forward with a chance of stepping back, then maybe stop.
        while rng.random() < 0.6 and len(path) < 7:
            step = -1 if position > 0 and rng.random() < 0.2 else 1
            position = min(len(stages) - 1, position + step)
            if position != path[-1]:
                path.append(position)
        previous = None
        span = max(1, int((now - when).total_seconds() // 60))
        for index, position in enumerate(path):
            when = when + timedelta(minutes=rng.randint(1, max(1, span // (len(path) + 1)))) if index else when
            stage = stages[position]
            direction = (StageTransition.Direction.ENTRY if previous is None else
                         StageTransition.Direction.FORWARD if stage.position > previous.position else
                         StageTransition.Direction.BACKWARD)
            backward += direction == StageTransition.Direction.BACKWARD
            transitions.append(StageTransition(contact=contact, from_stage=previous, to_stage=stage,
                                               direction=direction, occurred_at=when, actor="system",
                                               reason="demo data"))
            events.append(Event(contact=contact, type="stage_changed", occurred_at=when, source="demo",
                                properties={"from": previous.name if previous else None, "to": stage.name,
                                            "direction": direction}))
            previous = stage
        contact.lifecycle_stage = previous
    StageTransition.objects.bulk_create(transitions, batch_size=2000)
    Event.objects.bulk_create(events, batch_size=2000)
    Contact.objects.bulk_update(contacts, ["lifecycle_stage"], batch_size=1000)
    return f"lifecycle journeys: {len(transitions)} stage moves, {backward} of them backward"
