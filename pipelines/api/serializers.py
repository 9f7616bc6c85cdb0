"""How pipelines, stages, lost reasons and deals read and write in the API.

Input serializers check shapes and references (a contact, account or owner the caller may not see is a
field error); the rules (a stage of the deal's pipeline, a position inside the column, an open deal to
move) are the services' (pipelines/services.py), whose ValidationErrors become the same 400 shape.
Input serializers refuse keys they do not know, so a typo is an error rather than silently ignored.
"""

from collections.abc import Mapping

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.api.serializers import (
    AccountRefSerializer,
    ContactRefSerializer,
    UserRefSerializer,
    VisibleRelatedField,
)
from contacts.models import Account, Contact
from pipelines.models import CURRENCIES, Deal, DealStageHistory, LostReason, Pipeline, Stage
from pipelines.selectors import deal_owners_for

__all__ = [
    "DealCreateSerializer", "DealHistorySerializer", "DealLostSerializer", "DealMoveSerializer",
    "DealReopenSerializer", "DealSerializer", "DealUpdateSerializer", "LostReasonSerializer",
    "LostReasonWriteSerializer", "PipelineCreateSerializer", "PipelineSerializer", "PipelineUpdateSerializer",
]

MONEY = {"max_digits": 14, "decimal_places": 2}
SMALLINT = 32767


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know; `refused` gives a better message for keys that belong elsewhere."""

    refused: dict[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            errors = {key: [self.refused.get(key, "Unknown field; see the schema at /api/docs/ for the fields.")]
                      for key in data if key not in writable}
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


# --- Pipelines and their stages -------------------------------------------------------------------

class PipelineStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "name", "position", "probability", "rotting_days"]
        extra_kwargs = {"probability": {"help_text": "Win probability, %."},
                        "rotting_days": {"help_text": "Days a deal may sit here before it is stale; null: never."}}


class PipelineSerializer(serializers.ModelSerializer):
    stages = PipelineStageSerializer(many=True, read_only=True, help_text="In order.")
    url = serializers.HyperlinkedIdentityField(view_name="pipelines-api:pipeline-detail")

    class Meta:
        model = Pipeline
        fields = ["id", "name", "won_makes_customer", "radio_silent_days", "created_at", "stages", "url"]


class PipelineStageInputSerializer(StrictSerializer):
    id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                  help_text="On update: a stage of this pipeline to keep. Left out: a new stage.")
    name = serializers.CharField(max_length=100, required=False, help_text="Required for a new stage.")
    position = serializers.IntegerField(required=False, help_text="Ignored: the order of the list is the order "
                                                                  "of the stages.")
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False,
                                           help_text="Win probability, %; 0 for a new stage when left out.")
    rotting_days = serializers.IntegerField(min_value=0, max_value=SMALLINT, required=False, allow_null=True,
                                            help_text="Days a deal may sit here before it is stale; null: never.")

    def validate(self, attrs):
        attrs.pop("position", None)
        if attrs.get("id") is None and not attrs.get("name", "").strip():
            raise serializers.ValidationError({"name": ["Give the new stage a name."]})
        return attrs


class PipelineFieldsSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    won_makes_customer = serializers.BooleanField(
        required=False, help_text="A won deal moves its contact to the last lifecycle stage (Support & Grow).")
    radio_silent_days = serializers.IntegerField(
        min_value=1, max_value=SMALLINT, required=False,
        help_text="A deal with no activity for this many days is radio silent.")
    refused = {"id": "The id is the URL's.", "created_at": "Read-only.", "url": "Read-only."}


class PipelineCreateSerializer(PipelineFieldsSerializer):
    stages = serializers.ListField(
        child=PipelineStageInputSerializer(), required=False, allow_empty=False,
        help_text="The stages, in order, without ids. Left out: Contact, Qualification, Meeting, Proposal, "
                  "Closing and Retention.")

    def validate_stages(self, stages):
        for stage in stages:
            if stage.get("id") is not None:
                raise serializers.ValidationError("A new pipeline's stages are new: leave out their ids.")
        names = [stage["name"].strip() for stage in stages]
        for index, name in enumerate(names):
            if name in names[:index]:
                raise serializers.ValidationError({str(index): {"name": [
                    f"Two stages are called “{name}”; names are unique in a pipeline."]}})
        return stages


class PipelineUpdateSerializer(PipelineFieldsSerializer):
    stages = serializers.ListField(
        child=PipelineStageInputSerializer(), required=False, allow_empty=False,
        help_text="Every stage the pipeline keeps or gains, in order. An item with an id changes that stage "
                  "(only the keys it sends); an item without one adds a stage; a stage left out is deleted.")
    move_deals_to = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False,
        help_text='Where the deals of a deleted stage go: {"<deleted stage id>": <id of a stage that stays>}. '
                  "Required for each deleted stage that has or had deals.")

    def validate_move_deals_to(self, targets: dict) -> dict[int, int]:
        try:
            return {int(key): value for key, value in targets.items()}
        except ValueError:
            raise serializers.ValidationError("Keys are the ids of the stages being deleted.") from None

    def validate(self, attrs):
        if "move_deals_to" in attrs and "stages" not in attrs:
            raise serializers.ValidationError({"move_deals_to": ["Only with `stages`: it says where the deals "
                                                                 "of the stages left out go."]})
        return attrs


# --- Lost reasons ---------------------------------------------------------------------------------

class LostReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["id", "name", "position", "is_active"]
        extra_kwargs = {"is_active": {"help_text": "A retired reason (false) stays on the deals lost for it but "
                                                   "cannot be chosen again."}}


class LostReasonWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, help_text="Unique.")
    is_active = serializers.BooleanField(required=False, help_text="false retires the reason; true brings it back.")
    position = serializers.IntegerField(min_value=0, max_value=SMALLINT, required=False,
                                        help_text="Where lists show it, 0 first. On update only.")
    refused = {"id": "The id is the URL's."}


# --- Deals ----------------------------------------------------------------------------------------

class PipelineRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DealStageRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    probability = serializers.IntegerField(help_text="Win probability, %.")


class LostReasonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DealSerializer(serializers.ModelSerializer):
    """A deal read through DealViewSet.with_relations (annotated with pipelines.selectors.deal_facts)."""

    pipeline = PipelineRefSerializer(read_only=True)
    stage = DealStageRefSerializer(read_only=True)
    contact = ContactRefSerializer(allow_null=True, read_only=True, help_text="The primary contact.")
    other_contacts = serializers.ListField(child=serializers.IntegerField(), source="other_contact_ids",
                                           read_only=True, help_text="Ids of more contacts involved.")
    account = AccountRefSerializer(allow_null=True, read_only=True)
    owner = UserRefSerializer(allow_null=True, read_only=True)
    lost_reason = LostReasonRefSerializer(allow_null=True, read_only=True)
    fields = serializers.DictField(child=serializers.JSONField(), read_only=True,
                                   help_text="Custom field values by key (custom fields of deals).")
    weighted_value = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True,
                                              help_text="value × the stage's win probability.")
    days_in_stage = serializers.SerializerMethodField()
    is_stale = serializers.BooleanField(read_only=True, help_text="Open, and longer in its stage than the "
                                                                  "stage's rotting limit.")
    is_radio_silent = serializers.BooleanField(read_only=True, help_text="Open, and no activity for the "
                                                                         "pipeline's radio-silent days.")
    url = serializers.HyperlinkedIdentityField(view_name="pipelines-api:deal-detail")

    class Meta:
        model = Deal
        fields = ["id", "title", "pipeline", "stage", "value", "currency", "contact", "other_contacts", "account",
                  "owner", "status", "lost_reason", "expected_close_date", "budget", "authority", "need", "timeline",
                  "fields", "position", "created_at", "stage_entered_at", "closed_at", "last_activity_at",
                  "weighted_value", "days_in_stage", "is_stale", "is_radio_silent", "url"]
        read_only_fields = fields
        extra_kwargs = {"position": {"help_text": "Sort key in its stage's column on the board, lower first, with gaps "
                                                 "(open deals). A move takes an index instead."}}

    def get_days_in_stage(self, deal: Deal) -> int | None:
        """Whole days since an open deal entered its stage; null for won and lost deals."""
        if deal.status != Deal.Status.OPEN or deal.stage_entered_at is None:
            return None
        now = self.context.get("now") or timezone.now()
        return max(0, (now - deal.stage_entered_at).days)


@extend_schema_field(OpenApiTypes.INT)
class DealOwnerField(serializers.PrimaryKeyRelatedField):
    """An active user the caller may give deals to (pipelines.selectors.deal_owners_for)."""

    default_error_messages = {
        "does_not_exist": "User {pk_value} is not someone you may give deals to: yourself, or, for managers, a "
                          "member of your team (admins: any active user).",
        "incorrect_type": "Give the user's id (a number).",
    }

    def get_queryset(self):
        return deal_owners_for(self.context["request"].user)


class StageField(serializers.PrimaryKeyRelatedField):
    default_error_messages = {"does_not_exist": "There is no stage with id {pk_value}.",
                              "incorrect_type": "Give the stage's id (a number)."}

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Stage.objects.all())
        super().__init__(**kwargs)


def _contact_field(**kwargs):
    return VisibleRelatedField(queryset=Contact.objects.all(), what="contact", **kwargs)


class DealFieldsSerializer(StrictSerializer):
    """What a deal's create and update share."""

    title = serializers.CharField(max_length=200)
    value = serializers.DecimalField(**MONEY, min_value=0, required=False,
                                     help_text="A decimal string such as \"1200.00\" (a number works too); 0 or more.")
    currency = serializers.CharField(required=False, help_text="ISO 4217 code, e.g. USD or EUR (USD by default).")
    contact = _contact_field(required=False, allow_null=True, help_text="The primary contact's id.")
    other_contacts = _contact_field(many=True, required=False, help_text="Ids of more contacts involved; on update "
                                                                          "the list replaces them.")
    account = VisibleRelatedField(queryset=Account.objects.all(), what="account", required=False, allow_null=True,
                                  help_text="The account's id; the contact's account when left out on create.")
    owner = DealOwnerField(required=False, allow_null=True,
                           help_text="A user's id, or null for unassigned. Sales reps creating a deal without an "
                                     "owner own it.")
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    budget = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True,
                                      help_text="BANT: what the buyer can spend.")
    authority = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                      help_text="BANT: who decides.")
    need = serializers.CharField(required=False, allow_blank=True, help_text="BANT: the problem the deal solves.")
    timeline = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                     help_text="BANT: when they need it solved.")
    fields = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False,
                                   help_text="Custom field values by key, checked by the field's type; null clears "
                                             "one, keys left out keep theirs.")

    def validate_currency(self, code: str) -> str:
        code = code.strip().upper()
        if code not in CURRENCIES:
            raise serializers.ValidationError(f"“{code}” is not an ISO 4217 currency code, such as USD or EUR.")
        return code


READ_ONLY = ("id", "created_at", "stage_entered_at", "closed_at", "last_activity_at", "weighted_value",
             "days_in_stage", "is_stale", "is_radio_silent", "url")


class DealCreateSerializer(DealFieldsSerializer):
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(), required=False,
        error_messages={"does_not_exist": "There is no pipeline with id {pk_value}."},
        help_text="The pipeline's id; the stage's pipeline when left out.")
    stage = StageField(required=False, help_text="A stage of the pipeline; its first stage when left out.")
    refused = {
        **dict.fromkeys(READ_ONLY, "Read-only."),
        "status": "A new deal is open; close it with POST /api/v1/deals/{id}/won/ or /lost/.",
        "lost_reason": "A new deal is open; POST /api/v1/deals/{id}/lost/ gives a reason.",
        "position": "A new deal goes last in its stage; POST /api/v1/deals/{id}/move/ puts it elsewhere.",
    }

    def validate(self, attrs):
        pipeline, stage = attrs.get("pipeline"), attrs.get("stage")
        if pipeline is None and stage is None:
            raise serializers.ValidationError({"pipeline": ["Give the deal's pipeline (or a stage)."]})
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            raise serializers.ValidationError({"stage": ["That stage belongs to another pipeline."]})
        attrs["pipeline"] = pipeline or stage.pipeline
        return attrs


class DealUpdateSerializer(DealFieldsSerializer):
    refused = {
        **dict.fromkeys(READ_ONLY, "Read-only."),
        "stage": "Move a deal with POST /api/v1/deals/{id}/move/.",
        "position": "Move a deal with POST /api/v1/deals/{id}/move/.",
        "pipeline": "A deal stays in its pipeline; create it again in the other one.",
        "status": "Close or reopen a deal with POST /api/v1/deals/{id}/won/, /lost/ or /reopen/.",
        "lost_reason": "Give the reason with POST /api/v1/deals/{id}/lost/.",
    }


class DealMoveSerializer(StrictSerializer):
    stage = StageField(help_text="A stage of the deal's pipeline (its own, to reorder within the column).")
    position = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, required=False,
        help_text="Place in the column, 0 first; at most the number of other open deals there. "
                  "Left out: last.")


class DealLostSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=100, help_text="A lost reason's id or name, any case (GET /api/v1/lost-reasons/).",
        error_messages={"required": "Say why the deal was lost: a lost reason's id or name.",
                        "blank": "Say why the deal was lost: a lost reason's id or name.",
                        "null": "Say why the deal was lost: a lost reason's id or name."})


class DealReopenSerializer(StrictSerializer):
    stage = StageField(required=False, help_text="A stage of the deal's pipeline; the one it closed in when left "
                                                 "out.")


class StayStageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DealHistorySerializer(serializers.ModelSerializer):
    stage = StayStageSerializer(read_only=True)
    moved_by = UserRefSerializer(allow_null=True, read_only=True, help_text="Who moved it there.")
    days = serializers.SerializerMethodField()

    class Meta:
        model = DealStageHistory
        fields = ["id", "stage", "entered_at", "exited_at", "moved_by", "days"]

    @extend_schema_field(serializers.FloatField(help_text="Days of the stay, to 2 decimals; still running when "
                                                          "exited_at is null."))
    def get_days(self, stay: DealStageHistory) -> float:
        end = stay.exited_at or self.context.get("now") or timezone.now()
        return round((end - stay.entered_at).total_seconds() / 86400, 2)
