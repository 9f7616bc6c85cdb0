from django.contrib.auth.models import AbstractUser
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey

from users.roles import Role

__all__ = ["ApiKey", "Team", "User"]


class Team(models.Model):
    """A sales or marketing team. Managers see the work of their team's members."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in. Their role comes from their group (see users.roles)."""

    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role(self) -> Role | None:
        """The user's role: superusers are admins; otherwise the highest role group they are in."""
        if self.is_superuser:
            return Role.ADMIN
        # Asked many times a request (permissions, visible_to, templates): look the groups up once per
        # instance, like Django's own permission cache. request.user is a new instance every request.
        if not hasattr(self, "_role_cache"):
            names = {g.name for g in self.groups.all()}
            self._role_cache = next((role for role in Role if role.label in names), None)
        return self._role_cache

    @property
    def initials(self) -> str:
        name = self.get_full_name() or self.username
        return "".join(part[0] for part in name.split()[:2]).upper()


class ApiKey(AbstractAPIKey):
    """An API key owned by a user. Only a hash is stored; the key is shown once."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created"]

    def allows(self, method: str) -> bool:
        """Read keys may only use safe methods; write keys may do anything their user may."""
        return self.scope == self.Scope.WRITE or method in ("GET", "HEAD", "OPTIONS")
