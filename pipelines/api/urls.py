"""/api/v1/ routes of the pipelines app (URL names "pipelines-api:<basename>-<action>")."""

from rest_framework.routers import SimpleRouter

app_name = "pipelines-api"

router = SimpleRouter()

urlpatterns = [*router.urls]
