from django.utils import timezone
from rest_framework import authentication, exceptions

from users.models import ApiKey


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>`. request.user is the key's owner; request.auth the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        if keyword != self.keyword:
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("The Authorization header has no key after 'Bearer'.")
        try:
            api_key = ApiKey.objects.select_related("user").get_from_key(key)
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.") from None
        if api_key.has_expired or not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.")
        # At most one write a minute per key: the timestamp is for people, not for auditing.
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return self.keyword
