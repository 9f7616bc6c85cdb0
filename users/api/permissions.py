from rest_framework import permissions

from users.models import ApiKey
from users.permissions import has_role
from users.roles import Role

__all__ = ["AdminWritesOnly", "HasRolePermission", "HasScope"]


class HasScope(permissions.BasePermission):
    """Authenticated, and a read-only API key may only read."""

    message = "This API key is read-only; use a key with the write scope."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if isinstance(request.auth, ApiKey):
            return request.auth.allows(request.method)
        return True


class HasRolePermission(permissions.DjangoModelPermissions):
    """HasScope, plus the model permission the user's role grants for this method."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        return HasScope().has_permission(request, view) and super().has_permission(request, view)


class AdminWritesOnly(permissions.BasePermission):
    """Anyone signed in may read; only admins may write. Use after HasScope."""

    message = "Only admins may change this."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or has_role(request.user, Role.ADMIN)
