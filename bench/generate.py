"""A realistic, reproducible data set at scale, loaded with COPY.

    python -m bench.generate --scale 10k [--seed 42] [--force]

Scales are `tiny` (200 contacts, for tests), `10k`, `100k` and `1m`, or any count such as
`5000` or `250k`. The data goes into the bench database for that scale (see bench.database),
never into the development one. A small table, `bench_dataset`, records which scale, seed and
generator version the data is; asking again for the same reuses it.

What a data set holds (see bench/tables.py for the details):
- users and teams: an admin, two managers, two marketers and 4-40 reps
- accounts for about 5% of contacts, with a parent hierarchy up to three levels
- contacts with names, unique emails (their account's domain), titles, phones and owners
- tags with Zipf-like popularity, through the M2M table
- about 10 events a contact over the last 12 months, with a long tail: page visits over a
  few hundred URLs, email opens and clicks, form submissions and custom events
- two pipelines with the default stages, and deals for about 3% of contacts, with their stage history
"""

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime

from django.db import connections, transaction

__all__ = ["DEFAULT_SEED", "GENERATOR_VERSION", "SCALES", "UPGRADABLE", "Dataset", "current_dataset", "generate",
           "parse_scale"]

#: Bump when the generated rows change, so stored data sets are generated again.
GENERATOR_VERSION = 3  # 2: custom field values, lifecycle journeys, lists (issue 3); 3: deal stage history (issue 4)
#: Older versions that `Builder.upgrade()` brings up to date in place instead of generating everything again.
UPGRADABLE = {2}
DEFAULT_SEED = 42
SCALES = {"tiny": 200, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}

REGISTRY_DDL = """
CREATE TABLE IF NOT EXISTS bench_dataset (
    scale text PRIMARY KEY,
    contacts integer NOT NULL,
    seed bigint NOT NULL,
    version integer NOT NULL,
    anchor timestamptz NOT NULL,
    generated_at timestamptz NOT NULL,
    seconds double precision NOT NULL,
    counts jsonb NOT NULL,
    timings jsonb NOT NULL
)"""

#: Counted again before a stored data set is reused: cheap enough even at 1m.
VERIFIED = {"contacts": "contacts_contact", "accounts": "contacts_account", "events": "contacts_event",
            "deals": "pipelines_deal", "contact_tags": "contacts_contact_tags",
            "stage_transitions": "lifecycle_stagetransition", "subscriptions": "contacts_subscription",
            "deal_stage_history": "pipelines_dealstagehistory"}


def parse_scale(value: str | int) -> tuple[str, int]:
    """('10k', 10000) for '10k'; also 'tiny', '1m', '250k' or a plain number of contacts."""
    text = str(value).strip().lower()
    if text in SCALES:
        return text, SCALES[text]
    match = re.fullmatch(r"(\d+)([km]?)", text)
    if not match:
        raise ValueError(f"scale must be one of {', '.join(SCALES)} or a number of contacts, not {value!r}")
    contacts = int(match[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[match[2]]
    if contacts < 20:
        raise ValueError("a data set needs at least 20 contacts")
    label = next((name for name, count in SCALES.items() if count == contacts), str(contacts))
    return label, contacts


@dataclass
class Dataset:
    scale: str
    contacts: int
    seed: int
    version: int
    anchor: datetime
    generated_at: datetime
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    reused: bool = False

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        data = asdict(self)
        data["anchor"] = self.anchor.isoformat()
        data["generated_at"] = self.generated_at.isoformat()
        data["rows"] = self.rows
        return data


def current_dataset(*, using: str = "default") -> Dataset | None:
    """The data set the database holds now, if the generator made one."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_dataset') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("SELECT scale, contacts, seed, version, anchor, generated_at, seconds, counts, timings "
                       "FROM bench_dataset ORDER BY generated_at DESC LIMIT 1")
        row = cursor.fetchone()
    if row is None:
        return None
    scale, contacts, seed, version, anchor, generated_at, seconds, counts, timings = row
    return Dataset(scale=scale, contacts=contacts, seed=seed, version=version, anchor=anchor,
                   generated_at=generated_at, seconds=seconds, counts=_json(counts), timings=_json(timings))


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _counts_now(using: str) -> dict[str, int]:
    with connections[using].cursor() as cursor:
        counts = {}
        for name, table in VERIFIED.items():
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[name] = cursor.fetchone()[0]
    return counts


def generate(*, scale: str | int = "10k", seed: int = DEFAULT_SEED, anchor: datetime | None = None,
             force: bool = False, using: str = "default", log=print) -> Dataset:
    """Generate the data set for `scale` and `seed` into database `using`, or reuse the one there.

    Existing rows of the generated tables are replaced (TRUNCATE), so only point this at a bench
    database or a test database. `anchor` is the end of the 12 months of history (default: today,
    midnight UTC); a reused data set keeps the anchor it was made with. Everything happens in one
    transaction: a failure leaves the database as it was.
    """
    from bench.tables import Builder, Plan

    label, contacts = parse_scale(scale)
    with connections[using].cursor() as cursor:
        cursor.execute(REGISTRY_DDL)
    existing = current_dataset(using=using)
    if existing and not force and (existing.contacts, existing.seed) == (contacts, seed) and (
            existing.version == GENERATOR_VERSION or existing.version in UPGRADABLE):
        expected = {name: existing.counts.get(name, 0) for name in VERIFIED}
        if _counts_now(using) == expected:
            if existing.version != GENERATOR_VERSION:
                _upgrade(existing, using=using, log=log)
            existing.reused = True
            log(f"data set {label} (seed {seed}) is already there: reused")
            return existing
        log("the stored data set does not match its counts any more: generating it again")

    anchor = anchor or datetime.combine(datetime.now(UTC).date(), dtime.min, tzinfo=UTC)
    log(f"generating data set {label}: {contacts:,} contacts, seed {seed}, history up to {anchor:%Y-%m-%d}")
    started = time.perf_counter()
    connection = connections[using]
    with transaction.atomic(using=using):
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            counts, timings = Builder(cursor, plan=Plan(contacts), seed=seed, anchor=anchor, log=log).build()
            seconds = round(time.perf_counter() - started, 3)
            generated_at = datetime.now(UTC)
            cursor.execute("DELETE FROM bench_dataset")
            cursor.execute(
                "INSERT INTO bench_dataset (scale, contacts, seed, version, anchor, generated_at, seconds, counts, "
                "timings) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [label, contacts, seed, GENERATOR_VERSION, anchor, generated_at, seconds, json.dumps(counts),
                 json.dumps(timings)])
    dataset = Dataset(scale=label, contacts=contacts, seed=seed, version=GENERATOR_VERSION, anchor=anchor,
                      generated_at=generated_at, seconds=seconds, counts=counts, timings=timings)
    log(f"generated {dataset.rows:,} rows in {seconds:.1f} s ({dataset.rows / seconds:,.0f} rows/s)")
    return dataset


def _upgrade(dataset: Dataset, *, using: str, log) -> None:
    """Add what generator versions after `dataset.version` added (Builder.upgrade), in one transaction, and
    record the data set as of the current version: the same rows a new generation would make."""
    from bench.tables import Builder, Plan

    log(f"data set {dataset.scale} is of generator version {dataset.version}: bringing it up to "
        f"version {GENERATOR_VERSION} in place")
    started = time.perf_counter()
    connection = connections[using]
    with transaction.atomic(using=using):
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            counts, timings = Builder(cursor, plan=Plan(dataset.contacts), seed=dataset.seed, anchor=dataset.anchor,
                                      log=log).upgrade(dataset.version)
            dataset.counts.update(counts)
            dataset.timings.update(timings)
            dataset.seconds = round(dataset.seconds + time.perf_counter() - started, 3)
            dataset.version = GENERATOR_VERSION
            cursor.execute("UPDATE bench_dataset SET version = %s, seconds = %s, counts = %s, timings = %s",
                           [dataset.version, dataset.seconds, json.dumps(dataset.counts), json.dumps(dataset.timings)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="10k", help="tiny, 10k, 100k, 1m or a number of contacts")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="generate again even if the data set exists")
    args = parser.parse_args(argv)
    from bench.run import setup_django

    label, _contacts = parse_scale(args.scale)
    setup_django(label)
    dataset = generate(scale=label, seed=args.seed, force=args.force)
    print(json.dumps(dataset.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
