"""/api/v1/lifecycle/: lifecycle stages and stage sets. Everyone with a role reads; admins change them.

    GET    /api/v1/lifecycle/stages/                   the active set's stages, in order (?stage_set=<id> for another)
    POST   /api/v1/lifecycle/stages/                   add a stage (admins)
    GET    /api/v1/lifecycle/stages/{id}/
    PATCH  /api/v1/lifecycle/stages/{id}/              rename, describe or move (admins)
    DELETE /api/v1/lifecycle/stages/{id}/              only a stage nobody is in and no move refers to (admins)
    GET    /api/v1/lifecycle/stage-sets/               every set, with its stages
    GET    /api/v1/lifecycle/stage-sets/{id}/
    POST   /api/v1/lifecycle/stage-sets/{id}/activate/ make it the active set (admins)
    POST   /api/v1/lifecycle/stage-sets/{id}/reorder/  {"stages": [ids in the new order]} (admins)

Every write goes through lifecycle.services; their ValidationErrors become the API's 400 shape.
"""

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from lifecycle.api.pagination import CursorPagination
from lifecycle.api.views import ApiModelViewSet, ApiReadOnlyModelViewSet
from lifecycle.models import LifecycleStage, StageSet
from lifecycle.services import stage_create, stage_delete, stage_reorder, stage_set_activate, stage_update
from users.api.permissions import AdminWritesOnly, HasRolePermission, HasScope

__all__ = ["LifecycleStageViewSet", "StageSetViewSet"]

# Reads need the role's lifecycle view permission (so a user without a role reads nothing); writes are
# for admins, with AdminWritesOnly's message rather than a generic one.
PERMISSIONS = [HasScope, AdminWritesOnly, HasRolePermission]


class LifecycleStageSerializer(serializers.ModelSerializer):
    stage_set = serializers.PrimaryKeyRelatedField(
        queryset=StageSet.objects.all(), required=False,
        help_text="The stage set's id. On create, the active set when left out; a stage never changes set.")
    position = serializers.IntegerField(
        min_value=0, max_value=32767, required=False,
        help_text="0 is the first stage. On create the stage goes last when left out; the stages from that "
                  "position on move down one. On update, moves the stage there.")

    class Meta:
        model = LifecycleStage
        fields = ["id", "stage_set", "name", "description", "position"]
        read_only_fields = ["id"]
        # Unique names and positions are the services' to check (with a message by the field); DRF's
        # generated validators would also demand a position on create.
        validators = []

    def validate_stage_set(self, stage_set: StageSet) -> StageSet:
        if self.instance is not None and stage_set.pk != self.instance.stage_set_id:
            raise serializers.ValidationError("A stage cannot move to another set; add a stage there instead.")
        return stage_set


class StageSetStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = LifecycleStage
        fields = ["id", "name", "description", "position"]


class StageSetSerializer(serializers.ModelSerializer):
    stages = StageSetStageSerializer(many=True, read_only=True, help_text="In order.")

    class Meta:
        model = StageSet
        fields = ["id", "name", "is_active", "stages"]


class StageOrderSerializer(serializers.Serializer):
    stages = serializers.ListField(child=serializers.IntegerField(), allow_empty=False,
                                   help_text="Every stage id of the set, once each, in the new order.")


class LifecycleStageFilterSet(django_filters.FilterSet):
    stage_set = django_filters.ModelChoiceFilter(
        queryset=StageSet.objects.all(), help_text="A stage set's id. Lists show the active set's stages without it.")

    class Meta:
        model = LifecycleStage
        fields = ["stage_set"]


class StageOrderPagination(CursorPagination):
    ordering = ("position", "id")


class StageSetPagination(CursorPagination):
    ordering = ("name",)


def _stage_sets():
    return StageSet.objects.prefetch_related(
        Prefetch("stages", queryset=LifecycleStage.objects.order_by("position", "id")))


@extend_schema_view(
    list=extend_schema(summary="List the stages of the active set (or of ?stage_set=<id>), in order"),
    retrieve=extend_schema(summary="Get a lifecycle stage"),
    create=extend_schema(summary="Add a lifecycle stage (admins)"),
    partial_update=extend_schema(summary="Rename, describe or move a lifecycle stage (admins)"),
    destroy=extend_schema(summary="Delete a lifecycle stage nobody is in and no move refers to (admins)"),
)
@extend_schema(tags=["lifecycle"])
class LifecycleStageViewSet(ApiModelViewSet):
    """Lifecycle stages: an ordered set, one set active. Direction of a move comes from the positions."""

    queryset = LifecycleStage.objects.all()
    serializer_class = LifecycleStageSerializer
    filterset_class = LifecycleStageFilterSet
    pagination_class = StageOrderPagination
    permission_classes = PERMISSIONS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list" and "stage_set" not in self.request.query_params:
            queryset = queryset.filter(stage_set__is_active=True)
        return queryset

    def perform_create(self, serializer):
        data = serializer.validated_data
        stage_set = data.get("stage_set") or StageSet.objects.filter(is_active=True).first()
        if stage_set is None:
            raise serializers.ValidationError({"stage_set": ["No stage set is active; name one."]})
        serializer.instance = stage_create(
            stage_set=stage_set, name=data["name"], description=data.get("description", ""),
            position=data.get("position"), by=self.request.user)

    def perform_update(self, serializer):
        data = {k: v for k, v in serializer.validated_data.items() if k != "stage_set"}
        serializer.instance = stage_update(stage=serializer.instance, by=self.request.user, **data)

    def perform_destroy(self, instance):
        stage_delete(stage=instance, by=self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List the stage sets, with their stages"),
    retrieve=extend_schema(summary="Get a stage set, with its stages"),
)
@extend_schema(tags=["lifecycle"])
class StageSetViewSet(ApiReadOnlyModelViewSet):
    """Stage sets. Exactly one is active: the one new stage changes use."""

    queryset = _stage_sets()
    serializer_class = StageSetSerializer
    pagination_class = StageSetPagination
    permission_classes = PERMISSIONS

    @extend_schema(summary="Make this the active stage set (admins)", request=None, responses=StageSetSerializer,
                   description="Contacts keep their current stage; their next move into a stage of this set "
                               "is recorded as an entry.")
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        stage_set = stage_set_activate(stage_set=self.get_object(), by=request.user)
        return Response(StageSetSerializer(_stage_sets().get(pk=stage_set.pk)).data)

    @extend_schema(summary="Put the set's stages in a new order (admins)", request=StageOrderSerializer,
                   responses=StageSetSerializer)
    @action(detail=True, methods=["post"])
    def reorder(self, request, pk=None):
        stage_set = self.get_object()
        order = StageOrderSerializer(data=request.data)
        order.is_valid(raise_exception=True)
        stage_reorder(stage_set=stage_set, stage_ids=order.validated_data["stages"], by=request.user)
        return Response(StageSetSerializer(_stage_sets().get(pk=stage_set.pk)).data)
