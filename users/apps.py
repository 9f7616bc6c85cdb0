from django.apps import AppConfig
from django.db.models.signals import post_migrate


class UsersConfig(AppConfig):
    name = "users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from users.roles import sync_role_groups

        # Runs after each migrate, so the permissions of models added later join their roles.
        post_migrate.connect(sync_role_groups, dispatch_uid="users.sync_role_groups")
