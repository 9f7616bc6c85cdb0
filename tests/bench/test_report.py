"""How a result is judged against its goal and shown in the table."""

from bench.report import markdown_table, text_table
from bench.scenarios import Goal, Result


def test_a_figure_that_meets_its_goal_passes_and_one_that_misses_is_marked():
    fast = Result(name="a", title="A", unit="events/s", figure=25_000, baseline=50_000,
                  goal=Goal(">=", 20_000, "events/s")).finish("10k")
    slow = Result(name="b", title="B", unit="ms", figure=300, baseline=100, higher_is_better=False,
                  goal=Goal("<", 250, "ms")).finish("10k")

    assert fast.status == "pass" and fast.ratio == 0.5
    assert slow.status == "MISS" and slow.ratio == 3.0


def test_a_goal_stated_for_another_scale_is_flagged_and_a_slot_keeps_its_status():
    at_1m = Result(name="c", title="C", unit="ms", figure=10, goal=Goal("<", 150, "ms", at_scale="1m")).finish("10k")
    slot = Result(name="d", title="D", unit="ms", status="not built yet (issue 3)").finish("10k")
    no_goal = Result(name="e", title="E", unit="rps", figure=100, baseline=400).finish("10k")

    assert at_1m.status == "pass*"
    assert slot.status == "not built yet (issue 3)" and slot.ratio is None
    assert no_goal.status == "—" and no_goal.ratio == 0.25


def test_the_tables_show_figure_baseline_ratio_goal_and_status():
    results = [
        Result(name="a", title="Events", unit="events/s", figure=12_000, baseline=48_000, baseline_label="raw COPY",
               goal=Goal(">=", 20_000, "events/s")).finish("1m"),
        Result(name="b", title="Board", unit="ms", goal=Goal("<", 250, "ms"), status="not built yet (issue 4)"),
    ]

    markdown = markdown_table(results, "1m")
    text = text_table(results, "1m")

    assert "| Events | 12,000 events/s | 48,000 events/s (raw COPY) | 0.25× | ≥ 20,000 events/s | MISS |" in markdown
    assert "not built yet (issue 4)" in markdown and "< 250 ms" in markdown
    assert "MISS" in text and "0.25×" in text
