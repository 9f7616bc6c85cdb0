"""How contacts and what hangs off them read and write in the API.

Contact input is checked by contacts.inputs.ContactInput, the one checker the UI and imports use
too; `ContactWriteSerializer` only documents that input in the OpenAPI schema. The other
resources parse their input here and leave the rules (unique names, loops in the account tree,
who may do what) to their services.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from contacts.models import Account, Contact, ContactList, CustomField, Event, Note, Subscription, Tag, Task
from contacts.timeline import channel_label, type_label
from lifecycle.models import StageTransition
from pipelines.models import Deal
from users.models import User
from users.permissions import visible_to

__all__ = [
    "MAX_BULK_ITEMS", "RESULT_STATUSES", "AccountSerializer", "AccountWriteSerializer", "BulkUpsertRequestSerializer",
    "BulkUpsertResponseSerializer", "ContactListSerializer", "ContactSerializer", "ContactWriteSerializer",
    "CustomFieldSerializer", "CustomFieldWriteSerializer", "EventSerializer", "NoteSerializer", "NoteWriteSerializer",
    "StageMoveResponseSerializer", "StageMoveSerializer", "SubscriptionSerializer", "SubscriptionWriteSerializer",
    "TagNamesSerializer", "TagSerializer", "TaskSerializer", "TaskWriteSerializer",
]

#: Contacts in one bulk-upsert request, at most.
MAX_BULK_ITEMS = 1_000


# --- References to other rows: {id, name} -------------------------------------------------------

class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class AccountRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StageRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ContactRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(source="full_name")


class DealRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """An id among the rows the request's user may see and work on (users.permissions.visible_to)."""

    def __init__(self, *, owner_field: str = "owner", what: str, **kwargs):
        self.owner_field = owner_field
        kwargs.setdefault("error_messages", {
            "does_not_exist": f"There is no {what} with id {{pk_value}}, or it is not yours to see.",
            "incorrect_type": f"Give the {what}'s id (a number).",
        })
        super().__init__(**kwargs)

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.context["request"].user, owner_field=self.owner_field)


class ActiveUserField(serializers.PrimaryKeyRelatedField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.filter(is_active=True))
        kwargs.setdefault("error_messages", {"does_not_exist": "There is no active user with id {pk_value}.",
                                             "incorrect_type": "Give the user's id (a number)."})
        super().__init__(**kwargs)


# --- Contacts -----------------------------------------------------------------------------------

class ContactSerializer(serializers.ModelSerializer):
    """A contact read through ContactViewSet.with_relations (which provides `tag_names`)."""

    account = AccountRefSerializer(allow_null=True, read_only=True)
    owner = UserRefSerializer(allow_null=True, read_only=True)
    stage = StageRefSerializer(source="lifecycle_stage", allow_null=True, read_only=True,
                               help_text="The contact's lifecycle stage.")
    fields = serializers.DictField(child=serializers.JSONField(), read_only=True,
                                   help_text="Custom field values by key (see /api/v1/fields/).")
    tags = serializers.ListField(child=serializers.CharField(), source="tag_names", read_only=True,
                                 help_text="Tag names, in alphabetical order.")
    url = serializers.HyperlinkedIdentityField(view_name="contacts-api:contact-detail")

    class Meta:
        model = Contact
        fields = ["id", "email", "first_name", "last_name", "phone", "title", "account", "owner", "stage",
                  "lead_status", "source", "source_detail", "fields", "tags", "created_at", "updated_at",
                  "last_activity_at", "url"]
        read_only_fields = fields


class ContactWriteSerializer(serializers.Serializer):
    """Documents contact input; contacts.inputs.ContactInput checks it. Unknown keys are refused."""

    email = serializers.EmailField(help_text="Stored lower-cased; unique in any case. Required to create.")
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=50)
    title = serializers.CharField(required=False, allow_blank=True, max_length=150)
    lead_status = serializers.ChoiceField(choices=Contact.LeadStatus.choices, required=False)
    source = serializers.ChoiceField(choices=Contact.Source.choices, required=False,
                                     help_text="Defaults to `api` for contacts created through the API.")
    source_detail = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                          help_text="Which lead magnet, form or file brought the contact in.")
    account = serializers.IntegerField(required=False, allow_null=True, help_text="An account id.")
    company = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                    help_text="Instead of `account`: an account name, matched in any case, "
                                              "created when there is none.")
    owner = serializers.IntegerField(required=False, allow_null=True, help_text="An active user's id.")
    stage = serializers.CharField(required=False, help_text="A lifecycle stage of the active set, by id or name. "
                                                            "A change is recorded as a stage transition.")
    fields = serializers.DictField(child=serializers.JSONField(), required=False,
                                   help_text='Custom field values by key, e.g. {"industry": "SaaS"}; checked by '
                                             'the field\'s type. null clears a value; keys left out are kept.')
    tags = serializers.ListField(child=serializers.CharField(), required=False,
                                 help_text="Tag names; each must exist (POST /api/v1/tags/). On PATCH the list "
                                           "replaces the contact's tags; an upsert only adds tags.")


class ContactItemsField(serializers.ListField):
    """A list of up to MAX_BULK_ITEMS contacts. Only the list is checked here; each item gets its own result."""

    def to_internal_value(self, data):
        if isinstance(data, str | dict) or not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        if len(data) > MAX_BULK_ITEMS:
            raise serializers.ValidationError(
                f"Send at most {MAX_BULK_ITEMS:,} contacts in one request; this one has {len(data):,}. "
                f"Split them into several requests.")
        return data


class BulkUpsertRequestSerializer(serializers.Serializer):
    contacts = ContactItemsField(
        child=ContactWriteSerializer(), min_length=1, max_length=MAX_BULK_ITEMS,
        error_messages={"empty": "Send at least one contact."},
        help_text=f"1 to {MAX_BULK_ITEMS:,} contacts, matched by email: created when new, updated otherwise.")


RESULT_STATUSES = ("created", "updated", "unchanged", "error")


class BulkUpsertResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `contacts`, from 0.")
    status = serializers.ChoiceField(choices=RESULT_STATUSES,
                                     help_text="`unchanged`: the contact already had these values.")
    id = serializers.IntegerField(allow_null=True, help_text="The contact's id; null when the item failed.")
    email = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Field name to messages; empty unless `status` is `error`.")


class BulkUpsertCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    error = serializers.IntegerField()


class BulkUpsertResponseSerializer(serializers.Serializer):
    results = BulkUpsertResultSerializer(many=True, help_text="One per item, in the request's order.")
    counts = BulkUpsertCountsSerializer()


class TagNamesSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False,
                                 help_text="Names of existing tags, any case.")


class StageMoveSerializer(serializers.Serializer):
    stage = serializers.CharField(help_text="A lifecycle stage of the active set, by id or name.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="",
                                   help_text="Why; shown on the timeline.")


class TransitionSerializer(serializers.ModelSerializer):
    to = StageRefSerializer(source="to_stage")

    class Meta:
        model = StageTransition
        fields = ["id", "to", "direction", "actor", "reason", "occurred_at"]

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields = super().get_fields()
        return {"id": fields.pop("id"), "from": StageRefSerializer(source="from_stage", allow_null=True), **fields}


class StageMoveResponseSerializer(serializers.Serializer):
    transition = TransitionSerializer(allow_null=True, help_text="null when the contact already was in that stage.")
    contact = ContactSerializer()


class EventSerializer(serializers.ModelSerializer):
    type_label = serializers.SerializerMethodField()
    channel_label = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "type", "type_label", "channel", "channel_label", "properties", "occurred_at", "source"]

    def get_type_label(self, event: Event) -> str:
        return type_label(event.type)

    def get_channel_label(self, event: Event) -> str:
        return channel_label(event.channel)


# --- Lists and subscriptions -------------------------------------------------------------------

class ContactListSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, help_text="Unique, in any case.")
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    double_opt_in = serializers.BooleanField(required=False, help_text="New subscribers confirm by email first.")

    class Meta:
        model = ContactList
        fields = ["id", "name", "description", "double_opt_in", "created_at"]
        read_only_fields = ["id", "created_at"]


class SubscriptionSerializer(serializers.ModelSerializer):
    contact = ContactRefSerializer()

    class Meta:
        model = Subscription
        fields = ["id", "contact", "list", "status", "changed_at", "source"]


# Documented as the request side of "Subscription", so the schema has one SubscriptionStatusEnum rather than
# two same-named status enums (a collision drf-spectacular warns about, and `check --deploy` fails on).
@extend_schema_serializer(component_name="Subscription")
class SubscriptionWriteSerializer(serializers.Serializer):
    contact = VisibleRelatedField(queryset=Contact.objects.all(), what="contact")
    status = serializers.ChoiceField(choices=Subscription.Status.choices)


# --- Tags and custom fields --------------------------------------------------------------------

class TagSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100, help_text="Unique, in any case.")

    class Meta:
        model = Tag
        fields = ["id", "name", "created_at"]
        read_only_fields = ["id", "created_at"]


class CustomFieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomField
        fields = ["id", "object", "key", "label", "type", "choices", "help_text", "position", "created_at"]


class CustomFieldWriteSerializer(serializers.Serializer):
    object = serializers.ChoiceField(choices=CustomField.Object.choices, required=False,
                                     default=CustomField.Object.CONTACT,
                                     help_text="Whose field it is: contact (values in a contact's `fields`) or deal "
                                               "(in a deal's `fields`). Set on create; it never changes.")
    key = serializers.CharField(required=False, allow_blank=True, max_length=50,
                                help_text="The name in the API, CSV headers and filters, unique among the fields "
                                          "of its object; made from the label when left out. Changes only while no "
                                          "contact (or deal) has a value.")
    label = serializers.CharField(max_length=100)
    type = serializers.ChoiceField(choices=CustomField.Type.choices, required=False, default=CustomField.Type.TEXT)
    choices = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False,
                                    help_text="The options of a choice or multi_choice field.")
    help_text = serializers.CharField(required=False, allow_blank=True, max_length=200)
    position = serializers.IntegerField(required=False, min_value=0,
                                        help_text="Where forms show it, 0 first. On update only.")


# --- Accounts -----------------------------------------------------------------------------------

class AccountSerializer(serializers.ModelSerializer):
    parent = AccountRefSerializer(allow_null=True, read_only=True)
    owner = UserRefSerializer(allow_null=True, read_only=True)
    contact_count = serializers.IntegerField(read_only=True, help_text="Among the contacts you may see.")
    open_deal_count = serializers.IntegerField(read_only=True, help_text="Among the deals you may see.")
    url = serializers.HyperlinkedIdentityField(view_name="contacts-api:account-detail")

    class Meta:
        model = Account
        fields = ["id", "name", "domain", "industry", "size", "annual_revenue", "parent", "owner", "contact_count",
                  "open_deal_count", "created_at", "updated_at", "url"]
        read_only_fields = fields


class AccountWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    domain = serializers.CharField(max_length=253, required=False, allow_blank=True,
                                   help_text="e.g. acme.com; a URL is trimmed to its domain.")
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    size = serializers.ChoiceField(choices=Account.Size.choices, required=False, allow_blank=True)
    annual_revenue = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False,
                                              allow_null=True)
    parent = VisibleRelatedField(queryset=Account.objects.all(), what="account", required=False, allow_null=True,
                                 help_text="The parent account's id.")
    owner = ActiveUserField(required=False, allow_null=True, help_text="An active user's id.")


# --- Notes and tasks ----------------------------------------------------------------------------

class NoteSerializer(serializers.ModelSerializer):
    contact = ContactRefSerializer()
    deal = DealRefSerializer(allow_null=True)
    author = UserRefSerializer(allow_null=True)

    class Meta:
        model = Note
        fields = ["id", "contact", "deal", "author", "body", "created_at"]


class NoteWriteSerializer(serializers.Serializer):
    contact = VisibleRelatedField(queryset=Contact.objects.all(), what="contact")
    deal = VisibleRelatedField(queryset=Deal.objects.all(), what="deal", required=False, allow_null=True)
    body = serializers.CharField(max_length=20_000)


class TaskSerializer(serializers.ModelSerializer):
    assignee = UserRefSerializer(allow_null=True)
    contact = ContactRefSerializer(allow_null=True)
    deal = DealRefSerializer(allow_null=True)
    created_by = UserRefSerializer(allow_null=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = ["id", "kind", "title", "description", "due_at", "assignee", "contact", "deal", "done", "done_at",
                  "overdue", "created_by", "created_at"]

    def get_overdue(self, task: Task) -> bool:
        """Open and past its due time."""
        return not task.done and task.due_at < timezone.now()


class TaskWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Task.Kind.choices, required=False)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    due_at = serializers.DateTimeField()
    assignee = ActiveUserField(required=False, allow_null=True,
                               help_text="An active user's id; you, when left out on create.")
    contact = VisibleRelatedField(queryset=Contact.objects.all(), what="contact", required=False, allow_null=True)
    deal = VisibleRelatedField(queryset=Deal.objects.all(), what="deal", required=False, allow_null=True)
    done = serializers.BooleanField(required=False, help_text="On update: true marks it done, false opens it again.")
