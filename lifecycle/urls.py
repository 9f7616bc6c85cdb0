from django.contrib import admin
from django.urls import include, path

from lifecycle import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("reports/", include(([path("", views.reports, name="reports")], "lifecycle"))),
    path("", include("users.urls")),
    path("contacts/", include("contacts.urls")),
    path("deals/", include("pipelines.urls")),
    path("automations/", include("automations.urls")),
    path("scoring/", include("scoring.urls")),
    path("email/", include("messaging.urls")),
    path("api/", include("lifecycle.api.urls")),
    path("admin/", admin.site.urls),
]
