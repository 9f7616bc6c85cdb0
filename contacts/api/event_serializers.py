"""How events are sent to the ingestion API and what it answers.

Event items are checked by contacts.ingest.EventInput (thousands a request, so no serializer per
item); `IngestEventSerializer` only documents an item in the OpenAPI schema.
"""

from rest_framework import serializers

from contacts.api.serializers import EventSerializer
from contacts.ingest import MAX_CLIENT_ID, MAX_EVENTS, MAX_FUTURE, MAX_PROPERTIES_BYTES
from contacts.models import Channel, Event

__all__ = ["IngestBatchSerializer", "IngestBatchResultSerializer", "IngestEventSerializer", "IngestedEventSerializer",
           "EventTypeSerializer"]


class IngestEventSerializer(serializers.Serializer):
    """Documents one event; contacts.ingest.EventInput checks it. Unknown keys are refused."""

    id = serializers.CharField(
        required=False, max_length=MAX_CLIENT_ID,
        help_text="Your id for the event, unique across all events (a UUID, or e.g. `order-1042-paid`). "
                  "An event whose id is already stored is not stored again: sending it twice is safe.")
    contact = serializers.IntegerField(required=False, help_text="The contact's id. Send this or `email`.")
    email = serializers.EmailField(
        required=False, help_text="The contact's email, any case. An unknown email creates the contact when you "
                                  "may add contacts; otherwise it is an error on `email`.")
    type = serializers.CharField(
        max_length=64, help_text="A built-in type (see GET /api/v1/event-types/) or your own: a letter, then "
                                 "letters, digits, spaces and `_ . : -`. A new type is registered on first use.")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, help_text="Where it happened.")
    properties = serializers.DictField(
        required=False, help_text=f"Anything about the event, as a JSON object of at most "
                                  f"{MAX_PROPERTIES_BYTES // 1024} KiB.")
    occurred_at = serializers.DateTimeField(
        required=False, help_text=f"When it happened, ISO 8601 (UTC when without an offset); now when left out. "
                                  f"At most {int(MAX_FUTURE.total_seconds() // 60)} minutes ahead of the server's "
                                  f"clock.")
    source = serializers.CharField(required=False, max_length=32,
                                   help_text="What sent it, e.g. `shopify`; `api` when left out.")


class IngestedEventSerializer(EventSerializer):
    client_id = serializers.CharField(allow_null=True, help_text="The `id` you sent, if any.")

    class Meta(EventSerializer.Meta):
        model = Event
        fields = ["id", "client_id", "contact", "type", "type_label", "channel", "channel_label", "properties",
                  "occurred_at", "source", "created_at"]


class EventItemsField(serializers.ListField):
    """A list of 1 to MAX_EVENTS events. Only the list is checked here; each item is checked on its own."""

    def to_internal_value(self, data):
        if isinstance(data, str | dict) or not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        if not data:
            self.fail("empty")
        if len(data) > MAX_EVENTS:
            raise serializers.ValidationError(
                f"Send at most {MAX_EVENTS:,} events in one request; this one has {len(data):,}. "
                f"Split them into several requests.")
        return data


class IngestBatchSerializer(serializers.Serializer):
    events = EventItemsField(child=IngestEventSerializer(), min_length=1, max_length=MAX_EVENTS,
                             error_messages={"empty": "Send at least one event."},
                             help_text=f"1 to {MAX_EVENTS:,} events.")


class EventCountsSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Items in the request.")
    created = serializers.IntegerField(help_text="Events stored now.")
    duplicates = serializers.IntegerField(help_text="Items whose `id` was already stored, or sent earlier in the "
                                                    "request: not stored again, and not an error.")
    failed = serializers.IntegerField(help_text="Items not stored because of `errors`.")
    contacts_created = serializers.IntegerField(help_text="New contacts made for unknown emails.")


class EventErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `events`, from 0.")
    id = serializers.CharField(allow_null=True, help_text="The item's `id`, if it had one.")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Field name to messages.")


class IngestBatchResultSerializer(serializers.Serializer):
    counts = EventCountsSerializer()
    errors = EventErrorSerializer(many=True, help_text="One per failed item, in the request's order.")


class EventTypeSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="What `type` says on an event.")
    label = serializers.CharField(help_text="How the UI names it.")
    builtin = serializers.BooleanField(help_text="Recorded by Lifecycle itself; false for types integrations sent.")
    first_seen_at = serializers.DateTimeField(allow_null=True, help_text="When a custom type was first sent; null "
                                                                         "for built-in types.")
