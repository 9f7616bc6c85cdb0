"""Writes for users, teams and API keys. Views, the API and commands all come through here."""

import logging

from django.core.exceptions import PermissionDenied

from users.models import ApiKey, Team, User
from users.roles import Role

__all__ = ["api_key_create", "api_key_revoke", "team_create", "team_delete", "team_update"]

logger = logging.getLogger(__name__)


def api_key_create(*, user: User, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key for `user` and return it with the raw key.

    Only a hash is stored, so the raw key returned here is the one and only time anyone sees it.
    """
    api_key = ApiKey(user=user, name=name, scope=scope)
    raw_key = ApiKey.objects.assign_key(api_key)
    api_key.full_clean()
    api_key.save()
    logger.info("api key created", extra={"api_key_prefix": api_key.prefix, "user_id": user.pk, "scope": scope})
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey, by: User) -> ApiKey:
    """Revoke a key for good. Its owner and admins may do it; revoking twice changes nothing."""
    if by.pk != api_key.user_id and by.role is not Role.ADMIN:
        raise PermissionDenied("Only the key's owner or an admin may revoke it.")
    if api_key.revoked:
        return api_key
    api_key.revoked = True
    api_key.full_clean()
    api_key.save(update_fields=["revoked"])
    logger.info("api key revoked", extra={"api_key_prefix": api_key.prefix, "by_user_id": by.pk})
    return api_key


def _require_admin(user: User, action: str) -> None:
    if user.role is not Role.ADMIN:
        raise PermissionDenied(f"Only admins may {action} teams.")


def team_create(*, name: str, by: User) -> Team:
    _require_admin(by, "create")
    team = Team(name=name)
    team.full_clean()
    team.save()
    return team


def team_update(*, team: Team, by: User, name: str | None = None) -> Team:
    _require_admin(by, "change")
    if name is not None:
        team.name = name
    team.full_clean()
    team.save()
    return team


def team_delete(*, team: Team, by: User) -> None:
    """Delete a team; its members stay, without a team."""
    _require_admin(by, "delete")
    team.delete()
