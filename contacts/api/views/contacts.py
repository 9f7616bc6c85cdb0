"""/api/v1/contacts/: contacts, their upserts, tags, timeline and lifecycle stage.

    GET    /contacts/                    the contact list's filters (contacts.filters) and ?sort=
    POST   /contacts/                    create; 400 on "email" when the address is taken
    GET    /contacts/{id}/   PATCH   DELETE
    POST   /contacts/upsert/             match by email: 201 created, 200 updated
    POST   /contacts/bulk-upsert/        {"contacts": [...]} up to 1,000; a result per item
    POST   /contacts/{id}/tags/          {"tags": [...]}
    DELETE /contacts/{id}/tags/{name}/
    GET    /contacts/{id}/timeline/      ?type=&channel= (each may repeat)
    POST   /contacts/{id}/stage/         {"stage": id or name, "reason": "..."}

Every write's input goes through contacts.inputs.ContactInput, as in the UI and imports. A user
reads and writes only the contacts users.permissions.visible_to gives them; any other id is a 404.
"""

from collections import Counter

import django_filters
from django import forms
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.api.serializers import (
    RESULT_STATUSES,
    BulkUpsertRequestSerializer,
    BulkUpsertResponseSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    EventSerializer,
    StageMoveResponseSerializer,
    StageMoveSerializer,
    TagNamesSerializer,
    TransitionSerializer,
)
from contacts.api.views.base import ResourceViewSet
from contacts.bulk import contacts_upsert
from contacts.filters import SORTS, ContactFilterSet
from contacts.inputs import ContactInput
from contacts.models import Channel, Contact, Event, Tag
from contacts.services import contact_create, contact_delete, contact_tag, contact_untag, contact_update
from lifecycle.services import contact_stage_set
from users.permissions import visible_to

__all__ = ["ContactViewSet"]

DEFAULT_SORT = "-created"
TIMELINE_ORDER = ("-occurred_at", "-id")
WRITE = ("contacts.add_contact", "contacts.change_contact")


class _AnyValues(forms.MultipleChoiceField):
    def valid_value(self, value) -> bool:
        return True


class AnyValuesFilter(django_filters.MultipleChoiceFilter):
    """?name=a&name=b for a column with open-ended values (custom event types)."""

    field_class = _AnyValues


class TimelineFilterSet(django_filters.FilterSet):
    type = AnyValuesFilter(help_text="An event type, e.g. page_visited or a custom type; repeat for several.")
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, help_text="Repeat for several.")

    class Meta:
        model = Event
        fields = ["type", "channel"]


def _hidden_emails(emails, user) -> set[str]:
    """Which of these addresses belong to contacts `user` may not see (one query, by the lower(email) index)."""
    emails = list(set(emails))
    if not emails:
        return set()
    seen = visible_to(Contact.objects.filter(pk=OuterRef("pk")), user)
    return set(Contact.objects.annotate(lemail=Lower("email")).filter(lemail__in=emails)
               .annotate(visible=Exists(seen)).filter(visible=False).values_list("lemail", flat=True))


HIDDEN_MESSAGE = "A contact with this email exists, but it is not yours to change; ask its owner or a manager."


@extend_schema_view(
    list=extend_schema(
        summary="List contacts",
        description="Filters are the contact list's. Custom fields filter as `field.<key>=value`, and number, "
                    "money and date fields also as `field.<key>__gte=...` (`__gt`, `__lt`, `__lte`); "
                    "`field.<key>__isnull=true` finds contacts without a value.",
        parameters=[OpenApiParameter("tag", OpenApiTypes.STR, many=True, explode=True,
                                     description="A tag name, any case; repeat for several: the contact must "
                                                 "carry all of them.")]),
    retrieve=extend_schema(summary="Get a contact"),
    create=extend_schema(summary="Create a contact", request=ContactWriteSerializer,
                         responses={201: ContactSerializer}),
    partial_update=extend_schema(summary="Change a contact", request=ContactWriteSerializer,
                                 responses=ContactSerializer,
                                 description="Only the fields sent change. `tags` replaces the contact's tags; "
                                             "custom `fields` are merged (null clears one)."),
    destroy=extend_schema(summary="Delete a contact (admins, managers, marketers)",
                          description="Its timeline, notes, tasks and subscriptions go with it."),
)
@extend_schema(tags=["contacts"])
class ContactViewSet(ResourceViewSet):
    """People. What a user sees follows their role: reps their own and unassigned contacts."""

    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    sorts = SORTS
    default_sort = DEFAULT_SORT
    sort_description = "The order: created, last_activity, email or name; a leading - reverses it."
    action_permissions = {
        "upsert": WRITE, "bulk_upsert": WRITE, "tags": ("contacts.change_contact",),
        "untag": ("contacts.change_contact",), "stage": ("contacts.change_contact",),
        "timeline": ("contacts.view_contact",),
    }

    def get_queryset(self):
        contacts = visible_to(Contact.objects.all(), self.request.user)
        return self.with_relations(contacts) if self.action in ("list", "retrieve") else contacts

    @staticmethod
    def with_relations(queryset):
        """What a contact reads with, in one query: its account, owner and stage joined, its tag names as an array."""
        tag_names = Tag.objects.filter(contacts=OuterRef("pk")).order_by(Lower("name"), "id").values("name")
        return queryset.select_related("account", "owner", "lifecycle_stage").annotate(
            tag_names=ArraySubquery(tag_names))

    def get_ordering(self) -> tuple[str, ...]:
        if self.action == "timeline":
            return TIMELINE_ORDER
        sort = self.request.query_params.get("sort") or DEFAULT_SORT
        if sort not in SORTS:
            raise exceptions.ValidationError({"sort": [f"Sort by one of: {', '.join(SORTS)}."]})
        return SORTS[sort]

    def retrieve(self, request, *args, **kwargs):
        return Response(ContactSerializer(self.get_object(), context=self.get_serializer_context()).data)

    def represent(self, contact: Contact) -> dict:
        # Not through get_queryset(): a write may just have handed the contact to another owner.
        contact = self.with_relations(Contact.objects.all()).get(pk=contact.pk)
        return ContactSerializer(contact, context=self.get_serializer_context()).data

    @staticmethod
    def clean(data, *, partial: bool = False) -> dict:
        """Contact input checked by ContactInput, or a 400 naming each bad field."""
        checker = ContactInput()
        checker.prepare([data])
        cleaned, errors = checker.clean(data, partial=partial)
        if errors:
            raise exceptions.ValidationError(errors)
        return cleaned

    # --- create, change, delete
    def create(self, request, *args, **kwargs):
        contact = contact_create(user=request.user, actor="api", **self.clean(request.data))
        return Response(self.represent(contact), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        contact = contact_update(contact=contact, user=request.user, actor="api",
                                 **self.clean(request.data, partial=True))
        return Response(self.represent(contact))

    def delete_object(self, contact: Contact) -> None:
        contact_delete(contact=contact, user=self.request.user)

    # --- upserts
    @extend_schema(summary="Create or update a contact, matched by email", request=ContactWriteSerializer,
                   responses={200: OpenApiResponse(ContactSerializer, "Updated (or unchanged)."),
                              201: OpenApiResponse(ContactSerializer, "Created.")},
                   description="Fields left out are kept on an existing contact; `tags` are added, never "
                               "removed. A contact you may not see is refused with a 400 on `email`.")
    @action(detail=False, methods=["post"])
    def upsert(self, request):
        cleaned = self.clean(request.data)
        if _hidden_emails([cleaned["email"]], request.user):
            raise exceptions.ValidationError({"email": [HIDDEN_MESSAGE]})
        [result] = contacts_upsert([cleaned], actor="api", user=request.user)
        if result.status == "error":
            raise exceptions.ValidationError(result.errors)
        contact = Contact(pk=result.id)
        return Response(self.represent(contact),
                        status=status.HTTP_201_CREATED if result.status == "created" else status.HTTP_200_OK)

    @extend_schema(
        summary="Create or update up to 1,000 contacts, matched by email",
        request=BulkUpsertRequestSerializer, responses=BulkUpsertResponseSerializer,
        description="Each item is checked and saved on its own merits: bad items get `errors`, the good ones "
                    "are saved all the same, in one set-based write. The answer is 200 with one result per item, "
                    "in order, whatever happened to each. A request over 1,000 items, an empty list or no list "
                    "is a 400 and saves nothing. Send an Idempotency-Key to retry safely.")
    @action(detail=False, methods=["post"], url_path="bulk-upsert")
    def bulk_upsert(self, request):
        envelope = BulkUpsertRequestSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        items = envelope.validated_data["contacts"]
        checker = ContactInput()
        checker.prepare(items)
        results: list[dict | None] = [None] * len(items)
        good, positions = [], []
        for index, item in enumerate(items):
            cleaned, errors = checker.clean(item)
            if errors:
                email = cleaned.get("email") or (item.get("email") if isinstance(item, dict) else None)
                results[index] = _result(index, "error", email=email, errors=errors)
            else:
                good.append(cleaned)
                positions.append(index)
        hidden = _hidden_emails((item["email"] for item in good), request.user)
        if hidden:
            for index, item in zip(positions, good, strict=True):
                if item["email"] in hidden:
                    results[index] = _result(index, "error", email=item["email"], errors={"email": [HIDDEN_MESSAGE]})
            kept = [(index, item) for index, item in zip(positions, good, strict=True) if item["email"] not in hidden]
            positions, good = [index for index, _ in kept], [item for _, item in kept]
        if good:
            for result in contacts_upsert(good, actor="api", user=request.user, positions=positions):
                results[result.index] = _result(result.index, result.status, id=result.id, email=result.email,
                                                 errors=result.errors)
        counts = Counter(result["status"] for result in results)
        return Response({"results": results, "counts": {name: counts.get(name, 0) for name in RESULT_STATUSES}})

    # --- tags
    @extend_schema(summary="Add tags to a contact", request=TagNamesSerializer, responses=ContactSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request, pk=None):
        contact = self.get_object()
        names = self.parse(request.data, serializer_class=TagNamesSerializer)["tags"]
        contact_tag(contact=contact, names=self.clean({"tags": names}, partial=True)["tags"], source="api")
        return Response(self.represent(contact))

    @extend_schema(summary="Remove a tag from a contact", request=None, responses={204: None},
                   parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="The tag's name, any case.")])
    @action(detail=True, methods=["delete"], url_path=r"tags/(?P<name>.+)", url_name="untag")
    def untag(self, request, pk=None, name=None):
        contact = self.get_object()
        if not contact_untag(contact=contact, names=[name], source="api"):
            raise exceptions.NotFound(f"This contact does not carry the tag “{name}”.")
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- timeline and stage
    @extend_schema(summary="A contact's timeline, newest first", responses=EventSerializer(many=True), parameters=[
        OpenApiParameter("type", OpenApiTypes.STR, many=True, explode=True,
                         description="An event type, e.g. page_visited or a custom one; repeat for several."),
        OpenApiParameter("channel", OpenApiTypes.STR, many=True, explode=True, enum=Channel.values,
                         description="Repeat for several."),
    ])
    @action(detail=True, methods=["get"], serializer_class=EventSerializer, filter_backends=[])
    def timeline(self, request, pk=None):
        contact = self.get_object()
        events = self.filtered(Event.objects.filter(contact=contact), TimelineFilterSet)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(summary="Move a contact to a lifecycle stage", request=StageMoveSerializer,
                   responses=StageMoveResponseSerializer,
                   description="Forward or backward; the move is recorded as a stage transition with the reason. "
                               "`transition` is null when the contact already was in that stage.")
    @action(detail=True, methods=["post"])
    def stage(self, request, pk=None):
        contact = self.get_object()
        move = self.parse(request.data, serializer_class=StageMoveSerializer)
        stage = self.clean({"stage": move["stage"]}, partial=True)["stage"]
        transition = contact_stage_set(contact=contact, stage=stage, actor="api", user=request.user,
                                       reason=move["reason"])
        return Response({
            "transition": TransitionSerializer(transition).data if transition else None,
            "contact": self.represent(contact),
        })


def _result(index: int, status: str, *, id: int | None = None, email=None, errors=None) -> dict:
    return {"index": index, "status": status, "id": id, "email": email if isinstance(email, str) else "",
            "errors": errors or {}}
