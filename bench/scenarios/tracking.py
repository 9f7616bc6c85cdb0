"""Site tracking's /t/collect under load (issue #5: ≥ 1,000 requests/s on 2 cores, production gunicorn).

Realistic page-visit posts from wrk: a pool of returning visitors (known, signed `vid`s) and new ones (no `vid`),
from an allowed Origin, on allowed-domain URLs, with the per-IP rate limit raised (the bench is one IP).
The baseline is the bench's trivial view (/bench/baseline/64/) on the same gunicorn in the same run.

What is measured is the request path as production runs it: checks, then one Redis round trip (the rate-limit
counter and the XADD to the visit stream, in one Lua script), no database work. The visits it queued are then
written by the drain the beat task runs (contacts.tracking.visits_drain), in this process after the load, and
its rate is reported in the notes ("drain N visits/s"): it must stay well above the request rate, or the stream
would grow. Everything the run stored (visits, visitors, stream entries) is removed afterwards.
"""

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.scenarios import Context, Goal, Result

__all__ = ["events_collect"]

SITE = "https://www.bench-site.example"
RETURNING = 2_000
BODIES = 4_000
NEW_SHARE = 0.2

WRK_POST = """
local bodies = {%(bodies)s}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Origin"] = %(origin)s
-- Formatted once: wrk shares the bench's 2 cores, so its own work per request is kept as small as the baseline's.
local requests = {}
for i, body in ipairs(bodies) do requests[i] = wrk.format("POST", "/t/collect", nil, body) end
request = function()
  counter = counter + 1
  return requests[(counter %% #requests) + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "seconds": %%f, "errors": %%d, "non_2xx": %%d, '
    .. '"p50_ms": %%f, "p95_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _post_load(base: str, bodies: list[str], *, concurrency: int, duration: float) -> dict:
    script = WRK_POST % {"bodies": ", ".join(_lua(b) for b in bodies), "origin": _lua(SITE)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        completed = subprocess.run(
            ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
             "-s", handle.name, base], capture_output=True, text=True, timeout=duration + 60, check=True)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    return result


def _bodies(keys: list[str], seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    pages = ["/", "/pricing", "/docs/getting-started", "/blog/lifecycle-stages", "/features", "/contact"]
    out = []
    for _ in range(BODIES):
        vid = "" if rng.random() < NEW_SHARE else rng.choice(keys)
        out.append(json.dumps({"type": "page", "vid": vid, "url": SITE + rng.choice(pages) + f"?r={rng.randint(1, 9)}",
                               "title": "Bench page", "referrer": "https://search.example/?q=crm"}))
    return out


def events_collect(ctx: Context) -> list[Result]:
    from django.utils import timezone

    from bench.load import run_load
    from bench.server import cores, gunicorn
    from contacts import tracking
    from contacts.models import PageVisit, TrackingSettings, Visitor

    title = "Site tracking: /t/collect page visits"
    row = Result(name="events_collect", title=title, unit="rps", goal=Goal(">=", 1_000, "rps"), issue="5",
                 baseline_label="trivial view, same gunicorn")
    if not shutil.which("wrk"):
        row.status, row.notes = "skipped", "needs wrk for POST load"
        return [row]
    TrackingSettings.objects.update_or_create(pk=1, defaults={
        "enabled": True, "allowed_domains": "bench-site.example", "honour_do_not_track": True})
    first_visit = PageVisit.objects.order_by("-id").values_list("id", flat=True).first() or 0
    first_visitor = Visitor.objects.order_by("-id").values_list("id", flat=True).first() or 0
    tracking.visits_drain(budget_seconds=60)  # whatever an earlier, interrupted run left queued
    now = timezone.now()
    keys = [visitor.key for visitor in Visitor.objects.bulk_create(
        [Visitor(key=tracking.new_key(), first_seen_at=now, last_seen_at=now) for _ in range(RETURNING)])]
    bodies = _bodies(keys)
    drained, drain_seconds = 0, 0.0
    previous = os.environ.get("TRACKING_RATE_PER_MINUTE")
    os.environ["TRACKING_RATE_PER_MINUTE"] = "100000000"
    try:
        with gunicorn(log=ctx.log) as base:
            _post_load(base, bodies[:200], concurrency=ctx.concurrency, duration=2)  # warm workers
            baseline = run_load(base, ["/bench/baseline/64/"], concurrency=ctx.concurrency, duration=ctx.duration)
            measured = _post_load(base, bodies, concurrency=ctx.concurrency, duration=ctx.duration)
        started = time.perf_counter()
        while batch := tracking.visits_drain(budget_seconds=600):
            drained += batch
        drain_seconds = time.perf_counter() - started
    finally:
        if previous is None:
            os.environ.pop("TRACKING_RATE_PER_MINUTE", None)
        else:
            os.environ["TRACKING_RATE_PER_MINUTE"] = previous
        tracking._redis().delete(tracking.STREAM)
        PageVisit.objects.filter(id__gt=first_visit).delete()
        Visitor.objects.filter(id__gt=first_visitor).delete()
    bad = measured["errors"] + measured["non_2xx"]
    row.figure, row.baseline = measured["rps"], baseline["rps"]
    drain_rate = drained / drain_seconds if drain_seconds else 0.0
    row.details = {"collect": measured, "baseline": baseline, "cores": cores(), "returning_visitors": RETURNING,
                   "new_visitor_share": NEW_SHARE, "drained": drained, "drain_seconds": drain_seconds,
                   "drain_per_second": drain_rate}
    row.notes = (f"p50 {measured['p50_ms']:.1f} ms, p95 {measured['p95_ms']:.1f} ms "
                 f"(baseline p50 {baseline.get('p50_ms', 0):.1f}, p95 {baseline.get('p95_ms', 0):.1f}); "
                 f"{bad} errors/non-2xx of {measured['requests']}; drain {drain_rate:,.0f} visits/s "
                 f"({drained:,} written)")
    if bad > measured["requests"] * 0.01:
        row.status = "error"
    return [row]
