from django.contrib import admin
from django.urls import include, path

from contacts.urls import (
    leadforms_public_urlpatterns,  # issue #5, public side
    tracking_urlpatterns,
)
from contacts.urls import settings_urlpatterns as contacts_settings_urlpatterns
from contacts.views.leadforms import urlpatterns as leadforms_urlpatterns  # issue #5
from lifecycle import stage_views, views
from pipelines.urls import settings_urlpatterns as pipelines_settings_urlpatterns

# The customer lifecycle's pages, in the "lifecycle" namespace.
lifecycle_patterns = [
    path("reports/", views.reports, name="reports"),
    path("settings/lifecycle-stages/", stage_views.stage_settings, name="stage_settings"),
    path("settings/lifecycle-stages/sets/<int:pk>/activate/", stage_views.stage_set_activate,
         name="stage_set_activate"),
    path("settings/lifecycle-stages/sets/<int:pk>/stages/", stage_views.stage_add, name="stage_add"),
    path("settings/lifecycle-stages/stages/<int:pk>/", stage_views.stage_row, name="stage_row"),
    path("settings/lifecycle-stages/stages/<int:pk>/edit/", stage_views.stage_edit, name="stage_edit"),
    path("settings/lifecycle-stages/stages/<int:pk>/move/", stage_views.stage_move, name="stage_move"),
    path("settings/lifecycle-stages/stages/<int:pk>/delete/", stage_views.stage_delete, name="stage_delete"),
]

urlpatterns = [
    # The public endpoints first: /t/collect takes thousands of requests a second, and Django tries the patterns in
    # order (resolving it after all the others cost about 4x as long).
    path("", include(tracking_urlpatterns)),
    path("", include(leadforms_public_urlpatterns)),  # lead forms, public side: /f/ (issue #5)
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("", include((lifecycle_patterns, "lifecycle"))),
    path("", include("users.urls")),
    path("contacts/", include("contacts.urls")),
    path("forms/", include((leadforms_urlpatterns, "leadforms"))),  # lead-capture forms, marketer side (issue #5)
    path("settings/", include(contacts_settings_urlpatterns)),
    path("settings/", include(pipelines_settings_urlpatterns)),
    path("deals/", include("pipelines.urls")),
    path("automations/", include("automations.urls")),
    path("scoring/", include("scoring.urls")),
    path("email/", include("messaging.urls")),
    path("api/", include("lifecycle.api.urls")),
    path("admin/", admin.site.urls),
]
