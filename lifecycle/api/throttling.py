from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from users.models import ApiKey

__all__ = ["ApiKeyRateThrottle"]


class ApiKeyRateThrottle(SimpleRateThrottle):
    """A request budget per API key (or per user for browser sessions), counted in Redis.

    Over budget, the API answers 429 with a Retry-After header (see lifecycle.api.errors).
    The rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] (env API_RATE_LIMIT).
    """

    scope = "api_key"

    def get_rate(self) -> str | None:
        # SimpleRateThrottle copies the rates once, at import; reading them per request lets a
        # settings change (and a test's override) take effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
