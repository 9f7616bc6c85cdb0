"""The contact filters, shared by the contact list page, its bulk actions and export, and the API.

Every filter is a query parameter:

    q=ada                 name, email or company contains (trigram indexes on Contact.search and account names)
    tag=vip&tag=trial     carries every one of these tags (names, any case)
    list=3                on this list; with list_status=unsubscribed etc. (default: subscribed)
    stage=4 | stage=Convert & Close | stage=none
    owner=7 | owner=me | owner=none
    status=mql            lead status;  source=form
    account=12
    created_after=2026-01-01&created_before=2026-02-01   (dates, before is exclusive)
    field.industry=SaaS   a custom field equals (multiple choice: contains the option)
    field.revenue__gte=1000   number, money and date fields also take __gt, __gte, __lt, __lte
    field.industry__isnull=true
"""

from __future__ import annotations

from datetime import datetime, time

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.fields import clean_field_value, custom_fields_by_key
from contacts.models import Account, Contact, CustomField, Subscription

__all__ = ["ContactFilterSet", "SORTS", "search_contacts"]

RANGE_TYPES = {CustomField.Type.NUMBER, CustomField.Type.MONEY, CustomField.Type.DATE}
RANGE_LOOKUPS = ("gt", "gte", "lt", "lte")
#: Accounts whose name matches a search, at most: a search for "a" must not turn into a million-id IN list.
MAX_MATCHED_ACCOUNTS = 500

#: Sort keys the list and the API accept: key -> ORDER BY (always ending with a unique column for stable pages).
SORTS = {
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "last_activity": ("last_activity_at", "id"),
    "-last_activity": ("-last_activity_at", "-id"),
    "email": ("email", "id"),
    "-email": ("-email", "-id"),
    "name": ("last_name", "first_name", "id"),
    "-name": ("-last_name", "-first_name", "-id"),
}


def search_contacts(queryset: QuerySet, text: str) -> QuerySet:
    """Contacts whose name or email contains `text`, or whose company's name does (any case)."""
    text = text.strip().lower()
    if not text:
        return queryset
    accounts = Account.objects.annotate(lname=Lower("name"))
    if len(text) < 3:
        # A trigram index cannot find one or two letters anywhere in a string, but it can find a word
        # that starts with them: "an" finds Ana Silva and sam@anvil.example, not Jan.
        match = Q(search__startswith=text) | Q(search__contains=f" {text}")
        accounts = accounts.filter(Q(lname__startswith=text) | Q(lname__contains=f" {text}"))
    else:
        match = Q(search__contains=text)
        accounts = accounts.filter(lname__contains=text)
    account_ids = list(accounts.values_list("pk", flat=True)[:MAX_MATCHED_ACCOUNTS])
    if account_ids:
        match |= Q(account_id__in=account_ids)
    return queryset.filter(match)


class ContactFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search",
                                  help_text="Part of the name, email or company name, in any case.")
    tag = django_filters.MultipleChoiceFilter(method="filter_tag", label="Tags",
                                              help_text="Tag names; the contact must carry all of them.")
    list = django_filters.NumberFilter(method="filter_list", label="List", help_text="A list id.")
    list_status = django_filters.ChoiceFilter(choices=Subscription.Status.choices, method="filter_noop",
                                              label="List status",
                                              help_text="With `list`: the subscription status (default subscribed).")
    stage = django_filters.CharFilter(method="filter_stage", label="Stage",
                                      help_text="A lifecycle stage id or name, or `none`.")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner", help_text="A user id, `me` or `none`.",
                                      validators=[RegexValidator(r"^(\d+|me|none)$", "Give a user id, me or none.")])
    status = django_filters.ChoiceFilter(field_name="lead_status", choices=Contact.LeadStatus.choices,
                                         label="Lead status")
    source = django_filters.ChoiceFilter(choices=Contact.Source.choices)
    account = django_filters.NumberFilter(field_name="account_id", label="Account", help_text="An account id.")
    created_after = django_filters.DateFilter(method="filter_created_after", label="Created from",
                                              help_text="A date, YYYY-MM-DD (inclusive).")
    created_before = django_filters.DateFilter(method="filter_created_before", label="Created before",
                                               help_text="A date, YYYY-MM-DD (exclusive).")

    class Meta:
        model = Contact
        fields: list[str] = []

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        # Any tag name is accepted: unknown names simply match nothing.
        tags = self.data.getlist("tag") if hasattr(self.data, "getlist") else self.data.get("tag") or []
        self.filters["tag"].extra["choices"] = [(name, name) for name in ([tags] if isinstance(tags, str) else tags)]
        self.custom_fields = custom_fields_by_key() if any(str(k).startswith("field.") for k in self.data) else {}

    # --- the fixed filters
    def filter_noop(self, queryset, name, value):
        return queryset

    def filter_q(self, queryset, name, value):
        return search_contacts(queryset, value)

    def filter_tag(self, queryset, name, value: list[str]):  # the hint documents ?tag= in the OpenAPI schema
        from contacts.models import Contact as C
        from contacts.models import Tag

        # Tag ids first (the case-insensitive unique index answers): `EXISTS (... tag_id = 17)` lets the
        # planner use the statistics of tag_id, so a tag on a quarter of a million contacts is not
        # mistaken for a rare one (a join on the tag's name hid that and cost a second at 1M).
        names = {tag.strip().lower() for tag in value}
        ids = dict(Tag.objects.annotate(lname=Lower("name")).filter(lname__in=names).values_list("lname", "pk"))
        for tag in names:
            # An unknown tag matches nothing: no tag has id 0.
            queryset = queryset.filter(Exists(C.tags.through.objects.filter(
                contact_id=OuterRef("pk"), tag_id=ids.get(tag, 0))))
        return queryset

    def filter_list(self, queryset, name, value):
        status = self.form.cleaned_data.get("list_status") or Subscription.Status.SUBSCRIBED
        return queryset.filter(Exists(Subscription.objects.filter(
            contact_id=OuterRef("pk"), list_id=value, status=status)))

    def filter_stage(self, queryset, name, value):
        value = value.strip()
        if value.lower() == "none":
            return queryset.filter(lifecycle_stage__isnull=True)
        if value.isdigit():
            return queryset.filter(lifecycle_stage_id=int(value))
        return queryset.filter(lifecycle_stage__name__iexact=value, lifecycle_stage__stage_set__is_active=True)

    def filter_owner(self, queryset, name, value):
        value = value.strip().lower()
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(owner_id=user.pk if user and user.is_authenticated else None)
        return queryset.filter(owner_id=int(value))

    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=timezone.make_aware(datetime.combine(value, time.min)))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=timezone.make_aware(datetime.combine(value, time.min)))

    # --- custom fields: field.<key>[__lookup]=value
    def is_valid(self) -> bool:
        valid = super().is_valid()
        self.field_filters, errors = self._parse_custom_field_filters()
        for name, message in errors.items():
            self.form.errors[name] = self.form.error_class([message])
        return valid and not errors

    def _parse_custom_field_filters(self) -> tuple[list[Q], dict[str, str]]:
        conditions, errors = [], {}
        for param in self.data:
            if not str(param).startswith("field."):
                continue
            key, _, lookup = param[len("field."):].partition("__")
            value = self.data.get(param)
            field = self.custom_fields.get(key)
            if field is None:
                errors[param] = f"There is no custom field “{key}”."
                continue
            if lookup == "isnull":
                if str(value).lower() not in ("true", "false", "1", "0"):
                    errors[param] = "Use true or false."
                    continue
                missing = Q(fields__has_key=key)
                conditions.append(~missing if str(value).lower() in ("true", "1") else missing)
                continue
            if lookup and (lookup not in RANGE_LOOKUPS or field.type not in RANGE_TYPES):
                allowed = ", ".join(f"__{lk}" for lk in RANGE_LOOKUPS) if field.type in RANGE_TYPES else "none"
                errors[param] = f"Unsupported comparison “{lookup}” for a {field.get_type_display()} field " \
                                f"(allowed: {allowed}, __isnull)."
                continue
            try:
                cleaned = clean_field_value(field, value)
            except ValidationError as error:
                errors[param] = " ".join(error.messages)
                continue
            if lookup:
                conditions.append(Q(**{f"fields__{key}__{lookup}": cleaned}))
            elif field.type == CustomField.Type.MULTI_CHOICE:
                conditions.append(Q(fields__contains={key: cleaned or []}))
            else:
                # Containment uses the GIN jsonb_path_ops index on Contact.fields.
                conditions.append(Q(fields__contains={key: cleaned}))
        return conditions, errors

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        for condition in getattr(self, "field_filters", []):
            queryset = queryset.filter(condition)
        return queryset
