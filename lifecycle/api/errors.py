"""One JSON error shape for the whole API:

    {"error": {"code": "invalid", "message": "...", "fields": {"email": ["Enter a valid email."]}}}

`code` is stable and machine-readable (DRF's error codes: invalid, parse_error, not_authenticated,
authentication_failed, permission_denied, not_found, method_not_allowed, unsupported_media_type,
throttled, conflict, ...); `message` is for people; `fields` maps a field name (nested fields joined
with dots) to its messages and is empty when the error is not about fields.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

__all__ = ["Conflict", "PayloadTooLarge", "error_body", "exception_handler"]

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the data."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict:
    """DRF's nested error detail as {field: [messages]} (nested fields joined with dots)."""
    if isinstance(detail, dict):
        out: dict = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{name}.{sub}"] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, msgs in _flatten(item).items():
                        out[f"{name}.{index}.{sub}"] = msgs
            else:
                out[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
        return out
    return {"non_field_errors": [str(v) for v in (detail if isinstance(detail, list) else [detail])]}


def _as_api_exception(exc):
    """Django's own exceptions, as the DRF exceptions that mean the same to a client."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args[:1])
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, IntegrityError):
        # The database enforces the rules validation could not see, e.g. two requests creating the
        # same unique name at once. The client can resolve it; a 500 would hide that.
        logger.warning("integrity error answered as 409", exc_info=exc)
        return Conflict()
    return exc


def _validation_body(exc: exceptions.ValidationError) -> dict:
    fields = _flatten(exc.detail)
    non_field = fields.get("non_field_errors")
    if non_field and len(fields) == 1:
        return error_body("invalid", non_field[0], {})
    return error_body("invalid", "Some fields are not valid.", fields)


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let it surface (and be logged) as a 500

    if isinstance(exc, exceptions.ValidationError):
        body = _validation_body(exc)
    else:
        detail = exc.detail
        code = exc.get_codes()
        message = str(detail) if not isinstance(detail, list | dict) else "Request failed."
        body = error_body(code if isinstance(code, str) else "error", message)
        if isinstance(exc, exceptions.Throttled) and exc.wait:
            body["error"]["retry_after_seconds"] = int(exc.wait)
    response.data = body
    return response
