"""The contact list page, first page, server time: unfiltered, searching, and filtered as a sales rep.

gunicorn serves the real page (/contacts/, 50 rows, the filter controls, the bulk bar) to a signed-in
user, one request at a time, so a request's latency is its server time plus a loopback round trip.
The baseline is the plain Django view of bench/urls.py returning a body of the same size the same way,
in the same run: the ratio says what the page's own work (session, queries, template) costs. The
figure is the median; p95 is in the notes, with the time PostgreSQL takes for the same page's query
run by hand (the SQL the list sends for the rows, its count estimate and, when small, its count).

Each side is measured ROUNDS times, interleaved; the best round counts.

- `contacts_list`: GET /contacts/ as the admin (every contact visible), newest first.
- `contacts_search`: GET /contacts/?q=... over a rotation of searches: last names, first names, company
  words, two-letter prefixes and a full name.
- `contacts_filtered`: GET /contacts/?tag=<the most used tag>&owner=me as a sales rep (their own and
  unassigned contacts only), with and without a lead status.
"""

import statistics
import time
import urllib.request

from django.conf import settings
from django.db import connection
from django.http import QueryDict
from django.test import Client

from bench.load import run_load
from bench.scenarios import Context, Goal, Result
from bench.server import gunicorn
from users.models import User

__all__ = ["contact_list"]

ROUNDS = 2
GOAL = Goal("<", 150, "ms", at_scale="1m")
SEARCHES = ["smith", "garcia", "nguyen", "lee", "james", "maria", "olivia", "an", "jo", "ma", "polar", "labs",
            "william johnson", "example"]
MARKER = b'id="contact-results"'


def _session_cookie(username: str) -> dict[str, str]:
    client = Client()
    client.force_login(User.objects.get(username=username))
    return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"}


def _page_size(base: str, path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(base + path, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    if response.status != 200 or MARKER not in body:
        raise RuntimeError(f"{path} did not answer with the contact list (status {response.status})")
    return len(body)


def _sql_ms(username: str, paths: list[str]) -> float:
    """Median time of the page's own SQL (rows, estimate, bounded count), sent by hand."""
    from contacts.selectors import contact_page, contacts_count, contacts_filter, contacts_for_list

    user = User.objects.get(username=username)
    times = []
    rounds = 1 + max(1, 15 // len(paths))  # a first round to warm the caches, then at least 15 samples
    for index, path in enumerate(paths * rounds):
        data = QueryDict(path.partition("?")[2])
        filterset = contacts_filter(data, user=user)
        filterset.is_valid()
        started = time.perf_counter()
        page = contact_page(contacts_for_list(filterset.qs))
        contacts_count(filterset.qs, page=page)
        if index >= len(paths):
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _measure(ctx: Context, base: str, *, name: str, title: str, username: str, paths: list[str],
             notes: str) -> Result:
    headers = _session_cookie(username)
    sizes = [_page_size(base, path, headers) for path in paths]
    size = round(statistics.median(sizes))
    baseline_path = f"/bench/baseline/{size}/"
    ctx.log(f"  {name}: {len(paths)} path(s) as {username}, ≈{size:,} bytes a page; warming up")
    warm = min(2.0, ctx.duration)
    run_load(base, [baseline_path], concurrency=1, duration=warm)
    run_load(base, paths, headers=headers, concurrency=1, duration=warm)
    baselines, figures = [], []
    for _ in range(ROUNDS):  # interleaved, so a noisy neighbour hits both sides alike
        baselines.append(run_load(base, [baseline_path], concurrency=1, duration=ctx.duration))
        figures.append(run_load(base, paths, headers=headers, concurrency=1, duration=ctx.duration))
    baseline = min(baselines, key=lambda r: r["p50_ms"])
    figure = min(figures, key=lambda r: r["p50_ms"])
    sql = _sql_ms(username, paths)
    result = Result(
        name=name, title=title, unit="ms", figure=figure["p50_ms"], baseline=baseline["p50_ms"],
        baseline_label="plain Django view, same size", higher_is_better=False, goal=GOAL, issue="3",
        notes=(f"median; p95 {figure['p95_ms']:.1f} ms (baseline {baseline['p95_ms']:.1f}); the page's SQL by hand "
               f"{sql:.1f} ms; {figure['requests']:,} requests, one at a time; {notes}"),
        details={"paths": paths, "page_bytes": sizes, "user": username, "rounds": ROUNDS, "page": figure,
                 "baseline": baseline, "sql_ms": round(sql, 2),
                 "page_rounds_p50_ms": [round(r["p50_ms"], 1) for r in figures],
                 "baseline_rounds_p50_ms": [round(r["p50_ms"], 1) for r in baselines]})
    errors = sum(r["errors"] for r in figures), sum(r["errors"] for r in baselines)
    if any(errors):
        result.status = "error"
        result.notes += f"; errors: {errors[0]} page, {errors[1]} baseline"
    return result


def _most_used_tag() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT t.name FROM contacts_tag t JOIN contacts_contact_tags ct ON ct.tag_id = t.id "
                       "GROUP BY t.name ORDER BY count(*) DESC LIMIT 1")
        row = cursor.fetchone()
    return row[0] if row else "newsletter"


def contact_list(ctx: Context) -> list[Result]:
    rep = User.objects.filter(groups__name="Sales rep", is_active=True).order_by("username").first()
    tag = _most_used_tag()
    with gunicorn(log=ctx.log) as base:
        results = [
            _measure(ctx, base, name="contacts_list", title="Contact list, first page (server time)",
                     username="bench-admin", paths=["/contacts/"], notes="every contact visible, newest first"),
            _measure(ctx, base, name="contacts_search", title="Contact search, first page (server time)",
                     username="bench-admin", paths=[f"/contacts/?q={urllib.request.quote(q)}" for q in SEARCHES],
                     notes=f"{len(SEARCHES)} searches in turn: names, company words, two-letter prefixes"),
        ]
        if rep is not None:
            quoted = urllib.request.quote(tag)
            results.append(_measure(
                ctx, base, name="contacts_filtered", title="Contact list filtered by tag and owner, as a sales rep",
                username=rep.username, paths=[f"/contacts/?tag={quoted}&owner=me",
                                              f"/contacts/?tag={quoted}&owner=me&status=new"],
                notes=f"tag “{tag}”, owner=me, as {rep.username}"))
    return results
