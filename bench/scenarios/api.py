"""API read under load: gunicorn at 2 × cores workers, 20 concurrent clients, against a plain
Django view that returns a fixed JSON body of the same size (bench/urls.py), in the same run.

Each side is measured ROUNDS times, interleaved, and the best round counts. Until issue 3
builds the contacts API this measures the API's rails on `GET /api/v1/me/`: Bearer key
authentication, the throttle in Redis, DRF and the JSON renderer. As soon as
`contacts-api:contact-detail` and `contacts-api:contact-list` exist it measures them instead: a
contact by id, the first page of the list, and the first page of a search by last name.
"""

import random
import urllib.request

from django.urls import NoReverseMatch, reverse

from bench import vocab
from bench.load import run_load, tool
from bench.scenarios import Context, Result
from bench.server import gunicorn
from users.models import ApiKey, User

__all__ = ["api_key", "api_read"]

KEY_NAME = "bench"
#: Measurements per side, interleaved; the best counts.
ROUNDS = 2


def api_key(username: str = "bench-admin", *, scope: str = "read") -> str:
    """A fresh key of `scope` for the data set's admin (the bench's earlier key of that scope is deleted)."""
    from users.services import api_key_create

    user = User.objects.get(username=username)
    name = KEY_NAME if scope == "read" else f"{KEY_NAME} {scope}"
    ApiKey.objects.filter(user=user, name=name).delete()
    _api_key, key = api_key_create(user=user, name=name, scope=scope)
    return key


def _reverse(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return None


def _size(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return len(response.read())


def _measure(ctx: Context, base: str, *, name: str, title: str, paths: list[str], headers: dict[str, str],
             issue: str) -> Result:
    size = _size(base + paths[0], headers)
    baseline_path = f"/bench/baseline/{size}/"
    ctx.log(f"  {name}: {len(paths)} path(s), {size:,} bytes a response; warming up")
    warm = min(2.0, ctx.duration)
    run_load(base, [baseline_path], concurrency=ctx.concurrency, duration=warm)
    run_load(base, paths, headers=headers, concurrency=ctx.concurrency, duration=warm)
    baselines, figures = [], []
    for _ in range(ROUNDS):  # interleaved, so a noisy neighbour hits both sides alike
        baselines.append(run_load(base, [baseline_path], concurrency=ctx.concurrency, duration=ctx.duration))
        figures.append(run_load(base, paths, headers=headers, concurrency=ctx.concurrency, duration=ctx.duration))
    baseline = max(baselines, key=lambda r: r["rps"])
    figure = max(figures, key=lambda r: r["rps"])
    result = Result(
        name=name, title=title, unit="rps", figure=figure["rps"], baseline=baseline["rps"],
        baseline_label="plain Django view, same size", issue=issue,
        notes=(f"p50/p95/p99 {figure['p50_ms']:.1f}/{figure['p95_ms']:.1f}/{figure['p99_ms']:.1f} ms "
               f"(baseline {baseline['p50_ms']:.1f}/{baseline['p95_ms']:.1f}/{baseline['p99_ms']:.1f} ms)"),
        details={"response_bytes": size, "concurrency": ctx.concurrency, "duration_s": ctx.duration,
                 "load_tool": figure["tool"], "rounds": ROUNDS, "api": figure, "baseline": baseline,
                 "api_rounds_rps": [round(r["rps"], 1) for r in figures],
                 "baseline_rounds_rps": [round(r["rps"], 1) for r in baselines]})
    errors = sum(r["errors"] for r in figures), sum(r["errors"] for r in baselines)
    if any(errors):
        result.status = "error"
        result.notes += f"; errors: {errors[0]} API, {errors[1]} baseline"
    return result


def api_read(ctx: Context) -> list[Result]:
    detail = _reverse("contacts-api:contact-detail", 1)
    listing = _reverse("contacts-api:contact-list")
    results = []
    headers = {"Authorization": f"Bearer {api_key()}"}
    ctx.log(f"  load generator: {tool()}, {ctx.concurrency} clients, {ctx.duration:g} s a measurement")
    with gunicorn(log=ctx.log) as base:
        if detail and listing:
            rng = random.Random(f"{ctx.dataset.seed}:api-read")
            ids = [rng.randint(1, ctx.dataset.contacts) for _ in range(1_000)]
            results.append(_measure(
                ctx, base, name="api_read_detail", title="API read: GET /api/v1/contacts/{id}/", issue="3",
                paths=[_reverse("contacts-api:contact-detail", i) for i in ids], headers=headers))
            results.append(_measure(
                ctx, base, name="api_read_list", title="API read: contact list, 50 rows", issue="3",
                paths=[f"{listing}?page_size=50"], headers=headers))
            searches = [name.lower() for name in rng.sample(vocab.LAST_NAMES, 20)]
            results.append(_measure(
                ctx, base, name="api_read_search", title="API read: contact search (?q=last name), 50 rows",
                issue="3", paths=[f"{listing}?q={text}&page_size=50" for text in searches], headers=headers))
        else:
            results.append(_measure(
                ctx, base, name="api_read_rails", title="API read rails: GET /api/v1/me/ (Bearer key)", issue="2",
                paths=[reverse("users-api:me")], headers=headers))
    if not (detail and listing):
        for name, title in (("api_read_detail", "API read: GET /api/v1/contacts/{id}/"),
                            ("api_read_list", "API read: contact list, 50 rows"),
                            ("api_read_search", "API read: contact search (?q=last name), 50 rows")):
            results.append(Result(name=name, title=title, unit="rps", baseline_label="plain Django view, same size",
                                  issue="3", status="not built yet (issue 3)"))
    return results
