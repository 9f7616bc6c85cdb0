"""/api/v1/pipelines/ and /api/v1/lost-reasons/: everyone with a role reads them; admins change them.

    GET    /pipelines/               every pipeline, with its stages in order
    POST   /pipelines/               {"name", "stages"?: [...], "won_makes_customer"?, "radio_silent_days"?}
    GET    /pipelines/{id}/   PATCH   DELETE (only a pipeline without deals, never the last one)
    GET    /lost-reasons/            ?is_active=true|false
    POST   /lost-reasons/            {"name"}
    GET    /lost-reasons/{id}/   PATCH {"name"?, "is_active"?, "position"?}

A PATCH with `stages` makes the pipeline's stages exactly that list (pipelines.services.pipeline_stages_set):
items with an id change that stage, items without one are new, stages left out are deleted; a deleted stage
that has or had deals needs `move_deals_to`, or the whole PATCH is refused with a 400 on
`move_deals_to.<stage id>` and nothing changes.
"""

import django_filters
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view

from contacts.api.views.base import ResourceViewSet
from pipelines.api.serializers import (
    LostReasonSerializer,
    LostReasonWriteSerializer,
    PipelineCreateSerializer,
    PipelineSerializer,
    PipelineUpdateSerializer,
)
from pipelines.models import LostReason, Pipeline, Stage
from pipelines.services import (
    lost_reason_create,
    lost_reason_update,
    pipeline_create,
    pipeline_delete,
    pipeline_stages_set,
    pipeline_update,
)
from users.api.permissions import AdminWritesOnly, HasRolePermission, HasScope

__all__ = ["LostReasonViewSet", "PipelineViewSet"]


class AdminWrites(AdminWritesOnly):
    message = "Only admins may change pipelines, their stages and lost reasons."


# Reads need the role's pipelines view permission (so a user without a role reads nothing); writes are for
# admins, with a message that says so.
PERMISSIONS = [HasScope, AdminWrites, HasRolePermission]


@extend_schema_view(
    list=extend_schema(summary="List pipelines with their stages"),
    retrieve=extend_schema(summary="Get a pipeline with its stages"),
    create=extend_schema(summary="Create a pipeline (admins)", request=PipelineCreateSerializer,
                         responses={201: PipelineSerializer},
                         description="Without `stages` it gets the default ones: Contact, Qualification, Meeting, "
                                     "Proposal, Closing, Retention."),
    partial_update=extend_schema(
        summary="Change a pipeline and its stages (admins)", request=PipelineUpdateSerializer,
        responses=PipelineSerializer,
        description="Only the keys sent change. `stages` is the full new list, in order: an item with an `id` "
                    "changes that stage (only the keys it sends), one without adds a stage, and a stage left out "
                    "is deleted. A deleted stage that has or had deals needs `move_deals_to` "
                    '(`{"<deleted id>": <id of a kept stage>}`): its open deals move there (recorded moves), its '
                    "closed deals and past stays are re-pointed so metrics keep them. Without it the PATCH is a "
                    "400 on `move_deals_to.<id>` and nothing changes."),
    destroy=extend_schema(summary="Delete a pipeline without deals (admins)",
                          description="Refused (400) while deals are in it, or when it is the only pipeline."),
)
@extend_schema(tags=["pipelines"])
class PipelineViewSet(ResourceViewSet):
    serializer_class = PipelineSerializer
    permission_classes = PERMISSIONS
    ordering = ("name", "id")

    def get_queryset(self):
        return Pipeline.objects.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("position")))

    def get_serializer_class(self):
        if self.action == "create":
            return PipelineCreateSerializer
        if self.action == "partial_update":
            return PipelineUpdateSerializer
        return PipelineSerializer

    def parse(self, data, *, serializer_class=None, partial: bool = False) -> dict:
        return super().parse(data, serializer_class=serializer_class or self.get_serializer_class(), partial=partial)

    @transaction.atomic
    def create_object(self, data):
        stages = data.pop("stages", None)
        pipeline = pipeline_create(
            name=data.pop("name").strip(),
            stages=[(stage["name"].strip(), stage.get("probability", 0), stage.get("rotting_days"))
                    for stage in stages] if stages else None)
        if data:
            pipeline = pipeline_update(pipeline=pipeline, **data)
        return pipeline

    @transaction.atomic
    def update_object(self, pipeline, data):
        stages = data.pop("stages", None)
        move_deals_to = data.pop("move_deals_to", None)
        if data:
            pipeline = pipeline_update(pipeline=pipeline, **data)
        if stages is not None:
            pipeline_stages_set(pipeline=pipeline, stages=stages, move_deals_to=move_deals_to)
        return pipeline

    def delete_object(self, pipeline):
        pipeline_delete(pipeline=pipeline)


class LostReasonFilterSet(django_filters.FilterSet):
    is_active = django_filters.BooleanFilter(help_text="true: the reasons a deal may be lost for now; false: "
                                                       "retired ones.")

    class Meta:
        model = LostReason
        fields = ["is_active"]


@extend_schema_view(
    list=extend_schema(summary="List lost reasons, in order"),
    retrieve=extend_schema(summary="Get a lost reason"),
    create=extend_schema(summary="Add a lost reason (admins)", request=LostReasonWriteSerializer,
                         responses={201: LostReasonSerializer}),
    partial_update=extend_schema(summary="Rename, reorder or retire a lost reason (admins)",
                                 request=LostReasonWriteSerializer, responses=LostReasonSerializer,
                                 description="`is_active: false` retires it: deals lost for it keep it, new ones "
                                             "cannot choose it. Reasons are never deleted."),
)
@extend_schema(tags=["pipelines"])
class LostReasonViewSet(ResourceViewSet):
    serializer_class = LostReasonSerializer
    input_serializer_class = LostReasonWriteSerializer
    filterset_class = LostReasonFilterSet
    permission_classes = PERMISSIONS
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering = ("position", "name", "id")

    def get_queryset(self):
        return LostReason.objects.all()

    @transaction.atomic
    def create_object(self, data):
        data.pop("position", None)
        reason = lost_reason_create(name=data.pop("name"))
        return lost_reason_update(reason=reason, **data) if data else reason

    def update_object(self, reason, data):
        return lost_reason_update(reason=reason, **data)
