"""/api/v1/tags/, /api/v1/fields/ and /api/v1/lists/: the catalog contacts (and, for custom fields, deals)
are described with.

Everyone with a role reads them. Writes go through contacts.catalog, for the roles that manage
each (tags and lists: admins, managers, marketers; custom fields: admins). Subscribing a contact
to a list changes the contact, so it takes the contact's change permission instead.
"""

import django_filters
from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from contacts.api.permissions import CatalogPermission
from contacts.api.serializers import (
    ContactListSerializer,
    CustomFieldSerializer,
    CustomFieldWriteSerializer,
    SubscriptionSerializer,
    SubscriptionWriteSerializer,
    TagSerializer,
)
from contacts.api.views.base import ResourceViewSet
from contacts.catalog import (
    custom_field_create,
    custom_field_delete,
    custom_field_move,
    custom_field_update,
    list_create,
    list_delete,
    list_update,
    tag_create,
    tag_delete,
    tag_rename,
)
from contacts.models import ContactList, CustomField, Subscription, Tag
from contacts.services import list_subscription_set
from users.permissions import visible_to

__all__ = ["ContactListViewSet", "CustomFieldViewSet", "TagViewSet"]


class TagFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the name, any case.")

    class Meta:
        model = Tag
        fields = ["q"]


@extend_schema_view(
    list=extend_schema(summary="List tags"),
    retrieve=extend_schema(summary="Get a tag"),
    create=extend_schema(summary="Create a tag (admins, managers, marketers)"),
    partial_update=extend_schema(summary="Rename a tag (admins, managers, marketers)"),
    destroy=extend_schema(summary="Delete a tag; contacts lose it (admins, managers, marketers)"),
)
@extend_schema(tags=["tags"])
class TagViewSet(ResourceViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    input_serializer_class = TagSerializer
    filterset_class = TagFilterSet
    permission_classes = [CatalogPermission]
    ordering = ("name", "id")

    def create_object(self, data):
        return tag_create(name=data["name"])

    def update_object(self, tag, data):
        return tag_rename(tag=tag, name=data["name"]) if "name" in data else tag

    def delete_object(self, tag):
        tag_delete(tag=tag)


class CustomFieldFilterSet(django_filters.FilterSet):
    object = django_filters.ChoiceFilter(choices=CustomField.Object.choices,
                                         help_text="Only the fields of contacts, or only those of deals.")

    class Meta:
        model = CustomField
        fields = ["object"]


@extend_schema_view(
    list=extend_schema(summary="List custom fields, in form order (contact fields, then deal fields)"),
    retrieve=extend_schema(summary="Get a custom field"),
    create=extend_schema(summary="Add a custom field (admins)", request=CustomFieldWriteSerializer,
                         responses={201: CustomFieldSerializer}),
    partial_update=extend_schema(summary="Change a custom field (admins)", request=CustomFieldWriteSerializer,
                                 responses=CustomFieldSerializer,
                                 description="The key and the type change only while no contact (or deal) has a "
                                             "value; an option still in use cannot be removed; the object never "
                                             "changes."),
    destroy=extend_schema(summary="Delete a custom field and every contact's (or deal's) value for it (admins)",
                          description="The key is refused at once; the values are removed from contacts (or "
                                      "deals) in the background."),
)
@extend_schema(tags=["custom fields"])
class CustomFieldViewSet(ResourceViewSet):
    """Typed fields admins add to contacts or deals. Values travel in a contact's (or deal's) `fields` object,
    by key."""

    queryset = CustomField.objects.all()
    serializer_class = CustomFieldSerializer
    input_serializer_class = CustomFieldWriteSerializer
    filterset_class = CustomFieldFilterSet
    permission_classes = [CatalogPermission]
    # Each object's fields have their own order; the contacts' come first, as they always did.
    ordering = ("object", "position", "id")

    def create_object(self, data):
        data = {name: value for name, value in data.items() if name != "position"}
        return custom_field_create(**data)

    @transaction.atomic
    def update_object(self, field, data):
        object = data.pop("object", field.object)
        if object != field.object:
            raise ValidationError({"object": [f"A field stays a {field.object} field; create a new {object} field "
                                              f"instead."]})
        position = data.pop("position", None)
        field = custom_field_update(field=field, **data)
        if position is not None:
            custom_field_move(field=field, position=position)
        return field

    def delete_object(self, field):
        custom_field_delete(field=field)


class SubscriptionFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Subscription.Status.choices,
                                                 help_text="Repeat for several.")

    class Meta:
        model = Subscription
        fields = ["status"]


@extend_schema_view(
    list=extend_schema(summary="List mailing lists"),
    retrieve=extend_schema(summary="Get a list"),
    create=extend_schema(summary="Create a list (admins, managers, marketers)"),
    partial_update=extend_schema(summary="Change a list (admins, managers, marketers)"),
    destroy=extend_schema(summary="Delete a list and its subscriptions; the contacts stay "
                                  "(admins, managers, marketers)"),
)
@extend_schema(tags=["lists"])
class ContactListViewSet(ResourceViewSet):
    """Mailing lists. Each contact has at most one subscription to a list, with a status."""

    queryset = ContactList.objects.all()
    serializer_class = ContactListSerializer
    input_serializer_class = ContactListSerializer
    permission_classes = [CatalogPermission]
    ordering = ("name", "id")
    action_orderings = {"subscriptions": ("-changed_at", "-id")}
    action_permissions = {"subscriptions": {"GET": ("contacts.view_subscription",),
                                            "HEAD": ("contacts.view_subscription",),
                                            "POST": ("contacts.change_contact",)}}

    def create_object(self, data):
        return list_create(**data)

    def update_object(self, contact_list, data):
        return list_update(contact_list=contact_list, **data)

    def delete_object(self, contact_list):
        list_delete(contact_list=contact_list)

    @extend_schema(methods=["GET"], summary="List a list's subscriptions, newest change first",
                   responses=SubscriptionSerializer(many=True), parameters=[
                       OpenApiParameter("status", OpenApiTypes.STR, many=True, explode=True,
                                        enum=Subscription.Status.values, description="Repeat for several.")])
    @extend_schema(methods=["POST"], summary="Set a contact's subscription status on the list",
                   request=SubscriptionWriteSerializer, responses=SubscriptionSerializer,
                   description="Creates the subscription or changes its status; the change is recorded on "
                               "the contact's timeline. Setting the status it already has changes nothing.")
    @action(detail=True, methods=["get", "post"], serializer_class=SubscriptionSerializer, filter_backends=[])
    def subscriptions(self, request, pk=None):
        contact_list = self.get_object()
        if request.method == "POST":
            data = self.parse(request.data, serializer_class=SubscriptionWriteSerializer)
            list_subscription_set(contact=data["contact"], contact_list=contact_list, status=data["status"],
                                  source="api")
            subscription = Subscription.objects.select_related("contact").get(contact=data["contact"],
                                                                              list=contact_list)
            return Response(SubscriptionSerializer(subscription).data)
        subscriptions = visible_to(Subscription.objects.filter(list=contact_list).select_related("contact"),
                                   request.user, owner_field="contact__owner")
        page = self.paginate_queryset(self.filtered(subscriptions, SubscriptionFilterSet))
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)
