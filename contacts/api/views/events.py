"""/api/v1/events/ and /api/v1/event-types/: events from integrations, and the types they may have.

    POST /events/         one event: 201 stored; 200 with the stored event when its `id` already was
    POST /events/bulk/    {"events": [...]} up to 5,000; counts and an error per failed item
    GET  /event-types/    the built-in types and the custom ones sent so far, by name; ?q= ?builtin=

Both writes go through contacts.ingest.events_ingest, in one transaction, published on commit.
Posting needs contacts.add_event; an unknown email creates the contact only with contacts.add_contact.
"""

import base64
import binascii
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from contacts.api.event_serializers import (
    EventTypeSerializer,
    IngestBatchResultSerializer,
    IngestBatchSerializer,
    IngestedEventSerializer,
    IngestEventSerializer,
)
from contacts.api.permissions import RolePermission
from contacts.ingest import IngestResult, events_ingest
from contacts.models import Contact, Event, EventType
from contacts.timeline import type_label
from lifecycle.api.pagination import CursorPagination
from lifecycle.api.parsers import JSONParser
from lifecycle.api.schema import ErrorSerializer
from lifecycle.api.views import ApiView
from users.permissions import visible_to

__all__ = ["EventBulkView", "EventTypeListView", "EventView"]

DUPLICATE_ELSEWHERE = "An event with this id is already stored; each event needs an id of its own."


class _EventWrite(ApiView):
    permission_classes = [RolePermission]  # POST: contacts.add_event, and a key with the write scope
    parser_classes = [JSONParser]
    queryset = Event.objects.none()


@extend_schema(tags=["events"])
class EventView(_EventWrite):
    @extend_schema(
        summary="Record one event",
        request=IngestEventSerializer,
        responses={201: OpenApiResponse(IngestedEventSerializer, "Stored."),
                   200: OpenApiResponse(IngestedEventSerializer, "An event with this `id` was already stored: that "
                                                            "event, unchanged.")},
        description="The contact is `contact` (an id) or `email`; an unknown email creates the contact when "
                    "you may add contacts. Send an `id` to make retries safe: the same id again is not stored "
                    "twice, and answers 200 with the event first stored.")
    def post(self, request):
        result = events_ingest([request.data], user=request.user)
        if result.errors:
            raise exceptions.ValidationError(result.errors[0][2])
        if result.created:
            return Response(self._represent(Event.objects.get(pk=result.event_ids[0])), status=status.HTTP_201_CREATED)
        return Response(self._represent(self._stored(result)), status=status.HTTP_200_OK)

    def _stored(self, result: IngestResult) -> Event:
        [client_id] = result.duplicate_client_ids
        event = Event.objects.filter(
            client_id=client_id, contact__in=visible_to(Contact.objects.all(), self.request.user)).first()
        if event is None:  # stored for a contact this user may not see: say no more than that the id is taken
            raise exceptions.ValidationError({"id": [DUPLICATE_ELSEWHERE]})
        return event

    @staticmethod
    def _represent(event: Event) -> dict:
        return IngestedEventSerializer(event).data


@extend_schema(tags=["events"])
class EventBulkView(_EventWrite):
    @extend_schema(
        summary=f"Record up to {5000:,} events",
        request=IngestBatchSerializer,
        responses=IngestBatchResultSerializer,
        description="Each item is checked on its own: bad items are listed in `errors` with their position, "
                    "the good ones are stored all the same, in one set-based write. Items whose `id` was already "
                    "stored (or came earlier in the request) count as `duplicates` and are not stored again. "
                    "Unknown emails become contacts in the same pass when you may add contacts. More than 5,000 "
                    "items, an empty list or no `events` list is a 400, and nothing is stored.")
    def post(self, request):
        envelope = IngestBatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        result = events_ingest(envelope.validated_data["events"], user=request.user)
        return Response({
            "counts": {"received": result.received, "created": result.created, "duplicates": result.duplicates,
                       "failed": result.failed, "contacts_created": result.contacts_created},
            "errors": [{"index": index, "id": client_id, "errors": errors}
                       for index, client_id, errors in result.errors],
        })


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@extend_schema(tags=["events"])
class EventTypeListView(ApiView):
    """Built-in types (Event.TYPES, no rows) merged with the custom ones (EventType rows), in byte order of name.

    The cursor is the name at the page's edge; each page is one indexed query on EventType
    (the column is "C"-collated, as Python compares strings) plus the built-in names in memory.
    """

    permission_classes = [RolePermission]  # GET: contacts.view_eventtype
    queryset = EventType.objects.all()
    pagination = CursorPagination  # for its page size rules

    @extend_schema(
        summary="List event types",
        description="Every type an event may have: the built-in ones and the custom types integrations have "
                    "sent, each registered on first use. Ordered by name (upper case before lower case).",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Part of the name, any case."),
            OpenApiParameter("builtin", OpenApiTypes.BOOL, description="true: only built-in types; false: only "
                                                                       "custom ones."),
            OpenApiParameter("cursor", OpenApiTypes.STR, description="The pagination cursor value."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="Rows a page, at most 500 (default 50)."),
        ],
        responses={200: inline_serializer("PaginatedEventTypeList", {
            "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
            "results": EventTypeSerializer(many=True)}),
                   400: OpenApiResponse(ErrorSerializer, "A filter or the cursor is not valid.")},
        operation_id="event_types_list",
    )
    def get(self, request):
        params = request.query_params
        q = params.get("q", "").strip().lower()
        builtin = params.get("builtin")
        if builtin is not None and builtin.lower() not in _BOOLEANS:
            raise exceptions.ValidationError({"builtin": ["Use true or false."]})
        builtin = None if builtin is None else _BOOLEANS[builtin.lower()]
        size = self.pagination().get_page_size(request)
        edge, backwards = self._cursor(params.get("cursor"))

        rows: list[dict] = []
        if builtin is not False:
            rows += [{"name": name, "label": label, "builtin": True, "first_seen_at": None}
                     for name, label in Event.TYPES.items()
                     if (not q or q in name.lower()) and (edge is None or (name < edge if backwards else name > edge))]
        if builtin is not True:
            custom = EventType.objects.exclude(name__in=list(Event.TYPES))
            if q:
                custom = custom.filter(name__icontains=q)
            if edge is not None:
                custom = custom.filter(name__lt=edge) if backwards else custom.filter(name__gt=edge)
            custom = custom.order_by("-name" if backwards else "name")
            rows += [{"name": name, "label": type_label(name), "builtin": False, "first_seen_at": first_seen}
                     for name, first_seen in custom.values_list("name", "first_seen_at")[:size + 1]]
        rows.sort(key=lambda row: row["name"], reverse=backwards)
        more = len(rows) > size
        page = rows[:size]
        if backwards:
            page.reverse()
        has_next, has_previous = (True, more) if backwards else (more, edge is not None)
        url = request.build_absolute_uri()
        return Response({
            "next": self._link(url, page[-1]["name"], False) if has_next and page else None,
            "previous": (self._link(url, page[0]["name"], True) if page else remove_query_param(url, "cursor"))
            if has_previous else None,
            "results": EventTypeSerializer(page, many=True).data,
        })

    @staticmethod
    def _link(url: str, name: str, backwards: bool) -> str:
        raw = json.dumps({"n": name, **({"r": 1} if backwards else {})}, separators=(",", ":"))
        return replace_query_param(url, "cursor", base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))

    @staticmethod
    def _cursor(token: str | None) -> tuple[str | None, bool]:
        if not token:
            return None, False
        try:
            payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            name = payload["n"]
            if not isinstance(name, str):
                raise ValueError("not a name")
        except (binascii.Error, ValueError, TypeError, KeyError):
            raise exceptions.ValidationError({"cursor": ["This cursor is not valid; start again from the first "
                                                         "page."]}) from None
        return name, bool(payload.get("r"))
