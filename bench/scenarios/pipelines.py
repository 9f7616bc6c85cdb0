"""Deals (issue 4): the board of a pipeline with 10,000 open deals, a move on it, and a year of metrics.

- `deal_move`: `pipelines.services.deal_move` (row lock, the card's new sort key, the stay in the stage
  history closed and the next one opened, the contact's timeline event, commit), MOVES moves of random
  cards to a random place in another column. Baseline: one autocommitted UPDATE of a deal's stage and
  position, interleaved with the moves.
- `board_render`: the board page (`pipelines:pipeline_board`), first render, server time: the Django test
  client in this process (middleware, session, queries, template; no network), signed in as the admin (every
  deal visible), the median of RUNS requests after a warm-up, and the number of SQL queries it sends, next
  to the count for the data set's own Sales board (a few hundred deals): the count must not grow with the
  deals. Baseline: the board's reads written by hand, in the same run: one GROUP BY for the column totals
  and one statement for the first 50 cards of every column with what a card shows.
- `pipeline_metrics`: `pipelines.metrics.pipeline_metrics` over the last 365 days, as the admin, on the
  board pipeline with half as many deals again won or lost over that year, each with its stays through the
  stages it reached. Baseline: one hand-written SQL statement with the same aggregates over the same rows.

The board of the three scenarios is a pipeline of its own, "Bench board", made for the scenario
with set-based SQL (10,000 open deals over the default stages, on the data set's contacts and reps, one in
three with an open task, each with its open stay in the history) and removed afterwards with everything the
moves wrote (history, timeline events, the contacts' last activity), then vacuumed: the data set stays as
generated.
"""

import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from bench.scenarios import Context, Goal, Result, p95
from pipelines.models import Deal, DealStageHistory, Pipeline, Stage
from pipelines.services import pipeline_create
from users.models import User

__all__ = ["BOARD_DEALS", "BOARD_PIPELINE", "board_pipeline", "board_render", "deal_move", "pipeline_metrics"]

BOARD_PIPELINE = "Bench board"
BOARD_DEALS = 10_000
#: Share of the board's deals in each stage, first to last (the default six).
STAGE_SHARES = [0.30, 0.25, 0.18, 0.14, 0.09, 0.04]
RUNS = 15
MOVES = 40
WARMUP = 3
CARDS_PER_COLUMN = 50
CARD_MARKER = b'data-testid="card"'
ISSUE = "4"


def _ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000



def _admin() -> User:
    user = User.objects.filter(username="bench-admin").first() or User.objects.filter(is_superuser=True).first()
    if user is None:
        raise RuntimeError("the data set has no admin to sign in as")
    return user


def _not_built(name: str, title: str, baseline_label: str, goal: Goal, why: str) -> Result:
    return Result(name=name, title=title, unit="ms", baseline_label=baseline_label, higher_is_better=False,
                  goal=goal, issue=ISSUE, status=f"not built yet (issue {ISSUE})", notes=why)


# --- The board pipeline ----------------------------------------------------------------------------------

INSERT_DEALS = """
WITH draw AS (
    SELECT g, width_bucket(random(), %(bounds)s::float8[]) AS stage_position, random() AS r_value,
           random() AS r_contact, random() AS r_owner, random() AS r_entered, random() AS r_created,
           random() AS r_activity, random() AS r_close
    FROM generate_series(1, %(deals)s) g
), placed AS (
    SELECT d.*, s.id AS stage_id, coalesce(s.rotting_days, 30) AS rotting_days,
           now() - d.r_entered * 2 * coalesce(s.rotting_days, 30) * interval '1 day' AS entered
    FROM draw d JOIN pipelines_stage s ON s.pipeline_id = %(pipeline)s AND s.position = d.stage_position
)
INSERT INTO pipelines_deal (title, pipeline_id, stage_id, value, currency, contact_id, account_id, owner_id,
                            status, expected_close_date, authority, need, timeline, position, created_at,
                            stage_entered_at, last_activity_at)
SELECT 'Bench board deal ' || p.g, %(pipeline)s, p.stage_id, round(exp(7 + 4 * p.r_value)::numeric, -1), 'USD',
       c.id, c.account_id,
       CASE WHEN p.r_owner < 0.9 THEN (%(owners)s::bigint[])[1 + floor(p.r_owner / 0.9 * %(owner_count)s)::int] END,
       'open', (now() + (p.r_close * 120 - 30) * interval '1 day')::date, '', '', '',
       (row_number() OVER (PARTITION BY p.stage_id ORDER BY p.g)) * 65536,  -- POSITION_GAP apart
       p.entered - p.r_created * interval '90 days', p.entered, p.entered + p.r_activity * (now() - p.entered)
FROM placed p
LEFT JOIN contacts_contact c ON c.id = %(first_contact)s + floor(p.r_contact * %(contact_span)s)::bigint
"""
INSERT_STAYS = """
INSERT INTO pipelines_dealstagehistory (deal_id, stage_id, entered_at, exited_at, moved_by_id)
SELECT id, stage_id, stage_entered_at, NULL, owner_id FROM pipelines_deal WHERE pipeline_id = %(pipeline)s
"""
INSERT_TASKS = """
INSERT INTO contacts_task (kind, title, description, due_at, assignee_id, contact_id, deal_id, done, created_by_id,
                           created_at)
SELECT 'call', 'Follow up: ' || title, '', stage_entered_at + random() * 30 * interval '1 day', owner_id, contact_id,
       id, false, owner_id, stage_entered_at
FROM pipelines_deal WHERE pipeline_id = %(pipeline)s AND id %% 3 = 0
"""

#: Closed deals of the year before the run, each with its stays through the stages it reached (a week each),
#: for the metrics: won (40%) or lost, closed after its last stay began.
INSERT_CLOSED = """
WITH draw AS (
    SELECT g, random() AS r_created, random() AS r_cycle, random() AS r_won, random() AS r_value,
           random() AS r_reach, random() AS r_owner
    FROM generate_series(1, %(closed)s) g
), shaped AS (
    SELECT d.*, now() - interval '365 days' + d.r_created * interval '330 days' AS created,
           floor(d.r_reach * %(stage_count)s)::int AS last_position
    FROM draw d
)
INSERT INTO pipelines_deal (title, pipeline_id, stage_id, value, currency, owner_id, status, expected_close_date,
                            authority, need, timeline, position, created_at, stage_entered_at, closed_at,
                            last_activity_at)
SELECT 'Bench closed deal ' || s.g, %(pipeline)s, st.id, round(exp(7 + 4 * s.r_value)::numeric, -1), 'USD',
       CASE WHEN s.r_owner < 0.9 THEN (%(owners)s::bigint[])[1 + floor(s.r_owner / 0.9 * %(owner_count)s)::int] END,
       CASE WHEN s.r_won < 0.4 THEN 'won' ELSE 'lost' END, (s.created + interval '45 days')::date, '', '', '', 0,
       s.created, s.created + s.last_position * interval '7 days', c.closed, c.closed
FROM shaped s
JOIN pipelines_stage st ON st.pipeline_id = %(pipeline)s AND st.position = s.last_position
CROSS JOIN LATERAL (SELECT least(now(), s.created + (s.last_position + 1) * interval '7 days'
                                        + s.r_cycle * interval '20 days') AS closed) c
"""
INSERT_CLOSED_STAYS = """
INSERT INTO pipelines_dealstagehistory (deal_id, stage_id, entered_at, exited_at, moved_by_id)
SELECT d.id, st.id, d.created_at + st.position * interval '7 days',
       CASE WHEN st.position = last.position THEN d.closed_at
            ELSE d.created_at + (st.position + 1) * interval '7 days' END,
       d.owner_id
FROM pipelines_deal d
JOIN pipelines_stage last ON last.id = d.stage_id
JOIN pipelines_stage st ON st.pipeline_id = d.pipeline_id AND st.position <= last.position
WHERE d.pipeline_id = %(pipeline)s AND d.status <> 'open'
"""


def _drop_board(*, events_after: int | None = None) -> None:
    """Remove the board pipeline with everything that points at its deals, and give the contacts back the
    last activity they had before it (moves record timeline events on them)."""
    ids = list(Pipeline.objects.filter(name=BOARD_PIPELINE).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.bench_board_contacts') IS NOT NULL")
        saved = cursor.fetchone()[0]
    if not ids and not saved:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        if saved:
            cursor.execute("UPDATE contacts_contact c SET last_activity_at = s.last_activity_at "
                           "FROM bench_board_contacts s WHERE c.id = s.id "
                           "AND c.last_activity_at IS DISTINCT FROM s.last_activity_at")
            cursor.execute("DROP TABLE bench_board_contacts")
        if not ids:
            return
        deals = "SELECT id FROM pipelines_deal WHERE pipeline_id = ANY(%(ids)s)"
        events = "id > %(after)s AND " if events_after is not None else ""
        cursor.execute(f"DELETE FROM contacts_event WHERE {events}type LIKE 'deal\\_%%' "
                       f"AND properties->>'deal_id' IN (SELECT id::text FROM ({deals}) d)",
                       {"ids": ids, "after": events_after})
        for table in ("contacts_task", "contacts_note", "pipelines_deal_other_contacts",
                      "pipelines_dealstagehistory"):
            cursor.execute(f"DELETE FROM {table} WHERE deal_id IN ({deals})", {"ids": ids})
        cursor.execute("DELETE FROM pipelines_deal WHERE pipeline_id = ANY(%(ids)s)", {"ids": ids})
        cursor.execute("DELETE FROM pipelines_stage WHERE pipeline_id = ANY(%(ids)s)", {"ids": ids})
        cursor.execute("DELETE FROM pipelines_pipeline WHERE id = ANY(%(ids)s)", {"ids": ids})


@contextmanager
def board_pipeline(*, deals: int = BOARD_DEALS, seed: int = 42, log: Callable[[str], None] = print,
                   closed: int = 0) -> Iterator[Pipeline]:
    """A pipeline with `deals` open deals (and `closed` won or lost ones over the past year, with their stage
    history), made with set-based SQL and removed when the block ends."""
    _drop_board()  # what a crashed run left behind
    started = time.perf_counter()
    pipeline = pipeline_create(name=BOARD_PIPELINE)
    reps = list(User.objects.filter(groups__name="Sales rep").order_by("pk").values_list("pk", flat=True))
    reps = reps or list(User.objects.order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM contacts_event")
        events_after = cursor.fetchone()[0]
        cursor.execute("SELECT coalesce(min(id), 1), coalesce(max(id), 0) FROM contacts_contact")
        first_contact, last_contact = cursor.fetchone()
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])  # the same board for the same seed
        bounds = [sum(STAGE_SHARES[:i + 1]) for i in range(len(STAGE_SHARES) - 1)]
        with transaction.atomic():
            cursor.execute(INSERT_DEALS, {
                "bounds": bounds, "deals": deals, "pipeline": pipeline.pk, "owners": reps, "owner_count": len(reps),
                "first_contact": first_contact, "contact_span": max(1, last_contact - first_contact + 1)})
            cursor.execute(INSERT_STAYS, {"pipeline": pipeline.pk})
            if closed:
                cursor.execute(INSERT_CLOSED, {"closed": closed, "pipeline": pipeline.pk, "owners": reps,
                                               "owner_count": len(reps), "stage_count": pipeline.stages.count()})
                cursor.execute(INSERT_CLOSED_STAYS, {"pipeline": pipeline.pk})
            cursor.execute(INSERT_TASKS, {"pipeline": pipeline.pk})
            cursor.execute("CREATE TEMP TABLE bench_board_contacts AS SELECT id, last_activity_at "
                           "FROM contacts_contact WHERE id IN (SELECT contact_id FROM pipelines_deal "
                           "WHERE pipeline_id = %s)", [pipeline.pk])
        cursor.execute("ANALYZE pipelines_deal, pipelines_dealstagehistory, contacts_task")
    log(f"  board pipeline: {deals:,} open and {closed:,} closed deals in {time.perf_counter() - started:.1f} s")
    try:
        yield pipeline
    finally:
        _drop_board(events_after=events_after)
        tables = "pipelines_deal, pipelines_dealstagehistory, contacts_task, contacts_event"
        with connection.cursor() as cursor:  # VACUUM cannot run in a transaction (the tests run in one)
            cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {tables}")


# --- deal_move ------------------------------------------------------------------------------------------

def deal_move(ctx: Context, *, deals: int = BOARD_DEALS, moves: int = MOVES) -> list[Result]:
    from pipelines.services import deal_move as move

    admin = _admin()
    rng = random.Random(f"{ctx.dataset.seed}:deal-move")
    with board_pipeline(deals=deals, seed=ctx.dataset.seed, log=ctx.log) as pipeline:
        stages = list(pipeline.stages.order_by("position"))
        ids = list(Deal.objects.filter(pipeline=pipeline).order_by("pk").values_list("pk", flat=True))
        picked = rng.sample(ids, 2 * (moves + WARMUP))
        figures, baselines, queries, slowest = [], [], 0, ""
        for index in range(moves + WARMUP):
            deal = Deal.objects.select_related("stage").get(pk=picked[2 * index])
            target = rng.choice([stage for stage in stages if stage.pk != deal.stage_id])
            position = rng.randint(0, Deal.objects.filter(stage=target, status=Deal.Status.OPEN).count())
            call = partial(move, deal=deal, stage=target, position=position, by=admin)
            if index == WARMUP:
                with CaptureQueriesContext(connection) as captured:
                    figure = _ms(call)
                queries = len(captured.captured_queries)
                slowest = _slowest(captured)
            else:
                figure = _ms(call)
            # The baseline writes another card's stage and position as they are now (after the move), so the
            # board stays as the moves left it.
            other = Deal.objects.values_list("pk", "stage_id", "position").get(pk=picked[2 * index + 1])

            def update(row=other):
                with connection.cursor() as cursor:
                    cursor.execute("UPDATE pipelines_deal SET stage_id = %s, position = %s WHERE id = %s",
                                   [row[1], row[2], row[0]])

            baseline = _ms(update)
            if index >= WARMUP:
                figures.append(figure)
                baselines.append(baseline)
        distinct = _distinct_keys(list(Deal.objects.filter(pipeline=pipeline, status=Deal.Status.OPEN)
                                       .values_list("stage_id", "position")))
    figure, baseline = statistics.median(figures), statistics.median(baselines)
    notes = (f"median of {moves} moves to a random place in another column of a {deals:,}-deal board; "
             f"p95 {p95(figures):.1f} ms (baseline {p95(baselines):.2f}); {queries} SQL queries a move "
             f"(lock, bounds, the neighbours' keys, history, timeline event); {slowest}")
    result = Result(name="deal_move", title="Deal move", unit="ms", figure=figure, baseline=baseline,
                    baseline_label="one hand-written UPDATE", higher_is_better=False, goal=Goal("<", 50, "ms"),
                    issue=ISSUE, notes=notes,
                    details={"deals": deals, "moves": moves, "queries": queries, "slowest": slowest,
                             "p95_ms": p95(figures),
                             "baseline_p95_ms": p95(baselines), "samples_ms": [round(v, 2) for v in figures]})
    if not distinct:
        result.status, result.notes = "error", notes + "; two cards of a column shared a sort key after the moves"
    return [result]


def _slowest(captured: CaptureQueriesContext) -> str:
    """Where one request's SQL time went: the total and its slowest statement."""
    times = [(float(query["time"]) * 1000, query["sql"]) for query in captured.captured_queries]
    if not times:
        return "no SQL"
    ms, statement = max(times)
    return (f"SQL {sum(t for t, _s in times):.1f} ms in all, the slowest {ms:.1f} ms: "
            f"{' '.join(statement.split())[:90]}…")


def _distinct_keys(rows: list[tuple[int, int]]) -> bool:
    """Every card of a column has its own sort key, so the board's order is the one the moves made."""
    return len(set(rows)) == len(rows)


# --- board_render ----------------------------------------------------------------------------------------

BOARD_TOTALS_SQL = """
SELECT stage_id, currency, count(*), sum(value) FROM pipelines_deal
WHERE pipeline_id = %(pipeline)s AND status = 'open' GROUP BY stage_id, currency
"""
BOARD_CARDS_SQL = """
SELECT d.id, d.title, d.value, d.currency, d.stage_id, d.position, d.stage_entered_at, d.last_activity_at,
       d.expected_close_date, s.rotting_days, u.first_name, u.last_name, c.first_name, c.last_name, c.email,
       c.last_activity_at, a.name, t.title, t.due_at
FROM pipelines_stage s
CROSS JOIN LATERAL (SELECT * FROM pipelines_deal WHERE pipeline_id = s.pipeline_id AND status = 'open'
                    AND stage_id = s.id ORDER BY position, id LIMIT %(cards)s) d
LEFT JOIN users_user u ON u.id = d.owner_id
LEFT JOIN contacts_contact c ON c.id = d.contact_id
LEFT JOIN contacts_account a ON a.id = d.account_id
LEFT JOIN LATERAL (SELECT title, due_at FROM contacts_task WHERE deal_id = d.id AND NOT done
                   ORDER BY due_at, id LIMIT 1) t ON true
WHERE s.pipeline_id = %(pipeline)s
ORDER BY s.position, d.position
"""


def _board_sql(pipeline: Pipeline) -> int:
    """The board's reads by hand: the stages, the totals and the first cards of every column."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, name, position, probability, rotting_days FROM pipelines_stage "
                       "WHERE pipeline_id = %s ORDER BY position", [pipeline.pk])
        cursor.fetchall()
        cursor.execute(BOARD_TOTALS_SQL, {"pipeline": pipeline.pk})
        cursor.fetchall()
        cursor.execute(BOARD_CARDS_SQL, {"pipeline": pipeline.pk, "cards": CARDS_PER_COLUMN})
        return len(cursor.fetchall())


def _board_page(client: Client, url: str, expected_cards: int) -> Callable[[], None]:
    def get() -> None:
        response = client.get(url)
        if response.status_code != 200 or response.content.count(CARD_MARKER) != expected_cards:
            raise RuntimeError(f"{url} answered {response.status_code} with {response.content.count(CARD_MARKER)} "
                               f"cards instead of {expected_cards}")
    return get


def _expected_cards(pipeline: Pipeline) -> int:
    counts = Deal.objects.filter(pipeline=pipeline, status=Deal.Status.OPEN).values_list("stage").order_by()
    per_stage: dict[int, int] = {}
    for (stage,) in counts:
        per_stage[stage] = per_stage.get(stage, 0) + 1
    return sum(min(CARDS_PER_COLUMN, n) for n in per_stage.values())


def _queries(get: Callable[[], None]) -> tuple[int, str]:
    """How many SQL queries one call sends, and where their time went."""
    with CaptureQueriesContext(connection) as captured:
        get()
    return len(captured.captured_queries), _slowest(captured)


def board_render(ctx: Context, *, deals: int = BOARD_DEALS, runs: int = RUNS) -> list[Result]:
    title, label, goal = ("Deal board, first render with 10k open deals", "hand-written SQL: totals and the first "
                          "50 cards of each column", Goal("<", 250, "ms"))
    try:
        reverse("pipelines:pipeline_board", args=[1])
    except NoReverseMatch:
        return [_not_built("board_render", title, label, goal, "pipelines:pipeline_board does not exist")]
    client = Client(HTTP_HOST="localhost")
    client.force_login(_admin())
    small = Pipeline.objects.filter(name="Sales").first()
    with board_pipeline(deals=deals, seed=ctx.dataset.seed, log=ctx.log) as pipeline:
        url = reverse("pipelines:pipeline_board", args=[pipeline.pk])
        cards = _expected_cards(pipeline)
        get = _board_page(client, url, cards)
        for _ in range(WARMUP):
            get()
            _board_sql(pipeline)
        figures, baselines = [], []
        for _ in range(runs):  # interleaved, so a noisy neighbour hits both sides alike
            figures.append(_ms(get))
            baselines.append(_ms(lambda: _board_sql(pipeline)))
        queries, slowest = _queries(get)
        small_queries = small_open = None
        if small is not None:
            small_open = Deal.objects.filter(pipeline=small, status=Deal.Status.OPEN).count()
            small_get = _board_page(client, reverse("pipelines:pipeline_board", args=[small.pk]),
                                    _expected_cards(small))
            small_get()
            small_queries = _queries(small_get)[0]
    figure, baseline = statistics.median(figures), statistics.median(baselines)
    constant = small_queries is None or small_queries == queries
    notes = (f"median of {runs}, in process (Django test client), as the admin; p95 {p95(figures):.1f} ms "
             f"(baseline {p95(baselines):.1f}); {queries} SQL queries, {cards} cards; {slowest}")
    if small_queries is not None:
        notes += f"; the data set's Sales board ({small_open:,} open deals): {small_queries} queries"
    result = Result(name="board_render", title=title, unit="ms", figure=figure, baseline=baseline,
                    baseline_label=label, higher_is_better=False, goal=goal, issue=ISSUE, notes=notes,
                    details={"deals": deals, "runs": runs, "queries": queries, "slowest": slowest, "cards": cards,
                             "small_board_open_deals": small_open, "small_board_queries": small_queries,
                             "constant_queries": constant, "p95_ms": p95(figures),
                             "baseline_p95_ms": p95(baselines), "samples_ms": [round(v, 1) for v in figures]})
    if not constant:
        result.status = "MISS"
        result.notes += " — the query count grows with the deals"
    return [result]


# --- pipeline_metrics ------------------------------------------------------------------------------------

METRICS_SQL = """
WITH deals AS (SELECT * FROM pipelines_deal WHERE pipeline_id = %(pipeline)s),
open AS (
    SELECT d.stage_id, d.currency, count(*) AS deals, sum(d.value) AS value,
           sum(d.value * s.probability / 100) AS weighted,
           count(*) FILTER (WHERE d.expected_close_date >= %(first_day)s AND d.expected_close_date < %(end_day)s)
               AS expected,
           sum(d.value * s.probability / 100) FILTER (
               WHERE d.expected_close_date >= %(first_day)s AND d.expected_close_date < %(end_day)s) AS forecast
    FROM deals d JOIN pipelines_stage s ON s.id = d.stage_id
    WHERE d.status = 'open' GROUP BY d.stage_id, d.currency
),
closed AS (
    SELECT count(*) FILTER (WHERE status = 'won') AS won, sum(value) FILTER (WHERE status = 'won') AS won_value,
           count(*) FILTER (WHERE status = 'lost') AS lost,
           avg(extract(epoch FROM closed_at - created_at) / 86400) FILTER (WHERE status = 'won') AS cycle_mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at) / 86400)
               FILTER (WHERE status = 'won') AS cycle_median,
           avg(extract(epoch FROM closed_at - created_at) / 86400) AS lifetime
    FROM deals WHERE closed_at >= %(start)s AND closed_at < %(end)s
),
stays AS (
    SELECT h.stage_id,
           count(DISTINCT h.deal_id) FILTER (WHERE h.entered_at >= %(start)s AND h.entered_at < %(end)s) AS entered,
           count(DISTINCT h.deal_id) FILTER (WHERE h.entered_at >= %(start)s AND h.entered_at < %(end)s AND EXISTS (
               SELECT 1 FROM pipelines_dealstagehistory l JOIN pipelines_stage ls ON ls.id = l.stage_id
               WHERE l.deal_id = h.deal_id AND ls.position > s.position AND l.entered_at > h.entered_at))
               AS advanced,
           count(*) FILTER (WHERE h.exited_at >= %(start)s AND h.exited_at < %(end)s) AS stays,
           avg(extract(epoch FROM h.exited_at - h.entered_at) / 86400)
               FILTER (WHERE h.exited_at >= %(start)s AND h.exited_at < %(end)s) AS days
    FROM pipelines_dealstagehistory h JOIN pipelines_stage s ON s.id = h.stage_id
    WHERE s.pipeline_id = %(pipeline)s AND ((h.entered_at >= %(start)s AND h.entered_at < %(end)s)
                                            OR (h.exited_at >= %(start)s AND h.exited_at < %(end)s))
    GROUP BY h.stage_id
),
months AS (
    SELECT date_trunc('month', closed_at) AS month, count(*) FILTER (WHERE status = 'won') AS won,
           count(*) FILTER (WHERE status = 'lost') AS lost
    FROM deals WHERE status IN ('won', 'lost') AND closed_at >= date_trunc('month', %(start)s::timestamptz)
                     AND closed_at < %(end)s
    GROUP BY 1
)
SELECT (SELECT json_agg(open) FROM open), (SELECT row_to_json(closed) FROM closed),
       (SELECT json_agg(stays) FROM stays), (SELECT json_agg(months) FROM months)
"""


def pipeline_metrics(ctx: Context, *, runs: int = RUNS, deals: int = BOARD_DEALS,
                     closed: int = BOARD_DEALS // 2) -> list[Result]:
    title, label, goal = "Pipeline metrics for a year", "one hand-written SQL statement", Goal("<", 500, "ms")
    try:
        from pipelines.metrics import pipeline_metrics as metrics
    except ImportError:
        return [_not_built("pipeline_metrics", title, label, goal, "pipelines.metrics.pipeline_metrics is missing")]
    with board_pipeline(deals=deals, closed=closed, seed=ctx.dataset.seed, log=ctx.log) as pipeline:
        return [_measure_metrics(pipeline, metrics, runs=runs, title=title, label=label, goal=goal)]


def _measure_metrics(pipeline, metrics, *, runs, title, label, goal) -> Result:
    admin = _admin()
    end = timezone.now()
    start = end - timedelta(days=365)
    params = {"pipeline": pipeline.pk, "start": start, "end": end, "first_day": start.date(), "end_day": end.date()}

    def by_hand() -> None:
        with connection.cursor() as cursor:
            cursor.execute(METRICS_SQL, params)
            cursor.fetchall()

    def compute() -> None:
        metrics(pipeline, start=start, end=end, user=admin)

    for _ in range(WARMUP):
        compute()
        by_hand()
    figures, baselines = [], []
    for _ in range(runs):
        figures.append(_ms(compute))
        baselines.append(_ms(by_hand))
    queries, slowest = _queries(compute)
    deals = Deal.objects.filter(pipeline=pipeline).count()
    open_deals = Deal.objects.filter(pipeline=pipeline, status=Deal.Status.OPEN).count()
    closed = Deal.objects.filter(pipeline=pipeline, closed_at__gte=start, closed_at__lt=end).count()
    history = DealStageHistory.objects.filter(stage__in=Stage.objects.filter(pipeline=pipeline).values("pk")).count()
    figure, baseline = statistics.median(figures), statistics.median(baselines)
    notes = (f"median of {runs}, as the admin; p95 {p95(figures):.1f} ms (baseline {p95(baselines):.1f}); "
             f"{queries} SQL queries ({slowest}); a pipeline of {deals:,} deals ({open_deals:,} open), {closed:,} "
             f"closed in the year, {history:,} stays in its history")
    return Result(name="pipeline_metrics", title=title, unit="ms", figure=figure, baseline=baseline,
                  baseline_label=label, higher_is_better=False, goal=goal, issue=ISSUE, notes=notes,
                  details={"runs": runs, "queries": queries, "deals": deals, "closed_in_period": closed,
                           "history_rows": history, "p95_ms": p95(figures), "baseline_p95_ms": p95(baselines),
                           "start": start.isoformat(), "end": end.isoformat()})
