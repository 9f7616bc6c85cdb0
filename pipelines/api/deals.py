"""/api/v1/deals/: deals, their moves on the board, closing and reopening, and their stage history.

    GET    /deals/                    pipelines.selectors.DealFilterSet's filters, ?sort=
    POST   /deals/                    create (open, last in its stage)
    GET    /deals/{id}/   PATCH   DELETE
    POST   /deals/{id}/move/          {"stage": id, "position"?: n}   position left out: last in the column
    POST   /deals/{id}/won/
    POST   /deals/{id}/lost/          {"reason": "<lost reason id or name>"}
    POST   /deals/{id}/reopen/        {"stage"?: id}
    GET    /deals/{id}/history/       the stays in each stage, oldest first

Who sees which deal is pipelines.selectors.deals_visible_to (reps: their own and unassigned unless
REPS_SEE_ALL_DEALS; managers: their team's, their own and unassigned; admins and marketers: all); any
other deal is a 404. What a role may do is its model permissions: admins and managers everything,
sales reps everything but delete, marketers read only. Every write is a pipelines.services call.
"""

import django_filters
from django import forms
from django.contrib.postgres.expressions import ArraySubquery
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import OuterRef
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.api.permissions import RolePermission
from contacts.api.views.base import ResourceViewSet
from pipelines.api.serializers import (
    DealCreateSerializer,
    DealHistorySerializer,
    DealLostSerializer,
    DealMoveSerializer,
    DealReopenSerializer,
    DealSerializer,
    DealUpdateSerializer,
)
from pipelines.models import Deal, DealStageHistory, LostReason
from pipelines.selectors import DealFilterSet, deal_facts, deals_visible_to
from pipelines.services import deal_create, deal_delete, deal_lost, deal_move, deal_reopen, deal_update, deal_won
from users.api.permissions import HasScope
from users.permissions import has_role
from users.roles import Role

__all__ = ["DealApiFilterSet", "DealViewSet"]

#: ?sort= values and the keyset order each stands for (ending with the unique id).
SORTS = {
    "-created": ("-created_at", "-id"), "created": ("created_at", "id"),
    "-value": ("-value", "-id"), "value": ("value", "id"),
    "expected_close": ("expected_close_date", "id"), "-expected_close": ("-expected_close_date", "-id"),
    "-last_activity": ("-last_activity_at", "-id"), "last_activity": ("last_activity_at", "id"),
}
DEFAULT_SORT = "-created"
HISTORY_ORDER = ("entered_at", "id")
CHANGE = ("pipelines.change_deal",)
#: Ids are PostgreSQL bigints; a larger one is a 400, not a database error.
MAX_ID = 2**63 - 1


class _StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0, yes/no); anything else is an error rather than "no filter"."""

    widget = forms.TextInput
    VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        try:
            return self.VALUES[str(value).strip().lower()]
        except KeyError:
            raise forms.ValidationError("Give true or false.", code="invalid") from None

    def validate(self, value):
        pass


def _whole_number(value) -> None:
    if value is not None and value != int(value):
        raise forms.ValidationError("Give an id (a whole number).", code="invalid")


#: The id filters: whole numbers in PostgreSQL's bigint range, so a wild value is a 400, not a database error.
ID_VALIDATORS = [MinValueValidator(1), MaxValueValidator(MAX_ID), _whole_number]


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictBooleanField


class DealApiFilterSet(DealFilterSet):
    """DealFilterSet, strict as an API should be: a yes/no filter that is neither is a 400, and so is an id
    past the database's range."""

    stale = StrictBooleanFilter(method="filter_stale",
                                help_text="Open deals in their stage longer than its rotting limit.")
    radio_silent = StrictBooleanFilter(method="filter_radio_silent",
                                       help_text="Open deals with no activity for the pipeline's radio-silent days.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("pipeline", "stage", "contact", "account"):
            self.filters[name].field.validators += ID_VALIDATORS

    def filter_owner(self, queryset, name, value):
        if value.strip().isdigit() and int(value) > MAX_ID:
            return queryset.none()
        return super().filter_owner(queryset, name, value)


class DealPermission(RolePermission):
    """The role's deal permissions, with a message that says what the role may do instead."""

    def has_permission(self, request, view) -> bool:
        if super().has_permission(request, view):
            return True
        if not HasScope().has_permission(request, view):
            self.message = HasScope.message if request.user and request.user.is_authenticated else None
        elif has_role(request.user, Role.MARKETER):
            self.message = "Marketers read deals but do not change them."
        elif has_role(request.user, Role.SALES_REP):
            self.message = "Sales reps do not delete deals; mark it lost, or ask a manager or an admin."
        else:
            self.message = "Your account has no role, so it has no deals; ask an admin for one."
        return False


@extend_schema_view(
    list=extend_schema(summary="List deals",
                       description="The filters are the board's and the deal list's. A filter value that is not "
                                   "valid is a 400 naming it."),
    retrieve=extend_schema(summary="Get a deal"),
    create=extend_schema(summary="Create a deal", request=DealCreateSerializer, responses={201: DealSerializer},
                         description="It is open, last in its stage (the pipeline's first stage by default). A sales "
                                     "rep who leaves out `owner` owns the deal; send `\"owner\": null` for an "
                                     "unassigned one. Contacts, account and owner must be ones you may see."),
    partial_update=extend_schema(summary="Change a deal", request=DealUpdateSerializer, responses=DealSerializer,
                                 description="Only the keys sent change. Stage and status change through move, won, "
                                             "lost and reopen. A new value or owner is recorded on the contacts' "
                                             "timelines."),
    destroy=extend_schema(summary="Delete a deal (admins and managers)",
                          description="Its stage history goes with it; the cards after it in its column move up."),
)
@extend_schema(tags=["deals"])
class DealViewSet(ResourceViewSet):
    """Deals. What a user sees follows their role: reps their own and unassigned deals."""

    serializer_class = DealSerializer
    filterset_class = DealApiFilterSet
    permission_classes = [DealPermission]
    sorts = SORTS
    default_sort = DEFAULT_SORT
    sort_description = "The order: created, value, expected_close or last_activity; a leading - reverses it."
    action_permissions = {"move": CHANGE, "won": CHANGE, "lost": CHANGE, "reopen": CHANGE,
                          "history": ("pipelines.view_deal",)}

    def get_queryset(self):
        deals = deals_visible_to(self.request.user)
        return self.with_relations(deals) if self.action in ("list", "retrieve") else deals

    @staticmethod
    def with_relations(queryset):
        """What a deal reads with, in one query: its relations joined, the ids of its other contacts as an
        array, and the card facts (stale, radio silent) computed in SQL."""
        others = Deal.other_contacts.through.objects.filter(deal_id=OuterRef("pk")).order_by(
            "contact_id").values("contact_id")
        return deal_facts(queryset.select_related("pipeline", "stage", "contact", "account", "owner", "lost_reason")
                          .annotate(other_contact_ids=ArraySubquery(others)))

    def get_serializer_class(self):
        if self.action == "create":
            return DealCreateSerializer
        if self.action == "partial_update":
            return DealUpdateSerializer
        return super().get_serializer_class()

    def parse(self, data, *, serializer_class=None, partial: bool = False) -> dict:
        return super().parse(data, serializer_class=serializer_class or self.get_serializer_class(), partial=partial)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_ordering(self) -> tuple[str, ...]:
        if self.action == "history":
            return HISTORY_ORDER
        sort = self.request.query_params.get("sort") or DEFAULT_SORT
        if sort not in SORTS:
            raise exceptions.ValidationError({"sort": [f"Sort by one of: {', '.join(SORTS)}."]})
        return SORTS[sort]

    def represent(self, deal: Deal) -> dict:
        # Not through get_queryset(): only the annotated read has the card facts.
        deal = self.with_relations(Deal.objects.all()).get(pk=deal.pk)
        return DealSerializer(deal, context=self.get_serializer_context()).data

    # --- create, change, delete
    def create_object(self, data):
        if "owner" not in data and has_role(self.request.user, Role.SALES_REP):
            data["owner"] = self.request.user
        return deal_create(by=self.request.user, **data)

    def update_object(self, deal, data):
        return deal_update(deal=deal, by=self.request.user, **data)

    def delete_object(self, deal):
        deal_delete(deal=deal)

    # --- the board's moves, closing and reopening
    @extend_schema(summary="Move a deal to a stage and a place in its column", request=DealMoveSerializer,
                   responses=DealSerializer,
                   description="Between stages of its pipeline, forward or backward, or within its column. A change "
                               "of stage is recorded in the stage history and on the contacts' timelines. Only "
                               "open deals move; a stage of another pipeline or a position past the column's end is "
                               "a 400.")
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        deal = self.get_object()
        move = self.parse(request.data, serializer_class=DealMoveSerializer)
        stage = move["stage"]
        position = move.get("position")
        if position is None:  # last: after every other open deal of the column
            position = Deal.objects.filter(status=Deal.Status.OPEN, stage=stage).exclude(pk=deal.pk).count()
        deal = deal_move(deal=deal, stage=stage, position=position, by=request.user)
        return Response(self.represent(deal))

    @extend_schema(summary="Mark a deal won", request=None, responses=DealSerializer,
                   description="Its contact becomes a customer (the last lifecycle stage) unless the pipeline's "
                               "rule is off. A deal already closed is a 400 on `status`; retry with the same "
                               "Idempotency-Key to get the first answer again.")
    @action(detail=True, methods=["post"])
    def won(self, request, pk=None):
        deal = deal_won(deal=self.get_object(), by=request.user)
        return Response(self.represent(deal))

    @extend_schema(summary="Mark a deal lost, with a reason", request=DealLostSerializer, responses=DealSerializer,
                   description="`reason` is an active lost reason's id or name (any case). A deal already closed "
                               "is a 400 on `status`.")
    @action(detail=True, methods=["post"])
    def lost(self, request, pk=None):
        deal = self.get_object()
        reason = self._lost_reason(self.parse(request.data, serializer_class=DealLostSerializer)["reason"])
        deal = deal_lost(deal=deal, reason=reason, by=request.user)
        return Response(self.represent(deal))

    @staticmethod
    def _lost_reason(value: str) -> LostReason:
        text = value.strip()
        found = None
        if text.isascii() and text.isdigit() and int(text) <= MAX_ID:
            found = LostReason.objects.filter(pk=int(text)).first()
        found = found or LostReason.objects.filter(name__iexact=text).first()
        if found is None:
            raise exceptions.ValidationError({"reason": [
                f"There is no lost reason “{text}”; GET /api/v1/lost-reasons/?is_active=true lists them."]})
        if not found.is_active:
            raise exceptions.ValidationError({"reason": [f"“{found.name}” is retired; choose an active reason."]})
        return found

    @extend_schema(summary="Reopen a won or lost deal", request=DealReopenSerializer, responses=DealSerializer,
                   description="Last in its stage, or in `stage`, with a new stay in the stage history. The "
                               "contact's lifecycle stage is left alone.")
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        deal = self.get_object()
        stage = self.parse(request.data or {}, serializer_class=DealReopenSerializer).get("stage")
        deal = deal_reopen(deal=deal, stage=stage, by=request.user)
        return Response(self.represent(deal))

    @extend_schema(summary="A deal's stage history, oldest first", responses=DealHistorySerializer(many=True),
                   description="One row per stay in a stage: when it entered and left (null: still there), who "
                               "moved it there, and how many days it stayed. Backward moves are stays too.")
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        deal = self.get_object()
        stays = DealStageHistory.objects.filter(deal=deal).select_related("stage", "moved_by")
        page = self.paginate_queryset(stays)
        return self.get_paginated_response(
            DealHistorySerializer(page, many=True, context=self.get_serializer_context()).data)
