"""The OpenAPI schema's shared parts: the error shape on every operation and the Idempotency-Key header."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from lifecycle.api import idempotency

__all__ = ["AutoSchema", "ErrorSerializer"]


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `invalid`, `not_found`, `throttled`.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name (nested names joined with dots) to its messages; empty when not about fields.")
    retry_after_seconds = serializers.IntegerField(required=False, help_text="Only on 429.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERRORS = {
    "400": "The request is not valid; `fields` says which fields and why.",
    "401": "No API key, or it is not valid or has been revoked.",
    "403": "The key's scope or the user's role does not allow this.",
    "404": "Not found.",
    "409": "A request with the same Idempotency-Key is still running.",
    "422": "The Idempotency-Key was already used for a different request.",
    "429": "Too many requests; see the Retry-After header.",
}


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error responses and the Idempotency-Key header."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in getattr(self.view, "idempotent_methods", ()):
            parameters.append(OpenApiParameter(
                idempotency.HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                description="Any unique string (a UUID). Retrying with the same key and body replays the "
                            "stored response instead of running the request again; see docs/api.md."))
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        error_ref = self.resolve_serializer(ErrorSerializer, "response").ref
        codes = ["401", "403", "429"]
        if self.method in ("POST", "PUT", "PATCH") or (self.method == "GET" and self.get_filter_backends()):
            codes.insert(0, "400")
        if "{" in path:
            codes.append("404")
        if self.method in getattr(self.view, "idempotent_methods", ()):
            codes += ["409", "422"]
        for code in sorted(codes):
            operation["responses"].setdefault(code, {
                "description": _ERRORS[code],
                "content": {"application/json": {"schema": error_ref}},
            })
        return operation
