"""Filters for user-side lists, shared by the HTML lists and the API."""

import django_filters

from users.models import Team

__all__ = ["TeamFilterSet"]


class TeamFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="iexact", help_text="The exact name, in any case.")
    name__icontains = django_filters.CharFilter(field_name="name", lookup_expr="icontains",
                                                help_text="Part of the name, in any case.")

    class Meta:
        model = Team
        fields = ["name"]
