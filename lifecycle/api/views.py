"""Base classes for every API view. Use these, never DRF's directly, so each view gets the rails.

- `ApiView` for a hand-written endpoint, `ApiModelViewSet` / `ApiReadOnlyModelViewSet` for a resource.
- The rails: Bearer API keys and sessions, scope checks, per-key throttling, the JSON error shape
  (all from REST_FRAMEWORK settings), a body size limit and Idempotency-Key on POST
  (lifecycle.api.idempotency).
"""

from django.conf import settings
from django.urls import Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.views import APIView

from lifecycle.api.errors import PayloadTooLarge
from lifecycle.api.idempotency import IdempotencyMixin

__all__ = ["ApiModelViewSet", "ApiReadOnlyModelViewSet", "ApiView", "NotFoundView"]


class BodySizeLimitMixin:
    """413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE.

    Django enforces that limit only for request.body and form parsing; DRF's JSON parser reads the
    stream directly, so without this check a JSON body of any size would be read into memory.
    The WSGI server never reads past Content-Length, so checking the header is enough.
    """

    def initial(self, request, *args, **kwargs):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            raise PayloadTooLarge(f"The request body is larger than the {limit} bytes allowed.")
        super().initial(request, *args, **kwargs)


class ApiView(BodySizeLimitMixin, IdempotencyMixin, APIView):
    pass


class ApiModelViewSet(BodySizeLimitMixin, IdempotencyMixin, viewsets.ModelViewSet):
    pass


class ApiReadOnlyModelViewSet(BodySizeLimitMixin, IdempotencyMixin, viewsets.ReadOnlyModelViewSet):
    pass


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """Every /api/ URL no endpoint matched: the JSON 404, whatever the method or credentials."""

    authentication_classes = ()
    permission_classes = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        message = "There is no API endpoint at this URL."
        if not request.path.endswith("/"):
            try:
                resolve(request.path + "/")
            except Resolver404:
                pass
            else:
                message += f" Did you mean {request.path}/ (with a trailing slash)?"
        raise exceptions.NotFound(message)
