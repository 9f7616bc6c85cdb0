"""Who may see and work on what. One helper, reused by every app's selectors and APIs."""

from django.conf import settings
from django.db.models import Q, QuerySet

from users.roles import Role

__all__ = ["has_role", "may_run_marketing", "visible_to"]


def has_role(user, *roles: Role) -> bool:
    return bool(user and user.is_authenticated and user.role in roles)


def may_run_marketing(user) -> bool:
    """Admins and marketers set up what faces visitors: lead forms, site tracking."""
    return has_role(user, Role.ADMIN, Role.MARKETER)


def visible_to(queryset: QuerySet, user, *, owner_field: str = "owner") -> QuerySet:
    """Rows of an owned model (deals, contacts, tasks) the user may see and work on.

    - admins and marketers: everything
    - managers: rows owned by their team's members, their own, and unassigned ones
    - sales reps: their own and unassigned rows, or everything when REPS_SEE_ALL_DEALS is on
    - anyone else: nothing
    """
    role = user.role if user and user.is_authenticated else None
    if role in (Role.ADMIN, Role.MARKETER):
        return queryset
    unassigned = Q(**{f"{owner_field}__isnull": True})
    mine = Q(**{owner_field: user.pk}) if role else Q(pk__in=[])
    if role is Role.MANAGER:
        team = Q(**{f"{owner_field}__team": user.team_id}) if user.team_id else Q(pk__in=[])
        return queryset.filter(mine | team | unassigned)
    if role is Role.SALES_REP:
        if settings.REPS_SEE_ALL_DEALS:
            return queryset
        return queryset.filter(mine | unassigned)
    return queryset.none()
