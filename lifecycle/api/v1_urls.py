"""Every resource under /api/v1/. Each app contributes its own api/urls.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("users.api.urls")),
    path("lifecycle/", include("lifecycle.api.stage_urls")),
    path("", include("contacts.api.urls")),
    path("", include("pipelines.api.urls")),
]
