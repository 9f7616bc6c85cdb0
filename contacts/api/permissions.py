"""Who may call the contacts API: the role's model permissions, per action where the method says too little.

`HasRolePermission` maps a method to a permission (DELETE → delete_contact). Some actions need
another one: removing a tag from a contact is a DELETE, but it changes the contact, which sales
reps may do. A view names those in `action_permissions`:

    action_permissions = {"untag": ("contacts.change_contact",),
                          "subscriptions": {"GET": ("contacts.view_subscription",),
                                            "POST": ("contacts.change_contact",)}}

`CatalogPermission` adds contacts.catalog's rule for tags, lists and custom fields: the role
groups give sales reps add/change on every contacts model, but only some roles manage the catalog.
"""

from rest_framework import permissions

from contacts.catalog import MANAGING_ROLES, can_manage
from users.api.permissions import HasRolePermission, HasScope

__all__ = ["CatalogPermission", "RolePermission"]

_ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


def _needed(view, method: str) -> tuple[str, ...] | None:
    needed = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
    if isinstance(needed, dict):
        return needed.get(method, ())
    return needed


class RolePermission(HasRolePermission):
    """HasRolePermission, or the permissions the view's `action_permissions` names for this action."""

    def has_permission(self, request, view) -> bool:
        needed = _needed(view, request.method)
        if needed is None:
            return super().has_permission(request, view)
        return HasScope().has_permission(request, view) and request.user.has_perms(needed)


class CatalogPermission(RolePermission):
    """RolePermission; and writes on tags, lists or custom fields only for the roles that manage them."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in permissions.SAFE_METHODS or _needed(view, request.method) is not None:
            return True
        model = view.queryset.model
        if can_manage(request.user, model, _ACTIONS.get(request.method, "change")):
            return True
        roles = [f"{role.label.lower()}s" for role in MANAGING_ROLES[model]]
        who = roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} and {roles[-1]}"
        self.message = f"Only {who} may change {model._meta.verbose_name_plural}."
        return False
