"""/api/v1/ routes of the pipelines app (URL names "pipelines-api:<basename>-<action>")."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from pipelines.api.deals import DealViewSet
from pipelines.api.metrics import PipelineMetricsView
from pipelines.api.pipelines import LostReasonViewSet, PipelineViewSet

app_name = "pipelines-api"

router = SimpleRouter()
router.register("pipelines", PipelineViewSet, basename="pipeline")
router.register("lost-reasons", LostReasonViewSet, basename="lost-reason")
router.register("deals", DealViewSet, basename="deal")

urlpatterns = [
    path("pipelines/<int:pk>/metrics/", PipelineMetricsView.as_view(), name="pipeline-metrics"),
    *router.urls,
]
