"""The deal scenarios (bench/scenarios/pipelines.py) at a tiny scale: they measure both sides, and leave the
data set as it was generated."""

from datetime import UTC, datetime

import pytest

from bench.generate import _counts_now, generate
from bench.scenarios import Context
from bench.scenarios.pipelines import BOARD_PIPELINE, board_render, deal_move, pipeline_metrics
from contacts.models import Contact, Task
from pipelines.models import Deal, Pipeline

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def ctx() -> Context:
    dataset = generate(scale=2000, seed=7, anchor=ANCHOR, log=lambda _m: None)
    return Context(scale="2000", dataset=dataset, log=lambda _m: None)


def state() -> dict:
    return {"counts": _counts_now("default"), "tasks": Task.objects.count(),
            "pipelines": sorted(Pipeline.objects.values_list("name", flat=True)),
            "activity": dict(Contact.objects.values_list("pk", "last_activity_at")),
            "deals": list(Deal.objects.order_by("pk").values_list("pk", "stage_id", "position", "last_activity_at"))}


def test_deal_move_measures_moves_on_a_board_of_its_own_and_removes_it(ctx):
    before = state()

    [result] = deal_move(ctx, deals=400, moves=4)

    assert result.name == "deal_move" and not result.status, result.notes
    assert result.figure > 0 and result.baseline > 0 and result.details["queries"] >= 5
    assert state() == before
    assert not Pipeline.objects.filter(name=BOARD_PIPELINE).exists()


def test_board_render_renders_the_board_with_as_many_queries_as_a_small_one(ctx):
    before = state()

    [result] = board_render(ctx, deals=400, runs=2)

    assert result.name == "board_render" and result.status != "error", result.notes
    assert result.figure > 0 and result.baseline > 0
    details = result.details
    assert details["constant_queries"] and details["queries"] == details["small_board_queries"]
    assert 200 < details["cards"] <= 300  # up to 50 a column, six columns
    assert state() == before


def test_pipeline_metrics_measures_a_year_of_history_on_a_board_of_its_own_and_removes_it(ctx):
    before = state()

    [result] = pipeline_metrics(ctx, runs=2, deals=400, closed=200)

    assert result.name == "pipeline_metrics" and not result.status, result.notes
    assert result.figure > 0 and result.baseline > 0
    assert result.details["deals"] == 600 and result.details["closed_in_period"] == 200
    assert result.details["history_rows"] >= 600  # one stay at least per deal, more for the closed ones
    assert state() == before
