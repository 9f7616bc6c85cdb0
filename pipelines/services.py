"""Writes on pipelines and deals."""

from django.db import transaction

from pipelines.models import DEFAULT_STAGES, Pipeline, Stage

__all__ = ["pipeline_create"]


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
