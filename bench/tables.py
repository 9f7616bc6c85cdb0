"""The generator's tables, one method each, written with COPY in text format.

Every table draws from its own seeded random stream (`seed:table`), so adding a table later
does not change the rows of the others. Ids are assigned here (1..n, in creation order) and
the identity sequences are moved past them at the end.

Slots for data whose models do not exist yet are at the bottom, marked "added by issue N".
"""

import json
import math
import random
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from django.apps import apps
from psycopg import sql

from bench import vocab
from bench.copyload import NULL, copy_text, esc, model_columns, secondary_indexes_deferred
from bench.sampling import DAY, Clock, cumulative, pick, zipf
from bench.timeline import CHUNK_ROWS, EVENT_WINDOW_DAYS, TimelineTables
from contacts.models import Account, Contact, ContactList, CustomField, Event, Subscription, Tag
from lifecycle.models import StageTransition
from pipelines.models import DEFAULT_STAGES, Deal, DealStageHistory, Pipeline, Stage
from users.models import Team, User
from users.roles import Role

__all__ = ["Builder", "Plan"]

#: Contacts were created over the last three years; their events span the last one.
CONTACT_HISTORY_DAYS = 3 * 365
#: Events per contact: log-normal (a long tail), mean about 10 including contact_created.
EVENTS_SIGMA = 1.1
EVENTS_MU = math.log(10.0) - EVENTS_SIGMA**2 / 2
EVENTS_MAX_PER_CONTACT = 3_000

#: Big tables whose secondary indexes and foreign keys are built once, after the load.
DEFERRED_TABLES = [Account, Contact, Contact.tags.through, Event, Deal, StageTransition, Subscription]
#: The custom fields every data set has (contacts.CustomField), filled by `firmographics()`.
CUSTOM_FIELDS = [("industry", "Industry", "choice"), ("headcount", "Employee headcount", "number"),
                 ("region", "Region", "choice"), ("annual_revenue", "Annual revenue", "money")]
#: Lists: (name, share of contacts on it).
LISTS = [("Monthly newsletter", 0.45), ("Product updates", 0.22), ("Webinar invites", 0.09),
         ("Partner news", 0.03), ("Beta programme", 0.008)]
#: Subscription statuses and their weights.
SUBSCRIPTION_STATUSES = [("subscribed", 86), ("unsubscribed", 8), ("bounced", 3), ("unconfirmed", 2),
                         ("complained", 1)]


class Plan:
    """How many rows of each kind a data set of `contacts` contacts has."""

    def __init__(self, contacts: int):
        self.contacts = contacts
        self.accounts = max(1, round(contacts * 0.05))
        self.deals = max(1, round(contacts * 0.03))
        self.tags = min(500, max(25, contacts // 200))
        self.reps = min(40, max(4, round(math.sqrt(contacts) / 25)))


class Builder(TimelineTables):
    """Writes one data set. Call `build()` inside a transaction on a psycopg cursor."""

    def __init__(self, cursor, *, plan: Plan, seed: int, anchor: datetime, log: Callable[[str], None] = print):
        self.cursor = cursor
        self.plan = plan
        self.seed = seed
        self.anchor = int(anchor.timestamp())
        self.window_start = self.anchor - EVENT_WINDOW_DAYS * DAY
        self.log = log
        self.clock = Clock()
        self.counts: dict[str, int] = {}
        self.timings: dict[str, float] = {}

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{name}")

    # --- plumbing -------------------------------------------------------------------------

    def _copy(self, model, generated: list[str], make_chunks: Callable[[str], Iterator[tuple[str, int]]],
              *, name: str) -> None:
        """COPY the chunks `make_chunks(suffix)` yields (text, row count) into `model`'s table."""
        columns, suffix = model_columns(model, generated)
        statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FREEZE)").format(
            sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        started = time.perf_counter()
        rows = 0
        with self.cursor.copy(statement) as copy:
            for text, count in make_chunks(suffix):
                copy.write(text)
                rows += count
        self.counts[name] = rows
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.log(f"  {name}: {rows:,} rows in {self.timings[name]:.1f} s")

    def _rows(self, rows: Iterable[tuple]) -> Callable[[str], Iterator[tuple[str, int]]]:
        """Chunks from plain Python tuples: fine for the small tables."""
        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines = ["\t".join(copy_text(value) for value in row) + suffix + "\n" for row in rows]
            yield "".join(lines), len(lines)
        return chunks

    # --- the data set ---------------------------------------------------------------------

    def build(self) -> tuple[dict[str, int], dict[str, float]]:
        cursor = self.cursor
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # Foreign keys are deferred by Django; pending checks would block the ALTER TABLEs below.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        tables = [m._meta.db_table for m in (Team, User, User.groups.through, Account, Tag, Contact,
                                             Contact.tags.through, Event, Pipeline, Stage, Deal, DealStageHistory,
                                             CustomField, ContactList, Subscription, StageTransition)]
        cursor.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(map(sql.Identifier, tables))))
        self.users()
        self.pipelines()
        self.tags()
        self.custom_fields()
        started = time.perf_counter()
        with secondary_indexes_deferred(cursor, [m._meta.db_table for m in DEFERRED_TABLES], log=self.log):
            self.accounts()
            self.contacts()
            self.contact_tags()
            self.events()
            self.deals()
            self.lifecycle_stage_transitions()
            self.list_memberships()
        self.timings["load_and_index"] = round(time.perf_counter() - started, 3)
        self.custom_field_indexes()
        self.deal_stage_history()
        for table in tables:
            cursor.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                                   "(SELECT coalesce(max(id), 0) + 1 FROM {}), false)").format(sql.Identifier(table)),
                           [table])
        started = time.perf_counter()
        for table in tables:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        self.timings["analyze"] = round(time.perf_counter() - started, 3)
        return self.counts, self.timings

    def users(self) -> None:
        """Three teams; an admin, two managers, two marketers and the reps who own contacts."""
        rng = self.rng("users")
        teams = ["Sales East", "Sales West", "Marketing"]
        joined = datetime.fromtimestamp(self.anchor - 2 * 365 * DAY, UTC)
        self._copy(Team, ["id", "name", "created_at"],
                   self._rows((i + 1, name, joined) for i, name in enumerate(teams)), name="teams")
        people = [("bench-admin", Role.ADMIN, None), ("manager-east", Role.MANAGER, 1),
                  ("manager-west", Role.MANAGER, 2), ("marketer-1", Role.MARKETER, 3), ("marketer-2", Role.MARKETER, 3)]
        people += [(f"rep-{i + 1:02d}", Role.SALES_REP, 1 + i % 2) for i in range(self.plan.reps)]
        rows = []
        for i, (username, role, team) in enumerate(people):
            first, last = rng.choice(vocab.FIRST_NAMES).title(), rng.choice(vocab.LAST_NAMES).title()
            rows.append((i + 1, "!" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=40)), None,
                         role is Role.ADMIN, username, first, last, f"{username}@team.example", role is Role.ADMIN,
                         True, joined, team))
        self._copy(User, ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
                          "email", "is_staff", "is_active", "date_joined", "team_id"], self._rows(rows), name="users")
        self.cursor.execute("SELECT name, id FROM auth_group")
        groups = dict(self.cursor.fetchall())
        links = [(user_id, groups[role.label]) for user_id, (_u, role, _t) in enumerate(people, start=1)
                 if role.label in groups]
        self._copy(User.groups.through, ["id", "user_id", "group_id"],
                   self._rows((i + 1, user, group) for i, (user, group) in enumerate(links)), name="user_groups")
        self.reps = [i + 1 for i, (_u, role, _t) in enumerate(people) if role is Role.SALES_REP]
        self.admin_id = 1

    def pipelines(self) -> None:
        """Two pipelines with the default stages."""
        created = datetime.fromtimestamp(self.anchor - 500 * DAY, UTC)
        self._copy(Pipeline, ["id", "name", "created_at"],
                   self._rows([(1, "Sales", created), (2, "Partnerships", created)]), name="pipelines")
        stages = []
        for pipeline in (1, 2):
            for position, (name, probability, rotting) in enumerate(DEFAULT_STAGES):
                stages.append((len(stages) + 1, pipeline, name, position, probability, rotting))
        self._copy(Stage, ["id", "pipeline_id", "name", "position", "probability", "rotting_days"],
                   self._rows(stages), name="stages")
        #: stage ids per pipeline, in position order
        self.stage_ids = {1: [s[0] for s in stages if s[1] == 1], 2: [s[0] for s in stages if s[1] == 2]}

    def tags(self) -> None:
        """Named tags first (the big ones), then campaign-style ones: the long tail."""
        rng = self.rng("tags")
        names = list(vocab.TAG_NAMES)
        while len(names) < self.plan.tags:
            names.append(f"campaign-{rng.choice(vocab.COMPANY_WORDS)}-{len(names)}")
        names = names[: self.plan.tags]
        created = datetime.fromtimestamp(self.anchor - 700 * DAY, UTC)
        self._copy(Tag, ["id", "name", "created_at"],
                   self._rows((i + 1, name, created) for i, name in enumerate(names)), name="tags")

    def accounts(self) -> None:
        """About 5% as many accounts as contacts; 5% of them are groups that parent others."""
        rng = self.rng("accounts")
        n = self.plan.accounts
        groups = max(1, n // 20)
        group_cum = zipf(groups, 1.0)
        suffixes = [s for s, _w in vocab.COMPANY_SUFFIXES]
        suffix_cum = cumulative(w for _s, w in vocab.COMPANY_SUFFIXES)
        industry_cum = cumulative(w for _s, w in vocab.INDUSTRIES)
        ages = sorted((rng.random() * CONTACT_HISTORY_DAYS * DAY for _ in range(n)), reverse=True)
        seen: dict[str, int] = {}
        self.account_domains: list[str] = []
        self.account_names: list[str] = []
        self.account_owners = array("q")
        self.account_industries = array("B")
        children: list[int] = []
        rows = []
        for i in range(n):
            first, second = rng.sample(vocab.COMPANY_WORDS, 2)
            name = f"{first.title()} {second.title()} {suffixes[pick(rng, suffix_cum)]}"
            slug = f"{first}{second}"
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            domain = f"{slug}{count if count else ''}.example"
            industry = pick(rng, industry_cum)
            parent = None
            if i >= groups:
                roll = rng.random()
                if roll < 0.15:
                    parent = pick(rng, group_cum) + 1
                elif roll < 0.18 and children:
                    parent = rng.choice(children)  # a third level
                if parent:
                    children.append(i + 1)
            owner = rng.choice(self.reps) if rng.random() < 0.85 else 0
            self.account_domains.append(domain)
            self.account_names.append(name)
            self.account_owners.append(owner)
            self.account_industries.append(industry)
            created = self.clock.ts(int(self.anchor - ages[i]))
            rows.append(f"{i + 1}\t{esc(name)}\t{domain}\t{vocab.INDUSTRIES[industry][0]}\t{created}\t"
                        f"{owner or NULL}\t{parent or NULL}")

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            yield "".join(row + suffix + "\n" for row in rows), len(rows)

        self._copy(Account, ["id", "name", "domain", "industry", "created_at", "owner_id", "parent_id"], chunks,
                   name="accounts")
        # Account sizes are skewed too: a random few accounts hold many contacts.
        weights = [1 / (rank + 1) ** 0.75 for rank in range(n)]
        rng.shuffle(weights)
        self.account_cum = cumulative(weights)

    def contacts(self) -> None:
        """Contacts, oldest first; 80% at an account (its domain in their email), the rest on free mail."""
        rng = self.rng("contacts")
        plan = self.plan
        n = plan.contacts
        # Growth: more contacts were created recently than long ago.
        ages = sorted((rng.random() ** 1.6 * CONTACT_HISTORY_DAYS * DAY for _ in range(n)), reverse=True)
        title_cum = cumulative(w for _t, w in vocab.TITLES)
        firsts, lasts = vocab.FIRST_NAMES, vocab.LAST_NAMES
        self.contact_created = array("q")
        self.contact_accounts = array("q")
        self.contact_owners = array("q")
        self.contact_events = array("l")
        self.contact_last = array("q")
        firmographics_rng = self.rng("firmographics")
        journeys = self.rng("lifecycle")
        #: Each contact's stage path (positions in the active set), for lifecycle_stage_transitions().
        self.contact_paths: list[bytes] = []
        stage_ids = self.lifecycle_stage_ids
        anchor, window_start, ts = self.anchor, self.window_start, self.clock.ts

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines = []
            for i in range(n):
                first, last = rng.choice(firsts), rng.choice(lasts)
                account = pick(rng, self.account_cum) + 1 if rng.random() < 0.8 else 0
                domain = self.account_domains[account - 1] if account else rng.choice(vocab.FREE_MAIL_DOMAINS)
                phone = f"+1-555-{rng.randrange(100, 1000)}-{rng.randrange(1000, 10000)}" if rng.random() < 0.45 else ""
                title = vocab.TITLES[pick(rng, title_cum)][0]
                account_owner = self.account_owners[account - 1] if account else 0
                if account_owner and rng.random() < 0.8:
                    owner = account_owner
                else:
                    owner = rng.choice(self.reps) if rng.random() < 0.85 else 0
                created = int(anchor - 1 - ages[i])
                events = min(EVENTS_MAX_PER_CONTACT, int(rng.lognormvariate(EVENTS_MU, EVENTS_SIGMA)))
                start = max(created, window_start)
                last_at = int(start + (anchor - 1 - start) * (1 - rng.random() ** 2)) if events else 0
                if created >= window_start:
                    events += 1  # the contact_created event
                    last_at = max(last_at, created)
                self.contact_created.append(created)
                self.contact_accounts.append(account)
                self.contact_owners.append(owner)
                self.contact_events.append(events)
                self.contact_last.append(last_at)
                path = self.journey(journeys, len(stage_ids))
                self.contact_paths.append(path)
                fields = esc(json.dumps(self.firmographics(firmographics_rng, i), separators=(",", ":")))
                lines.append(
                    f"{i + 1}\t{first}.{last}{i + 1}@{domain}\t{first.title()}\t{last.title()}\t{phone}\t{title}\t"
                    f"{ts(created)}\t{ts(max(created, last_at))}\t{ts(last_at) if last_at else NULL}\t"
                    f"{account or NULL}\t{owner or NULL}\t{fields}\t"
                    f"{stage_ids[path[-1]] if path else NULL}{suffix}\n")
                if len(lines) >= CHUNK_ROWS:
                    yield "".join(lines), len(lines)
                    lines = []
            yield "".join(lines), len(lines)

        self._copy(Contact, ["id", "email", "first_name", "last_name", "phone", "title", "created_at", "updated_at",
                             "last_activity_at", "account_id", "owner_id", "fields", "lifecycle_stage_id"], chunks,
                   name="contacts")

    def contact_tags(self) -> None:
        """About 1.8 tags a contact, drawn Zipf-like: a few tags on a third of everyone, most on a handful."""
        rng = self.rng("contact-tags")
        cum = zipf(self.plan.tags, 1.05)

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines, next_id = [], 1
            for contact in range(1, self.plan.contacts + 1):
                wanted = min(12, int(rng.expovariate(0.45)))
                tags = {pick(rng, cum) + 1 for _ in range(wanted)}
                for tag in sorted(tags):
                    lines.append(f"{next_id}\t{contact}\t{tag}{suffix}\n")
                    next_id += 1
                if len(lines) >= CHUNK_ROWS:
                    yield "".join(lines), len(lines)
                    lines = []
            yield "".join(lines), len(lines)

        self._copy(Contact.tags.through, ["id", "contact_id", "tag_id"], chunks, name="contact_tags")

    def deals(self) -> None:
        """Deals for about 3% of contacts: 80% in Sales, 20% in Partnerships; open, won and lost."""
        rng = self.rng("deals")
        n = self.plan.deals
        contacts = sorted(rng.sample(range(self.plan.contacts), n))
        open_cum = cumulative([30, 25, 18, 15, 12])
        lost_cum = cumulative([35, 25, 20, 12, 8])
        positions: dict[int, int] = {}
        planned = []
        for i in contacts:
            earliest = max(self.contact_created[i], self.window_start)
            planned.append((earliest + int(rng.random() * (self.anchor - 1 - earliest)), i))
        planned.sort()
        rows = []
        for deal_id, (created, i) in enumerate(planned, start=1):
            pipeline = 1 if rng.random() < 0.8 else 2
            roll = rng.random()
            status = "open" if roll < 0.55 else "won" if roll < 0.8 else "lost"
            if status == "open":
                position = pick(rng, open_cum)
            elif status == "won":
                position = 4 if rng.random() < 0.6 else 5
            else:
                position = pick(rng, lost_cum)
            stage = self.stage_ids[pipeline][position]
            order = positions.get(stage, 0)
            positions[stage] = order + 1
            product, scale = vocab.PRODUCTS[int(rng.random() * len(vocab.PRODUCTS))]
            value = round(rng.lognormvariate(9.0, 0.8) * scale, -1)
            account = self.contact_accounts[i]
            owner = self.contact_owners[i] or rng.choice(self.reps)
            closed = expected = None
            end = self.anchor - 1
            if status == "open":
                expected = (datetime.fromtimestamp(created, UTC) + timedelta(days=rng.randint(20, 120))).date()
            else:
                closed = min(end, created + rng.randint(5, 120) * DAY + rng.randrange(DAY))
            activity = created + int(rng.random() * ((closed or end) - created))
            who = self.account_names[account - 1] if account else f"Contact #{i + 1}"
            rows.append(f"{deal_id}\t{esc(who)} - {product}\t{value:.2f}\tUSD\t{status}\t"
                        f"{expected.isoformat() if expected else NULL}\t{order}\t{self.clock.ts(created)}\t"
                        f"{self.clock.ts(closed) if closed else NULL}\t{self.clock.ts(activity)}\t"
                        f"{account or NULL}\t{i + 1}\t{owner}\t{pipeline}\t{stage}")

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            yield "".join(row + suffix + "\n" for row in rows), len(rows)

        self._copy(Deal, ["id", "title", "value", "currency", "status", "expected_close_date", "position",
                          "created_at", "closed_at", "last_activity_at", "account_id", "contact_id", "owner_id",
                          "pipeline_id", "stage_id"], chunks, name="deals")

    def upgrade(self, version: int) -> tuple[dict[str, int], dict[str, float]]:
        """Bring a data set of generator `version` up to date in place, when only later steps changed.

        Version 2 lacks the deal stage history (version 3): `deal_stage_history()` reads the deals back and
        adds it, exactly as a new generation would. Returns the counts and timings of what it wrote.
        """
        if version != 2:
            raise ValueError(f"a data set of generator version {version} cannot be upgraded; generate it again")
        self.cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self.deal_stage_history()
        table = DealStageHistory._meta.db_table
        self.cursor.execute(sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                                    "(SELECT coalesce(max(id), 0) + 1 FROM {}), false)").format(sql.Identifier(table)),
                            [table])
        for name in (table, Deal._meta.db_table):
            self.cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))
        return self.counts, self.timings

    # --- slots: data whose models arrive with later issues --------------------------------

    def _slot(self, name: str, *models: str, issue: str) -> None:
        """Record an empty slot; say so when one of its models already exists, so it gets filled."""
        self.counts.setdefault(name, 0)
        for label in models:
            try:
                apps.get_model(label)
            except LookupError:
                continue
            self.log(f"  {name}: {label} exists but the generator does not fill it yet (issue {issue})")

    @staticmethod
    def journey(rng: random.Random, stages: int) -> bytes:
        """A stage path through the active set, as positions: 8% never entered one, most move forward,
        about 15% step back at least once (the squiggle).
        """
        if stages == 0 or rng.random() < 0.08:
            return b""
        path = [0]
        while len(path) < 8 and rng.random() < 0.55:
            step = -1 if path[-1] > 0 and rng.random() < 0.18 else 1
            position = min(stages - 1, path[-1] + step)
            if position != path[-1]:
                path.append(position)
        return bytes(path)

    def lifecycle_stage_transitions(self) -> None:
        """Each contact's StageTransition history along its `journey()`, dated between its creation and
        the anchor; the contact's current stage was written with the contact.
        """
        stage_ids, anchor, ts = self.lifecycle_stage_ids, self.anchor, self.clock.ts
        rng = self.rng("lifecycle-times")
        actors = ["form", "rule", "user", "automation", "api", "import"]

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines, next_id = [], 1
            for i, path in enumerate(self.contact_paths):
                if not path:
                    continue
                created = self.contact_created[i]
                span = max(1, anchor - 1 - created)
                moments = sorted(created + int(span * rng.random() ** 2) for _ in range(len(path) - 1))
                previous = None
                for step, position in enumerate(path):
                    when = created if step == 0 else moments[step - 1]
                    direction = ("entry" if previous is None else "forward" if position > previous else "backward")
                    lines.append(f"{next_id}\t{i + 1}\t{stage_ids[previous] if previous is not None else NULL}\t"
                                 f"{stage_ids[position]}\t{direction}\t{ts(when)}\t"
                                 f"{'form' if step == 0 else rng.choice(actors)}\t{NULL}\t{suffix}\n")
                    next_id += 1
                    previous = position
                if len(lines) >= CHUNK_ROWS:
                    yield "".join(lines), len(lines)
                    lines = []
            yield "".join(lines), len(lines)

        self._copy(StageTransition, ["id", "contact_id", "from_stage_id", "to_stage_id", "direction", "occurred_at",
                                     "actor", "user_id", "reason"], chunks, name="stage_transitions")

    def custom_fields(self) -> None:
        """The custom field definitions whose values `firmographics()` gives each contact."""
        choices = {"industry": [name for name, _w in vocab.INDUSTRIES], "region": [name for name, _w in vocab.REGIONS]}
        created = datetime.fromtimestamp(self.anchor - 2 * 365 * DAY, UTC)
        self._copy(CustomField, ["id", "key", "label", "type", "choices", "help_text", "position", "created_at"],
                   self._rows((i + 1, key, label, kind, json.dumps(choices.get(key, [])), "", i, created)
                              for i, (key, label, kind) in enumerate(CUSTOM_FIELDS)), name="custom_fields")
        self.cursor.execute("SELECT id FROM lifecycle_lifecyclestage WHERE stage_set_id = "
                            "(SELECT id FROM lifecycle_stageset WHERE is_active) ORDER BY position")
        self.lifecycle_stage_ids = [row[0] for row in self.cursor.fetchall()]

    def custom_field_indexes(self) -> None:
        """The expression indexes the app builds for number, money and date fields (range filters)."""
        started = time.perf_counter()
        for key, _label, kind in CUSTOM_FIELDS:
            if kind in ("number", "money", "date"):
                statement = sql.SQL("CREATE INDEX IF NOT EXISTS {} ON contacts_contact ((fields -> {}))")
                self.cursor.execute(statement.format(sql.Identifier(f"contact_cf_{key}"), sql.Literal(key)))
        self.timings["custom_field_indexes"] = round(time.perf_counter() - started, 3)

    def firmographics(self, rng: random.Random, contact_index: int) -> dict:
        """The custom field values of a contact: industry (its account's), headcount, region, annual revenue."""
        account = self.contact_accounts[contact_index]
        industry = (vocab.INDUSTRIES[self.account_industries[account - 1]][0] if account
                    else vocab.INDUSTRIES[pick(rng, self.industry_cum)][0])
        headcount = min(200_000, int(rng.paretovariate(1.1) * 8))
        region = vocab.REGIONS[pick(rng, self.region_cum)][0]
        return {"industry": industry, "headcount": headcount, "region": region,
                "annual_revenue": round(headcount * rng.lognormvariate(11.5, 0.6), -3)}

    @property
    def industry_cum(self):
        if not hasattr(self, "_industry_cum"):
            self._industry_cum = cumulative(w for _i, w in vocab.INDUSTRIES)
        return self._industry_cum

    @property
    def region_cum(self):
        if not hasattr(self, "_region_cum"):
            self._region_cum = cumulative(w for _r, w in vocab.REGIONS)
        return self._region_cum

    def list_memberships(self) -> None:
        """A few lists of Zipf-like sizes; statuses mostly subscribed, some unsubscribed, bounced, complained."""
        rng = self.rng("lists")
        created = datetime.fromtimestamp(self.anchor - 3 * 365 * DAY, UTC)
        self._copy(ContactList, ["id", "name", "description", "double_opt_in", "created_at"],
                   self._rows((i + 1, name, "", False, created) for i, (name, _share) in enumerate(LISTS)),
                   name="lists")
        status_cum = cumulative(w for _s, w in SUBSCRIPTION_STATUSES)
        anchor, ts = self.anchor, self.clock.ts

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines, next_id = [], 1
            for contact in range(self.plan.contacts):
                created = self.contact_created[contact]
                for list_id, (_name, share) in enumerate(LISTS, start=1):
                    if rng.random() < share:
                        status = SUBSCRIPTION_STATUSES[pick(rng, status_cum)][0]
                        changed = created + int((anchor - 1 - created) * rng.random() ** 3)
                        lines.append(f"{next_id}\t{contact + 1}\t{list_id}\t{status}\t{ts(changed)}\t"
                                     f"{'form' if rng.random() < 0.7 else 'import'}{suffix}\n")
                        next_id += 1
                if len(lines) >= CHUNK_ROWS:
                    yield "".join(lines), len(lines)
                    lines = []
            yield "".join(lines), len(lines)

        self._copy(Subscription, ["id", "contact_id", "list_id", "status", "changed_at", "source"], chunks,
                   name="subscriptions")

    def deal_stage_history(self) -> None:
        """Added by issue 4: each deal's stays in the stage history, from its pipeline's first stage to the
        stage it is in, dated between its creation and its close (or the anchor); and what the deal row says
        about them.

        - The path walks forward; about 15% step back once on the way. About 3% were closed and reopened in
          their last stage: two stays there with a gap between them.
        - A closed deal's last stay ends when it closed; an open deal's stays so far all ended but the last,
          which is open. About 40% of open deals entered their stage within its rotting limit, the others
          earlier (stale).
        - The deals get `stage_entered_at` (their last stay's entry) and a last activity no older than that
          (or their close), and the open deals of each stage gapless positions, as deal_move keeps them.

        It reads the deals back from the database rather than from `deals()`, so it can also bring a data
        set of generator version 2 up to date in place (see bench.generate.generate).
        """
        rng = self.rng("deal-history")
        cursor, anchor, ts = self.cursor, self.anchor, self.clock.ts
        table = DealStageHistory._meta.db_table
        cursor.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(sql.Identifier(table)))  # COPY FREEZE needs it
        cursor.execute("SELECT id, pipeline_id, position, coalesce(rotting_days, 30) FROM pipelines_stage "
                       "ORDER BY pipeline_id, position")
        stages: dict[int, list[int]] = {}
        where: dict[int, tuple[int, int]] = {}
        rotting: dict[int, int] = {}
        for stage_id, pipeline_id, _position, days in cursor.fetchall():
            where[stage_id] = (pipeline_id, len(stages.setdefault(pipeline_id, [])))
            stages[pipeline_id].append(stage_id)
            rotting[stage_id] = days
        cursor.execute("SELECT id, stage_id, status, extract(epoch FROM created_at)::bigint, "
                       "extract(epoch FROM closed_at)::bigint, owner_id FROM pipelines_deal ORDER BY id")
        deals = cursor.fetchall()
        entered_at: list[str] = []

        def stays(deal) -> list[tuple[int, int, int | None]]:
            """(stage id, entered, exited or None) for one deal, in time order."""
            _id, stage_id, status, created, closed, _owner = deal
            pipeline_id, final = where[stage_id]
            path = list(range(final + 1))
            if final >= 1 and rng.random() < 0.15:
                k = rng.randint(1, final)
                path[k:k] = [k, k - 1]  # reached k, went back to k - 1, then on again
            reopened = rng.random() < 0.03
            if reopened:
                path.append(final)
            end = closed if closed is not None else anchor - 1
            if status == "open":
                # The last entry: within the stage's rotting limit for 40%, otherwise before it (stale).
                limit = rotting[stage_id] * DAY
                back = limit * rng.random() if rng.random() < 0.4 else limit * (1 + 3 * rng.random())
                last_entry = max(created, int(end - back))
            else:
                last_entry = created + int((end - created) * (1 - rng.random() * 0.6))
            middle = sorted(created + int((last_entry - created) * rng.random()) for _ in range(len(path) - 2))
            entries = [created, *middle, last_entry] if len(path) > 1 else [created]
            ends = entries[1:] + ([end] if status != "open" else [])
            if any(b - a < 2 for a, b in zip(entries, ends, strict=False)):
                path, entries = [final], [created]  # too short a life to tell the stays apart: one stay
                reopened = False
            result = []
            for step, position in enumerate(path):
                exited = entries[step + 1] if step + 1 < len(path) else (None if status == "open" else end)
                if reopened and step == len(path) - 2:
                    exited = (entries[step] + exited) // 2  # closed half-way; reopened at the next entry
                result.append((stages[pipeline_id][position], entries[step], exited))
            return result

        def chunks(suffix: str) -> Iterator[tuple[str, int]]:
            lines, next_id = [], 1
            for deal in deals:
                history = stays(deal)
                for stage, entered, exited in history:
                    lines.append(f"{next_id}\t{deal[0]}\t{stage}\t{ts(entered)}\t{ts(exited) if exited else NULL}\t"
                                 f"{deal[5] or NULL}{suffix}\n")
                    next_id += 1
                entered_at.append(f"{deal[0]}\t{ts(history[-1][1])}\n")
                if len(lines) >= CHUNK_ROWS:
                    yield "".join(lines), len(lines)
                    lines = []
            yield "".join(lines), len(lines)

        with secondary_indexes_deferred(cursor, [table], log=self.log):
            self._copy(DealStageHistory, ["id", "deal_id", "stage_id", "entered_at", "exited_at", "moved_by_id"],
                       chunks, name="deal_stage_history")
        started = time.perf_counter()
        cursor.execute("CREATE TEMP TABLE bench_stage_entered (id bigint PRIMARY KEY, entered timestamptz)")
        with cursor.copy("COPY bench_stage_entered (id, entered) FROM STDIN") as copy:
            copy.write("".join(entered_at))
        cursor.execute("""
            UPDATE pipelines_deal d SET stage_entered_at = e.entered,
                   last_activity_at = GREATEST(d.last_activity_at, e.entered, d.closed_at)
            FROM bench_stage_entered e WHERE e.id = d.id""")
        cursor.execute("""
            UPDATE pipelines_deal d SET position = r.position
            FROM (SELECT id, row_number() OVER (PARTITION BY stage_id ORDER BY position, id) - 1 AS position
                  FROM pipelines_deal WHERE status = 'open') r
            WHERE r.id = d.id AND d.position <> r.position""")
        cursor.execute("DROP TABLE bench_stage_entered")
        self.timings["deal_columns"] = round(time.perf_counter() - started, 3)
