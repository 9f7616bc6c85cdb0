"""The generator itself: seconds for the data set, against what raw COPY alone would need for its rows."""

from bench.generate import SCALES
from bench.scenarios import Context, Goal, Result

__all__ = ["generator"]


def generator(ctx: Context) -> list[Result]:
    dataset = ctx.dataset
    rows = dataset.rows
    copy = ctx.results.get("events_ingest")
    copy_rate = copy.baseline if copy and copy.baseline else None
    estimate = dataset.seconds * SCALES["1m"] / dataset.contacts
    notes = [f"{rows:,} rows, {rows / dataset.seconds:,.0f} rows/s"]
    if dataset.contacts != SCALES["1m"]:
        notes.append(f"≈ {estimate / 60:,.1f} min at 1m (linear)")
    if dataset.reused:
        notes.append(f"reused: generated {dataset.generated_at:%Y-%m-%d}")
    return [Result(
        name="generator", title="Data set generator (bench/generate.py)", unit="s", figure=dataset.seconds,
        baseline=rows / copy_rate if copy_rate else None, baseline_label="its rows at the COPY rate",
        higher_is_better=False, goal=Goal("<=", 1_200, "s", at_scale="1m"), issue="6", notes="; ".join(notes),
        details={"rows": rows, "rows_per_second": rows / dataset.seconds, "reused": dataset.reused,
                 "counts": dataset.counts, "timings": dataset.timings, "estimate_1m_seconds": round(estimate),
                 "copy_rows_per_second": copy_rate})]
