from django.conf import settings

from lifecycle.navigation import NAV


def navigation(request) -> dict:
    section = request.path.strip("/").split("/", 1)[0]
    return {"nav": NAV, "nav_section": section, "site_url": settings.SITE_URL}
