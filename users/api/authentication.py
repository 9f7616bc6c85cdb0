from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from users.models import ApiKey

__all__ = ["ApiKeyAuthentication", "ApiKeyAuthenticationScheme"]


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
        # ApiKey.objects.get_from_key(), in one query with the owner.
        prefix, _, _ = key.partition(".")
        api_key = ApiKey.objects.get_usable_keys().select_related("user").filter(prefix=prefix).first()
        if api_key is None or not api_key.is_valid(key) or api_key.has_expired or not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("This API key is not valid or has been revoked.")
        # At most one write a minute per key: the timestamp is for people, not for auditing.
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ApiKeyAuthentication in the OpenAPI schema as an HTTP Bearer scheme."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key",
            "description": "An API key from Settings → API keys or `manage.py create_api_key`: "
                           "`Authorization: Bearer <key>`. Read keys may only GET.",
        }
