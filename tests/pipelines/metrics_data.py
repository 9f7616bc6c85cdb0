"""Deals with explicit timestamps for the metrics and reports tests: the Q1 2025 fixture in
tests/pipelines/test_metrics.py's docstring."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from lifecycle.forms import Period
from pipelines.models import Deal, DealStageHistory
from pipelines.services import pipeline_create

__all__ = ["Q1", "at", "build_q1", "make_deal", "sales_pipeline"]

Q1 = Period(first_day=date(2025, 1, 1), last_day=date(2025, 3, 31))


def sales_pipeline(name="Sales"):
    pipeline = pipeline_create(name=name)
    return pipeline, {stage.name: stage for stage in pipeline.stages.all()}


def at(year, month, day, hour=0) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


def make_deal(pipeline, stages, title, *, stage, value, created, owner=None, status=Deal.Status.OPEN, closed=None,
              expected=None, currency="USD", stays=()):
    """A deal with its created time and its stage history exactly as given: stays are (stage, entered, exited)."""
    deal = Deal.objects.create(title=title, pipeline=pipeline, stage=stages[stage], value=Decimal(value),
                               currency=currency, owner=owner, status=status, closed_at=closed,
                               expected_close_date=expected, stage_entered_at=created)
    Deal.objects.filter(pk=deal.pk).update(created_at=created)
    DealStageHistory.objects.bulk_create(
        DealStageHistory(deal=deal, stage=stages[name], entered_at=entered, exited_at=exited)
        for name, entered, exited in stays)
    return deal


def build_q1(personas, pipeline_and_stages=None):
    """The Q1 2025 deals (see test_metrics.py); returns (pipeline, stages by name)."""
    pipeline, stages = pipeline_and_stages or sales_pipeline()
    alice, bob = personas.rep_alice, personas.rep_bob
    won, lost = Deal.Status.WON, Deal.Status.LOST
    make_deal(pipeline, stages, "O1", stage="Proposal", value=1000, owner=alice, created=at(2024, 12, 1),
              expected=date(2025, 2, 15))
    make_deal(pipeline, stages, "O2", stage="Contact", value=500, owner=bob, created=at(2025, 2, 1),
              expected=date(2025, 6, 1), stays=[("Contact", at(2025, 2, 1), None)])
    make_deal(pipeline, stages, "O3", stage="Meeting", value=250, created=at(2024, 10, 1))
    make_deal(pipeline, stages, "W1", stage="Closing", value=2000, owner=alice, status=won,
              created=at(2025, 1, 1), closed=at(2025, 1, 11),
              stays=[("Contact", at(2025, 1, 1), at(2025, 1, 3)), ("Qualification", at(2025, 1, 3), at(2025, 1, 5)),
                     ("Closing", at(2025, 1, 5), at(2025, 1, 11))])
    # Forward, back and forward again: Contact → Meeting → Qualification → Meeting → won.
    make_deal(pipeline, stages, "W2", stage="Meeting", value=4000, owner=bob, status=won,
              created=at(2025, 1, 21), closed=at(2025, 2, 10),
              stays=[("Contact", at(2025, 1, 21), at(2025, 1, 25)), ("Meeting", at(2025, 1, 25), at(2025, 2, 1)),
                     ("Qualification", at(2025, 2, 1), at(2025, 2, 4)), ("Meeting", at(2025, 2, 4), at(2025, 2, 10))])
    make_deal(pipeline, stages, "W3", stage="Closing", value=3000, owner=alice, status=won,
              created=at(2025, 1, 5), closed=at(2025, 3, 6))
    make_deal(pipeline, stages, "L1", stage="Contact", value=700, owner=bob, status=lost,
              created=at(2025, 1, 10), closed=at(2025, 1, 30), stays=[("Contact", at(2025, 1, 10), at(2025, 1, 30))])
    # Won in December, reopened into Proposal in January, moved back to Qualification, lost on 1 March.
    make_deal(pipeline, stages, "R1", stage="Qualification", value=1500, owner=alice, status=lost,
              created=at(2024, 11, 1), closed=at(2025, 3, 1),
              stays=[("Contact", at(2024, 11, 1), at(2024, 11, 11)), ("Proposal", at(2024, 11, 11), at(2024, 12, 1)),
                     ("Proposal", at(2025, 1, 15), at(2025, 2, 14)),
                     ("Qualification", at(2025, 2, 14), at(2025, 3, 1))])
    make_deal(pipeline, stages, "W0", stage="Closing", value=9999, owner=alice, status=won,
              created=at(2024, 11, 1), closed=at(2024, 12, 15))
    make_deal(pipeline, stages, "W4", stage="Closing", value=9999, owner=bob, status=won,
              created=at(2025, 3, 1), closed=at(2025, 4, 2))
    return pipeline, stages
