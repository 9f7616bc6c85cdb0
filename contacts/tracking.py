"""Site tracking: visitors, page visits, and linking them to contacts (docs/tracking.md).

    visitor, visit = visit_record(key, url=..., title=..., referrer=...)   # key: the cookie's, or "" / unknown
    visitor_identify(visitor, email)                                      # links, and attaches earlier visits

Page visits are PageVisit rows keyed by the visitor, so anonymous visits are kept. Once the visitor is linked
to a contact, its visits not yet attached become `page_visited` Events on that contact in ONE statement
(UPDATE ... RETURNING feeding an INSERT ... SELECT), published on commit like every other event.
"""

import logging
import re
import secrets
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Greatest
from django.utils import timezone
from redis.exceptions import RedisError

from contacts.events import publish_on_commit
from contacts.inputs import valid_email
from contacts.models import Contact, PageVisit, Visitor

__all__ = ["KEY_PATTERN", "attach_visits", "clean_text", "clean_url", "domain_allowed", "domain_lines", "new_key",
           "origin_host", "rate_limited", "visit_record", "visitor_identify"]

logger = logging.getLogger(__name__)

#: What a visitor key looks like (secrets.token_urlsafe(24) gives 32 characters).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")
#: A page within this long after the visitor's previous one is part of the same visit (not an entry page).
SESSION_GAP = timedelta(minutes=30)
MAX_URL = PageVisit._meta.get_field("url").max_length
MAX_TITLE = PageVisit._meta.get_field("title").max_length
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN_PATTERN = re.compile(rf"(?=.{{1,253}}$)(?:{_LABEL}\.)*{_LABEL}")


def new_key() -> str:
    return secrets.token_urlsafe(24)


def clean_text(value, limit: int) -> str:
    """Plain text we can store: a string, without control characters or lone surrogates, cut to `limit`."""
    if not isinstance(value, str):
        return ""
    value = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    return _CONTROL.sub("", value).strip()[:limit]


def clean_url(value) -> str | None:
    """An http(s) URL with a host, or None (javascript:, data:, relative, overlong...)."""
    text = clean_text(value, MAX_URL + 1)
    if not text or len(text) > MAX_URL or any(ch.isspace() for ch in text):
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return text


def origin_host(origin: str) -> str | None:
    """The host of an Origin header (or of a URL), lowercased; None when there is none."""
    try:
        parts = urlsplit(origin)
        return parts.hostname if parts.scheme in ("http", "https") else None
    except ValueError:
        return None


def domain_lines(text: str) -> list[str]:
    """The domains of a "one domain a line" setting, lowercased, without a leading "@" or trailing dot."""
    return [line.strip().lower().lstrip("@").rstrip(".") for line in (text or "").splitlines() if line.strip()]


def domain_allowed(host: str | None, domains: list[str]) -> bool:
    """Is `host` one of the allowed domains, or a subdomain of one?"""
    if not host:
        return False
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def rate_limited(scope: str, ident: str, *, limit: int, window: int = 60) -> bool:
    """Count one request for `ident` in the current fixed window (in the Redis cache); True once over `limit`."""
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


@transaction.atomic
def visit_record(key: str, *, url: str, title: str = "", referrer: str = "",
                 now: datetime | None = None) -> tuple[Visitor, PageVisit]:
    """Store one page visit (url already checked by clean_url). An unknown or malformed key gets a new visitor
    with a fresh server-made key, so keys are never chosen by the client."""
    now = now or timezone.now()
    visitor = None
    if KEY_PATTERN.fullmatch(key or ""):
        visitor = Visitor.objects.select_for_update().filter(key=key).first()
    if visitor is None:
        visitor = Visitor.objects.create(key=new_key(), first_seen_at=now, last_seen_at=now)
        is_entry = True
    else:
        is_entry = not PageVisit.objects.filter(visitor=visitor, occurred_at__gte=now - SESSION_GAP).exists()
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now)
    referrer = clean_url(referrer) or ""
    visit = PageVisit.objects.create(
        visitor=visitor, url=url, path=clean_text(urlsplit(url).path or "/", MAX_URL) or "/",
        title=clean_text(title, MAX_TITLE), referrer=referrer, is_entry=is_entry, occurred_at=now)
    if visitor.contact_id:
        attach_visits(visitor)
    return visitor, visit


_ATTACH = """
WITH moved AS (
    UPDATE contacts_pagevisit SET contact_id = %(contact)s
    WHERE visitor_id = %(visitor)s AND contact_id IS NULL
    RETURNING url, title, referrer, is_entry, occurred_at
)
INSERT INTO contacts_event (contact_id, type, channel, properties, occurred_at, source, created_at)
SELECT %(contact)s, 'page_visited', 'website',
       jsonb_strip_nulls(jsonb_build_object('url', url, 'title', NULLIF(title, ''),
                                            'referrer', NULLIF(referrer, ''), 'entry', is_entry)),
       occurred_at, 'tracking', now()
FROM moved
RETURNING id, occurred_at
"""


def attach_visits(visitor: Visitor) -> int:
    """Turn the visitor's visits not yet attached into page_visited events on its contact; how many."""
    if not visitor.contact_id:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_ATTACH, {"contact": visitor.contact_id, "visitor": visitor.pk})
        rows = cursor.fetchall()
    if rows:
        latest = max(occurred_at for _, occurred_at in rows)
        Contact.objects.filter(pk=visitor.contact_id).update(
            last_activity_at=Greatest("last_activity_at", Value(latest)))
        publish_on_commit(pk for pk, _ in rows)
    return len(rows)


@transaction.atomic
def visitor_identify(key: str, email: str, *, now: datetime | None = None) -> Visitor | None:
    """Link the visitor to the contact with this email (created when unknown) and attach its earlier visits.

    None when the email is not valid. The caller answers the same way whether the contact existed or not.
    """
    from contacts.services import contact_create

    address = valid_email(email) if isinstance(email, str) else None
    if address is None:
        return None
    now = now or timezone.now()
    visitor = Visitor.objects.select_for_update().filter(key=key).first() if KEY_PATTERN.fullmatch(key or "") else None
    if visitor is None:
        visitor = Visitor.objects.create(key=new_key(), first_seen_at=now, last_seen_at=now)
    contact = Contact.objects.filter(email__iexact=address).order_by("pk").first()
    if contact is None:
        try:
            with transaction.atomic():
                contact = contact_create(email=address, actor="api")
        except ValidationError:  # created by someone else meanwhile
            contact = Contact.objects.filter(email__iexact=address).order_by("pk").first()
            if contact is None:
                return None
    if visitor.contact_id != contact.pk:
        visitor.contact = contact
        Visitor.objects.filter(pk=visitor.pk).update(contact=contact, last_seen_at=now)
    attach_visits(visitor)
    return visitor
