"""The four roles, as Django groups with permissions, kept in sync after every migrate."""

from enum import Enum

__all__ = ["ROLE_PERMISSIONS", "Role", "sync_role_groups"]


class Role(Enum):
    # Ordered from most to least powerful: a user in two groups gets the first.
    ADMIN = "Admin"
    MANAGER = "Manager"
    MARKETER = "Marketer"
    SALES_REP = "Sales rep"

    @property
    def label(self) -> str:
        return self.value

    @property
    def slug(self) -> str:
        return self.name.lower()


# app label -> actions, per role. "*" means every model permission of that app.
_ALL = ("add", "change", "delete", "view")
_APPS = ("users", "lifecycle", "contacts", "pipelines", "scoring", "automations", "messaging")
ROLE_PERMISSIONS: dict[Role, dict[str, tuple[str, ...]]] = {
    Role.ADMIN: dict.fromkeys(_APPS, _ALL),
    Role.MANAGER: {
        "lifecycle": ("view",),
        "contacts": _ALL,
        "pipelines": _ALL,
        "scoring": ("view",),
        "automations": ("view",),
        "messaging": ("view",),
        "users": ("view",),
    },
    Role.MARKETER: {
        "lifecycle": ("view",),
        "contacts": _ALL,
        "pipelines": ("view",),
        "scoring": _ALL,
        "automations": _ALL,
        "messaging": _ALL,
    },
    Role.SALES_REP: {
        "lifecycle": ("view",),
        "contacts": ("add", "change", "view"),
        "pipelines": ("add", "change", "view"),
        "scoring": ("view",),
        "messaging": ("view",),
    },
}


def sync_role_groups(**_kwargs) -> None:
    """Create one group per role and give it exactly its permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role, apps in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.label)
        wanted = [
            perm
            for perm in Permission.objects.select_related("content_type").filter(
                content_type__app_label__in=list(apps)
            )
            if perm.codename.split("_", 1)[0] in apps[perm.content_type.app_label]
        ]
        group.permissions.set(wanted)
