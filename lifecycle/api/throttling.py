from rest_framework.throttling import SimpleRateThrottle

from users.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """A request budget per API key (or per user for browser sessions), counted in Redis."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
