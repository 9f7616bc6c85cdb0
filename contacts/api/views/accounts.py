"""/api/v1/accounts/: companies, with their parent and owner. Writes go through contacts.accounts.

Rows follow the owner like contacts do (users.permissions.visible_to); the counts are of the
contacts and open deals the user may see.
"""

import django_filters
from django.core.validators import RegexValidator
from django.db.models.functions import Lower
from drf_spectacular.utils import extend_schema, extend_schema_view

from contacts.accounts import account_create, account_delete, account_update, accounts_with_counts
from contacts.api.serializers import AccountSerializer, AccountWriteSerializer
from contacts.api.views.base import ResourceViewSet
from contacts.models import Account

__all__ = ["AccountViewSet", "owner_filter"]

OWNER_VALUES = RegexValidator(r"^(\d+|me|none)$", "Give a user id, me or none.")


def owner_filter(queryset, field: str, value: str, user):
    """`field` is user `value` (an id), `me` or `none`."""
    value = value.strip().lower()
    if value == "none":
        return queryset.filter(**{f"{field}__isnull": True})
    if value == "me":
        return queryset.filter(**{field: user.pk if user and user.is_authenticated else None})
    return queryset.filter(**{field: int(value)})


class AccountFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", help_text="Part of the name, any case.")
    industry = django_filters.CharFilter(field_name="industry", lookup_expr="iexact", help_text="Any case.")
    owner = django_filters.CharFilter(method="filter_owner", validators=[OWNER_VALUES],
                                      help_text="A user id, `me` or `none`.")
    parent = django_filters.CharFilter(method="filter_parent", help_text="An account id, or `none` for top-level.",
                                       validators=[RegexValidator(r"^(\d+|none)$", "Give an account id or none.")])

    class Meta:
        model = Account
        fields = ["q", "industry", "owner", "parent"]

    def filter_q(self, queryset, name, value):
        text = value.strip().lower()
        # lower(name) LIKE '%text%' is what the account_name_trgm index serves.
        return queryset.annotate(lname=Lower("name")).filter(lname__contains=text) if text else queryset

    def filter_owner(self, queryset, name, value):
        return owner_filter(queryset, "owner", value, getattr(self.request, "user", None))

    def filter_parent(self, queryset, name, value):
        if value == "none":
            return queryset.filter(parent__isnull=True)
        return queryset.filter(parent_id=int(value))


@extend_schema_view(
    list=extend_schema(summary="List accounts"),
    retrieve=extend_schema(summary="Get an account"),
    create=extend_schema(summary="Create an account", request=AccountWriteSerializer,
                         responses={201: AccountSerializer}),
    partial_update=extend_schema(summary="Change an account", request=AccountWriteSerializer,
                                 responses=AccountSerializer,
                                 description="A parent that would put the account under itself is refused."),
    destroy=extend_schema(summary="Delete an account (admins, managers, marketers)",
                          description="Its contacts and deals stay, without an account; its sub-accounts "
                                      "lose their parent."),
)
@extend_schema(tags=["accounts"])
class AccountViewSet(ResourceViewSet):
    """Companies, in a hierarchy through `parent`."""

    serializer_class = AccountSerializer
    input_serializer_class = AccountWriteSerializer
    filterset_class = AccountFilterSet
    ordering = ("name", "id")

    def get_queryset(self):
        return accounts_with_counts(self.request.user).select_related("parent", "owner")

    def create_object(self, data):
        return account_create(user=self.request.user, **data)

    def update_object(self, account, data):
        return account_update(account=account, user=self.request.user, **data)

    def delete_object(self, account):
        account_delete(account=account, user=self.request.user, actor="api")
