"""Site tracking: visitors, page visits, and linking them to contacts (docs/tracking.md).

How a page visit flows:

    POST /t/collect   collect_request(ip, limit=..., visit=...)   ONE Redis round trip (a Lua script): count the
                      request against the IP's rate limit and, when under it, XADD the visit to the STREAM.
                      No database work: settings are cached in-process (tracking_config), visitor keys are signed.
    beat, every 1 s   visits_drain()   XREADGROUP a batch, visits_write() it in one transaction, XACK + XDEL
                      after commit. Entries of a drain that died are re-claimed (XAUTOCLAIM) and written again:
                      the entry id is unique on the PageVisit row (ON CONFLICT DO NOTHING), so nothing doubles.
    identify / forms  visitor_identify(key, email)   links the visitor and attaches the visits written so far;
                      visits still in the stream are attached by visits_write when they land, because it
                      attaches every visit of an already-linked visitor.

visits_write() is the one place that writes page visits (the drain; and the request itself when Redis is down).
Attaching is one statement (UPDATE ... RETURNING feeding INSERT INTO contacts_event ... SELECT), published on
commit like every other event.
"""

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from redis.exceptions import LockError, NoScriptError, RedisError, ResponseError

from contacts.events import publish_on_commit
from contacts.inputs import valid_email
from contacts.models import Contact, PageVisit, TrackingSettings, Visitor

__all__ = ["KEY_PATTERN", "STREAM", "TrackingConfig", "attach_visits", "clean_text", "clean_url",
           "collect_request", "config_forget", "domain_allowed", "domain_lines", "key_known", "key_signed",
           "new_key", "origin_host", "rate_limited", "tracking_config", "visitor_identify", "visitor_lock",
           "visits_drain", "visits_report", "visits_write"]

logger = logging.getLogger(__name__)

#: What a visitor key looks like: new ones are 40 characters (24 random + a 16-character signature); keys
#: made before signing (secrets.token_urlsafe(24), 32 characters) are still accepted when the database has them.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")
_RANDOM_CHARS = 24
_VISIT_ID = re.compile(r"[0-9a-f]{32}")
#: Keys made before keys were signed: secrets.token_urlsafe(24).
_LEGACY_KEY_CHARS = 32
_SIGNATURE_CHARS = 16
#: A page within this long after the visitor's previous one is part of the same visit (not an entry page).
SESSION_GAP = timedelta(minutes=30)
MAX_URL = PageVisit._meta.get_field("url").max_length
MAX_TITLE = PageVisit._meta.get_field("title").max_length
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_PATTERN = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)*{_LABEL}")

#: The Redis stream of visits waiting to be written, and its consumer group.
STREAM = "tracking:visits"
GROUP = "writers"
_CONSUMER = "drain"
#: XADD trims the stream to about this many entries, so a drain that is down for long cannot fill Redis up
#: (at 1,000 visits a second that is over 15 minutes of visits).
STREAM_MAX = getattr(settings, "TRACKING_STREAM_MAX", 1_000_000)
#: Entries read by a drain that has not acknowledged them after this long are taken over by the next drain.
CLAIM_IDLE_MS = 60_000
DRAIN_BATCH = 1_000
DRAIN_BUDGET_SECONDS = 5.0
DRAIN_LOCK = "tracking:visits:drain"
#: In-process cache of the tracking settings (every web process re-reads them at most this often).
CONFIG_TTL_SECONDS = 5.0


# --- Keys -----------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _signing_key(secret: str) -> bytes:
    # What salted_hmac derives on every call, derived once: /t/collect checks a key on every request.
    return hashlib.sha256(b"contacts.tracking.visitor-key" + secret.encode()).digest()


def _signature(random_part: str) -> str:
    digest = hmac.new(_signing_key(settings.SECRET_KEY), random_part.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def new_key() -> str:
    """A fresh, unguessable visitor key, signed so /t/collect can trust it later without the database."""
    random_part = secrets.token_urlsafe(18)
    return random_part + _signature(random_part)


def key_signed(key: str) -> bool:
    """Was this key made by this server (new_key)?"""
    if not isinstance(key, str) or len(key) != _RANDOM_CHARS + _SIGNATURE_CHARS or not KEY_PATTERN.fullmatch(key):
        return False
    return hmac.compare_digest(key[_RANDOM_CHARS:], _signature(key[:_RANDOM_CHARS]))


def key_known(key: str) -> bool:
    """A key the server made: signed, or (older, unsigned keys) one the database has."""
    if key_signed(key):
        return True
    return (isinstance(key, str) and len(key) == _LEGACY_KEY_CHARS and bool(KEY_PATTERN.fullmatch(key))
            and Visitor.objects.filter(key=key).exists())


# --- Input checks ---------------------------------------------------------------------------------------

def clean_text(value, limit: int) -> str:
    """Plain text we can store: a string, without control characters or lone surrogates, cut to `limit`."""
    if not isinstance(value, str):
        return ""
    value = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    return _CONTROL.sub("", value).strip()[:limit]


def clean_url(value) -> str | None:
    """An http(s) URL with a host, or None (javascript:, data:, relative, overlong...)."""
    text = clean_text(value, MAX_URL + 1)
    if not text or len(text) > MAX_URL or _SPACE.search(text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return text


_AUTHORITY_END = re.compile(r"[/\\?#]")


def origin_host(origin: str) -> str | None:
    """The host of an Origin header (or of a URL), lowercased; None when there is none.

    None too when a backslash ends the host: browsers read "https://evil.example\\@site.com/" as a path on
    evil.example where urlsplit sees site.com, and a redirect checked here must go where the browser goes."""
    if not isinstance(origin, str):
        return None
    authority = _AUTHORITY_END.search(origin.partition("//")[2])
    if authority and authority.group() == "\\":
        return None
    try:
        parts = urlsplit(origin)
        return parts.hostname if parts.scheme in ("http", "https") else None
    except ValueError:
        return None


def domain_lines(text: str) -> list[str]:
    """The domains of a "one domain a line" setting, lowercased, without a leading "@" or trailing dot."""
    return [line.strip().lower().lstrip("@").rstrip(".") for line in (text or "").splitlines() if line.strip()]


def domain_allowed(host: str | None, domains) -> bool:
    """Is `host` one of the allowed domains, or a subdomain of one?"""
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in domains)


# --- Settings, cached in-process ----------------------------------------------------------------------

@dataclass(frozen=True)
class TrackingConfig:
    enabled: bool
    domains: tuple[str, ...]
    honour_do_not_track: bool
    wait_for_consent: bool


_config: tuple[float, TrackingConfig] | None = None


def tracking_config() -> TrackingConfig:
    """The tracking settings, read from the database at most every CONFIG_TTL_SECONDS in this process."""
    global _config
    cached = _config
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        row = TrackingSettings.load()
    except DatabaseError:  # keep accepting visits (they wait in Redis) on the settings we had
        if cached is None:
            raise
        logger.warning("tracking: settings not re-read, the database is unavailable", exc_info=True)
        _config = (now + CONFIG_TTL_SECONDS, cached[1])
        return cached[1]
    config = TrackingConfig(enabled=row.enabled, domains=tuple(row.domains),
                            honour_do_not_track=row.honour_do_not_track, wait_for_consent=row.wait_for_consent)
    _config = (now + CONFIG_TTL_SECONDS, config)
    return config


def config_forget(**kwargs) -> None:
    """Drop this process's cached settings (on save here; other processes follow within CONFIG_TTL_SECONDS)."""
    global _config
    _config = None


post_save.connect(config_forget, sender=TrackingSettings, dispatch_uid="tracking-config-forget-save")
post_delete.connect(config_forget, sender=TrackingSettings, dispatch_uid="tracking-config-forget-delete")


# --- Redis: rate limits and the stream --------------------------------------------------------------

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _redis() -> redis.Redis:
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url) or redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=2, socket_connect_timeout=1, health_check_interval=30)
            _clients[url] = client
    return client


# KEYS: the counter, the stream. ARGV: window seconds, limit, stream max length, and the visit as JSON (absent
# for a request that only counts). Over the limit nothing is added.
_COUNT_AND_ADD = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then return n end
if ARGV[4] then redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'v', ARGV[4]) end
return n
"""
_COUNT_AND_ADD_SHA = hashlib.sha1(_COUNT_AND_ADD.encode(), usedforsecurity=False).hexdigest()  # how EVALSHA names it


_hot = threading.local()


def _count_and_add(args: list) -> int:
    """Run the script on this thread's own connection: the hot path skips the pool's checks (a peek at the
    socket before every command), a few system calls that matter at thousands of requests a second."""
    url = settings.REDIS_URL
    connection = getattr(_hot, "connection", None)
    if connection is None or _hot.url != url:
        pool = _redis().connection_pool
        connection, _hot.url = pool.connection_class(**pool.connection_kwargs), url
        _hot.connection = connection
    try:
        try:
            connection.send_command("EVALSHA", _COUNT_AND_ADD_SHA, 2, *args)
            return connection.read_response()
        except NoScriptError:  # a Redis that has not seen the script yet (restarted, flushed)
            connection.send_command("EVAL", _COUNT_AND_ADD, 2, *args)
            return connection.read_response()
    except ResponseError:  # an error reply: the connection is fine
        raise
    except BaseException:  # the reply may be half read: start over on the next call
        connection.disconnect()
        raise


def collect_request(ip: str, *, limit: int, visit: dict | None = None, window: int = 60) -> bool:
    """Count one /t/collect request from `ip` and, unless that puts it over `limit` a minute, queue `visit`
    (key, url, title, referrer: already checked). True when over the limit (then nothing is queued).

    With Redis down the request is not counted (a warning is logged) and the visit is written straight away.
    """
    now = time.time()
    args = [f"tracking:rate:{ip[:64]}:{int(now // window)}", STREAM, window + 1, limit, STREAM_MAX]
    if visit is not None:
        # The visit's id, made here: if Redis stores it but the reply is lost (a timeout), the direct write below
        # and the drain's write of the queued copy share it, and the unique stream_id keeps one.
        visit = {**visit, "at": round(now, 6), "id": uuid.uuid4().hex}
        args.append(json.dumps(visit, separators=(",", ":")))
    try:
        count = _count_and_add(args)
    except RedisError:  # count nothing rather than lose the visit or fail the page view (healthz reports Redis)
        logger.warning("tracking: Redis unavailable; request not counted, visit written directly", exc_info=True)
        if visit is not None:
            visits_write([(visit["id"], visit)])
        return False
    return count > limit


def rate_limited(scope: str, ident: str, *, limit: int, window: int = 60) -> bool:
    """Count one request for `ident` in the current fixed window (in the Redis cache); True once over `limit`.
    (Lead forms use it; /t/collect counts inside collect_request, in the same round trip as the visit.)"""
    bucket = f"ratelimit:{scope}:{ident}:{int(time.time() // window)}"
    try:
        if cache.add(bucket, 1, timeout=window + 1):
            return limit < 1
        try:
            return cache.incr(bucket) > limit
        except ValueError:  # expired between add and incr
            cache.add(bucket, 1, timeout=window + 1)
            return limit < 1
    except RedisError:  # Redis down: count nothing rather than fail every page view (healthz reports it)
        logger.warning("rate limit not counted: the cache is unavailable", exc_info=True)
        return False


# --- Writing visits: the one place ------------------------------------------------------------------

@dataclass
class _Visit:
    entry_id: str
    key: str
    url: str
    path: str
    title: str
    referrer: str
    at: datetime


def _parse(entry_id, fields) -> _Visit | None:
    """A stream entry ({"v": the visit as JSON}, or the visit's fields) as a visit we can store, or None (logged)
    when it is not one."""
    try:
        if "v" in fields:
            fields = json.loads(fields["v"])
        key = fields.get("key")
        url = clean_url(fields.get("url"))
        at = float(fields.get("at"))
        if not key_signed(key) and not KEY_PATTERN.fullmatch(key or ""):
            raise ValueError("bad key")
        if url is None or not (0 < at < 253402300799):  # a real time before year 10000
            raise ValueError("bad url or time")
        visit_id = fields.get("id")  # made by collect_request; older entries have none: their stream id serves
        if isinstance(visit_id, str) and _VISIT_ID.fullmatch(visit_id):
            entry_id = visit_id
        return _Visit(entry_id=str(entry_id)[:40], key=key, url=url,
                      path=clean_text(urlsplit(url).path or "/", MAX_URL) or "/",
                      title=clean_text(fields.get("title"), MAX_TITLE),
                      referrer=clean_url(fields.get("referrer")) or "",
                      at=datetime.fromtimestamp(at, tz=UTC))
    except (AttributeError, TypeError, ValueError, OverflowError, RecursionError):
        logger.warning("tracking: dropped a stream entry that is not a visit", extra={"entry_id": str(entry_id)[:40]})
        return None


_UPSERT_VISITORS = """
INSERT INTO contacts_visitor (key, first_seen_at, last_seen_at)
SELECT key, first_at, last_at FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[]) AS t(key, first_at, last_at)
ORDER BY key
ON CONFLICT (key) DO UPDATE SET last_seen_at = GREATEST(contacts_visitor.last_seen_at, EXCLUDED.last_seen_at)
RETURNING id, key
"""
_INSERT_VISITS = """
INSERT INTO contacts_pagevisit (visitor_id, url, path, title, referrer, is_entry, occurred_at, stream_id)
SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[],
                     %s::timestamptz[], %s::text[])
ON CONFLICT (stream_id) DO NOTHING
RETURNING id
"""


@transaction.atomic
def visits_write(entries: list[tuple[str, dict]]) -> int:
    """Store page visits given as (unique entry id, {key, url, title, referrer, at}) in one transaction, once
    each (an entry id already stored is skipped). Visitors are created as needed (the visitor row locked, so an
    identify call meanwhile waits or is waited for); the visits of visitors already linked to a contact become
    page_visited events straight away. Entries that are not visits are logged and skipped. Returns how many
    visits were stored."""
    visits = sorted(filter(None, (_parse(entry_id, fields) for entry_id, fields in entries)),
                    key=lambda v: (v.at, v.entry_id))
    if not visits:
        return 0
    firsts: dict[str, datetime] = {}
    lasts: dict[str, datetime] = {}
    for v in visits:
        firsts.setdefault(v.key, v.at)
        lasts[v.key] = v.at
    keys = sorted(firsts)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT_VISITORS, [keys, [firsts[k] for k in keys], [lasts[k] for k in keys]])
        visitor_ids = {key: pk for pk, key in cursor.fetchall()}
        ids = list(visitor_ids.values())
        # Entry pages: no earlier view of the visitor within SESSION_GAP, stored already or earlier in this batch.
        cursor.execute("SELECT visitor_id, occurred_at, stream_id FROM contacts_pagevisit "
                       "WHERE visitor_id = ANY(%s) AND occurred_at >= %s AND occurred_at <= %s",
                       [ids, visits[0].at - SESSION_GAP, visits[-1].at])
        seen: dict[int, list[tuple[datetime, str | None]]] = {}
        for visitor_id, occurred_at, stream_id in cursor.fetchall():
            seen.setdefault(visitor_id, []).append((occurred_at, stream_id))
        rows: list[list] = [[] for _ in range(8)]
        for v in visits:
            visitor_id = visitor_ids[v.key]
            earlier = seen.setdefault(visitor_id, [])
            is_entry = not any(v.at - SESSION_GAP <= at < v.at or (at == v.at and sid is None)
                               for at, sid in earlier if sid != v.entry_id)
            earlier.append((v.at, None))  # later visits of this batch count this one as earlier
            for column, value in zip(rows, (visitor_id, v.url, v.path, v.title, v.referrer, is_entry, v.at,
                                            v.entry_id), strict=True):
                column.append(value)
        cursor.execute(_INSERT_VISITS, rows)
        stored = len(cursor.fetchall())
    attach_visits(ids)
    return stored


_ATTACH = """
WITH moved AS (
    UPDATE contacts_pagevisit visit SET contact_id = visitor.contact_id
    FROM contacts_visitor visitor
    WHERE visit.visitor_id = visitor.id AND visitor.id = ANY(%(visitors)s)
      AND visitor.contact_id IS NOT NULL AND visit.contact_id IS NULL
    RETURNING visit.contact_id, visit.url, visit.title, visit.referrer, visit.is_entry, visit.occurred_at
)
INSERT INTO contacts_event (contact_id, type, channel, properties, occurred_at, source, created_at)
SELECT contact_id, 'page_visited', 'website',
       jsonb_strip_nulls(jsonb_build_object('url', url, 'title', NULLIF(title, ''),
                                            'referrer', NULLIF(referrer, ''), 'entry', is_entry)),
       occurred_at, 'tracking', now()
FROM moved
RETURNING id, contact_id, occurred_at
"""
# The contacts are locked in id order first, so two drains touching the same contacts cannot deadlock.
_ACTIVITY = """
WITH locked AS (SELECT id FROM contacts_contact WHERE id = ANY(%s) ORDER BY id FOR UPDATE)
UPDATE contacts_contact contact SET last_activity_at = GREATEST(contact.last_activity_at, latest.at)
FROM unnest(%s::bigint[], %s::timestamptz[]) AS latest(id, at)
WHERE contact.id = latest.id AND contact.id IN (SELECT id FROM locked)
"""


def attach_visits(visitor_ids: list[int]) -> int:
    """Turn the not yet attached visits of these visitors, those linked to a contact, into page_visited events
    on their contacts (one statement); move the contacts' last activity forward. How many."""
    if not visitor_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_ATTACH, {"visitors": list(visitor_ids)})
        rows = cursor.fetchall()
        if rows:
            latest: dict[int, datetime] = {}
            for _, contact_id, occurred_at in rows:
                latest[contact_id] = max(occurred_at, latest.get(contact_id, occurred_at))
            contact_ids = sorted(latest)
            cursor.execute(_ACTIVITY, [contact_ids, contact_ids, [latest[c] for c in contact_ids]])
    publish_on_commit(sorted(pk for pk, _, _ in rows))
    return len(rows)


# --- The drain ------------------------------------------------------------------------------------

def _ensure_group(client) -> None:
    try:
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def _read(client, *, claim_idle_ms: int, batch: int) -> list[tuple[str, dict]]:
    """Entries another drain read but never acknowledged (idle over claim_idle_ms), else new ones."""
    for attempt in (1, 2):
        try:
            answer = client.xautoclaim(STREAM, GROUP, _CONSUMER, min_idle_time=claim_idle_ms,
                                       start_id="0-0", count=batch)
            # Redis 7 answers [cursor, entries, deleted ids]; 6.2 (the redis-server `make run` embeds) only the
            # first two, and gives deleted entries as entries without fields, which _parse drops.
            claimed, deleted = answer[1], answer[2] if len(answer) > 2 else []
            if deleted:
                client.xack(STREAM, GROUP, *deleted)
            if claimed:
                return claimed
            answer = client.xreadgroup(GROUP, _CONSUMER, {STREAM: ">"}, count=batch)
            return answer[0][1] if answer else []
        except ResponseError as error:
            if "NOGROUP" not in str(error) or attempt == 2:
                raise
            _ensure_group(client)
    return []


def _write_batch(entries: list[tuple[str, dict]]) -> int:
    """Write a batch; when the database refuses it (bad data, not an outage), write its entries one by one so a
    bad one cannot hold the good ones back. Connection errors propagate: the entries stay pending."""
    try:
        return visits_write(entries)
    except (OperationalError, InterfaceError):
        raise
    except DatabaseError:
        logger.warning("tracking: a batch of visits was refused; writing its entries one by one", exc_info=True)
    stored = 0
    for entry in entries:
        try:
            stored += visits_write([entry])
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError:
            logger.exception("tracking: dropped a visit the database refused", extra={"entry_id": entry[0]})
    return stored


def visits_drain(*, batch: int = DRAIN_BATCH, budget_seconds: float = DRAIN_BUDGET_SECONDS,
                 claim_idle_ms: int = CLAIM_IDLE_MS) -> int:
    """Write the visits waiting in the stream, a batch per transaction, acknowledging (and deleting) each batch
    after its commit; stop when the stream is empty or after about `budget_seconds`. Returns visits stored."""
    client = _redis()
    # One drain at a time (the beat starts one a second): two at once would race on the entry-page flag and
    # queue on the same visitor and contact locks. A drain that dies lets the lock expire.
    lock = client.lock(DRAIN_LOCK, timeout=int(budget_seconds) + 60, blocking=False)
    if not lock.acquire():
        return 0
    stored = 0
    deadline = time.monotonic() + budget_seconds
    try:
        while True:
            entries = _read(client, claim_idle_ms=claim_idle_ms, batch=batch)
            if not entries:
                return stored
            stored += _write_batch(entries)
            ids = [entry_id for entry_id, _ in entries]
            pipe = client.pipeline(transaction=False)
            pipe.xack(STREAM, GROUP, *ids)
            pipe.xdel(STREAM, *ids)
            pipe.execute()
            if time.monotonic() > deadline:
                return stored
    finally:
        with contextlib.suppress(LockError):  # expired meanwhile (a very slow batch): nothing of ours to free
            lock.release()


# --- Identify -----------------------------------------------------------------------------------------

_LOCK_VISITOR = """
INSERT INTO contacts_visitor (key, first_seen_at, last_seen_at) VALUES (%s, %s, %s)
ON CONFLICT (key) DO UPDATE SET last_seen_at = GREATEST(contacts_visitor.last_seen_at, EXCLUDED.last_seen_at)
RETURNING id, contact_id
"""


def visitor_lock(key: str, *, now: datetime | None = None) -> tuple[int, int | None]:
    """Create the visitor's row if only the stream knows it, and lock it: (its id, its contact's id).

    Lock order: visitor, then contact, as the drain does. A writer that locks a contact and then a visitor
    (a form submission that links one) takes this first, or it and the drain could deadlock.
    """
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_VISITOR, [key, now, now])
        return cursor.fetchone()


@transaction.atomic
def visitor_identify(key: str, email: str, *, now: datetime | None = None,
                     known_only: bool = False) -> Visitor | None:
    """Link the visitor to the contact with this email (created when unknown) and attach its visits.

    A key the server did not make gets a fresh visitor (or, with `known_only`, nothing is linked). Visits still
    in the stream are attached when the drain writes them. None when the email is not valid (or, with
    `known_only`, the key is unknown). The caller answers the same way whether the contact existed or not.
    """
    from contacts.services import contact_create

    address = valid_email(email) if isinstance(email, str) else None
    if address is None:
        return None
    if not key_known(key):
        if known_only:
            return None
        key = new_key()
    visitor_id, contact_id = visitor_lock(key, now=now)
    contact = Contact.objects.with_email(address).first()
    if contact is None:
        try:
            with transaction.atomic():
                contact = contact_create(email=address, actor="api")
        except ValidationError:  # created by someone else meanwhile
            contact = Contact.objects.with_email(address).first()
            if contact is None:
                return None
    if contact_id != contact.pk:
        Visitor.objects.filter(pk=visitor_id).update(contact=contact)
    attach_visits([visitor_id])
    return Visitor.objects.get(pk=visitor_id)


# --- The report ------------------------------------------------------------------------------------

# One pass over the period's visits: first (page, visitor) pairs, then pages, both hash aggregates. The
# two COUNT(DISTINCT visitor) queries this replaces each sorted every visit in the period (spilling to disk
# at 1.8m visits): 2.1 s for the pair, 0.7 s for this.
_REPORT = """
WITH pairs AS MATERIALIZED (
    SELECT path, visitor_id, count(*) AS views, count(*) FILTER (WHERE is_entry) AS entries
    FROM contacts_pagevisit WHERE occurred_at >= %(since)s GROUP BY path, visitor_id
), pages AS MATERIALIZED (
    SELECT path, sum(views) AS views, count(*) AS visitors, sum(entries) AS entries,
           count(*) FILTER (WHERE entries > 0) AS entry_visitors
    FROM pairs GROUP BY path
)
SELECT kind, path, n, visitors FROM (
    (SELECT 'top' AS kind, row_number() OVER (ORDER BY views DESC, path) AS rank, path, views AS n, visitors
     FROM pages ORDER BY views DESC, path LIMIT %(rows)s)
    UNION ALL
    (SELECT 'entry', row_number() OVER (ORDER BY entries DESC, path), path, entries, entry_visitors
     FROM pages WHERE entries > 0 ORDER BY entries DESC, path LIMIT %(rows)s)
) ranked ORDER BY kind, rank
"""


def visits_report(since: datetime, rows: int) -> tuple[list[dict], list[dict]]:
    """The most visited pages since `since` (path, views, visitors) and the pages visits most often start on
    (path, entries, visitors), `rows` of each."""
    with connection.cursor() as cursor:
        cursor.execute(_REPORT, {"since": since, "rows": rows})
        found = cursor.fetchall()
    top = [{"path": path, "views": int(n), "visitors": visitors} for kind, path, n, visitors in found if kind == "top"]
    entry = [{"path": path, "entries": int(n), "visitors": visitors}
             for kind, path, n, visitors in found if kind == "entry"]
    return top, entry
