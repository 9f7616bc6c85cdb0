"""What the contacts API's resources share: writes through services, keyset pages, lookups by number."""

from django.shortcuts import get_object_or_404
from rest_framework import exceptions, status
from rest_framework.response import Response

from contacts.api.pagination import KeysetPagination
from contacts.api.permissions import RolePermission
from lifecycle.api.parsers import JSONParser
from lifecycle.api.views import ApiModelViewSet

__all__ = ["ResourceViewSet"]


class ResourceViewSet(ApiModelViewSet):
    """A resource whose writes go through its app's services.

    - Input is parsed by `input_serializer_class`; `create_object(data)`, `update_object(obj, data)`
      and `delete_object(obj)` call the services; the answer is `serializer_class` of the object as
      `get_queryset()` reads it (with its joins and counts).
    - Pages are keyset pages in `ordering` (or `action_orderings[action]`), which ends with a unique column.
    - PUT is not offered: a change is a PATCH of the fields that change. Bodies are JSON.
    """

    input_serializer_class = None
    filterset_class = None
    pagination_class = KeysetPagination
    permission_classes = [RolePermission]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"\d+"
    ordering: tuple[str, ...] = ("-id",)
    action_orderings: dict[str, tuple[str, ...]] = {}

    def get_ordering(self) -> tuple[str, ...]:
        return self.action_orderings.get(self.action, self.ordering)

    def get_object(self):
        """The object by id among get_queryset(); the list's filters do not apply to a detail URL."""
        obj = get_object_or_404(self.get_queryset(), pk=self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        self.check_object_permissions(self.request, obj)
        return obj

    def get_serializer_class(self):
        if self.action in ("create", "partial_update") and self.input_serializer_class is not None:
            return self.input_serializer_class
        return super().get_serializer_class()

    def parse(self, data, *, serializer_class=None, partial: bool = False) -> dict:
        serializer = (serializer_class or self.input_serializer_class)(
            data=data, partial=partial, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def filtered(self, queryset, filterset_class):
        """`queryset` through a filter set of an extra action (rows of another model than the resource's)."""
        filters = filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        if not filters.is_valid():
            raise exceptions.ValidationError(filters.errors)
        return filters.qs

    def represent(self, obj) -> dict:
        """The object as a read shows it; as it is when the write just handed it to someone else."""
        found = self.get_queryset().filter(pk=obj.pk).first()
        return self.serializer_class(found or obj, context=self.get_serializer_context()).data

    # --- the writes
    def create(self, request, *args, **kwargs):
        obj = self.create_object(self.parse(request.data))
        return Response(self.represent(obj), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        obj = self.get_object()
        obj = self.update_object(obj, self.parse(request.data, partial=True))
        return Response(self.represent(obj))

    def perform_destroy(self, instance):
        self.delete_object(instance)

    def create_object(self, data: dict):
        raise NotImplementedError

    def update_object(self, obj, data: dict):
        raise NotImplementedError

    def delete_object(self, obj) -> None:
        raise NotImplementedError
