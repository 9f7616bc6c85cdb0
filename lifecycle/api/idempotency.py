"""Idempotency-Key for POST: a client may retry a POST without doing the thing twice.

    POST /api/v1/teams/   Idempotency-Key: 6f1c...   {"name": "Support"}

- The first request with a key runs and its response (2xx or 4xx) is stored for 24 hours.
- The same user sending the same key and the same request again gets the stored status and body
  back, with `Idempotent-Replayed: true`, and nothing runs again.
- The same key with a different request (method, path or body) is a client bug: 422.
- A duplicate that arrives while the first is still running gets 409; the client retries later.
- 5xx responses and unhandled errors are not stored: nothing the request did is kept, so a retry
  with the same key runs again.

How it is safe under concurrency: the record is inserted *first*, inside one transaction that
then runs the view and stores its response. The unique (user, key) index makes a concurrent
duplicate insert wait on that transaction; a short `lock_timeout` turns the wait into 409. If the
view fails or the process dies, the transaction rolls back and takes the record with it, so there
is never a stale "in progress" record and never a half-done effect behind a stored key. (This
needs ATOMIC_REQUESTS off, which it is, and no `durable=True` atomic blocks in services.)

Why a view mixin and not a middleware: the record belongs to a user, and the user is known only
after DRF has authenticated the request (API key or session), checked permissions and throttled
it. A middleware would have to repeat all of that. The mixin runs after DRF's `initial()`, and
every API view gets it from the base classes in lifecycle.api.views; a test checks that each
/api/v1/ view does.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import QueryDict
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from lifecycle.models import IdempotencyRecord

__all__ = [
    "HEADER",
    "RECORD_TTL",
    "REPLAYED_HEADER",
    "IdempotencyKeyReused",
    "IdempotencyMixin",
    "IdempotentRequestInProgress",
    "idempotency_records_delete_expired",
]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RECORD_TTL = timedelta(hours=24)
#: How long a duplicate waits for the first request to finish before it is answered 409.
LOCK_WAIT = "500ms"
MAX_KEY_LENGTH = IdempotencyRecord._meta.get_field("key").max_length
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different request; use a new key."
    default_code = "idempotency_key_reused"


class IdempotentRequestInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still in progress; retry it later."
    default_code = "idempotency_request_in_progress"


class _Replay(Exception):
    """Not an error: carries the stored response out of initial(), past the view."""

    def __init__(self, response: Response):
        super().__init__("idempotent replay")
        self.response = response


def _fingerprint(request) -> str:
    """The request as compared between retries: method, path and the parsed body.

    The body is compared after parsing, so key order and whitespace in the JSON do not matter.
    """
    data = request.data
    if isinstance(data, QueryDict):
        data = {key: data.getlist(key) for key in sorted(data)}
    payload = json.dumps([request.method, request.path, data], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _stored_body(response: Response):
    """The body exactly as the client received it, as JSON (DRF's encoder handles dates, decimals...)."""
    if response.data is None:
        return None
    return json.loads(JSONRenderer().render(response.data))


def _key_from(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError(
            {HEADER: [f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} characters long."]})
    return key


def _insert_record(*, user, key: str, method: str, path: str, request_hash: str) -> IdempotencyRecord:
    """INSERT the record, waiting at most LOCK_WAIT on a concurrent transaction holding the same key.

    Raises IntegrityError when a committed record has the key, OperationalError (lock timeout)
    when an uncommitted one does, i.e. the same request is running right now.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('lock_timeout')")
        previous = cursor.fetchone()[0]
        # set_config(..., true) is SET LOCAL: on error the savepoint's rollback undoes it too.
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_WAIT])
        record = IdempotencyRecord.objects.create(
            user=user, key=key, method=method, path=path, request_hash=request_hash)
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    return record


class _IdempotentRequest:
    """One claimed key: the transaction holding its record, and the savepoint the view runs in."""

    def __init__(self, request, key: str):
        self.request = request
        self.key = key
        self.request_hash = _fingerprint(request)
        self._outer = transaction.atomic()
        self._view = transaction.atomic()
        self.record: IdempotencyRecord | None = None

    def begin(self) -> None:
        """Insert the record and open the view's savepoint; or raise replay, 409 or 422."""
        self._outer.__enter__()
        try:
            self.record = self._claim()
        except BaseException as exc:
            self._outer.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._view.__enter__()

    def _claim(self) -> IdempotencyRecord:
        user, request = self.request.user, self.request
        for _attempt in range(2):
            try:
                return _insert_record(user=user, key=self.key, method=request.method, path=request.path,
                                      request_hash=self.request_hash)
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise
                raise IdempotentRequestInProgress() from None
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(user=user, key=self.key).first()
                if existing is None:
                    continue  # deleted in between (expired): claim it again
                if existing.created_at < timezone.now() - RECORD_TTL:
                    # Past its lifetime but not yet swept: the key is free again.
                    IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
                    continue
                if existing.request_hash != self.request_hash:
                    raise IdempotencyKeyReused() from None
                if existing.status_code is None:
                    raise IdempotentRequestInProgress() from None
                raise _Replay(Response(existing.response_body, status=existing.status_code,
                                       headers={REPLAYED_HEADER: "true"})) from None
        raise IdempotentRequestInProgress()

    def view_raised(self, exc: BaseException) -> None:
        """Undo what the view did before raising, as ATOMIC_REQUESTS would; keep the record."""
        if self._view is not None:
            view, self._view = self._view, None
            view.__exit__(type(exc), exc, exc.__traceback__)

    def end(self, response: Response) -> None:
        """Store a 2xx/4xx response and commit; for a 5xx, roll everything back, record included."""
        if self._view is not None:
            view, self._view = self._view, None
            if response.status_code >= 500:
                transaction.set_rollback(True)
            view.__exit__(None, None, None)
        if 200 <= response.status_code < 500:
            IdempotencyRecord.objects.filter(pk=self.record.pk).update(
                status_code=response.status_code, response_body=_stored_body(response))
        else:
            transaction.set_rollback(True)
        self._outer.__exit__(None, None, None)

    def abort(self, exc: BaseException) -> None:
        """An unhandled error (a 500 on its way): roll back everything, the record included."""
        self.view_raised(exc)
        self._outer.__exit__(type(exc), exc, exc.__traceback__)


class IdempotencyMixin:
    """Honours Idempotency-Key on POST for a DRF view. Put it before APIView in the bases."""

    idempotent_methods: tuple[str, ...] = ("POST",)
    _idempotent_request: _IdempotentRequest | None = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in self.idempotent_methods or not hasattr(self, request.method.lower()):
            return
        key = _key_from(request)
        if key is None:
            return
        claimed = _IdempotentRequest(request, key)
        claimed.begin()
        self._idempotent_request = claimed

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        claimed = self._idempotent_request
        if claimed is None:
            return super().handle_exception(exc)
        claimed.view_raised(exc)
        try:
            return super().handle_exception(exc)
        except BaseException as unhandled:
            self._idempotent_request = None
            claimed.abort(unhandled)
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        claimed, self._idempotent_request = self._idempotent_request, None
        try:
            response = super().finalize_response(request, response, *args, **kwargs)
        except BaseException as exc:
            if claimed is not None:
                claimed.abort(exc)
            raise
        if claimed is not None:
            claimed.end(response)
        return response


def idempotency_records_delete_expired(*, older_than: timedelta = RECORD_TTL) -> int:
    """Delete stored responses older than `older_than`; returns how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted
