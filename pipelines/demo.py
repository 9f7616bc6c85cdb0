"""A demo sales pipeline with deals in every stage, some won and some lost."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from pipelines.models import Deal, Pipeline
from pipelines.services import pipeline_create

PIPELINE = "Sales"
PRODUCTS = ["Starter plan", "Growth plan", "Enterprise plan", "Onboarding package", "Annual renewal"]


def seed(*, rng, context: dict) -> str:
    if Pipeline.objects.filter(name=PIPELINE).exists():
        return "deals: already there"
    pipeline = pipeline_create(name=PIPELINE)
    stages = list(pipeline.stages.order_by("position"))
    contacts = list(context["contacts_qs"].select_related("account")[:60])
    now = timezone.now()
    deals = []
    for index, contact in enumerate(rng.sample(contacts, k=min(40, len(contacts)))):
        status = rng.choices([Deal.Status.OPEN, Deal.Status.WON, Deal.Status.LOST], weights=[6, 2, 2])[0]
        stage = stages[-2] if status != Deal.Status.OPEN else rng.choice(stages[:-1])
        created = now - timedelta(days=rng.randint(1, 300))
        deals.append(Deal(
            title=f"{contact.account.name if contact.account else contact.full_name} – {rng.choice(PRODUCTS)}",
            pipeline=pipeline, stage=stage, value=Decimal(rng.randrange(500, 60000, 250)), currency="USD",
            contact=contact, account=contact.account, owner=rng.choice(context["reps"] + [None]),
            status=status, position=index, expected_close_date=(now + timedelta(days=rng.randint(-20, 90))).date(),
            closed_at=created + timedelta(days=rng.randint(5, 60)) if status != Deal.Status.OPEN else None,
            last_activity_at=created + timedelta(days=rng.randint(0, 30))))
        deals[-1]._demo_created = created
    Deal.objects.bulk_create(deals)
    for deal in deals:
        deal.created_at = deal._demo_created
    Deal.objects.bulk_update(deals, ["created_at"])
    return f"deals: {len(deals)} in pipeline '{PIPELINE}' with {len(stages)} stages"
