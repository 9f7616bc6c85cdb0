"""Keyset pages for the contacts API: any sort, any depth, one indexed query a page.

DRF's CursorPagination keeps only the first sort column in its cursor (ties are skipped by an
offset) and breaks on a column that may be NULL, such as `last_activity_at`. Here the cursor
carries the whole sort key of the row at the page's edge, and the next page is every row that
sorts after it:

    ORDER BY last_name, first_name, id
    WHERE last_name > 'Lovelace' OR (last_name = 'Lovelace' AND (first_name > 'Ada' OR (... AND id > 42)))

NULLs sort last whichever the direction, as people expect ("no activity yet" at the end of both
"most recent" and "least recent"). A view gives its order as `ordering` (ending with a unique
column), or computes it in `get_ordering()`; the contact list takes it from `?sort=`.
"""

import base64
import binascii
import json
from collections.abc import Sequence

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q
from django.utils.encoding import force_str
from rest_framework import serializers
from rest_framework.utils.urls import remove_query_param, replace_query_param

from lifecycle.api.pagination import CursorPagination

__all__ = ["KeysetPagination"]

NOTHING = Q(pk__in=[])


class _Column:
    def __init__(self, model, spec: str):
        self.name = spec.lstrip("-")
        self.descending = spec.startswith("-")
        self.field = model._meta.get_field(self.name)
        self.nullable = self.field.null

    def order(self, *, reverse: bool):
        descending = self.descending != reverse
        expression = F(self.name)
        if not self.nullable:  # plain ASC/DESC, so a btree index on the column serves the ORDER BY
            return expression.desc() if descending else expression.asc()
        # Forward pages put NULLs last; a reversed (previous-page) query walks the same order backwards.
        nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        return expression.desc(**nulls) if descending else expression.asc(**nulls)

    def after(self, value, *, reverse: bool) -> Q:
        """Rows whose value in this column sorts strictly after `value`."""
        descending = self.descending != reverse
        nulls_last = not reverse
        if value is None:
            return Q(**{f"{self.name}__isnull": False}) if not nulls_last else NOTHING
        condition = Q(**{f"{self.name}__{'lt' if descending else 'gt'}": value})
        if self.nullable and nulls_last:
            condition |= Q(**{f"{self.name}__isnull": True})
        return condition

    def equal(self, value) -> Q:
        return Q(**{f"{self.name}__isnull": True}) if value is None else Q(**{self.name: value})

    def bound(self, value, *, reverse: bool) -> Q | None:
        """A redundant `column <= value` the index can start from (the OR above alone cannot)."""
        if self.nullable or value is None:
            return None
        descending = self.descending != reverse
        return Q(**{f"{self.name}__{'lte' if descending else 'gte'}": value})

    def dump(self, instance):
        value = getattr(instance, self.field.attname)
        return value.isoformat() if hasattr(value, "isoformat") else value

    def load(self, raw):
        return None if raw is None else self.field.to_python(raw)


class KeysetPagination(CursorPagination):
    """`{"next", "previous", "results"}` pages whose cursors hold the edge row's sort key."""

    invalid_cursor_message = "This cursor is not valid for this list and sort; start again from the first page."

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        if hasattr(view, "get_ordering"):
            return tuple(view.get_ordering())
        return tuple(getattr(view, "ordering", None) or self.ordering)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.columns = [_Column(queryset.model, spec) for spec in self.ordering]
        values, reverse = self._decode(request)

        queryset = queryset.order_by(*(column.order(reverse=reverse) for column in self.columns))
        if values is not None:
            queryset = queryset.filter(self._after(values, reverse=reverse))
        rows = list(queryset[:self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[:self.page_size]
        if reverse:
            self.page.reverse()
            self.has_previous, self.has_next = more, True
        else:
            self.has_previous, self.has_next = values is not None, more
        return self.page

    def _after(self, values: Sequence, *, reverse: bool) -> Q:
        columns = self.columns
        condition = columns[-1].after(values[-1], reverse=reverse)
        for column, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
            condition = column.after(value, reverse=reverse) | (column.equal(value) & condition)
        bound = columns[0].bound(values[0], reverse=reverse)
        return condition if bound is None else bound & condition

    # --- cursors: base64 of {"k": sort key values, "r": reversed, "o": the ordering they belong to}
    def _encode(self, instance, *, reverse: bool) -> str:
        payload = {"k": [column.dump(instance) for column in self.columns], "o": ",".join(self.ordering)}
        if reverse:
            payload["r"] = 1
        raw = json.dumps(payload, separators=(",", ":"), default=str)
        token = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def _decode(self, request) -> tuple[list | None, bool]:
        token = request.query_params.get(self.cursor_query_param)
        if not token:
            return None, False
        try:
            payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if payload.get("o") != ",".join(self.ordering) or len(payload["k"]) != len(self.columns):
                raise ValueError("another ordering")
            values = [column.load(raw) for column, raw in zip(self.columns, payload["k"], strict=True)]
        except (binascii.Error, ValueError, TypeError, KeyError, AttributeError, DjangoValidationError):
            raise serializers.ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
        return values, bool(payload.get("r"))

    def get_next_link(self):
        if not self.has_next or not self.page:
            return None
        return self._encode(self.page[-1], reverse=False)

    def get_previous_link(self):
        if not self.has_previous:
            return None
        if not self.page:
            return remove_query_param(self.base_url, self.cursor_query_param)
        return self._encode(self.page[0], reverse=True)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        sorts = getattr(view, "sorts", None)
        if sorts and getattr(view, "action", None) == "list":
            parameters.append({
                "name": "sort", "required": False, "in": "query",
                "description": force_str(getattr(view, "sort_description", "The order of the list.")),
                "schema": {"type": "string", "enum": list(sorts), "default": view.default_sort},
            })
        return parameters
